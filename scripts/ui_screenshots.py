"""Regenerate the kiosk screenshots shown in docs/ (docs/img/ui/*.png).

Seeded and clocked: a TEST ONLY wallet from a fixed seed, a ManualClock at a fixed
date, animations off, the phone-layout PIN pad; the same run gives the same
pictures. Renders offscreen the whole tour at 1080x1920, then again at 1920x1080
(named landscape-*), and saves them at half size.
Run: .venv/bin/python scripts/ui_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _answer(world: Any, tracking: str) -> None:
    """The water department answers the case (as its staff would in the console)."""
    import sqlalchemy as sa

    from backend_sync.central.feedback import cases
    from backend_sync.central.feedback.models import feedback_cases

    world.sync()  # the case goes up through the outbox
    staff = cases.Actor("water", "department_staff", "water")
    with world.central.engine.connect() as conn:
        case_id = conn.execute(sa.select(feedback_cases.c.id).where(
            feedback_cases.c.tracking == tracking)).scalar_one()  # fmt: skip
    cases.take(world.central, staff, case_id)
    cases.answer(world.central, staff, case_id, "已安排检测，管网冲洗后水质恢复正常。")


def main(out: Path) -> int:
    from terminal_ui.env import prepare

    work = Path(tempfile.mkdtemp(prefix="civicard-shots-"))
    prepare(home=work / "kivy", size=(1080, 1920), offscreen=True)

    from kivy.core.window import Window
    from PIL import Image

    from kiosk.core.clock import ManualClock
    from kiosk.demo.issuer import create_demo_wallet
    from kiosk.demo.world import DemoWorld
    from simulators.printer.interpreter import PaperState
    from terminal_ui.app import KioskApp
    from terminal_ui.harness import Driver
    from terminal_ui.scripted import Devices, ScriptedCitizen
    from terminal_ui.scripted_feedback import FeedbackCitizen
    from terminal_ui.scripted_maintenance import Technician

    create_demo_wallet(work / "world" / "wallet", seed=7)
    clock = ManualClock()
    world = DemoWorld.build(work / "world", clock=clock)
    controller = world.controller
    driver = Driver(KioskApp(controller, animate=False))
    controller.start(tick=0.02)
    raw = work / "raw"
    devices = Devices(world.insert, world.remove, lambda who: str(world.citizen(int(who)).pin))
    c = ScriptedCitizen(driver, devices, raw)

    def session(bill_who: str, account: str) -> None:
        """Every screen of the tour (one orientation)."""
        # zh-Hans: the water bill, every screen on the way.
        c.attract()
        c.insert_and_pin(bill_who)
        c.menu()
        c.balance()
        c.pay_bill("water_bill", account)
        c.finish_and_take_card()
        # en: wrong PIN first, then the menu, with a fixed-price service confirmed.
        c.set_language("en")
        c.attract()
        world.insert("4")
        driver.wait_screen("pin")
        driver.type_pin("000000")
        driver.press("pin_submit")
        pin = driver.kiosk.screen("pin")
        driver.wait_for(lambda: pin.wrong and pin.length == 0, what="wrong PIN")
        c.snap("pin-wrong")
        driver.type_pin(devices.pin_of("4"))
        driver.press("pin_submit")
        c.menu()
        world.remove()
        driver.wait_screen("attract")
        c.snap("attract-card-pulled")
        # zh-Hant, elder mode: confirm a payment, printer out of paper.
        c.set_language("zh-Hant")
        c.set_elder(True)
        c.attract()
        c.insert_and_pin("3")
        c.menu()
        world.printer_sim.set_faults(paper=PaperState.OUT)
        c.choose("bike_enable")
        driver.wait_screen("confirm")
        c.snap("confirm")
        driver.press("confirm")
        driver.wait_screen("no_paper")
        c.snap("no-paper")
        driver.press("continue_without_receipt")
        driver.wait_screen("done")
        c.snap("done")
        world.printer_sim.load_paper()
        # the timeout warning
        driver.press("back")
        c.menu()
        limit = world.machine.seconds_for(world.machine.state)
        clock.advance(limit - 5)
        driver.wait_for(lambda: driver.kiosk.warning, what="timeout warning")
        c.snap("menu-more-time")
        driver.press("more_time")
        c.finish_and_take_card()

    try:
        session("1", "1000001")  # portrait, 1080x1920
        Window.size = (1920, 1080)
        driver.wait_for(lambda: not driver.app.theme.portrait, what="landscape")
        c.prefix = "landscape-"
        session("5", "1000005")
        # portrait again, zh-Hans: a vote in the demo poll, then the same card refused.
        c.prefix = ""
        Window.size = (1080, 1920)
        driver.wait_for(lambda: driver.app.theme.portrait, what="portrait")
        c.set_language("zh-Hans")
        c.attract(snap=False)
        for value in ("0", "1"):
            c.insert_and_pin("5")
            c.menu()
            c.choose("poll_night_bus")
            driver.wait_screen("form")
            driver.press("choose", value=value)
            c.snap("poll-form")
            driver.press("submit_form")
            driver.wait_screen("confirm")
            c.snap("poll-confirm")
            driver.press("confirm")
            driver.wait_screen("done")
            c.snap("poll-done" if value == "0" else "poll-already-voted")
            c.finish_and_take_card()
        # a technician's visit (portrait, zh-Hans): every maintenance page
        Window.size = (1080, 1920)
        driver.wait_for(lambda: driver.app.theme.portrait, what="portrait")
        c.set_elder(False)
        c.set_language("zh-Hans")
        c.attract(snap=False)
        tech = next(card for card in world.wallet.cards() if card.role == "technician")
        t = Technician(c, lambda: world.insert(tech.asn), str(tech.pin))
        t.visit(lambda: world.printer_sim.set_faults(paper=PaperState.OUT),
                world.printer_sim.load_paper)  # fmt: skip
        world.remove()
        driver.wait_screen("out_of_service")
        c.snap("out-of-service-by-technician")
        t.back_in_service()
        world.remove()
        driver.wait_screen("attract")
        # City services from the department simulator (portrait, zh-Hans), card 1.
        c.insert_and_pin("1")
        driver.wait_screen("menu")
        driver.kiosk.screen("menu").set_search("sb")  # "sb" finds 社保查询
        driver.pump(3)
        c.snap("menu-search-sb")
        driver.kiosk.screen("menu").set_search(None)
        for sid, screen in (("social_security", "info"), ("housing_fund", "info"),
                            ("application_progress", "info"), ("traffic_fines", "confirm"),
                            ("gas_bill", "confirm")):  # fmt: skip
            c.choose(sid)
            if sid in ("application_progress", "gas_bill"):
                driver.wait_screen("form")
                c.snap(f"city-{sid}-form")
                driver.press("submit_form")  # left empty: the holder's own
            if sid == "traffic_fines":  # a fine to pay, none, or not money enough (told)
                driver.wait_for(lambda: driver.kiosk.view.state.value in ("confirm", "info")
                                or bool(driver.kiosk.view.notices), what="traffic")  # fmt: skip
            else:
                driver.wait_screen(screen)
            c.snap(f"city-{sid}")
            if driver.kiosk.view.state.value != "menu":
                driver.press("back")
            driver.wait_screen("menu")
        # The menu's groups first; a group's services on a tap.
        if driver.find("menu_groups") is not None:
            driver.press("menu_groups")
        driver.press("menu_group", group_id="payments")
        driver.pump(3)
        c.snap("menu-group-payments")
        c.finish_and_take_card()
        # feedback (portrait, zh-Hans): report a problem, the one-a-day rule, the
        # department's answer looked up, rated not satisfied (the case reopens).
        # (after the technician: the pictures before keep their numbers)
        world.sync()  # the central's category list
        c.insert_and_pin("2")
        c.menu()
        fb = FeedbackCitizen(c, lambda tracking: _answer(world, tracking))
        tracking = fb.report("water.quality")
        driver.press("back")
        c.menu()
        fb.once_a_day("water.quality")
        fb.look_up_and_rate(tracking)
        c.finish_and_take_card()
        # last, so the pictures before keep their numbers: the hall, bus tickets and
        # bikes (portrait, zh-Hans), the central asking the departments simulator
        booking_tour(world, driver, c, work)
    finally:
        controller.stop()
        world.close()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    for path in c.taken:
        with Image.open(path) as im:
            small = im.convert("RGB").resize((im.width // 2, im.height // 2), Image.LANCZOS)
            # A 64-colour palette: the screens are flat colours and text; keeps docs small.
            small = small.quantize(64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
            small.save(out / path.name, optimize=True)
        print(out / path.name)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def booking_tour(world: Any, driver: Any, c: Any, work: Path) -> None:
    """A queue number without a card; an appointment, a bus ticket, a bike deposit."""
    import datetime as dt
    import socket
    import subprocess
    import time

    import httpx

    from backend_sync.central.departments import Departments

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "departments",
                             "--db", str(work / "departments.db"), "--port", str(port),
                             "--extra", "20", "--seed", "18",
                             "--today", dt.date.today().isoformat()],
                            stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=0.5).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        world.central.departments = Departments(url)
        view = lambda: driver.kiosk.view  # noqa: E731

        def step(field: str, value: str | None = None, snap: str = "") -> None:
            def offered() -> bool:
                form = view().form
                return bool(form and any(f.name == field for f in form.fields))

            driver.wait_for(offered, what=field)
            driver.pump(2)
            if snap:
                c.snap(snap)
            f = next(f for f in view().form.fields if f.name == field)
            driver.press("choose", value=value or f.choices[0][0])
            driver.press("submit_form")

        c.attract(snap=False)
        driver.press("queue")
        step("service", "hukou", "queue-choose")
        driver.wait_screen("done")
        c.snap("queue-number")
        driver.press("finish")
        c.insert_and_pin("3")  # money enough for a ticket and the bike deposit
        c.menu()
        c.choose("appointment")
        step("department", "housing_fund", "booking-department")
        step("service", "hf-loan")
        step("slot", snap="booking-slots")
        driver.wait_screen("confirm")
        c.snap("booking-confirm")
        driver.press("confirm")
        driver.wait_screen("done")
        c.snap("booking-done")
        driver.press("back")
        c.choose("bus_ticket")
        step("day", (dt.date.today() + dt.timedelta(days=1)).isoformat())
        step("route", "无锡")
        step("departure", snap="bus-departures")
        driver.wait_screen("confirm")
        driver.press("confirm")
        driver.wait_screen("done")
        c.snap("bus-ticket-done")
        driver.press("back")
        c.choose("bike_deposit")
        driver.wait_screen("confirm")
        c.snap("bike-confirm")
        driver.press("confirm")
        driver.wait_screen("done")
        driver.press("back")
        c.choose("bike_rental")
        driver.wait_screen("info")
        c.snap("bike-status")
        c.finish_and_take_card()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "ui"))

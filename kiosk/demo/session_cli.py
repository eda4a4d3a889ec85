"""``civicard session``: a whole citizen session from a script, on simulators and an
embedded central, printing each step (the README's main job until the UI lands).

A script is one step per line (``#`` starts a comment)::

    insert 1                 # demo citizen 1 (name, ASN or position in the wallet)
    pin                      # types that citizen's TEST ONLY PIN; or: pin 123456
    choose water_bill        # a service id from the catalog
    field account 1000001    # a form field
    submit
    confirm
    without-receipt          # NO_PAPER: go on without a receipt
    back | cancel | finish | more-time
    language en | elder on
    wait 25                  # let 25 s pass on the kiosk's clock (timeouts)
    paper-out | paper-in     # printer simulator faults
    sync                     # one sync pass (upload records, download catalog/hotlist)
    expect done              # fail unless the kiosk is in this state
    remove

The session uses the same controller a touch screen does; this module is its text
UI: it alone turns the core's codes into words here.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from kiosk.describe import describe

__all__ = ["DEFAULT_SCRIPT", "ScriptError", "describe", "register", "run_script"]

DEFAULT_SCRIPT = """\
# A citizen pays her water bill from the card's e-purse.
insert 1
pin
choose balance
expect info
back
choose water_bill
field account 1000001
submit
expect confirm
confirm
expect done
sync
finish
remove
expect attract
"""


class ScriptError(Exception):
    """A script line is wrong, or the kiosk is not where the script expects."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "session", help="run a scripted citizen session on simulators and an embedded central"
    )
    p.add_argument("script", nargs="?", type=Path, help="script file (default: pay a water bill)")
    p.add_argument("--data", type=Path, default=None, help="data folder (default: a temp dir)")
    p.add_argument("--language", default="zh-Hans", help="zh-Hans, zh-Hant or en")
    p.add_argument("--pcsc", action="store_true", help="card and PSAM through pcscd + vpcd (root)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    script = args.script.read_text(encoding="utf-8") if args.script else DEFAULT_SCRIPT
    return run_script(script, data=args.data, language=args.language, pcsc=args.pcsc)


def run_script(
    script: str,
    *,
    data: Path | None = None,
    language: str = "zh-Hans",
    out: Any = None,
    pcsc: bool = False,
) -> int:
    """Build a :class:`~kiosk.demo.world.DemoWorld` and play ``script`` on it."""
    from kiosk.core.clock import ManualClock
    from kiosk.demo.world import DemoWorld

    out = out or sys.stdout
    tmp = None
    if data is None:
        tmp = tempfile.TemporaryDirectory(prefix="civicard-session-")
        data = Path(tmp.name)
    print(f"civicard session: simulators and an embedded central in {data}", file=out)
    clock = ManualClock()
    world = DemoWorld.build(data, clock=clock, pcsc=pcsc, departments_process=True)
    if pcsc:
        print("  card and PSAM behind pcscd + vpcd, reached through pyscard", file=out)
    try:
        player = _Player(world, clock, out)
        world.controller.set_language(language)
        world.controller.start(thread=False)
        world.settle()
        player.show()
        for n, line in enumerate(script.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                player.step(line)
            except ScriptError as exc:
                print(f"  !! line {n}: {exc}", file=out)
                return 1
        print("session done. What each side holds now:", file=out)
        for line in world.summary():
            print(f"  {line}", file=out)
        return 0
    finally:
        world.close()
        if tmp is not None:
            tmp.cleanup()


class _Player:
    def __init__(self, world: Any, clock: Any, out: Any) -> None:
        self.w = world
        self.m = world.controller
        self.clock = clock
        self.out = out
        self.n = 0
        self.pin = ""
        self.m.subscribe(self._event)
        self.jobs_seen = 0

    def _event(self, event: Any) -> None:
        from kiosk.core.views import Progress, TimeoutWarning

        if isinstance(event, Progress):
            print(f"      … {event.step}", file=self.out)
        elif isinstance(event, TimeoutWarning):
            print(f"      ⏰ {event.seconds_left:.0f} s left (more-time to stay)", file=self.out)

    def p(self, text: str) -> None:
        print(text, file=self.out)

    def step(self, line: str) -> None:
        words = shlex.split(line)
        cmd, rest = words[0], words[1:]
        self.n += 1
        self.p(f"[{self.n}] {line}")
        m = self.m
        if cmd == "insert":
            who = rest[0] if rest else "1"
            path = self.w.wallet.card_path(who)
            entry = next((c for c in self.w.wallet.cards() if self.w.wallet.root / c.file == path),
                         None)  # fmt: skip
            self.pin = entry.pin if entry else ""
            self.w.insert(who)
        elif cmd == "remove":
            self.w.remove()
        elif cmd == "pin":
            digits = rest[0] if rest else self.pin
            self.p(f"      (typing the TEST ONLY PIN: {'*' * len(digits)})")
            for d in digits:
                m.pin_digit(int(d))
            m.pin_submit()
        elif cmd == "pin-field":  # type into the focused PIN field of a form
            name, digits = rest[0], rest[1]
            m.focus_field(name)
            for d in digits:
                m.pin_digit(int(d))
        elif cmd == "choose":
            m.choose_service(rest[0])
        elif cmd == "field":
            m.set_field(rest[0], " ".join(rest[1:]))
        elif cmd in ("submit", "confirm", "back", "cancel", "finish"):
            {"submit": m.submit_form, "confirm": m.confirm, "back": m.back, "cancel": m.cancel,
             "finish": m.finish}[cmd]()  # fmt: skip
        elif cmd == "without-receipt":
            m.continue_without_receipt()
        elif cmd == "more-time":
            m.more_time()
        elif cmd == "language":
            m.set_language(rest[0])
        elif cmd == "elder":
            m.set_elder_mode(rest[0] in ("on", "1", "true"))
        elif cmd == "wait":
            self.clock.advance(float(rest[0]))
        elif cmd in ("paper-out", "paper-in"):
            if self.w.printer_sim is None:
                raise ScriptError("no printer in this world")
            if cmd == "paper-out":
                from simulators.printer.interpreter import PaperState

                self.w.printer_sim.set_faults(paper=PaperState.OUT)
            else:
                self.w.printer_sim.load_paper()
        elif cmd == "sync":
            report = self.w.sync()
            self.p(f"      sync: uploaded {report.uploaded}, central acknowledged up to "
                   f"{report.acked_seq}, catalog v{report.documents.get('catalog')}, "
                   f"hotlist v{report.hotlist_version}")  # fmt: skip
        elif cmd == "expect":
            self.w.settle()
            if self.m.state.value != rest[0]:
                raise ScriptError(f"expected {rest[0]}, the kiosk is in {self.m.state.value}")
            return
        else:
            raise ScriptError(f"unknown step {cmd!r}")
        self.w.settle()
        self.show()

    def show(self) -> None:
        s = self.m.screen()
        for line in describe(s):
            self.p(line)
        if s.result:
            self._show_receipt()

    def _show_receipt(self) -> None:
        sim = self.w.printer_sim
        if sim is None:
            return
        jobs = sim.jobs
        for job in jobs[self.jobs_seen :]:
            self.p("      ┌─ receipt (printer simulator) " + "─" * 20)
            for text_line in job.text.splitlines():
                if text_line.strip():
                    self.p(f"      │ {text_line}")
            self.p("      └" + "─" * 50)
        self.jobs_seen = len(jobs)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_script(DEFAULT_SCRIPT, data=Path(os.environ.get("CIVICARD_DATA", "var/session"))))

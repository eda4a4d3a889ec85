"""Kiosk screen speed: cold start to the attract screen, screen-to-screen transitions,
resident memory. Offscreen (SDL over Mesa llvmpipe: software GL, so slower than a
kiosk's GPU), at the kiosk's 1080x1920.

- cold start: a fresh process, from before Kivy is imported to the attract screen
  drawn (font found, catalogs compiled, .kv loaded, window made, the core's device
  check answered); the simulated world (wallet, central, printer) is built first
  and not counted. Each run is its own process (Kivy: one window per process).
- transitions: from a tap to the next screen drawn (its first frame finished,
  glFinish), for menu -> form (no device work) and form -> menu (back); the core
  runs on its own thread as in a kiosk. "switched" stops when the screen manager
  shows the new screen, before its frame: the UI's and the core's own share.
- memory: resident set size (and PSS) of the process at the attract screen and
  after the transitions. With ``--alone`` (the figure the kiosk is held to) the
  process is the kiosk alone: the demo world's central and printer simulator run in
  another process (bench/ui_world.py), only the card and PSAM stay in in-process
  readers; without it the whole demo world lives in the measured process.
  ``--modules`` lists the largest packages the kiosk process imported.
- a first-time citizen paying a bill, in modelled human time (2 s per tap, key or
  card move, 0.25 s per character of each screen's text read once:
  ``terminal_ui.scripted.HumanTime``), in each language, after the rounds.
- pinyin keyboard: the dictionary's read time and what it adds to the resident set
  (and PSS), read only when a keyboard first appears; then the candidate latency per
  keystroke (a letter typed, the first page of candidates computed) over twenty
  sentences typed by full pinyin and by initials, median and p95.

Usage: .venv/bin/python bench/bench_ui.py [--runs 3] [--rounds 15] [--alone] [--modules]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pss_mb() -> float:
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def keyboard(lexicon_source: Any) -> dict[str, Any]:
    """Read the dictionary through ``lexicon_source`` (a LazyLexicon), then time each
    keystroke's candidates over the test sentences, by full pinyin and by initials."""
    sys.path.insert(0, str(ROOT))
    from terminal_ui.ime import Composer, Lexicon, find_table
    from terminal_ui.ime.lexicon import default_cache_dir

    rss0, pss0 = _rss_mb(), _pss_mb()
    t = time.perf_counter()
    lexicon_source.get()  # the kiosk's first typist: compiles the table once
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    lexicon = Lexicon.compiled(find_table(), default_cache_dir())  # every later start
    read_s = time.perf_counter() - t
    from tests.ime.test_pinyin import SENTENCES

    per_key: list[float] = []
    for _words, py in SENTENCES:
        syl = py.split()
        for letters in ("".join(syl), "".join(s[0] for s in syl)):
            c = Composer(lexicon)
            for ch in letters:
                t = time.perf_counter()
                c.type(ch)
                c.page()
                per_key.append((time.perf_counter() - t) * 1000)
    rss1, pss1 = _rss_mb(), _pss_mb()
    return {
        "kbd_compile_s": compile_s,
        "kbd_read_s": read_s,
        "kbd_rss_added_mb": rss1 - rss0,
        "kbd_pss_added_mb": pss1 - pss0,
        "kbd_key_ms": per_key,
        "rss_with_keyboard_mb": _rss_mb(),
    }


def _drawn(driver: Any, name: str) -> float:
    """Until screen ``name`` is current and one frame of it has been drawn; returns
    when it became current (before that frame)."""
    sm = driver.kiosk.screen_manager
    driver.wait_for(lambda: sm.current == name, 30, name)
    switched = time.perf_counter()
    driver.pump(1)
    return switched


def _world(work: Path, alone: bool) -> tuple[Any, Any, Any, Any, Any, Any]:
    """(controller, insert, remove, pin_of, stop, server) on a demo world in ``work``:
    in this process, or (``alone``) served by another one."""
    if not alone:
        from kiosk.core.clock import SystemClock
        from kiosk.demo.world import DemoWorld

        world = DemoWorld.build(work, clock=SystemClock())

        def stop() -> None:
            world.controller.stop()
            world.close()

        pin_of = lambda who: str(world.citizen(int(who)).pin)  # noqa: E731
        return world.controller, world.insert, world.remove, pin_of, stop, None
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "ui_world.py"), str(work)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert server.stdout is not None
    info = json.loads(server.stdout.readline())
    sys.path.insert(0, str(ROOT))
    from bench.ui_world import kiosk_alone

    kiosk, insert, remove, pin_of = kiosk_alone(work, info)
    kiosk.sync_once()

    def stop_alone() -> None:
        kiosk.controller.stop()
        assert server.stdin is not None
        server.stdin.close()
        server.wait(30)

    return kiosk.controller, insert, remove, pin_of, stop_alone, server


def _top_modules(n: int = 25) -> list[tuple[str, int]]:
    """Top-level packages imported, by the size of their loaded source/extension files."""
    sizes: dict[str, int] = {}
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if not path:
            continue
        try:
            size = os.path.getsize(path)
        except OSError:
            continue
        top = name.split(".")[0]
        sizes[top] = sizes.get(top, 0) + size
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:n]


def first_time_citizens(driver: Any, insert: Any, remove: Any, pin_of: Any) -> dict[str, Any]:
    """A first-time citizen pays a bill in each language; their modelled times."""
    from terminal_ui.scripted import FIRST_TIME_BILLS, Devices, ScriptedCitizen

    out: dict[str, Any] = {}
    for language, who, bill, account in FIRST_TIME_BILLS:
        citizen = ScriptedCitizen(driver, Devices(insert, remove, pin_of))
        citizen.attract(snap=False)
        citizen.set_language(language)
        h = citizen.first_time_bill(who, bill, account)
        out[language] = {"seconds": h.seconds, "taps": h.taps, "chars": h.chars,
                         "screens": h.screens}  # fmt: skip
    return out


def child(rounds: int, alone: bool = False) -> dict[str, Any]:
    """One process: build the world (or reach it, ``alone``), then time the UI's cold
    start and transitions."""
    work = Path(tempfile.mkdtemp(prefix="civicard-bench-ui-"))
    os.environ["CIVICARD_PINYIN_CACHE"] = str(work / "pinyin")  # compiled afresh, timed
    rss_world = _rss_mb()
    controller, insert, remove, pin_of, stop, _server = _world(work, alone)
    rss_world = _rss_mb() - rss_world

    t0 = time.perf_counter()
    from terminal_ui.env import prepare

    prepare(home=work / "kivy", size=(1080, 1920), offscreen=True)
    from terminal_ui.app import KioskApp
    from terminal_ui.harness import Driver

    driver = Driver(KioskApp(controller, animate=False))
    controller.start(tick=0.02)
    driver.wait_screen("attract", timeout=30)
    cold = time.perf_counter() - t0
    rss_attract = _rss_mb()

    insert("1")
    driver.wait_screen("pin", timeout=30)
    driver.type_pin(pin_of("1"))
    driver.press("pin_submit")
    driver.wait_screen("menu", timeout=30)
    to_form: list[float] = []
    to_menu: list[float] = []
    rss: list[float] = []
    switched: list[float] = []
    driver.open_service("water_bill")  # its group (the menu shows groups first)
    for _ in range(rounds):
        widget = driver.find("choose_service", service_id="water_bill")
        t = time.perf_counter()
        driver.tap(widget)
        switched.append(_drawn(driver, "form") - t)
        to_form.append(time.perf_counter() - t)
        widget = driver.find("back")
        t = time.perf_counter()
        driver.tap(widget)
        _drawn(driver, "menu")
        to_menu.append(time.perf_counter() - t)
        rss.append(_rss_mb())
    rss_after = _rss_mb()
    pss_after = _pss_mb()
    modules = _top_modules()
    n_modules = len(sys.modules)
    # The rounds' citizen finishes (a card pulled from the menu would leave its notice
    # on the attract screen for the next citizen to read); then the first-time
    # citizens (after the memory figure).
    driver.press("finish")
    driver.wait_screen("take_card", timeout=30)
    remove()
    driver.wait_screen("attract", timeout=30)
    human = first_time_citizens(driver, insert, remove, pin_of)
    kbd = keyboard(driver.app.ctx.lexicon)
    result = {
        **kbd,
        "pss_after_mb": pss_after,
        "cold_start_s": cold,
        "menu_to_form_ms": [x * 1000 for x in to_form],
        "form_to_menu_ms": [x * 1000 for x in to_menu],
        "menu_to_form_switched_ms": [x * 1000 for x in switched],
        "rss_attract_mb": rss_attract,
        "rss_after_mb": rss_after,
        "rss_per_round_mb": rss,
        "rss_world_mb": rss_world,
        "first_time": human,
        "modules": modules,
        "n_modules": n_modules,
    }
    stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold starts (processes)")
    parser.add_argument("--rounds", type=int, default=15, help="transitions per process")
    parser.add_argument("--alone", action="store_true",
                        help="the kiosk process alone: central and printer in another")  # fmt: skip
    parser.add_argument("--modules", action="store_true", help="list the largest imports")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.rounds, args.alone)))
        return 0
    runs = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--rounds", str(args.rounds),
             *(["--alone"] if args.alone else [])],
            capture_output=True, text=True, check=True, cwd=ROOT,
        ).stdout  # fmt: skip
        runs.append(json.loads(out.strip().splitlines()[-1]))
    med = statistics.median
    what = "the kiosk process alone" if args.alone else "kiosk and demo world in one process"
    print(f"kiosk screen, offscreen 1080x1920, {args.runs} processes x {args.rounds} rounds"
          f" ({what})")  # fmt: skip
    print(f"  cold start to attract screen   median {med(r['cold_start_s'] for r in runs):.2f} s")
    for key, label in (
        ("menu_to_form_switched_ms", "menu -> form (switched, not yet drawn)"),
        ("menu_to_form_ms", "menu -> form"),
        ("form_to_menu_ms", "form -> menu"),
    ):
        values = [v for r in runs for v in r[key]]
        print(f"  transition {label:16s}    median {med(values):.0f} ms "
              f"(p90 {statistics.quantiles(values, n=10)[-1]:.0f} ms)")  # fmt: skip
    at_attract = med(r["rss_attract_mb"] for r in runs)
    after = med(r["rss_after_mb"] for r in runs)
    print(f"  resident memory at attract     median {at_attract:.0f} MB")
    print(f"  resident memory after rounds   median {after:.0f} MB "
          f"(PSS {med(r['pss_after_mb'] for r in runs):.0f} MB); the world's part "
          f"before Kivy {med(r['rss_world_mb'] for r in runs):.0f} MB")  # fmt: skip
    if args.modules:
        print(f"  modules imported: {runs[0]['n_modules']}; largest packages (file size):")
        for name, size in runs[0]["modules"]:
            print(f"    {name:24s} {size / 1024:8.0f} KiB")
    from terminal_ui.scripted import FIRST_TIME_BILLS, FIRST_TIME_LIMIT_S

    for language, *_ in FIRST_TIME_BILLS:
        h = runs[0]["first_time"][language]
        read = ", ".join(f"{name} {n}" for name, n in h["screens"])
        met = "met" if h["seconds"] <= FIRST_TIME_LIMIT_S else "NOT met"
        print(f"  first-time citizen pays a bill ({language}): {h['seconds']:.1f} s modelled = "
              f"{h['taps']} taps x 2 s + {h['chars']} characters x 0.25 s ({read});"
              f" target {FIRST_TIME_LIMIT_S:.0f} s {met}")  # fmt: skip
    keys = [v for r in runs for v in r["kbd_key_ms"]]
    print(
        f"  pinyin keyboard: dictionary compiled (once per kiosk) median "
        f"{med(r['kbd_compile_s'] for r in runs):.2f} s, opened "
        f"{med(r['kbd_read_s'] for r in runs) * 1000:.0f} ms, "
        f"adds RSS {med(r['kbd_rss_added_mb'] for r in runs):.0f} MB "
        f"(PSS {med(r['kbd_pss_added_mb'] for r in runs):.0f} MB), only once a keyboard shows"
    )
    print(
        f"  pinyin keyboard: candidates per keystroke  median {med(keys):.1f} ms, "
        f"p95 {statistics.quantiles(keys, n=20)[-1]:.1f} ms ({len(keys)} keystrokes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

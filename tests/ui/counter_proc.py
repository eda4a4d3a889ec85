"""Run by test_counter.py in its own process (its own Kivy window): a clerk's shift
through the counter station's real widgets on the demo world (terminal_ui/counter/tour.py).
Prints one JSON line with what happened."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from terminal_ui.env import prepare


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="civicard-counter-"))
    # Walked at 960x540 (the same layout at a quarter of the pixels: software GL draws
    # it four times faster); every page's layout is checked at 1920x1080.
    prepare(home=work / "kivy", size=(960, 540), offscreen=True)
    from terminal_ui.counter.tour import tour

    print("COUNTER " + json.dumps(tour(work, None), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Regenerate the counter station's screenshots shown in docs/counter.md
(docs/img/counter/*.png): a clerk's shift on a TEST ONLY demo world, offscreen at
1920x1080 (every page also checked for layout in three languages), saved at half size.
Run: .venv/bin/python scripts/counter_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(out: Path) -> int:
    from terminal_ui.env import prepare

    work = Path(tempfile.mkdtemp(prefix="civicard-counter-shots-"))
    prepare(home=work / "kivy", size=(1920, 1080), offscreen=True)
    from PIL import Image

    from terminal_ui.counter.tour import tour

    raw = work / "raw"
    result = tour(work, raw)
    for finding in result["findings"]:
        print("layout:", finding)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(raw.glob("*.png")):
        with Image.open(path) as img:
            img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS).save(
                out / path.name
            )
        print(out / path.name)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if result["findings"] else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("-"):  # --help: never a folder name
        print(__doc__)
        sys.exit(0 if sys.argv[1] in ("-h", "--help") else 2)
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "counter"))

"""Out of service, with a reason, across restarts.

A JSON file in the data folder, replaced atomically. The session side (the kiosk's
ready check) reads :meth:`ServiceState.current` and shows OUT_OF_SERVICE while it
is set; only a technician's action clears it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ServiceState"]


class ServiceState:
    """``current()`` is None when in service, else ``{"reason", "by", "since_ms"}``."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = Path(path)
        self.clock = clock

    def current(self) -> dict[str, Any] | None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            raw = None
        if isinstance(raw, dict) and isinstance(raw.get("reason"), str) and raw["reason"]:
            return raw
        # The file is only ever written with a reason: anything else is damage, and
        # errs on the safe side (out of service until a technician looks).
        return {"reason": "service state file unreadable", "by": None, "since_ms": 0}

    def take_out(self, reason: str, by: str | None) -> dict[str, Any]:
        if not reason.strip():
            raise ValueError("a reason is needed")
        state = {"reason": reason.strip()[:200], "by": by, "since_ms": int(self.clock() * 1000)}
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(state, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        return state

    def put_back(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

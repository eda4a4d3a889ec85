"""Whether a kiosk may sell on its outbox: the one question the kiosk asks.

The kiosk opens its outbox through :class:`OutboxGuard` and, before each session
(its device check), asks :meth:`OutboxGuard.problem`: ``None`` to sell, or the
out-of-service reason code for the technician:

- ``outbox_missing``: the outbox is gone while its marker (or its WAL) remains;
- ``outbox_damaged``: the file is there but is not an intact outbox;
- ``outbox_behind``: it holds fewer records than its marker or the central know
  were written (a restored copy, a replaced file).

None of these clears itself: the technician recovers the outbox (docs/sync.md,
"Outbox recovery") and restarts the kiosk.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
from backend_sync.terminal.outbox import Outbox, OutboxUnusable

__all__ = ["OUTBOX_PROBLEMS", "OutboxGuard"]

log = logging.getLogger(__name__)

OUTBOX_PROBLEMS = ("outbox_missing", "outbox_damaged", "outbox_behind")


class OutboxGuard:
    """The kiosk's outbox, opened once, and what stops sales on it."""

    def __init__(self, path: Path, terminal_id: str, **outbox_kw: Any) -> None:
        self.outbox: Outbox | None = None
        self.error: OutboxUnusable | None = None
        try:
            self.outbox = Outbox(path, terminal_id, **outbox_kw)
        except OutboxUnusable as exc:
            log.error("outbox refused: %s", exc)
            self.error = exc

    def require(self, _terminal_id: str = "") -> Outbox:
        """The outbox (raises the reason it cannot be used)."""
        if self.outbox is None:
            assert self.error is not None
            raise self.error
        return self.outbox

    def problem(self) -> str | None:
        """``None`` when sales may run on the outbox, else the reason code."""
        if self.error is None and self.outbox is not None:
            try:
                if self.outbox.status().stop_reason == "outbox_behind":
                    return "outbox_behind"
            except OutboxUnusable as exc:  # the file went bad under the kiosk
                log.error("outbox refused: %s", exc)
                self.error = exc
        return self.error.code if self.error is not None else None

    def check_central(self, client: CentralClient) -> None:
        """Ask the central for this terminal's acknowledged head now (at start-up,
        before the first sale); offline, the sync agent asks on every pass."""
        if self.outbox is None:
            return
        try:
            acked, head = client.terminal_head()
            self.outbox.check_central_head(acked, head)
        except (CentralUnavailable, CentralRefused) as exc:
            log.info("terminal head not checked at start: %s", exc)
        except OutboxUnusable as exc:
            log.error("outbox refused: %s", exc)

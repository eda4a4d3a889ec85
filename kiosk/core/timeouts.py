"""How long a citizen has in each state, the warning before, and "more time".

WCAG 2.2.1 (timing adjustable): the warning comes at least 20 s before the end,
"more time" can be asked for again and again (never fewer than ten times: the
machine sets no limit), and elder mode lengthens every timeout."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.core.states import State

__all__ = ["MIN_WARNING_S", "Timeouts"]

MIN_WARNING_S = 20.0  # WCAG 2.2.1: warn at least 20 seconds before time runs out


@dataclass(frozen=True)
class Timeouts:
    """Seconds per timed state; elder mode multiplies them by ``elder_factor``."""

    card_refused: float = 45.0
    pin_entry: float = 45.0
    menu: float = 60.0
    form: float = 90.0
    info: float = 60.0
    confirm: float = 45.0
    no_paper: float = 45.0
    done: float = 45.0
    take_card: float = 30.0
    warning: float = 20.0  # the warning shows this long before the end (WCAG: 20 s at least)
    elder_factor: float = 2.0

    def for_state(self, state: State, elder: bool) -> float | None:
        """Seconds allowed in ``state``, or None when it is not timed."""
        seconds: float | None = getattr(self, state.value, None)
        if seconds is None:
            return None
        return seconds * (self.elder_factor if elder else 1.0)

    def validate(self) -> None:
        """Every timeout positive, and longer than the warning."""
        for name in ("card_refused", "pin_entry", "menu", "form", "info", "confirm",
                     "no_paper", "done", "take_card"):  # fmt: skip
            value = getattr(self, name)
            if value <= self.warning:
                raise ValueError(f"{name}: {value} s must exceed warning ({self.warning} s)")
        if self.warning < MIN_WARNING_S or self.elder_factor < 1:
            raise ValueError(f"warning must be at least {MIN_WARNING_S:g} s and elder_factor "
                             "at least 1")  # fmt: skip

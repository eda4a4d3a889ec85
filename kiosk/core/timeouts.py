"""How long a person has in each timed state, the warning before, and "more time".

Each journey's table gives its timed states their default seconds
(:meth:`kiosk.core.journey.JourneyTable.timeouts`); :class:`Timeouts` holds the
config's overrides by state name, the warning and elder mode's factor. WCAG 2.2.1
(timing adjustable): the warning comes at least 20 s before the end, "more time"
can be asked for again and again (never fewer than ten times: the machine sets no
limit), and elder mode and audio mode (spoken guidance) lengthen every timeout:
listening to a screen read aloud takes longer than reading it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["MIN_WARNING_S", "Timeouts"]

MIN_WARNING_S = 20.0  # WCAG 2.2.1: warn at least 20 seconds before time runs out


@dataclass(frozen=True)
class Timeouts:
    """Seconds per timed state (overrides of the journeys' defaults, by state name);
    elder mode multiplies them by ``elder_factor``, audio mode by ``audio_factor`` (both
    on: both factors)."""

    seconds: Mapping[str, float] = field(default_factory=dict)
    warning: float = 20.0  # the warning shows this long before the end (WCAG: 20 s at least)
    elder_factor: float = 2.0
    audio_factor: float = 3.0

    def for_state(
        self, state: str, default: float | None, elder: bool, audio: bool = False
    ) -> float | None:
        """Seconds allowed in ``state`` (``default`` from its journey's table), or None
        when it is not timed."""
        if default is None:
            return None
        seconds = self.seconds.get(str(state), default)
        factor = (self.elder_factor if elder else 1.0) * (self.audio_factor if audio else 1.0)
        return seconds * factor

    def validate(self, defaults: Mapping[str, float] | None = None) -> None:
        """Every timeout longer than the warning (``defaults``: the journeys' own,
        checked with the overrides applied); the warning at least 20 s."""
        if self.warning < MIN_WARNING_S or self.elder_factor < 1 or self.audio_factor < 1:
            raise ValueError(f"warning must be at least {MIN_WARNING_S:g} s and elder_factor "
                             "and audio_factor at least 1")  # fmt: skip
        for name, value in {**(defaults or {}), **self.seconds}.items():
            if value <= self.warning:
                raise ValueError(f"{name}: {value} s must exceed warning ({self.warning} s)")

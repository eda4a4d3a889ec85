"""The journey-free terminal core: machine, journeys' tables, controller, views (no UI toolkit).

A UI (``terminal_ui``, the scripted ``civicard session``, tests) drives a
:class:`~kiosk.core.controller.KioskController` and renders the
:class:`~kiosk.core.views.Screen` it publishes; the
:class:`~kiosk.core.machine.TerminalMachine` runs whichever journey
(:mod:`kiosk.journeys`) has the terminal. See docs/kiosk.md.
"""

from kiosk.core.clock import Clock, ManualClock, SystemClock
from kiosk.core.controller import KioskController
from kiosk.core.views import (
    KioskEvent,
    Language,
    Progress,
    Screen,
    ScreenChanged,
    TimeoutCleared,
    TimeoutWarning,
)

__all__ = [
    "Clock",
    "KioskController",
    "KioskEvent",
    "Language",
    "ManualClock",
    "Progress",
    "Screen",
    "ScreenChanged",
    "SystemClock",
    "TimeoutCleared",
    "TimeoutWarning",
]

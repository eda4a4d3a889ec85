"""The kiosk core: session state machine, controller and view models (no UI toolkit).

A UI (``terminal_ui``, the scripted ``civicard session``, tests) drives a
:class:`~kiosk.core.controller.KioskController` and renders the
:class:`~kiosk.core.views.Screen` it publishes. See docs/kiosk.md.
"""

from kiosk.core.clock import Clock, ManualClock, SystemClock
from kiosk.core.controller import KioskController
from kiosk.core.states import State
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
    "State",
    "SystemClock",
    "TimeoutCleared",
    "TimeoutWarning",
]

"""Technician diagnostics: device status, self-tests, actions, support bundles.

The maintenance journey (and ``civicard diagnose``) use :class:`Diagnostics` over
the kiosk's :class:`Devices`; see docs/diagnostics.md.
"""

from kiosk.diagnostics.bundle import BundleError
from kiosk.diagnostics.devices import Devices, Limits, ReaderSlot
from kiosk.diagnostics.facade import BundleResult, Diagnostics, SyncResult
from kiosk.diagnostics.model import (
    Code,
    DeviceKind,
    DeviceStatus,
    Health,
    NextStep,
    SelfTestName,
    SelfTestResult,
    StatusReport,
)
from kiosk.diagnostics.trace import ApduTrace, RecentLog

__all__ = [
    "ApduTrace",
    "BundleError",
    "BundleResult",
    "Code",
    "DeviceKind",
    "DeviceStatus",
    "Devices",
    "Diagnostics",
    "Health",
    "Limits",
    "NextStep",
    "ReaderSlot",
    "RecentLog",
    "SelfTestName",
    "SelfTestResult",
    "StatusReport",
    "SyncResult",
]

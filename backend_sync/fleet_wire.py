"""Wire schemas of heartbeats, fleet status and support bundles (docs/diagnostics.md).

Shared by the kiosk (:mod:`backend_sync.terminal.heartbeat`) and the central
(:mod:`backend_sync.central.fleet`). A heartbeat body is signed like every other
terminal request: ECDSA P-256 over its canonical encoding. A support bundle is
signed over its exact bytes (it is a file a technician can also carry away).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BundleReceipt",
    "DeviceFault",
    "FleetKiosk",
    "FleetStatus",
    "Heartbeat",
    "HeartbeatAck",
    "HeartbeatRequest",
    "SupportBundleUpload",
]

TerminalId = Annotated[str, Field(pattern=r"^[0-9A-F]{12}$")]
Health = Literal["ok", "warning", "fault"]
Token = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
Short = Annotated[str, Field(max_length=80)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceFault(_Model):
    """A device that is not ok: which, how bad, the deciding code, the next step."""

    device: Token
    health: Health
    code: Token
    next_step: Token


class Heartbeat(_Model):
    """What a kiosk says about itself, at an interval and on every change."""

    terminal_id: TerminalId
    boot_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]  # one per process start
    counter: Annotated[int, Field(ge=1, le=2**62)]  # per boot, increasing
    ts: Annotated[int, Field(ge=0, le=2**62, description="kiosk clock, Unix ms")]
    reason: Literal["start", "interval", "change"]
    health: Health
    faults: Annotated[list[DeviceFault], Field(max_length=32)]
    backlog: Annotated[int, Field(ge=0, le=2**62)]
    oldest_unsent_s: Annotated[int, Field(ge=0, le=2**62)] | None = None
    paper: Annotated[str, Field(max_length=16)]
    out_of_service: bool = False
    versions: Annotated[dict[Token, Short], Field(max_length=16)]


class HeartbeatRequest(_Model):
    body: Heartbeat
    signature: Annotated[str, Field(pattern=r"^[0-9A-F]{16,200}$")]


class HeartbeatAck(_Model):
    """The central took it; its view of this terminal's outbox comes back."""

    status: Literal["ok"]
    acked_seq: int
    head_hash: str
    received_ms: int


class FleetKiosk(_Model):
    terminal_id: str
    last_ms: int  # when the central received the last heartbeat
    kiosk_ts: int  # the kiosk's own clock in it
    skew_ms: int  # received - kiosk clock (network delay included)
    health: Health
    faults: list[DeviceFault]
    backlog: int
    oldest_unsent_s: int | None
    paper: str
    out_of_service: bool
    versions: dict[str, str]
    silent: bool
    silent_s: int


class FleetStatus(_Model):
    now_ms: int
    interval_s: int
    silent_after_intervals: int
    kiosks: list[FleetKiosk]
    silent: list[str]  # terminal ids with no heartbeat within N intervals
    counts: dict[str, int]  # by health, plus "silent"


class SupportBundleUpload(_Model):
    terminal_id: TerminalId
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,100}$")]
    content_b64: Annotated[str, Field(max_length=8 * 1024 * 1024)]
    signature: Annotated[str, Field(pattern=r"^[0-9A-F]{16,200}$")]


class BundleReceipt(_Model):
    id: int
    sha256: str
    size: int

"""Heartbeats: the kiosk tells the central how it is, signed, at an interval and
at once when a device's state changes; and the central's view of our outbox.

:class:`HeartbeatSender` takes a ``summary`` callable (the kiosk's diagnostics
build it: health, device faults, outbox backlog, paper, versions) so this module
knows nothing of the kiosk. Each heartbeat carries a boot id and a counter: the
central refuses a replayed or reordered one. A heartbeat that cannot be sent is
not queued: the next one says the same, newer.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from backend_sync import chain
from backend_sync.fleet_wire import (
    BundleReceipt,
    Heartbeat,
    HeartbeatAck,
    HeartbeatRequest,
    SupportBundleUpload,
)
from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable

__all__ = ["HeartbeatSender", "fetch_position", "upload_bundle"]

log = logging.getLogger(__name__)


def _post(client: CentralClient, path: str, payload: dict[str, Any]) -> Any:
    try:
        resp = client.http.post(path, json=payload)
    except httpx.HTTPError as exc:
        raise CentralUnavailable(f"POST {path}: {exc!r}") from exc
    if resp.status_code >= 500:
        raise CentralUnavailable(f"POST {path}: HTTP {resp.status_code}")
    try:
        doc = resp.json()
    except ValueError as exc:
        raise CentralUnavailable(f"POST {path}: not JSON") from exc
    if resp.status_code >= 400:
        reason = doc.get("reason") if isinstance(doc, dict) else None
        raise CentralRefused(resp.status_code, str(reason or "refused"), str(doc)[:300])
    return doc


def fetch_position(client: CentralClient) -> tuple[int, str]:
    """The central's highest contiguous sequence for this terminal and its head hash,
    signed by the central and bound to a fresh nonce."""
    nonce = uuid.uuid4().hex
    try:
        resp = client.http.get(
            f"/v1/terminals/{client.terminal_id}/position", params={"nonce": nonce}
        )
    except httpx.HTTPError as exc:
        raise CentralUnavailable(f"position: {exc!r}") from exc
    if resp.status_code >= 500:
        raise CentralUnavailable(f"position: HTTP {resp.status_code}")
    if resp.status_code >= 400:
        raise CentralRefused(resp.status_code, "refused", resp.text[:300])
    sd = client._verified(resp.json(), "position")
    p = sd.payload
    if p.get("nonce") != nonce or p.get("terminal_id") != client.terminal_id:
        raise CentralRefused(200, "position_replayed")
    return int(p["acked_seq"]), str(p["head_hash"])


def upload_bundle(
    client: CentralClient, name: str, content: bytes, signature: str
) -> BundleReceipt:
    """Upload a signed support bundle (its signature covers the exact bytes)."""
    body = SupportBundleUpload(
        terminal_id=client.terminal_id,
        name=name,
        content_b64=base64.b64encode(content).decode("ascii"),
        signature=signature,
    )
    return BundleReceipt.model_validate(
        _post(client, "/v1/support-bundles", body.model_dump(mode="json"))
    )


class HeartbeatSender:
    """Builds, signs and sends heartbeats for one terminal."""

    def __init__(
        self,
        client: CentralClient,
        summary: Callable[[], dict[str, Any]],
        *,
        interval: float = 60.0,
        check_every: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.summary = summary
        self.interval = interval
        self.check_every = check_every
        self.clock = clock
        self.boot_id = uuid.uuid4().hex
        self.counter = 0
        self.last_ack: HeartbeatAck | None = None
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._mutex = threading.Lock()

    def build(self, reason: str, summary: dict[str, Any] | None = None) -> Heartbeat:
        """The next heartbeat (the counter moves on)."""
        s = summary if summary is not None else self.summary()
        with self._mutex:
            self.counter += 1
            counter = self.counter
        return Heartbeat.model_validate(
            {
                "terminal_id": self.client.terminal_id,
                "boot_id": self.boot_id,
                "counter": counter,
                "ts": int(self.clock() * 1000),
                "reason": reason,
                **s,
            }
        )

    def sign(self, hb: Heartbeat) -> HeartbeatRequest:
        body = hb.model_dump(mode="json", exclude_none=True)
        sig = chain.sign(self.client.key, chain.canonical(body))
        return HeartbeatRequest(body=hb, signature=sig)

    def send(self, reason: str = "interval", summary: dict[str, Any] | None = None) -> HeartbeatAck:
        """Send one now; raises CentralUnavailable / CentralRefused."""
        req = self.sign(self.build(reason, summary))
        ack = HeartbeatAck.model_validate(
            _post(self.client, "/v1/heartbeats", req.model_dump(mode="json", exclude_none=True))
        )
        self.last_ack = ack
        self.last_error = None
        return ack

    def notify(self) -> None:
        """A device changed: check (and send) now rather than at the next tick."""
        self._wake.set()

    @staticmethod
    def fingerprint(summary: dict[str, Any]) -> tuple[Any, ...]:
        """What counts as a change of device state (backlog counts do not)."""
        faults = tuple(sorted((f["device"], f["code"]) for f in summary.get("faults", [])))
        return (summary.get("health"), faults, summary.get("paper"), summary.get("out_of_service"))

    def _try(self, reason: str, summary: dict[str, Any]) -> bool:
        try:
            self.send(reason, summary)
            return True
        except (CentralUnavailable, CentralRefused) as exc:
            self.last_error = str(exc)[:300]
            log.warning("heartbeat not sent: %s", exc)
            return False

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: one at start, one per ``interval``, one on every change
        (states looked at every ``check_every`` seconds, or at once on notify())."""
        summary = self.summary()
        last_print = self.fingerprint(summary)
        sent_at = self.clock() if self._try("start", summary) else float("-inf")
        while not stop.is_set():
            self._wake.wait(self.check_every)
            self._wake.clear()
            if stop.is_set():
                break
            try:
                summary = self.summary()
            except Exception:  # a collector bug must not stop the heartbeat
                log.exception("heartbeat summary failed")
                continue
            fp = self.fingerprint(summary)
            if fp != last_print:
                last_print = fp
                if self._try("change", summary):
                    sent_at = self.clock()
            elif self.clock() - sent_at >= self.interval and self._try("interval", summary):
                sent_at = self.clock()

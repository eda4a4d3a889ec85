"""HTTP routes of heartbeats, fleet status and support bundles (registered by app.py).

Terminals prove themselves by signatures; the fleet and bundle reads are staff
endpoints behind the admin bearer token (the staff console will put its own
accounts in front of them).
"""

from __future__ import annotations

import base64
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query

from backend_sync.central import fleet
from backend_sync.central.api_rules import refusals
from backend_sync.central.service import Central, Refused
from backend_sync.fleet_wire import (
    BundleReceipt,
    FleetStatus,
    HeartbeatAck,
    HeartbeatRequest,
    SupportBundleUpload,
)
from backend_sync.wire import SignedDocument

__all__ = ["router"]


def router(central: Central) -> APIRouter:
    """The fleet routes bound to one :class:`Central`."""
    r = APIRouter()

    def admin(authorization: Annotated[str, Header()] = "") -> None:
        want = f"Bearer {central.admin_token}"
        if not central.admin_token or not hmac.compare_digest(authorization, want):
            raise Refused(401, "admin_token_required")

    staff = [Depends(admin)]
    writer = fleet.HeartbeatWriter(central)

    @r.post("/v1/heartbeats", response_model=HeartbeatAck, responses=refusals(401, 403, 409))
    def heartbeat(req: HeartbeatRequest) -> HeartbeatAck:
        """A kiosk's signed heartbeat; answers the central's view of its outbox."""
        return writer.submit(req)

    @r.get(
        "/v1/terminals/{terminal_id}/position", response_model=SignedDocument,
        responses=refusals(403, 404),
    )  # fmt: skip
    def position(terminal_id: str, nonce: str) -> SignedDocument:
        """Highest contiguous sequence held for a terminal and the hash there (signed)."""
        return fleet.position(central, terminal_id, nonce)

    @r.post("/v1/support-bundles", response_model=BundleReceipt, responses=refusals(401, 403))
    def bundle(upload: SupportBundleUpload) -> BundleReceipt:
        """A support bundle, signed by the terminal over its exact bytes."""
        return fleet.receive_bundle(central, upload)

    @r.get(
        "/v1/admin/fleet", response_model=FleetStatus, dependencies=staff,
        responses=refusals(401),
    )  # fmt: skip
    def fleet_status(
        interval_s: Annotated[int, Query(ge=1, le=86400)] = 60,
        silent_after: Annotated[int, Query(ge=1, le=1000)] = 3,
    ) -> FleetStatus:
        """Every kiosk's last heartbeat, and the silent ones."""
        return fleet.fleet_status(central, interval_s=interval_s, silent_after=silent_after)

    @r.get(
        "/v1/admin/fleet/{terminal_id}/history", dependencies=staff,
        responses=refusals(401, 404),
    )  # fmt: skip
    def history(
        terminal_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict[str, Any]]:
        return fleet.history(central, terminal_id, limit)

    @r.post("/v1/admin/fleet/prune", dependencies=staff, responses=refusals(401))
    def prune(
        keep_s: Annotated[int, Query(ge=0, le=10 * 365 * 86400)] = 7 * 86400,
    ) -> dict[str, int]:
        return {"deleted": fleet.prune_history(central, keep_s=keep_s)}

    @r.get(
        "/v1/admin/support-bundles/{bundle_id}", dependencies=staff,
        responses=refusals(401, 404),
    )  # fmt: skip
    def bundle_get(bundle_id: int) -> dict[str, str]:
        tid, content, sig = fleet.bundle_content(central, bundle_id)
        return {"terminal_id": tid, "content_b64": base64.b64encode(content).decode(),
                "signature": sig}  # fmt: skip

    return r

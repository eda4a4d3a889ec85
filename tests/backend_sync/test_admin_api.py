"""The admin endpoints: bearer token, registry, documents, reconciliation, OpenAPI."""

from __future__ import annotations

from pathlib import Path

import httpx

from backend_sync import chain
from backend_sync.central.service import Central
from tests.backend_sync.support import ADMIN, ThreadServer, terminal_cert


def test_admin_api(central: Central, tmp_path: Path) -> None:
    with ThreadServer(central) as srv:
        http = httpx.Client(base_url=srv.url, timeout=5)
        auth = {"Authorization": f"Bearer {ADMIN}"}
        assert http.get("/v1/admin/stats").status_code == 401
        assert http.get("/v1/admin/stats", headers={"Authorization": "Bearer x"}).status_code == 401
        key = chain.generate_key()
        cert = terminal_cert(key, "320500000001")
        r = http.post("/v1/admin/terminals", headers=auth,
                      json={"terminal_id": "320500000001", "cert_pem": cert})  # fmt: skip
        assert r.status_code == 200
        asn = "32150000000000000001"
        r = http.post("/v1/admin/cards", headers=auth,
                      json={"asn": asn, "algorithm": 0, "key_version": 1})  # fmt: skip
        assert r.status_code == 200
        r = http.post(f"/v1/admin/cards/{asn}/status", headers=auth, json={"status": "blocked"})
        assert r.json() == {"hotlist_version": 1}
        r = http.post("/v1/admin/documents/fees", headers=auth, json={"water": 350})
        assert r.json() == {"version": 1}
        assert http.post("/v1/admin/documents/nope", headers=auth, json={}).status_code == 404
        assert http.get("/v1/documents/fees").json()["payload"]["body"] == {"water": 350}
        rec = http.get("/v1/admin/reconcile", headers=auth).json()
        assert rec["total"] == 0 and rec["orphans"] == 0
        assert http.post("/v1/admin/loads/void-expired", headers=auth).json() == {"voided": 0}
        # Garbage is refused and counted, never a server error.
        r = http.post("/v1/batches", content=b"{not json")
        assert r.status_code == 422 and r.json()["reason"] == "malformed_batch"
        stats = http.get("/v1/admin/stats", headers=auth).json()
        assert stats["rejections"] == {"malformed_batch": 1}
        schema = http.get("/openapi.json").json()
        body = schema["paths"]["/v1/batches"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Batch"
        }
        assert "PurchaseRecord" in schema["components"]["schemas"]

"""The central's API rules: bad input is a 4xx with a reason and a documented status
(never a 500), bodies are limited while they stream, null is refused, a card
cannot be re-registered with other keys."""

from __future__ import annotations

import json
import select
import socket
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from backend_sync import chain
from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import (
    ADMIN,
    ThreadServer,
    asn_of,
    cards,
    sell,
    terminal,
    terminal_cert,
)

AUTH = {"Authorization": f"Bearer {ADMIN}"}
TID = "320500000001"


def _documented(schema: dict[str, object], method: str, path: str, status: int) -> bool:
    ops = schema["paths"][path]  # type: ignore[index]
    return str(status) in ops[method]["responses"]  # type: ignore[index]


def test_admin_bad_input_is_a_documented_4xx_with_a_reason(central: Central) -> None:
    with ThreadServer(central) as srv:
        http = httpx.Client(base_url=srv.url, timeout=5, headers=AUTH)
        schema = http.get("/openapi.json").json()
        cert = terminal_cert(chain.generate_key(), TID)
        cases = [
            ("post", "/v1/admin/cards", "/v1/admin/cards",
             {"asn": "", "algorithm": 0, "key_version": 1}),
            ("post", "/v1/admin/cards", "/v1/admin/cards",
             {"asn": "ZZ150000000000000001", "algorithm": 0, "key_version": 1}),
            ("post", "/v1/admin/cards", "/v1/admin/cards",
             {"asn": asn_of(1), "algorithm": 7, "key_version": 1}),
            ("post", "/v1/admin/cards", "/v1/admin/cards",
             {"asn": asn_of(1), "algorithm": 0, "key_version": 256}),
            ("post", "/v1/admin/cards/{asn}/status", "/v1/admin/cards/NOTHEX/status",
             {"status": "blocked"}),
            ("post", "/v1/admin/cards/{asn}/status", f"/v1/admin/cards/{asn_of(1)}/status",
             {"status": "lost-ish"}),
            ("post", "/v1/admin/terminals", "/v1/admin/terminals",
             {"terminal_id": TID, "cert_pem": "-----BEGIN CERTIFICATE-----\nnope\n"}),
            ("post", "/v1/admin/terminals", "/v1/admin/terminals",
             {"terminal_id": TID, "cert_pem": "garbage"}),
            ("post", "/v1/admin/terminals", "/v1/admin/terminals",
             {"terminal_id": "xyz", "cert_pem": cert}),
            ("post", "/v1/admin/documents/{name}", "/v1/admin/documents/fees",
             {"water": 2**70}),
            ("post", "/v1/admin/documents/{name}", "/v1/admin/documents/fees",
             {"water": 3.5}),
            ("post", "/v1/admin/documents/{name}", "/v1/admin/documents/fees",
             {"water": None}),
            ("get", "/v1/hotlist", "/v1/hotlist?since=-1", None),
            ("get", "/v1/hotlist", "/v1/hotlist?since=99999999999999999999999", None),
            ("get", "/v1/time", "/v1/time?nonce=" + "x" * 65, None),
            ("get", "/v1/terminals/{terminal_id}/head", "/v1/terminals/nothex/head?nonce=1",
             None),
        ]  # fmt: skip
        for method, template, url, body in cases:
            r = http.request(method.upper(), url, json=body)
            assert 400 <= r.status_code < 500, (url, body, r.status_code, r.text)
            assert r.json()["reason"], (url, body, r.text)
            assert _documented(schema, method, template, r.status_code), (template, r.status_code)
        # The registry's own refusals too: unknown card, terminated card.
        r = http.post(f"/v1/admin/cards/{asn_of(9)}/status", json={"status": "blocked"})
        assert r.status_code == 404 and r.json()["reason"] == "unknown_card"
        assert r.json() == {"reason": "unknown_card", "detail": asn_of(9)}
        r = http.post("/v1/admin/terminals", json={"terminal_id": TID, "cert_pem": "garbage"})
        assert r.json()["reason"] == "bad_certificate"


def test_every_status_an_operation_answers_is_in_its_schema(central: Central) -> None:
    with ThreadServer(central) as srv:
        schema = httpx.get(f"{srv.url}/openapi.json").json()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"200", "422", "413"} <= codes, (method, path)
            if path.startswith("/v1/admin"):
                assert "401" in codes, (method, path)
            if "requestBody" in op:
                assert "400" in codes, (method, path)
    assert schema["components"]["schemas"]["Refusal"]["required"] == ["reason"]


def test_the_body_limit_refuses_a_declared_length_before_reading(central: Central) -> None:
    central.max_body_bytes = 64 * 1024
    with ThreadServer(central) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: x\r\ncontent-type: application/json"
                      b"\r\ncontent-length: 52428800\r\n\r\n{")  # fmt: skip
            got = b""
            while chunk := s.recv(65536):  # the refusal closes the connection
                got += chunk
            head = got.decode()
        assert head.startswith("HTTP/1.1 413"), head
        assert '"reason":"body_too_large"' in head
        # Under the limit, the same endpoint answers as ever.
        r = httpx.post(f"{srv.url}/v1/batches", content=b"{}", timeout=5)
        assert r.status_code == 422 and r.json()["reason"] == "malformed_batch"


@pytest.mark.parametrize("path", ["/v1/batches", "/v1/orders/hold", "/v1/admin/cards"])
def test_a_50_mb_streamed_body_is_cut_off_at_the_limit(central: Central, path: str) -> None:
    # Chunked, with no length announced: the limit is counted as the body arrives,
    # and the answer comes long before 50 MB were sent.
    central.max_body_bytes = 256 * 1024
    chunk = b"[" + b"1," * 32_000 + b"1]"
    sent = 0
    with ThreadServer(central) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n"
            "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".encode()
        )
        answer = b""
        deadline = time.monotonic() + 20
        try:
            while sent < 50 * 1024 * 1024 and time.monotonic() < deadline:
                if select.select([s], [], [], 0)[0]:
                    answer = s.recv(65536)
                    break
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            if not answer:
                s.settimeout(5)
                answer = s.recv(65536)
        except (BrokenPipeError, ConnectionResetError):
            answer = answer or b""
        finally:
            s.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 8 * 1024 * 1024, sent  # stopped near the limit, not after 50 MB


def test_null_for_an_optional_field_is_refused(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, TID)
        (card,) = cards(central, issuer_keys, 1)
        sell(t, card, 100, ttc=1)
        prev, recs = t.outbox.pending()
        body = json.loads(recs[0].body)
        body["order_id"] = None  # the record's hash and the signature cover the null
        text = chain.canonical(body).decode()
        head = chain.link(bytes.fromhex(prev), body).hex().upper()
        batch = t.client.build_batch(prev, [1], [text], head)
        r = httpx.post(f"{srv.url}/v1/batches", content=batch, timeout=5)
        assert r.status_code == 422 and r.json()["reason"] == "malformed_batch"
        assert "never null" in r.json()["detail"]
        # A signed online request with a null is refused before its signature counts.
        hold = {"body": {"terminal_id": TID, "request_id": "r1", "asn": card.asn,
                         "payee": "water", "reference": "B1", "amount": 100, "ts": 1,
                         "extra": None}, "signature": "00"}  # fmt: skip
        r = httpx.post(f"{srv.url}/v1/orders/hold", json=hold, timeout=5)
        assert r.status_code == 422
        hold["body"].pop("extra")  # type: ignore[attr-defined]
        hold["body"]["request_id"] = None  # type: ignore[index]
        r = httpx.post(f"{srv.url}/v1/orders/hold", json=hold, timeout=5)
        assert r.status_code == 422 and r.json()["reason"] == "invalid_request"
        # And without the null, the record uploads as ever.
        assert t.agent.run_once().acked_seq == 1


def test_re_registering_a_card_with_other_keys_is_a_conflict(central: Central) -> None:
    with ThreadServer(central) as srv:
        http = httpx.Client(base_url=srv.url, timeout=5, headers=AUTH)
        card = {"asn": asn_of(1), "algorithm": 0, "key_version": 1}
        assert http.post("/v1/admin/cards", json=card).status_code == 200
        assert http.post("/v1/admin/cards", json=card).status_code == 200  # idempotent
        for change in ({"algorithm": 4}, {"key_version": 2}):
            r = http.post("/v1/admin/cards", json={**card, **change})
            assert r.status_code == 409 and r.json()["reason"] == "card_exists", r.text
    from backend_sync.central.models import cards as cards_t

    with central.engine.connect() as conn:
        row = conn.execute(cards_t.select()).one()
    assert (row.algorithm, row.key_version) == (0, 1)


def test_a_run_of_cards_registers_whole_or_not_at_all(central: Central) -> None:
    """registry.register_cards (a production run, the benchmarks' city): chunked
    statements in one transaction; one card already held with other keys refuses
    the run, and none of it is registered."""
    from backend_sync.central import registry
    from backend_sync.central.models import cards as cards_t
    from backend_sync.central.service import Refused

    run = [asn_of(n) for n in range(1, 4502)]  # more than two chunks
    registry.register_cards(central, run[:10], algorithm=0, key_version=1)
    registry.register_cards(central, run, algorithm=0, key_version=1)  # 10 held already
    registry.register_cards(central, run, algorithm=0, key_version=1)  # idempotent
    with central.engine.connect() as conn:
        held = conn.execute(sa.select(sa.func.count()).select_from(cards_t)).scalar_one()
        accounts = {r.account_id for r in conn.execute(sa.select(cards_t.c.account_id))}
    assert held == len(accounts) == len(run)
    more = [asn_of(n) for n in range(5000, 7100)] + [run[-1]]
    with pytest.raises(Refused) as refused:
        registry.register_cards(central, more, algorithm=4, key_version=1)
    assert refused.value.reason == "card_exists"
    with central.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cards_t)).scalar_one() == held

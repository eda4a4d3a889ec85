"""``POST /v1/funding/linked``: the account a top-up is paid from, named (masked)
before the citizen confirms; every malformed or unsigned call refused plainly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from backend_sync import chain
from backend_sync.central.funding import mask_account
from backend_sync.central.providers import SimulatedBank
from backend_sync.central.service import Central
from backend_sync.services_wire import ServiceCall, ServiceCallRequest
from backend_sync.terminal.client import CentralRefused
from tests.backend_sync.support import ThreadServer, terminal

ASN = "32150000000000000042"


def test_the_linked_account_masked_and_every_refusal(central: Central, tmp_path: Path) -> None:
    bank = SimulatedBank()
    bank.link(ASN, 10_000, provider="中国工商银行", number="6222 0212 3456 4521")
    central = dataclasses.replace(central, funding=bank)
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        got = t.client.linked_funding(asn=ASN)
        assert (got.kind, got.provider, got.account_masked) == ("bank", "中国工商银行", "**** 4521")
        assert "6222" not in got.model_dump_json()  # only the last four digits leave
        # cash and the demo's money name their holder, no number
        assert t.client.linked_funding(asn=ASN, funding="cash").provider == "320500000001"
        with pytest.raises(CentralRefused) as no:
            t.client.linked_funding(asn="32150000000000000099")
        assert (no.value.status, no.value.reason) == (404, "no_linked_account")
        for funding in ("gold", "deposit:", "deposit:../x", "demo:other"):
            with pytest.raises(CentralRefused) as bad:
                t.client.linked_funding(asn=ASN, funding=funding)
            assert (bad.value.status, bad.value.reason) == (422, "unknown_funding"), funding
        # not signed by the terminal, or for no card
        call = ServiceCall(terminal_id="320500000001", request_id="r1", service="linked_funding",
                           asn=ASN, params={"funding": "bank"}, ts=central.now_ms())  # fmt: skip
        forged = ServiceCallRequest(body=call, signature=chain.sign(chain.generate_key(), b"x"))
        r = httpx.post(f"{srv.url}/v1/funding/linked", json=forged.model_dump(mode="json"))
        assert r.status_code == 401 and r.json()["reason"] == "bad_signature"
        no_card = call.model_copy(update={"asn": None})
        sig = chain.sign(t.key, chain.canonical(no_card.model_dump(mode="json", exclude_none=True)))
        body = ServiceCallRequest(body=no_card, signature=sig).model_dump(mode="json")
        r = httpx.post(f"{srv.url}/v1/funding/linked", json=body)
        assert r.status_code == 422, r.text
        r = httpx.post(f"{srv.url}/v1/funding/linked", content=b"\xff{not json")
        assert r.status_code == 422


def test_mask_account() -> None:
    assert mask_account("6222021234564521") == "**** 4521"
    assert mask_account("62-22") == "**** 6222"
    assert mask_account("12") == "****" and mask_account("") == ""

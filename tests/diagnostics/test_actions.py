"""Technician actions: config view, APDU trace, the signed support bundle (its
signature checked at the central, its contents scanned for personal data)."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import httpx
import pytest

from backend_sync import chain
from kiosk.config import load_config
from kiosk.diagnostics import BundleError, Diagnostics, RecentLog
from kiosk.diagnostics.redact import config_values, find_personal_data, mask_numbers
from kiosk.diagnostics.trace import summarize_apdu_line
from tests.diagnostics.conftest import Rig

ADMIN = {"authorization": "Bearer demo-admin-token"}


def _names_and_asns(rig: Rig) -> tuple[list[str], list[str]]:
    cards = rig.world.wallet.cards()
    return [c.name for c in cards], [c.asn for c in cards]


def test_config_view_redacts_secrets(tmp_path: Path) -> None:
    cfg_file = tmp_path / "kiosk.toml"
    cfg_file.write_text(
        '[central]\nurl = "https://ops:hunter2@central.example/api?token=abc"\n'
        'central_key = "/etc/civicard/central.pub"\nterminal_key = "/etc/civicard/t.key"\n',
        encoding="utf-8",
    )
    values = config_values(load_config(cfg_file, env={}))
    text = json.dumps(values)
    assert "hunter2" not in text and "token=abc" not in text and "t.key" not in text
    assert values["central_url"] == "https://central.example/api"
    assert values["terminal_key"].startswith("<redacted>")
    assert values["shuffle_pin_pad"] is False  # not a secret, shown as is


def test_masking_and_the_scan() -> None:
    line = "card 32150000000000000001 holder id 320582199001010202 terminal 320500000001"
    masked = mask_numbers(line)
    assert "3215************0001" in masked and "320500000001" in masked
    assert "199001010202" not in masked and "<id number removed>" in masked
    assert find_personal_data(masked) == []
    assert find_personal_data(line, names=["周强"]) != []
    assert find_personal_data("技术员 周强", names=["周强"]) == ["name '周强'"]


def test_trace_lines_keep_headers_and_status_words_only() -> None:
    assert summarize_apdu_line("> 00 B0 96 00 80") == "> 00 B0 96 00 80"
    assert summarize_apdu_line("> 80 70 00 00 1C " + "11 " * 27 + "11") == (
        "> 80 70 00 00 1C <28 bytes>"
    )
    assert summarize_apdu_line("> 00 20 00 00 03 <3 bytes redacted>") == (
        "> 00 20 00 00 03 <data redacted>"
    )
    assert summarize_apdu_line("< 12 34 56 9000") == "< <3 bytes> 9000"
    assert summarize_apdu_line("<  6983") == "< 6983"


def test_the_apdu_trace_of_a_session_holds_no_card_data(shared_rig: Rig) -> None:
    rig = shared_rig
    rig.insert("citizen")
    from cardlib.apdu import ApduSession
    from cardlib.purse import Purse

    purse = Purse(ApduSession(rig.world.card_reader))
    holder = purse.holder()  # the holder file: name and identity number
    asn = purse.asn.hex().upper()
    lines = rig.diag.apdu_trace(technician="x")
    text = "\n".join(lines)
    assert "> 00 B0 96 00" in text  # the read is there, its answer withheld
    assert holder.name.encode().hex().upper()[:8] not in text.replace(" ", "")
    assert asn not in text.replace(" ", "")
    with rig.diag.trace.paused():  # type: ignore[union-attr]
        purse.balance()
    assert len(rig.diag.apdu_trace()) == len(lines)


def test_support_bundle_signed_written_uploaded_and_clean(shared_rig: Rig, tmp_path: Path) -> None:
    rig = shared_rig
    names, asns = _names_and_asns(rig)
    log = RecentLog().attach()
    try:
        # Something careless in a log line: it must arrive masked.
        logging.getLogger("kiosk.test").warning("card %s refused, id 320582199001010202", asns[0])
        diag = Diagnostics(rig.devices, trace=rig.diag.trace, log=log)
        rig.insert("technician")
        technician = next(c for c in rig.world.wallet.cards() if c.role == "technician")
        result = diag.support_bundle(tmp_path, technician=technician.asn)
    finally:
        log.detach()
    assert result.upload_error is None and result.uploaded_id is not None
    content = result.path.read_bytes()
    signature = result.signature_path.read_text().strip()
    cert_key = rig.world.terminal_cert.public_key()
    assert chain.verify(cert_key, content, signature)
    assert not chain.verify(cert_key, content + b" ", signature)
    text = content.decode()
    assert find_personal_data(text, names=names) == []
    for asn in asns:
        assert asn not in text
    doc = json.loads(text)
    assert {"status", "self_tests", "config", "log", "apdu_trace"} <= doc.keys()
    assert any("3215" in line and "refused" in line for line in doc["log"])
    assert doc["technician"].startswith(technician.asn[:4]) and "*" in doc["technician"]
    assert len(doc["apdu_trace"]) > 0
    # The central kept the bytes it verified.
    got = httpx.get(f"{rig.world.central_url}/v1/admin/support-bundles/{result.uploaded_id}",
                    headers=ADMIN).json()  # fmt: skip
    assert base64.b64decode(got["content_b64"]) == content and got["signature"] == signature


def test_the_central_refuses_a_forged_or_misattributed_bundle(shared_rig: Rig) -> None:
    rig = shared_rig
    tid = rig.devices.terminal_id
    content = json.dumps({"terminal_id": tid, "format": "x"}).encode()
    good = chain.sign(rig.world.terminal_key, content)
    url = f"{rig.world.central_url}/v1/support-bundles"

    def post(body: bytes, sig: str, terminal: str = tid) -> httpx.Response:
        return httpx.post(url, json={"terminal_id": terminal, "name": "b",
                                     "content_b64": base64.b64encode(body).decode(),
                                     "signature": sig})  # fmt: skip

    assert post(content, good).status_code == 200
    assert post(content + b"x", good).json()["reason"] == "bad_signature"
    assert post(content, chain.sign(chain.generate_key(), content)).status_code == 401
    assert post(content, good, "320599999999").json()["reason"] == "unknown_terminal"
    other = json.dumps({"terminal_id": "320599999999"}).encode()
    r = post(other, chain.sign(rig.world.terminal_key, other))
    assert r.status_code == 400 and r.json()["reason"] == "bad_bundle"
    assert httpx.post(url, json={"terminal_id": tid}).status_code == 422


def test_a_bundle_to_a_missing_directory_is_refused(shared_rig: Rig, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a directory"):
        shared_rig.diag.support_bundle(tmp_path / "no-stick", run_tests=False)

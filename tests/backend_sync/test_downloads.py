"""Signed downloads: hotlist deltas and snapshots, documents, last good copies, time."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_sync import chain
from backend_sync.central import documents, registry
from backend_sync.central.service import Central
from backend_sync.terminal.client import CentralRefused
from backend_sync.terminal.downloads import DownloadStore
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import ThreadServer, asn_of, cards, terminal


def test_hotlist_deltas_snapshot_documents_and_clock(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    central.hotlist_max_delta = 3
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        list(cards(central, issuer_keys, 6))
        registry.set_card_status(central, asn=asn_of(1), status="blocked")
        documents.publish(central, "catalog", {"services": [{"id": "water", "名称": "水费"}]})
        r = t.agent.run_once()
        assert r.ok, r.problems
        assert r.hotlist_version == 1 and r.documents == {"catalog": 1}
        assert abs(r.skew_ms or 0) < 5000 and not r.clock_alarm
        hl = t.agent.store.hotlist()
        assert hl.blocks(asn_of(1)) and not hl.blocks(asn_of(2))
        # Two changes: a delta. Then five: the kiosk is too far behind, a snapshot.
        registry.set_card_status(central, asn=asn_of(2), status="blocked")
        registry.set_card_status(central, asn=asn_of(1), status="active")
        assert t.client.hotlist(1).payload["kind"] == "delta"
        t.agent.run_once()
        assert t.agent.store.hotlist().blocked == {asn_of(2)}
        for n in (3, 4, 5, 6):
            registry.set_card_status(central, asn=asn_of(n), status="blocked")
        registry.set_card_status(central, asn=asn_of(6), status="terminated")
        assert t.client.hotlist(3).payload["kind"] == "snapshot"
        t.agent.run_once()
        hl = t.agent.store.hotlist()
        assert hl.version == 8 and hl.blocked == {asn_of(n) for n in (2, 3, 4, 5, 6)}
        # A central that lies about the time is reported, never obeyed.
        central.clock = lambda: 10_000.0
        r = t.agent.run_once()
        assert r.clock_alarm and any("clock" in p for p in r.problems)
    # Offline now: the last good copies remain, and still verify.
    store = DownloadStore(tmp_path / "dl-320500000001", central.signing_key.public_key())
    doc = store.document("catalog")
    assert doc is not None and doc.payload["body"]["services"][0]["名称"] == "水费"
    assert store.hotlist().blocks(asn_of(5))


def test_forged_or_damaged_download_never_replaces_the_good_copy(
    central: Central, tmp_path: Path
) -> None:
    store = DownloadStore(tmp_path / "dl", central.signing_key.public_key())
    documents.publish(central, "fees", {"water": 350})
    good = documents.signed_document(central, "fees")
    store.save_document(good)
    other = chain.generate_key()
    forged = good.model_copy(
        update={"signature": chain.sign(other, chain.canonical({**good.payload, "v": 2}))}
    )
    with pytest.raises(ValueError):
        store.save_document(forged)
    assert store.document("fees") == good
    (tmp_path / "dl" / "fees.json").write_text("{torn", encoding="utf-8")
    assert store.document("fees") is None  # damaged reads as absent, never as data


def test_client_refuses_a_document_not_signed_by_the_central(
    central: Central, tmp_path: Path
) -> None:
    documents.publish(central, "config", {"offline_limit_fen": 20000})
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        t.client.central_key = chain.generate_key().public_key()  # pinned key differs
        with pytest.raises(CentralRefused) as exc:
            t.client.document("config")
        assert exc.value.reason == "bad_central_signature"

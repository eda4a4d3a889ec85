"""Terminal certificates chain to a trusted terminal CA (at enrollment and on every
batch), and a revoked terminal's later uploads are refused and flagged while its
earlier ones stay posted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization

from backend_sync import chain
from backend_sync.central import ledger, registry
from backend_sync.central.models import anomalies, terminal_records, terminals
from backend_sync.central.service import Central, Refused
from backend_sync.terminal.client import CentralRefused
from backend_sync.terminal_certs import (
    OID_ARC,
    issue_terminal_certificate,
    load_terminal_cas,
    make_test_terminal_ca,
    save_test_terminal_ca,
    terminal_cert_pem_for,
)
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import (
    ADMIN,
    ThreadServer,
    cards,
    sell,
    terminal,
    terminal_ca,
    terminal_cert,
)

TID = "320500000001"
NOW = dt.datetime.now(dt.UTC)


def _pem(cert: object) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()  # type: ignore[attr-defined]


def test_the_oid_arc_is_the_projects() -> None:
    from cardlib.certs import OID_ARC as CARD_ARC

    assert OID_ARC == CARD_ARC


def test_enrollment_takes_only_certificates_of_the_trusted_ca(central: Central) -> None:
    key = chain.generate_key()
    ca_key, ca_cert = terminal_ca()
    other_ca = make_test_terminal_ca(NOW)
    expired = issue_terminal_certificate(ca_key=ca_key, ca_cert=ca_cert, terminal_id=TID,
                                         public_key=key.public_key(),
                                         now=NOW - dt.timedelta(days=30), days=10)  # fmt: skip
    refused = {
        "self-signed": (chain.self_signed_cert(key, TID).decode(), "untrusted_certificate"),
        "another CA": (terminal_cert_pem_for(other_ca, TID, key), "untrusted_certificate"),
        "another terminal": (terminal_cert(key, "320500000002"), "certificate_mismatch"),
        "expired": (_pem(expired), "certificate_expired"),
        "the CA itself": (_pem(ca_cert), "bad_certificate"),
        "garbage": ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                    "bad_certificate"),
    }  # fmt: skip
    for what, (pem, reason) in refused.items():
        with pytest.raises(Refused) as exc:
            registry.enroll_terminal(central, terminal_id=TID, cert_pem=pem)
        assert (exc.value.status, exc.value.reason) == (422, reason), what
    registry.enroll_terminal(central, terminal_id=TID, cert_pem=terminal_cert(key, TID))


def test_every_batch_checks_the_certificate_again(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, TID)
        (card,) = cards(central, issuer_keys, 1)
        sell(t, card, 100, ttc=1)
        assert t.agent.run_once().acked_seq == 1
        # The enrolled certificate replaced behind the central's back (a database
        # edit) by a self-signed one for the same key: not trusted as enrolled.
        with central.engine.begin() as conn:
            conn.execute(terminals.update().values(
                cert_pem=chain.self_signed_cert(t.key, TID).decode()))  # fmt: skip
        sell(t, card, 100, ttc=2)
        with pytest.raises(CentralRefused) as exc:
            t.client.upload(_batch(t))
        assert (exc.value.status, exc.value.reason) == (403, "untrusted_certificate")
        # A proper certificate again, then time passes beyond its validity.
        with central.engine.begin() as conn:
            conn.execute(terminals.update().values(cert_pem=terminal_cert(t.key, TID)))
        assert t.agent.run_once().acked_seq == 2
        sell(t, card, 100, ttc=3)
        central.clock = lambda: (NOW + dt.timedelta(days=3700)).timestamp()
        with pytest.raises(CentralRefused) as exc:
            t.client.upload(_batch(t))
        assert exc.value.reason == "certificate_expired"


def _batch(t: object) -> bytes:
    from tests.backend_sync.support import Terminal

    assert isinstance(t, Terminal)
    prev, recs = t.outbox.pending()
    return t.client.build_batch(prev, [r.seq for r in recs], [r.body for r in recs], recs[-1].hash)


def test_a_revoked_terminal_is_refused_and_flagged_its_past_stays_posted(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, TID)
        (card,) = cards(central, issuer_keys, 1)
        for i in range(3):
            sell(t, card, 100, ttc=i + 1)
        assert t.agent.run_once().acked_seq == 3
        http = httpx.Client(base_url=srv.url, timeout=5,
                            headers={"Authorization": f"Bearer {ADMIN}"})  # fmt: skip
        r = http.post(f"/v1/terminals/{TID}/revoke", json={"reason": "x"})
        assert r.status_code in (404, 405)  # not a terminal endpoint
        r = http.post(f"/v1/admin/terminals/{TID}/revoke", json={"reason": "stolen 2026-11-30"})
        assert r.status_code == 200 and r.json()["acked_seq"] == 3
        # The thief keeps selling and uploading: refused, counted, flagged.
        for i in range(2):
            sell(t, card, 100, ttc=10 + i)
        report = t.agent.run_once()
        assert any("terminal_revoked" in p for p in report.problems), report.problems
        with pytest.raises(CentralRefused) as exc:
            t.client.upload(_batch(t))
        assert (exc.value.status, exc.value.reason) == (403, "terminal_revoked")
        with pytest.raises(CentralRefused) as exc:
            t.client.hold_order(asn=card.asn, payee="water", reference="B7", amount=100)
        assert exc.value.reason == "terminal_revoked"
        stats = http.get("/v1/admin/stats").json()["rejections"]
        assert stats["terminal_revoked"] >= 2
        # Revoked stays revoked: enrolling it again is refused.
        r = http.post("/v1/admin/terminals",
                      json={"terminal_id": TID, "cert_pem": terminal_cert(t.key, TID)})  # fmt: skip
        assert r.status_code == 409 and r.json()["reason"] == "terminal_revoked"
    with central.engine.connect() as conn:
        posted = conn.execute(
            sa.select(terminal_records.c.seq, terminal_records.c.status).order_by(
                terminal_records.c.seq)
        ).all()  # fmt: skip
        flags = conn.execute(sa.select(anomalies.c.kind, anomalies.c.terminal_id)).all()
        assert ledger.balance(conn, f"card:{card.asn}") == -300
    assert posted == [(1, "posted"), (2, "posted"), (3, "posted")]
    assert ("revoked_terminal_upload", TID) in flags


def test_terminal_ca_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cardlib.crypto import Algorithm
    from kiosk.cli import main

    db = f"sqlite:///{tmp_path / 'central.db'}"
    keys = tmp_path / "issuer-keys.json"
    IssuerKeys.generate(Algorithm.TDES).save(keys)
    signing, tkey = tmp_path / "signing.pem", tmp_path / "terminal-key.pem"
    assert main(["central", "keygen", "--out", str(signing)]) == 0
    assert main(["central", "keygen", "--out", str(tkey)]) == 0
    assert main(["central", "migrate", "--db", db]) == 0
    ca_dir = tmp_path / "terminal-ca"
    assert main(["central", "terminal-ca", "--out", str(ca_dir)]) == 0
    assert main(["central", "terminal-ca", "--out", str(ca_dir)]) == 1  # never overwritten
    assert "TEST ONLY" in (ca_dir / "terminal-ca.key").read_text()
    crt = tmp_path / "terminal.crt"
    assert main(["central", "terminal-cert", "--ca", str(ca_dir), "--terminal-id", TID,
                 "--key", str(tkey), "--out", str(crt)]) == 0  # fmt: skip
    common = ["--db", db, "--issuer-keys", str(keys), "--signing-key", str(signing)]
    trust = ["--terminal-ca", str(ca_dir / "terminal-ca.crt")]
    enroll = ["central", "enroll", *common, "--terminal-id", TID, "--cert", str(crt)]
    capsys.readouterr()
    assert main(enroll) == 1  # no terminal CA trusted: nothing is
    assert "untrusted_certificate" in capsys.readouterr().err
    assert main([*enroll, *trust]) == 0
    assert main(["central", "revoke-terminal", *common, *trust, "--terminal-id", TID,
                 "--reason", "stolen"]) == 0  # fmt: skip
    assert "revoked" in capsys.readouterr().out
    assert main([*enroll, *trust]) == 1
    assert "terminal_revoked" in capsys.readouterr().err
    with pytest.raises(ValueError, match="TEST ONLY"):
        load_terminal_cas([ca_dir / "terminal-ca.crt"], production=True)
    other = make_test_terminal_ca(NOW)
    crt2, _ = save_test_terminal_ca(tmp_path / "other", *other)
    assert len(load_terminal_cas([crt2, ca_dir / "terminal-ca.crt"])) == 2

"""The kiosk process SIGKILLed at seeded points across purchases: after restart and
sync, the cards, the outbox and the ledger agree; nothing lost, nothing doubled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import documents, ledger, registry
from backend_sync.central.models import terminal_records
from backend_sync.central.service import Central
from kiosk.demo.issuer import create_demo_wallet
from simulators.card import CitizenCard
from simulators.wallet import Wallet
from tests.backend_sync.kiosk_flow import CATALOG_VERSION, price_catalog
from tests.backend_sync.support import ThreadServer, make_central, open_balances, terminal_cert

RUNS = int(os.environ.get("CIVICARD_KILL_RUNS", "30"))
SEED = int(os.environ.get("CIVICARD_KILL_SEED", "20261128"))
TID = "320500000007"


def _kiosk(work: Path, url: str, seed: int, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.backend_sync.kiosk_proc", str(work), url, str(seed), *flags],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def check_agreement(work: Path, central: Central, start_balances: dict[str, int]) -> int:
    """Card balances, the outbox and the ledger tell the same story; returns #posted."""
    wallet = Wallet(work / "wallet")
    t = terminal_records.c
    with central.engine.connect() as conn:
        posted = conn.execute(
            sa.select(t.asn, t.atc, t.amount).where(t.status == "posted", t.ttype == 6)
        ).all()
        assert len({(a, atc) for a, atc, _ in posted}) == len(posted)  # nothing doubled
        for card in [c for c in wallet.cards() if c.role == "citizen"]:
            c = CitizenCard.load(wallet.root / card.file)
            spent = start_balances[card.asn] - c.balance
            recs = conn.execute(
                sa.select(t.seq, t.kind, t.status, t.reason, t.atc, t.amount, t.ref_seq)
                .where(t.asn == card.asn)
                .order_by(t.seq)
            ).all()
            # The opening balance came through the ledger too: the card's account
            # is what the card holds.
            assert c.balance == ledger.balance(conn, ledger.card_account(card.asn)), (spent, recs)
            # Every debit the card made is posted (its offline ATC counts them).
            n_posted = sum(1 for a, _, _ in posted if a == card.asn)
            assert n_posted == int(c.eeprom["offline_atc"]), card.asn
        assert ledger.balance(conn, "payee:water") == sum(a for _, _, a in posted)
        assert ledger.unbalanced_transactions(conn) == []
    return len(posted)


def test_kiosk_killed_at_seeded_points(
    tmp_path: Path,
    issuer_keys: object,
    central_signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    work = tmp_path
    create_demo_wallet(work / "wallet", seed=SEED, terminal_ids=(TID,))
    wallet = Wallet(work / "wallet")
    central = make_central(
        f"sqlite:///{tmp_path / 'central.db'}", wallet.keys(), central_signing_key
    )
    start = {}
    citizens = [c for c in wallet.cards() if c.role == "citizen"]
    for card in citizens:
        registry.register_card(central, asn=card.asn, algorithm=0, key_version=1)
    open_balances(central, tmp_path, wallet.root)
    for card in citizens:
        start[card.asn] = CitizenCard.load(wallet.root / card.file).balance
    key = chain.generate_key()
    (work / "terminal-key.pem").write_bytes(chain.private_key_pem(key))
    (work / "central.pub.pem").write_bytes(chain.public_key_pem(central_signing_key.public_key()))
    registry.enroll_terminal(central, terminal_id=TID, cert_pem=terminal_cert(key, TID))
    assert documents.publish(central, "catalog", price_catalog()) == CATALOG_VERSION
    killed = 0
    with ThreadServer(central) as srv:
        for r in range(RUNS):
            flags = ("--card-absent",) if r % 7 == 3 else ()
            res = _kiosk(work, srv.url, SEED + r, *flags)
            assert res.returncode in (0, -9), res.stderr[-2000:]
            killed += res.returncode == -9
        final = _kiosk(work, srv.url, SEED + RUNS, "--no-kill")
        assert final.returncode == 0, final.stderr[-2000:]
    assert killed >= RUNS * 0.8
    acked, unacked, problems = map(int, final.stdout.split())
    assert unacked == 0 and acked > RUNS and problems == 0, final.stderr
    assert check_agreement(work, central, start) > RUNS
    central.engine.dispose()

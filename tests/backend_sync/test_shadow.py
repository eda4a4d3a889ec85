"""Shadow balances: kept with every posting (purchases, loads, their voids), read
in constant time, summed city-wide without scanning the ledger, and checked
against the entries by the full streaming audit."""

from __future__ import annotations

from pathlib import Path

from backend_sync.central import ledger, shadow
from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import ThreadServer, cards, sell, terminal, top_up


def test_shadow_balances_follow_every_posting_and_the_audit_checks_them(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500004001", batch_size=7)
        cs = list(cards(central, issuer_keys, 3))
        for card in cs:
            top_up(t, card, 5_000)  # authorization (funding -> suspense), then the load
        for i in range(20):
            sell(t, cs[i % 3], 100 + i, ttc=i + 1)
        assert t.agent.upload_pending().acked_seq == 23
        t.client.close()
        t.outbox.close()
    with central.engine.connect() as conn:
        full = ledger.balances(conn)  # the scan
        ids = ledger.account_ids(conn, full)
        for code, bal in full.items():
            assert ledger.shadow_balance(conn, ids[code])[0] == bal, code
    for i, card in enumerate(cs):
        check = shadow.card_check(central, card.asn)
        spent = sum(100 + k for k in range(20) if k % 3 == i)
        # The model card holds 50,000 fen from before the ledger knew it.
        assert check is not None and check.balance == 5_000 - spent == card.balance - 50_000
        assert check.entries == 1 + len([k for k in range(20) if k % 3 == i])
    assert shadow.card_check(central, "32159999999999999999") is None
    rep = shadow.report(central)
    assert rep["total"] == 0
    kinds = rep["kinds"]
    assert isinstance(kinds, dict) and kinds["card"]["accounts"] == 3
    assert kinds["card"]["balance"] == sum(c.balance - 50_000 for c in cs)
    audit = shadow.audit(central)
    assert audit.clean and audit.entries == rep["entries"] and audit.accounts == len(full)
    # An entry written behind post_legs' back (the shadow is not told): found.
    with central.engine.begin() as conn:
        acc = ledger.account_ids(conn, [ledger.card_account(cs[0].asn)])
        conn.exec_driver_sql(
            "INSERT INTO ledger_entries (txn_id, account_id, amount) VALUES (%s, %s, 7)"
            if conn.dialect.name == "postgresql"
            else "INSERT INTO ledger_entries (txn_id, account_id, amount) VALUES (?, ?, 7)",
            (999_999, acc[ledger.card_account(cs[0].asn)]),
        )
    audit = shadow.audit(central)
    assert not audit.clean and audit.total == 7
    assert [m[0] for m in audit.mismatches] == [acc[ledger.card_account(cs[0].asn)]]

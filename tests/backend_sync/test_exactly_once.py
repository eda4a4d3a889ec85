"""Exactly once: lost answers and a central killed mid-upload post nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import ledger
from backend_sync.central.models import terminal_records
from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.proxy import CuttingProxy
from tests.backend_sync.support import ThreadServer, cards, free_port, sell, terminal, terminal_ca


def _posted(central: Central) -> tuple[int, int, int]:
    t = terminal_records.c
    with central.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).where(t.status == "posted")).scalar_one()
        distinct = conn.execute(
            sa.select(sa.func.count(sa.distinct(t.seq))).where(t.status == "posted")
        ).scalar_one()
        water = ledger.balance(conn, "payee:water")
    return int(n), int(distinct), water


def test_answer_lost_after_commit_is_retried_and_acknowledged_once(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv, CuttingProxy(srv.port) as proxy:
        t = terminal(central, proxy.url, tmp_path, "320500000001", batch_size=5)
        cs = list(cards(central, issuer_keys, 2))
        for i in range(12):
            sell(t, cs[i % 2], 10 + i, ttc=i + 1)
        proxy.cut_responses = 2  # the first two answers vanish after the commit
        report = t.agent.run_once()
        assert proxy.cut_done == 2
        assert report.acked_seq == 12 and t.outbox.status().unacked == 0
    assert _posted(central) == (12, 12, sum(10 + i for i in range(12)))


def test_central_killed_mid_upload_posts_every_record_once(
    central: Central,
    db_url: str,
    issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey,
    tmp_path: Path,
) -> None:
    keys_file = tmp_path / "issuer-keys.json"
    issuer_keys.save(keys_file)
    signing = tmp_path / "signing.pem"
    signing.write_bytes(chain.private_key_pem(central_signing_key))
    ca_file = tmp_path / "terminal-ca.crt"
    ca_file.write_bytes(terminal_ca()[1].public_bytes(serialization.Encoding.PEM))
    port = free_port()
    cmd = [sys.executable, "-m", "kiosk.cli", "central", "serve", "--db", db_url,
           "--issuer-keys", str(keys_file), "--signing-key", str(signing),
           "--terminal-ca", str(ca_file), "--port", str(port)]  # fmt: skip

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                return proc
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
                time.sleep(0.05)
        raise AssertionError("central did not start")

    n = 300
    # The agent keeps retrying for about a minute (300 x 0.2 s), as long as the test
    # waits for it: the central's restart takes seconds on a loaded machine, longer
    # than the 12 s that 60 attempts gave it.
    t = terminal(central, f"http://127.0.0.1:{port}", tmp_path, "320500000001",
                 batch_size=10, attempts=300, backoff_max=0.2)  # fmt: skip
    cs = list(cards(central, issuer_keys, 5))
    for i in range(n):
        sell(t, cs[i % 5], 1 + i % 50, ttc=i + 1)
    proc = start()
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", t.agent.upload_pending()))
    try:
        worker.start()
        deadline = time.monotonic() + 60
        while t.outbox.status().acked_seq < 30:
            assert time.monotonic() < deadline and worker.is_alive(), result
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)  # in the middle of the upload
        proc.wait()
        killed_at = t.outbox.status().acked_seq
        assert killed_at < n
        proc = start()
        worker.join(60)
        assert not worker.is_alive()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert t.outbox.status().acked_seq == n
    assert _posted(central) == (n, n, sum(1 + i % 50 for i in range(n)))
    with central.engine.connect() as conn:
        assert ledger.unbalanced_transactions(conn) == []

"""Polls at the central: blind signatures issued per second, ballots verified per second.

Pre-generated before the timed runs: cards (a TEST ONLY issuer CA, one P-256 key and
certificate per card, as personalization makes them), each card's signed token request
(terminal ECDSA signature over the canonical body, the card's signature over the
token challenge), and the kiosk side's finalized ballots. Timed:

- raw RSABSSA BlindSign (RFC 9474, CRT + the fault check), per key size;
- the whole token issuance at the central, as the HTTP route runs it (terminal
  signature, poll state, card certificate chain and signature, eligibility,
  one-per-card check, blind signing, the insert and commit);
- ballot batches counted (RSA-PSS verify per ballot, spent-token check, insert).

    .venv/bin/python bench/bench_polls.py [--cards 300] [--rounds 3] [--engine sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from backend_sync import blindrsa, chain
from backend_sync.central import polls, registry
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.service import Central
from backend_sync.pgserver import PrivatePostgres
from backend_sync.poll_wire import (
    Ballot,
    BallotBatch,
    TokenRequest,
    TokenRequestBody,
    token_challenge,
)
from backend_sync.wire import record_dict
from cardlib.certs import Role, issue_card_certificate, make_test_ca

TERMINAL = "320500000001"
T0 = 1_790_000_000_000


def _spec(poll_id: str) -> dict[str, object]:
    t = {"zh-Hans": "问", "zh-Hant": "問", "en": "Q"}
    return {
        "poll_id": poll_id, "department": "bench", "question": t, "options": [t, t],
        "opens_ms": T0, "closes_ms": T0 + 86_400_000, "min_batch": 1,
    }  # fmt: skip


def _central(url: str) -> Central:
    engine = make_engine(url)
    upgrade(engine)
    c = Central(engine=engine, crypto=CardCrypto.of(), signing_key=chain.generate_key(),
                admin_token="")  # fmt: skip
    c.clock = lambda: (T0 + 1000) / 1000
    return c


def run(url: str, cards: int, rounds: int, label: str) -> None:
    now = dt.datetime.fromtimestamp(T0 / 1000, dt.UTC)
    ca_key, ca_cert = make_test_ca(now)
    term_key = chain.generate_key()
    people = []
    for i in range(cards):
        asn = f"3215{i:016d}"
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue_card_certificate(
            ca_key=ca_key, ca_cert=ca_cert,
            card_public_key=key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            ),
            asn=bytes.fromhex(asn), card_number=asn, role=Role.CITIZEN,
            not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=3650),
        ).public_bytes(serialization.Encoding.DER)  # fmt: skip
        people.append((asn, key, cert))
    issue_rates, count_rates = [], []
    for r in range(rounds):
        central = _central(url)
        central.card_cas = (ca_cert,)
        registry.enroll_terminal(
            central, terminal_id=TERMINAL,
            cert_pem=chain.self_signed_cert(term_key, TERMINAL).decode(),
        )  # fmt: skip
        pid = f"B{os.getpid()}R{r}"
        polls.create_poll(central, _spec(pid))
        doc = polls.poll_document(central, pid).payload
        pub = serialization.load_der_public_key(bytes.fromhex(doc["key"]["spki"]))
        assert isinstance(pub, rsa.RSAPublicKey)
        reqs, pending = [], []
        for asn, key, cert in people:
            registry.register_card(central, asn=asn, algorithm=0, key_version=1)
            prepared = blindrsa.prepare(os.urandom(32))
            bl = blindrsa.blind(pub, prepared)
            ts = T0 + 1000
            ch = token_challenge(poll_id=pid, asn=asn, blinded_msg=bl.blinded_msg, ts=ts)
            body = TokenRequestBody(
                terminal_id=TERMINAL, poll_id=pid, asn=asn, birth_date="1980-01-01",
                blinded_msg=bl.blinded_msg.hex(), card_cert=cert.hex(),
                card_sig=key.sign(ch, ec.ECDSA(hashes.SHA256())).hex(), ts=ts,
            )  # fmt: skip
            sig = chain.sign(term_key, chain.canonical(record_dict(body)))
            reqs.append(TokenRequest(body=body, signature=sig))
            pending.append((prepared, bl.inv))
        t = time.perf_counter()
        granted = [polls.issue_token(central, q) for q in reqs]
        issue_rates.append(len(reqs) / (time.perf_counter() - t))
        ballots = []
        for i, ((p, inv), g) in enumerate(zip(pending, granted, strict=True)):
            final = blindrsa.finalize(pub, p, bytes.fromhex(g.blind_sig), inv)
            ballots.append(Ballot(token=p.hex(), sig=final.hex(), choice=i % 2))
        t = time.perf_counter()
        for i in range(0, len(ballots), 100):
            polls.cast_ballots(central, pid, BallotBatch(ballots=ballots[i : i + 100]))
        count_rates.append(len(ballots) / (time.perf_counter() - t))
        central.engine.dispose()
    print(f"{label}: tokens issued {statistics.median(issue_rates):,.0f}/s, "
          f"ballots counted {statistics.median(count_rates):,.0f}/s "
          f"(median of {rounds} rounds x {cards} cards; 2048-bit poll key)")  # fmt: skip


def raw_blind_sign(n: int = 200) -> None:
    for bits in (2048, 3072):
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        bl = blindrsa.blind(key.public_key(), blindrsa.prepare(b"x" * 32))
        times = []
        for _ in range(n):
            t = time.perf_counter()
            blindrsa.blind_sign(key, bl.blinded_msg)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        # Baseline, same key, same run: OpenSSL's own RSA private operation (a PSS
        # signature) through cryptography. BlindSign does the same modular
        # exponentiation in Python integers.
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
        base = []
        for _ in range(n):
            t = time.perf_counter()
            key.sign(b"x", pss, hashes.SHA384())
            base.append(time.perf_counter() - t)
        bmed = statistics.median(base)
        print(
            f"raw BlindSign RSA-{bits}: median {med * 1e3:.2f} ms, {1 / med:,.0f}/s; "
            f"OpenSSL RSA-PSS sign {bmed * 1e3:.2f} ms; ratio {med / bmed:.1f}x (n={n})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cards", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    raw_blind_sign()
    if args.engine in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as d:
            run(f"sqlite:///{Path(d) / 'c.db'}", args.cards, args.rounds, "SQLite")
    if args.engine in ("postgres", "both"):
        pg = PrivatePostgres().start()
        try:
            run(pg.create_database("bench_polls"), args.cards, args.rounds, "PostgreSQL")
        finally:
            pg.stop()


if __name__ == "__main__":
    main()

"""Polls end to end: real cards (simulated chips from the TEST ONLY wallet), the
central on uvicorn, the kiosk's token request, ballot box and anonymous release."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import blindrsa
from backend_sync.central import polls
from backend_sync.central.poll_models import poll_ballots, poll_tokens
from backend_sync.central.service import Central, Refused
from backend_sync.poll_wire import Ballot, BallotBatch
from backend_sync.terminal.ballots import (
    BallotBox,
    PollError,
    PollInfo,
    Vote,
    anonymous_sender,
    cast_vote,
    fetch_poll,
)
from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
from cardlib.apdu import ApduSession
from cardlib.identity import Identity
from cardlib.purse import Purse
from kiosk.demo.issuer import create_demo_wallet
from simulators.transport import SimReader
from simulators.wallet import Wallet

from .support import ThreadServer, enroll, make_central

# ms, the poll opens here: today (midnight UTC), inside the terminal certificates'
# validity, which the central checks against its (moved) clock.
T0 = int(time.time()) // 86_400 * 86_400_000
DAY = 86_400_000
TERMINAL = "320500000001"


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Wallet:
    root = tmp_path_factory.mktemp("wallet")
    create_demo_wallet(root, seed=7, now=dt.datetime.fromtimestamp(T0 / 1000, dt.UTC))
    return Wallet(root)


@dataclass
class World:
    central: Central
    url: str
    client: CentralClient
    wallet: Wallet
    clock: list[float]
    tmp: Path

    def at(self, ms: int) -> None:
        self.clock[0] = ms / 1000


@pytest.fixture
def world(
    db_url: str, wallet: Wallet, central_signing_key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> Iterator[World]:
    central = make_central(db_url, wallet.keys(), central_signing_key)
    clock = [T0 / 1000]
    central.clock = lambda: clock[0]
    central.card_cas = (
        x509.load_pem_x509_certificate((wallet.root / "issuer-ca.crt").read_bytes()),
    )
    from backend_sync.central import registry

    for card in wallet.cards():
        registry.register_card(
            central, asn=card.asn, algorithm=int(wallet.keys().algorithm), key_version=1
        )
    key = enroll(central, TERMINAL)
    with ThreadServer(central) as srv:
        client = CentralClient(
            srv.url, terminal_id=TERMINAL, key=key,
            central_key=central_signing_key.public_key(), timeout=10,
        )  # fmt: skip
        # The terminal's request timestamps are checked against the central's clock.
        client._now_ms = staticmethod(lambda: int(clock[0] * 1000))  # type: ignore[method-assign]
        yield World(central, srv.url, client, wallet, clock, tmp_path)
        client.close()
    central.engine.dispose()


def spec(**kw: object) -> dict[str, object]:
    s: dict[str, object] = {
        "poll_id": "P1",
        "department": "city-transport",
        "question": {"zh-Hans": "公交夜班线路是否延长？", "zh-Hant": "公交夜班線路是否延長？",
                     "en": "Extend the night bus lines?"},
        "options": [{"zh-Hans": "同意", "zh-Hant": "同意", "en": "Yes"},
                    {"zh-Hans": "不同意", "zh-Hant": "不同意", "en": "No"}],
        "opens_ms": T0,
        "closes_ms": T0 + 3 * DAY,
        "release_times_ms": [T0 + DAY, T0 + 2 * DAY],
        "min_batch": 2,
    }  # fmt: skip
    s.update(kw)
    return s


@dataclass
class Card:
    asn: str
    identity: Identity
    birth: str


def insert(world: World, who: str) -> Card:
    reader = SimReader("card")
    reader.insert(world.wallet.open_card(who))
    purse = Purse(ApduSession(reader))
    entry = next(c for c in world.wallet.cards() if c.name == who or c.asn == who)
    ident = Identity.of(purse)
    ident.verify_pin(entry.pin)
    return Card(entry.asn, ident, purse.holder().birth.isoformat())


def vote(world: World, poll: PollInfo, who: str, choice: int) -> Vote:
    card = insert(world, who)
    return cast_vote(
        world.client, poll, asn=card.asn, birth_date=card.birth,
        card_cert=card.identity.read_certificate(), card_sign=card.identity.internal_authenticate,
        choice=choice,
    )  # fmt: skip


CITIZENS = ("张伟", "李娜", "王秀英", "赵䶮", "阿依古丽·买买提")


def test_one_vote_per_card_counted_after_close(world: World) -> None:
    polls.create_poll(world.central, spec())
    poll = fetch_poll(world.client, "P1")
    box = BallotBox(world.tmp / "ballots.db")
    votes = [vote(world, poll, who, i % 2) for i, who in enumerate(CITIZENS)]
    for v in votes:
        box.put(v)
    # The same card again: its token was issued; a new blinded message is refused.
    with pytest.raises(CentralRefused) as exc:
        vote(world, poll, "张伟", 1)
    assert exc.value.reason == "token_already_issued"
    # Results are hidden while the poll runs.
    with pytest.raises(Refused, match="poll_open"):
        polls.results(world.central, "P1")
    send = anonymous_sender(world.url)
    assert box.release_due(poll, T0 + 1000, send) == 0  # before the first release time
    world.at(T0 + DAY + 5)
    assert box.release_due(poll, T0 + DAY + 5, send) == 5
    assert box.waiting("P1") == 0
    # A spent token is refused as a duplicate, a forged signature as bad.
    v = votes[0]
    world.at(T0 + 3 * DAY + 1)
    again = send(
        "P1", BallotBatch(ballots=[Ballot(token=v.token.hex(), sig=v.sig.hex(), choice=1)])
    )
    assert [r.result for r in again.results] == ["duplicate"]
    forged = bytes([v.sig[0] ^ 0x40]) + v.sig[1:]
    bad = send("P1", BallotBatch(ballots=[Ballot(token=(b"\x01" * 64).hex(), sig=forged.hex(),
                                                 choice=0)]))  # fmt: skip
    assert [r.result for r in bad.results] == ["bad_signature"]
    polls.close_poll(world.central, "P1")
    res = polls.results(world.central, "P1")
    assert res.totals == [3, 2] and res.counted == 5
    # Each citizen's receipt hash is in the public list; the list says nothing of choices.
    assert sorted(v.receipt_hash for v in votes) == res.counted_token_sha256
    with pytest.raises(CentralRefused) as exc2:
        vote(world, poll, "李娜", 0)
    assert exc2.value.reason == "poll_closed"


def test_retry_same_blinded_message_same_answer(world: World) -> None:
    from backend_sync.poll_wire import TokenRequest, TokenRequestBody, token_challenge

    polls.create_poll(world.central, spec())
    poll = fetch_poll(world.client, "P1")
    card = insert(world, "李娜")
    prepared = blindrsa.prepare(b"t" * 32)
    bl = blindrsa.blind(poll.key, prepared)
    ts = T0 + 10

    def request() -> dict[str, str]:
        body = TokenRequestBody(
            terminal_id=TERMINAL, poll_id="P1", asn=card.asn, birth_date=card.birth,
            blinded_msg=bl.blinded_msg.hex(), card_cert=card.identity.read_certificate().hex(),
            card_sig=card.identity.internal_authenticate(token_challenge(
                poll_id="P1", asn=card.asn, blinded_msg=bl.blinded_msg, ts=ts)).hex(),
            ts=ts,
        )  # fmt: skip
        out: dict[str, str] = world.client._signed_post("/v1/polls/P1/tokens", body, TokenRequest)
        return out

    first, second = request(), request()
    assert first == second
    sig = blindrsa.finalize(poll.key, prepared, bytes.fromhex(first["blind_sig"]), bl.inv)
    assert blindrsa.verify(poll.key, prepared, sig)


def test_card_proof_and_eligibility_enforced(world: World) -> None:
    polls.create_poll(world.central, spec(min_age=30, max_age=70))
    poll = fetch_poll(world.client, "P1")
    # 赵䶮 (born 2001) is under 30; 王秀英 (born 1948) is over 70.
    for who in ("赵䶮", "王秀英"):
        with pytest.raises(CentralRefused) as exc:
            vote(world, poll, who, 0)
        assert exc.value.reason == "not_eligible"
    assert vote(world, poll, "张伟", 0).poll_id == "P1"
    # A signature from another card's key (a clone without the chip's key) is refused.
    a, b = insert(world, "李娜"), insert(world, "阿依古丽·买买提")
    with pytest.raises(CentralRefused) as exc:
        cast_vote(world.client, poll, asn=a.asn, birth_date=a.birth,
                  card_cert=a.identity.read_certificate(),
                  card_sign=b.identity.internal_authenticate, choice=0)  # fmt: skip
    assert exc.value.reason == "card_not_genuine"
    # A clerk's card is not a citizen's vote.
    clerk = insert(world, "柜员 陈静")
    with pytest.raises(CentralRefused) as exc:
        cast_vote(world.client, poll, asn=clerk.asn, birth_date=clerk.birth,
                  card_cert=clerk.identity.read_certificate(),
                  card_sign=clerk.identity.internal_authenticate, choice=0)  # fmt: skip
    assert exc.value.reason == "card_not_genuine"


def test_kiosk_refuses_a_key_other_than_the_documents(world: World) -> None:
    polls.create_poll(world.central, spec())
    polls.create_poll(world.central, spec(poll_id="P2"))
    real = fetch_poll(world.client, "P1")
    other = fetch_poll(world.client, "P2")
    # The central answers P1's token request under P2's key (say, to tag this card):
    # the kiosk, blinding under the key of P1's signed document, finds out.
    swapped = PollInfo(real.poll_id, real.document, other.key)
    # Blinded under P2's modulus, the message may even exceed P1's (the central then
    # refuses it as malformed); either way no vote comes out of a key swap, and the
    # kiosk names it a key swap.
    with pytest.raises(PollError) as swap:
        vote(world, swapped, "张伟", 0)
    assert "not under the poll's key" in str(swap.value) or (
        isinstance(swap.value.__cause__, CentralRefused)
        and swap.value.__cause__.reason == "bad_blinded_message"
    )
    # And a document whose signature is not the central's is refused outright.
    sd = world.client._send("GET", "/v1/polls/P1")
    sd["payload"]["key"]["spki"] = other.document["key"]["spki"]
    with pytest.raises(CentralRefused, match="bad_central_signature"):
        world.client._verified(sd, "poll")


def test_a_fault_in_the_centrals_signing_is_a_503_not_a_key_swap(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CRT fault (injected: one half of the private operation comes out wrong) is
    caught by the central's own check: the answer is withheld, nothing is issued,
    the kiosk is told to try again (503 signing_failure) and does not call it a key
    swap; once the fault is gone the same card votes."""
    import gmpy2

    polls.create_poll(world.central, spec())
    poll = fetch_poll(world.client, "P1")
    real = gmpy2.powmod_sec
    monkeypatch.setattr(gmpy2, "powmod_sec", lambda m, e, p: real(m, e, p) ^ 1)
    with pytest.raises(CentralUnavailable, match="HTTP 503"):  # after its retries
        vote(world, poll, "张伟", 0)
    with world.central.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(poll_tokens)).scalar() == 0
    monkeypatch.setattr(gmpy2, "powmod_sec", real)
    assert vote(world, poll, "张伟", 0).choice == 0


def test_small_batches_wait_for_the_close(world: World) -> None:
    polls.create_poll(world.central, spec(min_batch=3))
    poll = fetch_poll(world.client, "P1")
    box = BallotBox(world.tmp / "ballots.db")
    box.put(vote(world, poll, "张伟", 0))
    send = anonymous_sender(world.url)
    world.at(T0 + DAY + 1)
    assert box.release_due(poll, T0 + DAY + 1, send) == 0  # only one: it waits
    v = vote(world, poll, "李娜", 1)
    with pytest.raises(CentralRefused, match="batch_too_small"):
        send("P1", BallotBatch(ballots=[Ballot(token=v.token.hex(), sig=v.sig.hex(), choice=1)]))
    world.at(T0 + 3 * DAY)
    assert box.release_due(poll, T0 + 3 * DAY, send) == 1  # the close releases any number


def test_issuance_and_ballots_cannot_be_joined(world: World) -> None:
    """Three release batches; the central's rows for tokens and for ballots share no
    column, and neither the ballots' storage order nor their time stamps follow the
    order in which cards got their tokens."""
    polls.create_poll(world.central, spec(min_batch=1))
    poll = fetch_poll(world.client, "P1")
    box = BallotBox(world.tmp / "ballots.db")
    send = anonymous_sender(world.url)
    order: list[str] = []  # token hashes in the order their cards were issued tokens
    schedule = [  # (when these voters vote, when their kiosk next releases)
        (T0 + 1, T0 + DAY + 1, CITIZENS[:2]),
        (T0 + DAY + 2, T0 + 2 * DAY + 1, CITIZENS[2:4]),
        (T0 + 2 * DAY + 2, T0 + 3 * DAY, CITIZENS[4:]),
    ]
    for batch, (vote_at, release_at, voters) in enumerate(schedule):
        world.at(vote_at)
        for who in voters:
            v = vote(world, poll, who, batch % 2)
            order.append(v.receipt_hash)
            box.put(v)
        world.at(release_at)
        assert box.release_due(poll, release_at, send) == len(voters)
    token_cols = {c.name for c in poll_tokens.columns}
    ballot_cols = {c.name for c in poll_ballots.columns}
    assert token_cols & ballot_cols == {"poll_id"}
    assert not {"terminal_id", "asn", "ts", "at_ms", "seq", "id"} & ballot_cols
    with world.central.engine.connect() as conn:
        rows = conn.execute(poll_ballots.select()).all()
        tokens = conn.execute(poll_tokens.select()).all()
    stored = [r.token_sha256 for r in rows]
    assert sorted(stored) == sorted(order)
    # Storage order within each release is hash order, whatever order the kiosk sent
    # or its voters voted in (SQLite keeps no rowid; PostgreSQL's heap gets each
    # batch sorted).
    for slot in (1, 2, 3):
        in_slot = [r.token_sha256 for r in rows if r.release_slot == slot]
        assert in_slot == sorted(in_slot)
    # Nothing but the coarse release slot is kept per ballot.
    assert {r.release_slot for r in rows} == {1, 2, 3}
    # The issuance rows hold only blinded-message hashes: none equals a spent token hash.
    assert not {t.blinded_sha256 for t in tokens} & set(stored)
    assert not any(hashlib.sha256(bytes.fromhex(t.blind_sig)).hexdigest() in stored for t in tokens)


def test_poll_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli import main

    db = f"sqlite:///{tmp_path / 'central.db'}"
    assert main(["central", "migrate", "--db", db]) == 0
    spec_file = tmp_path / "poll.toml"
    spec_file.write_text(
        'poll_id = "NIGHTBUS"\ndepartment = "city-transport"\n'
        f"opens_ms = {T0}\ncloses_ms = {T0 + 3 * DAY}\nrelease_times_ms = [{T0 + DAY}]\n"
        "min_batch = 5\n"
        '[question]\n"zh-Hans" = "延长夜班线？"\n"zh-Hant" = "延長夜班線？"\nen = "Extend?"\n'
        '[[options]]\n"zh-Hans" = "同意"\n"zh-Hant" = "同意"\nen = "Yes"\n'
        '[[options]]\n"zh-Hans" = "不同意"\n"zh-Hant" = "不同意"\nen = "No"\n',
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["central", "poll", "create", "--db", db, "--file", str(spec_file)]) == 0
    assert "NIGHTBUS" in capsys.readouterr().out
    assert main(["central", "poll", "create", "--db", db, "--file", str(spec_file)]) == 1
    assert "poll_exists" in capsys.readouterr().out
    assert main(["central", "poll", "list", "--db", db]) == 0
    assert "延长夜班线" in capsys.readouterr().out
    assert main(["central", "poll", "results", "--db", db, "--poll", "NIGHTBUS"]) == 1
    assert "poll_open" in capsys.readouterr().out
    assert main(["central", "poll", "close", "--db", db, "--poll", "NIGHTBUS", "--force"]) == 0
    capsys.readouterr()
    assert main(["central", "poll", "results", "--db", db, "--poll", "NIGHTBUS"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals"] == [0, 0] and out["counted_token_sha256"] == []
    bad = tmp_path / "bad.toml"
    bad.write_text("poll_id = [", encoding="utf-8")
    assert main(["central", "poll", "create", "--db", db, "--file", str(bad)]) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"options": [{"zh-Hans": "一", "zh-Hant": "一", "en": "one"}]},
        {"question": {"en": "only English"}},
        {"closes_ms": T0},
        {"release_times_ms": [T0 + 10 * DAY]},
        {"min_batch": 0},
        {"poll_id": "no spaces allowed"},
        {"opens_ms": "tomorrow"},
    ],
)
def test_bad_poll_specs_refused(
    tmp_path: Path,
    wallet: Wallet,
    central_signing_key: ec.EllipticCurvePrivateKey,
    change: dict[str, object],
) -> None:
    central = make_central(f"sqlite:///{tmp_path / 'c.db'}", wallet.keys(), central_signing_key)
    with pytest.raises(Refused) as exc:
        polls.create_poll(central, spec(**change))
    assert exc.value.status == 422

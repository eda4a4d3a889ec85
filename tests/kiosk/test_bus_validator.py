"""The bus validator end to end, in-process readers: a day of offline rides, torn taps
settled without charging twice, the upload, the central verifying the type-09 TACs and
posting each ride once, the card's history at the kiosk, and a hotlisted card refused.

The validator is a terminal of its own: its PSAM (terminal id, TTC), enrolled key,
outbox and downloads, next to the demo world's kiosk and central.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend_sync.central import registry
from backend_sync.central.models import terminal_records
from cardlib.apdu import ApduSession
from cardlib.bcd import CARD_TZ
from cardlib.purse import Purse
from kiosk.demo.validator_sim import simulated_bus
from kiosk.journeys.citizen_states import State
from kiosk.validator import Fare, Outcome, Tap
from kiosk.validator.config import ValidatorConfigError, load_validator_config
from tests.kiosk.conftest import Kiosk

BUS_TID = "3205B5000001"
FARE = 200


class Bus:
    """The simulated validator, presenting the demo citizens' cards."""

    def __init__(self, k: Kiosk, tmp: Path, start: datetime) -> None:
        w = k.world
        self.world = w
        self.sim = simulated_bus(keys=w.wallet.keys(), central=w.central, ca_root=w.root,
                                 central_url=w.central_url, root=tmp / "bus", terminal_id=BUS_TID,
                                 fare=Fare(FARE, "transit", 12, 345), start=start,
                                 repeat_window_s=120)  # fmt: skip
        self.agent, self.outbox, self.reader = self.sim.agent, self.sim.outbox, self.sim.reader

    def tap(self, k: Kiosk, n: int, *, at: datetime | None = None, pull: bool | None = None) -> Tap:
        """Citizen n presents the card (read from its file, as it left the last reader)."""
        return self.sim.tap(self.world.wallet.open_card(self.world.citizen(n).asn), at=at,
                            pull=pull)  # fmt: skip


def make_bus(k: Kiosk, tmp: Path, *, start: datetime) -> Bus:
    return Bus(k, tmp, start)


def _rides(k: Kiosk) -> dict[int, tuple[str, int | None, str]]:
    t = terminal_records.c
    with k.world.central.engine.connect() as conn:
        q = sa.select(t.seq, t.status, t.ttype, t.kind).where(t.terminal_id == BUS_TID)
        return {s: (st, ty, kind) for s, st, ty, kind in conn.execute(q)}


def _today() -> datetime:
    now = datetime.now(CARD_TZ)
    return now.replace(hour=6, minute=0, second=0, microsecond=0)


def test_a_day_of_offline_rides_is_posted_once_and_shows_at_the_kiosk(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    k = make_kiosk()
    k.start()
    day = _today()
    bus = make_bus(k, tmp_path, start=day)
    assert bus.agent.run_once().hotlist_version >= 0  # at the depot: hotlist down
    before = {n: k.world.card_balance(k.world.citizen(n).asn) for n in (1, 2, 3)}
    # The day, offline: 15 rides, 70 minutes apart, three passengers in turn.
    taps = [bus.tap(k, 1 + i % 3, at=day + timedelta(minutes=70 * i)) for i in range(15)]
    assert [t.outcome for t in taps] == [Outcome.RIDE] * 15
    # Tapping again on the same bus a minute later is not charged again.
    again = bus.tap(k, 3, at=day + timedelta(minutes=70 * 14 + 1))  # its last ride: 14
    assert again.outcome is Outcome.ALREADY_PAID and again.seq is None
    # Torn after the debit (the card left before its answer): the next tap of that
    # card settles it from the card, and does not charge again.
    late = day + timedelta(hours=18)
    assert bus.tap(k, 2, at=late, pull=True).outcome is Outcome.TORN
    settled = bus.tap(k, 2, at=late + timedelta(seconds=5))
    assert settled.outcome is Outcome.ALREADY_PAID and settled.detail == "earlier tap completed"
    # Torn before the debit: not charged, so the next tap is a ride (charged once).
    assert bus.tap(k, 3, at=late + timedelta(minutes=5), pull=False).outcome is Outcome.TORN
    retry = bus.tap(k, 3, at=late + timedelta(minutes=5, seconds=5))
    assert retry.outcome is Outcome.RIDE
    charged = {1: 5 * FARE, 2: 6 * FARE, 3: 6 * FARE}
    for n in (1, 2, 3):
        assert k.world.card_balance(k.world.citizen(n).asn) == before[n] - charged[n]
    bus.reader.insert(k.world.wallet.open_card(k.world.citizen(1).asn))
    card = Purse(ApduSession(bus.reader))
    rec = card.transit_record(1)
    assert rec is not None and (rec.rides, rec.line, rec.vehicle, rec.fare) == (5, 12, 345, FARE)
    assert rec.terminal_id.hex().upper() == BUS_TID
    bus.reader.remove()
    # Back at the depot: one upload.
    head = bus.outbox.status().head_seq
    prev, pending = bus.outbox.pending(1000)
    body = bus.agent.client.build_batch(prev, [r.seq for r in pending],
                                        [r.body for r in pending], pending[-1].hash)  # fmt: skip
    report = bus.agent.run_once()
    assert report.acked_seq == head == 18 and report.ok, report.problems
    rides = _rides(k)
    posted = [s for s, (st, ty, _) in rides.items() if st == "posted"]
    assert len(posted) == 17 and all(rides[s][1] == 9 for s in posted)
    assert [v for v in rides.values() if v[0] != "posted"] == [("aborted", 9, "aborted")]
    total = sum(charged.values())
    assert k.world.ledger_balances()["payee:transit"] == total
    # The same rides sent again are a replay: nothing posted twice.
    ack = bus.agent.client.upload(body)
    assert (ack.acked, ack.status, ack.detail) == (head, "ok", "replay")
    assert k.world.ledger_balances()["payee:transit"] == total
    # At the kiosk, the card's history shows the bus rides.
    k.login(1)
    k.m.choose_service("history")
    k.settle()
    info = k.m.screen().info
    assert k.state is State.INFO and info is not None
    rides_seen = [h for h in info.history if h.kind == "ride"]
    assert len(rides_seen) == 5 and {h.amount_fen for h in rides_seen} == {FARE}
    assert {h.terminal_id for h in rides_seen} == {BUS_TID}


def test_a_hotlisted_card_is_refused_and_blocked(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    k = make_kiosk()
    bus = make_bus(k, tmp_path, start=_today())
    lost = k.world.citizen(2).asn
    registry.set_card_status(k.world.central, asn=lost, status="blocked")
    bus.agent.run_once()  # the hotlist with the lost card
    balance = k.world.card_balance(lost)
    tap = bus.tap(k, 2)
    assert tap.outcome is Outcome.HOTLISTED and not tap.ok
    assert bus.tap(k, 2).outcome is Outcome.BLOCKED  # blocked on the card itself
    assert k.world.wallet.open_card(lost).balance == balance  # (GET BALANCE answers 6A81)
    assert bus.outbox.status().head_seq == 0
    assert bus.tap(k, 1).outcome is Outcome.RIDE  # others ride on
    # Offline beyond the hotlist's limit, the validator stops taking fares.
    stale = bus.tap(k, 3, at=_today() + timedelta(days=3))
    assert stale.outcome is Outcome.HOTLIST_STALE


def test_validator_config_names_the_key(tmp_path: Path) -> None:
    f = tmp_path / "v.toml"
    f.write_text('[validator]\nfare_fen = 150\nline = 7\n[central]\nurl = "http://h"\n'
                 'central_key = "c.pub"\nterminal_key = "t.key"\n')  # fmt: skip
    cfg = load_validator_config(f)
    assert (cfg.fare_fen, cfg.line, cfg.payee, cfg.block_hotlisted) == (150, 7, "transit", True)
    bad = {
        "[validator]\nfare_fen = 0\n": "validator.fare_fen",
        "[validator]\nline = 70000\n": "validator.line",
        "[validator]\nfare = 1\n": "validator.fare",
        '[validator]\npayee = "a b"\n': "validator.payee",
        '[central]\nurl = "http://h"\n': "central.central_key",
        '[central]\nurl = "ftp://h"\n': "central.url",
        "[kiosk]\n": "kiosk",
        "[validator]\nfare_fen = true\n": "validator.fare_fen",
        "[validator\n": str(f),
    }
    for text, key in bad.items():
        f.write_text(text)
        with pytest.raises(ValidatorConfigError) as info:
            load_validator_config(f)
        assert info.value.key == key, text


def test_the_simulated_validator_of_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kiosk.cli import main

    assert main(["validator-sim", "--data", str(tmp_path / "v"), "--rides", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in out[1:3]] == ["ride", "ride"]
    assert "tapped again: already_paid (earlier tap completed)" in out[3]
    assert out[4:6] == ["depot: uploaded, central acknowledged up to 3",
                        "ledger payee:transit 600 fen"]  # fmt: skip
    assert [line.split()[2:4] for line in out[7:9]] == [["bus", "ride"], ["bus", "ride"]]


def test_torn_rides_settled_later_or_through_another_card(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    k = make_kiosk()
    day = _today()
    bus = make_bus(k, tmp_path, start=day)
    bus.agent.run_once()
    # Card 1 pulled after its debit; card 2 taps next (card 1's intent is closed
    # "unsettled"); card 1 comes back within the window: its proof is added, no charge.
    assert bus.tap(k, 1, at=day, pull=True).outcome is Outcome.TORN
    assert bus.tap(k, 2, at=day + timedelta(seconds=20)).outcome is Outcome.RIDE
    back = bus.tap(k, 1, at=day + timedelta(seconds=40))
    assert back.outcome is Outcome.ALREADY_PAID
    # Card 3 pulled after its debit at night, and back the next morning: the old ride
    # is completed from the card's proof, and today's ride is a ride (charged).
    night = day + timedelta(hours=16)
    assert bus.tap(k, 3, at=night, pull=True).outcome is Outcome.TORN
    morning = bus.tap(k, 3, at=night + timedelta(hours=9))
    assert morning.outcome is Outcome.RIDE
    kinds = [json.loads(r.body)["kind"] for r in bus.outbox.pending(100)[1]]
    assert kinds == ["unsettled", "purchase", "proof", "purchase", "purchase"]
    assert bus.agent.run_once().acked_seq == 5
    rides = _rides(k)
    assert [rides[s][0] for s in sorted(rides)] == ["settled", "posted", "posted", "posted",
                                                    "posted"]  # fmt: skip
    assert k.world.ledger_balances()["payee:transit"] == 4 * FARE


def test_rides_stop_once_the_oldest_unsent_record_is_too_old(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    k = make_kiosk()
    bus = make_bus(k, tmp_path, start=_today())
    assert bus.agent.run_once().ok  # the hotlist, at the depot
    assert bus.tap(k, 1).outcome is Outcome.RIDE  # not uploaded: the bus left the depot
    oldest = bus.outbox.status().oldest_unsent_ms
    assert oldest is not None
    bus.outbox.max_unsent_age_s = 48 * 3600  # the validator's default
    bus.outbox._clock = lambda: oldest / 1000 + 48 * 3600 + 1
    stopped = bus.tap(k, 2)
    assert stopped.outcome is Outcome.OUT_OF_SERVICE and "unsent" in stopped.detail
    assert bus.agent.run_once().ok  # back at the depot: uploaded, acknowledged
    assert bus.tap(k, 2).outcome is Outcome.RIDE

"""The poll flow end to end on the demo world: a citizen votes, the slip carries the
token hash (never the choice, never the card), a second vote is refused with words,
the ballot leaves at a release by its own route and is counted; a poll key swapped
by the central is refused by the kiosk."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backend_sync.central import polls
from backend_sync.central.poll_models import polls as polls_table
from kiosk.catalog import Catalog
from kiosk.codes import OutcomeCode, WhyNot
from kiosk.demo.catalog import DEMO_CATALOG, DEMO_POLL_ID, demo_poll
from kiosk.flows.poll import untraced
from kiosk.journeys.citizen_states import State
from kiosk.receipts.i18n import label
from kiosk.receipts.signing import verify_reference
from tests.kiosk.conftest import Kiosk

SERVICE = "poll_night_bus"


def _to_confirm(k: Kiosk, choice: str = "0") -> None:
    k.m.choose_service(SERVICE)
    k.settle()
    assert k.state is State.FORM, k.m.screen()
    k.m.set_field("choice", choice)
    k.m.submit_form()
    k.settle()
    assert k.state is State.CONFIRM, k.m.screen()


def _vote(k: Kiosk, choice: str = "0") -> None:
    _to_confirm(k, choice)
    k.m.confirm()
    k.settle()
    assert k.state is State.DONE, k.m.screen()


def _next_session(k: Kiosk) -> None:
    k.m.finish()
    k.settle()
    k.remove()
    k.login(1)


def test_a_citizen_votes_once_and_the_results_count_the_receipt(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    _to_confirm(k, "1")
    confirm = k.m.screen().confirm
    assert confirm is not None and confirm.kind == "vote"
    assert confirm.details == (("question", "是否延长夜班公交线路？"), ("choice", "不同意"))
    k.m.set_language("en")
    k.settle()
    confirm = k.m.screen().confirm
    assert confirm is not None
    assert confirm.details == (("question", "Extend the night bus lines?"), ("choice", "No"))
    trace = k.world.kiosk.diagnostics.trace
    before = len(trace.lines())
    assert any("> 00 88" in line for line in trace.lines())  # the card check's is traced
    k.m.confirm()
    k.settle()
    # The token request's INTERNAL AUTHENTICATE (and every APDU around it) is not.
    assert not any("> 00 88" in line for line in trace.lines()[before:])
    res = k.m.screen().result
    assert k.state is State.DONE and res is not None
    assert (res.ok, res.code, res.kind, res.receipt) == (True, "voted", "vote", "printed")
    box = k.world.kiosk.ballots
    assert box is not None and box.waiting(DEMO_POLL_ID) == 1
    token_hash = res.reference
    assert token_hash is not None and len(token_hash) == 64
    assert k.world.printer_sim is not None
    job = k.world.printer_sim.jobs[-1]
    text = "".join(job.text.split())
    assert token_hash in text
    lines = [line.strip() for line in job.text.splitlines()]
    assert "No" not in lines and "Yes" not in lines  # not the choice
    for word in (label("card", "en"), label("holder", "en")):  # nor the card
        assert word not in job.text
    ref = verify_reference(job.qr_payloads[0].decode(), k.world.terminal_cert)
    assert (ref.kind, ref.transaction_id) == ("vote", token_hash[:40])
    # The ballot waits in the ballot box, not in the outbox.
    assert k.world.outbox.status().head_seq == 0
    # The slip went straight to the printer: the print queue keeps no copy of it.
    assert k.world.print_queue is not None
    assert all(token_hash[:40] not in j.reference for j in k.world.print_queue.jobs())
    assert not [j for j in k.world.print_queue.jobs() if j.kind == "vote"]
    # The audit log keeps that a poll was used, never the token or the choice.
    audited = repr([(e.event, e.fields) for e in k.world.audit.entries()])
    assert token_hash not in audited and token_hash[:40] not in audited
    assert "choice" not in audited

    _next_session(k)
    _vote(k, "0")
    res = k.m.screen().result
    assert res is not None and (res.ok, res.code) == (False, OutcomeCode.ALREADY_VOTED)
    assert box.waiting(DEMO_POLL_ID) == 1

    # The first fixed release (a day after the demo poll's start): the ballot leaves.
    k.world.sync()
    assert box.waiting(DEMO_POLL_ID) == 1  # the release slot has not moved yet
    k.clock.advance(86_400 + 60)
    k.world.sync()
    assert box.waiting(DEMO_POLL_ID) == 0
    central = k.world.central
    with pytest.raises(polls.Refused):
        polls.results(central, DEMO_POLL_ID)  # hidden until the close
    polls.close_poll(central, DEMO_POLL_ID, force=True)
    result = polls.results(central, DEMO_POLL_ID)
    assert (result.totals, result.counted_token_sha256) == ([0, 1], [token_hash])


@pytest.mark.parametrize("other", ["smaller_modulus", "larger_modulus"])
def test_a_poll_key_swapped_by_the_central_is_refused(kiosk: Kiosk, other: str) -> None:
    """A central holding another key either refuses the blinded message (its
    modulus is shorter, or below the message) or signs it (the signature then does
    not verify under the document's key): both ways, nothing is kept or sent."""
    k = kiosk
    k.login(1)
    _to_confirm(k)
    with k.world.central.engine.connect() as conn:
        held = conn.execute(sa.select(polls_table.c.private_key_pem)
                            .where(polls_table.c.poll_id == DEMO_POLL_ID)).scalar_one()  # fmt: skip
    key = serialization.load_pem_private_key(held.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    n = key.public_key().public_numbers().n
    while True:
        # A 1024-bit key always refuses a 256-byte message; a 2048-bit one with a
        # larger modulus always signs it.
        swapped = rsa.generate_private_key(
            public_exponent=65537, key_size=1024 if other == "smaller_modulus" else 2048
        )
        if other == "smaller_modulus" or swapped.public_key().public_numbers().n > n:
            break
    pem = swapped.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
    with k.world.central.engine.begin() as conn:
        conn.execute(sa.update(polls_table).where(polls_table.c.poll_id == DEMO_POLL_ID)
                     .values(private_key_pem=pem))  # fmt: skip
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and (res.ok, res.code) == (False, OutcomeCode.POLL_KEY_REFUSED)
    box = k.world.kiosk.ballots
    assert box is not None and box.waiting(DEMO_POLL_ID) == 0


def test_offline_the_poll_is_not_offered_and_a_closed_poll_is_refused(kiosk: Kiosk) -> None:
    k = kiosk
    k.world.ops.network.online = False
    k.login(1)
    items = {i.service_id: i for g in k.m.screen().menu for i in g.items}
    assert (items[SERVICE].available, items[SERVICE].why_not) == (False, WhyNot.NEEDS_NETWORK)
    k.world.ops.network.online = True
    polls.close_poll(k.world.central, DEMO_POLL_ID, force=True)
    k.m.choose_service(SERVICE)
    k.settle()
    k.m.set_field("choice", "0")
    k.m.submit_form()
    k.settle()
    screen = k.m.screen()
    assert k.state is State.MENU and "poll_closed" in screen.notices


def test_nothing_is_traced_while_untraced(caplog: pytest.LogCaptureFixture) -> None:
    lg = logging.getLogger("cardlib.apdu")
    with caplog.at_level(1, logger="cardlib.apdu"):
        with untraced():
            lg.log(7, "> 00 88 00 00 20 AA")
        lg.log(7, "> 00 B0 96 00 10")
    assert [r.getMessage() for r in caplog.records] == ["> 00 B0 96 00 10"]


def _catalog_with(entry: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(DEMO_CATALOG)
    body["services"].append(entry)
    return body


def _poll_entry(service_id: str, poll_id: str, options: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": service_id, "flow": "poll", "poll": poll_id, "groups": ["participation"],
            "names": {"zh-Hans": "测试", "zh-Hant": "測試", "en": "Test poll"},
            "needs": {"network": True},
            "fields": [{"name": "choice", "kind": "choice", "labels": OPTIONS[0],
                        "choices": [[str(i), o] for i, o in enumerate(options)]}]}  # fmt: skip


OPTIONS = [{"zh-Hans": "是", "zh-Hant": "是", "en": "Yes"},
           {"zh-Hans": "否", "zh-Hant": "否", "en": "No"}]  # fmt: skip


def test_a_card_not_eligible_is_refused_with_words(make_kiosk: Callable[..., Kiosk]) -> None:
    k = make_kiosk(catalog=_catalog_with(_poll_entry("poll_kids", "KIDS", OPTIONS)))
    spec = demo_poll(int(k.clock.now().timestamp() * 1000))
    polls.create_poll(k.world.central, {**spec, "poll_id": "KIDS", "options": OPTIONS,
                                        "min_age": 6, "max_age": 12})  # fmt: skip
    k.start()
    k.login(1)
    k.m.choose_service("poll_kids")
    k.settle()
    k.m.set_field("choice", "0")
    k.m.submit_form()
    k.settle()
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and (res.ok, res.code) == (False, OutcomeCode.NOT_ELIGIBLE)
    assert k.world.kiosk.ballots is not None and k.world.kiosk.ballots.waiting("KIDS") == 0


def test_options_that_are_not_the_documents_words_are_refused(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    demo = next(e for e in DEMO_CATALOG["services"] if e["id"] == SERVICE)
    swapped = list(reversed(demo["fields"][0]["choices"]))
    entry = _poll_entry("poll_swapped", DEMO_POLL_ID, [labels for _, labels in swapped])
    k = make_kiosk(catalog=_catalog_with(entry))
    k.start()
    k.login(1)
    k.m.choose_service("poll_swapped")
    k.settle()
    k.m.set_field("choice", "0")
    k.m.submit_form()
    k.settle()
    assert k.state is State.MENU and "service_unavailable" in k.m.screen().notices


def test_an_entry_without_its_poll_is_left_out() -> None:
    entry = _poll_entry("poll_nameless", DEMO_POLL_ID, OPTIONS)
    del entry["poll"]
    assert "poll_nameless" not in Catalog.from_body(1, _catalog_with(entry)).services
    assert SERVICE in Catalog.from_body(1, DEMO_CATALOG).services


def test_a_damaged_ballot_box_leaves_the_kiosk_running_and_the_file_kept(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    # The first world of a test lives in tmp_path / "k0" (the make_kiosk fixture).
    root = tmp_path / "k0"
    damaged = b"not a database, but maybe someone's votes" * 100
    k = make_kiosk(prepare=lambda r: (r / "ballots.db").write_bytes(damaged))
    assert k.world.kiosk.ballots is None
    k.start()
    k.login(1)
    k.m.choose_service(SERVICE)
    k.settle()
    k.m.set_field("choice", "0")
    k.m.submit_form()
    k.settle()
    assert k.state is State.MENU and "service_unavailable" in k.m.screen().notices
    k.world.sync()  # the sync goes on without a ballot box
    assert (root / "ballots.db").read_bytes() == damaged

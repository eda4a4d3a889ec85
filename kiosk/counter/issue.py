"""Issuing a new card at the counter: the central personalizes, the counter relays.

The counter holds no issuer key: it reads the blank chip's serial and a challenge,
and sends the commands the central computed to the card as they are, relaying the
card's answers (``backend_sync.central.issuance``). Then the opening balance, paid
in cash, is loaded through the central's load path like a top-up. A tear anywhere
is resumed by running :func:`issue_card` again with the journal's entry: a card left
not yet active is personalized again (the card discards what was staged), a card
already active with the operation's number goes straight to its opening load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypedDict

from backend_sync.counter_wire import IssueScript
from backend_sync.terminal.counter_client import new_op_id
from cardlib.apdu import ApduSession
from cardlib.errors import ApduError, CardError, DeviceError
from cardlib.layout import CARD_AID, Ins
from cardlib.personalization import LIFECYCLE
from cardlib.purse import Purse
from kiosk.counter.journal import JournalEntry
from kiosk.counter.receipts import CounterReceipt
from kiosk.counter.station import CounterError

if TYPE_CHECKING:
    from kiosk.counter.session import CounterSession

__all__ = ["Application", "application_of", "holder_fields", "issue_card", "relay_personalization"]


@dataclass(frozen=True)
class Application:
    """The holder data of an application the clerk approved (checked by the UI)."""

    name: str
    id_masked: str  # 18 characters, the middle masked with *
    birth: dt.date


class HolderFields(TypedDict, total=False):
    """The holder fields of a :class:`JournalEntry`."""

    name: str
    id_masked: str
    birth: str


def holder_fields(application: Application | None) -> HolderFields:
    """An application as a journal entry keeps it (name, masked number, birth)."""
    if application is None:
        return {}
    return {"name": application.name, "id_masked": application.id_masked,
            "birth": application.birth.strftime("%Y%m%d")}  # fmt: skip


def application_of(entry: JournalEntry) -> Application | None:
    """The application a journal entry kept (None in entries from before)."""
    if not (entry.name and entry.id_masked and len(entry.birth) == 8):
        return None
    try:
        birth = dt.date(int(entry.birth[:4]), int(entry.birth[4:6]), int(entry.birth[6:]))
    except ValueError:
        return None
    return Application(entry.name, entry.id_masked, birth)


def _run(session: ApduSession, script: IssueScript) -> bytes:
    """Send the central's commands in order; the last one's answer."""
    answer = b""
    for c in script.commands:
        answer = session.send_apdu(c.cla, c.ins, c.p1, c.p2, bytes.fromhex(c.data), c.le)
    return answer


def relay_personalization(
    apdu: ApduSession,
    *,
    open_: Callable[[bytes, bytes], IssueScript],
    write: Callable[[bytes], IssueScript],
    certify: Callable[[bytes], IssueScript],
) -> IssueScript:
    """The counter's side of the central's three personalization steps on the blank
    card in ``apdu`` (selected): its chip serial and a challenge go to ``open_``; each
    step's commands go to the card as they are and the card's last answer to the next
    step. Returns the certified step (deposit, fee). No key is needed here."""
    serial = apdu.send_apdu(0x80, Ins.GET_DATA, 0x9F, 0x7F, le=8)
    challenge = apdu.send_apdu(0x00, Ins.GET_CHALLENGE, 0x00, 0x00, le=8)
    cryptogram = _run(apdu, open_(serial, challenge))
    key_answer = _run(apdu, write(cryptogram))
    certified = certify(key_answer)
    _run(apdu, certified)  # the certificate, then ACTIVATE
    return certified


def _lifecycle(apdu: ApduSession) -> str:
    raw = apdu.send_apdu(0x80, Ins.GET_DATA, 0x9F, 0x70, le=1)
    return LIFECYCLE.get(raw[0], "unknown")


def issue_card(
    s: CounterSession,
    application: Application,
    opening_fen: int,
    pin: str,
    *,
    entry: JournalEntry | None = None,
    replaces: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> CounterReceipt:
    """Issue the blank card in the citizen reader (or resume ``entry``); ``replaces``:
    the transferred replacement whose carry is the opening balance."""
    s.check_active()
    st = s.station
    if entry is None:
        entry = JournalEntry(new_op_id(), "issue", "", opening_fen, st.drawer,
                             ref=replaces or "", **holder_fields(application))  # fmt: skip
        st.journal.add(entry)  # before the central hears of it
    op_id, drawer = entry.op_id, entry.drawer
    replaces = replaces or entry.ref or None
    try:
        apdu = ApduSession(st.devices.open_citizen_card())
        apdu.send_apdu(0x00, Ins.SELECT, 0x04, 0x00, CARD_AID, le=256)
        state = _lifecycle(apdu)
        done, charges = False, tuple[tuple[str, str], ...]()
        if state in ("active", "blocked") and entry.asn:
            done = Purse(apdu).asn.hex().upper() == entry.asn
            if not done:
                raise CounterError("not_blank", "this card is issued already")
        elif state not in ("blank", "personalized"):
            raise CounterError("not_blank", f"the card is {state}")
        if not done:
            journaled = [entry]

            def open_(serial: bytes, challenge: bytes) -> IssueScript:
                opened: IssueScript = s._call(lambda: s.client.issue_open(
                    op_id, drawer=drawer, name=application.name,
                    id_masked=application.id_masked,
                    birth=application.birth.strftime("%Y%m%d"), opening_fen=opening_fen,
                    chip_serial=serial, challenge=challenge, replaces=replaces,
                ))  # fmt: skip
                if journaled[0].asn != opened.asn:  # journaled before the card has it
                    journaled[0] = replace(journaled[0], asn=opened.asn)
                    st.journal.add(journaled[0])
                return opened

            certified = relay_personalization(
                apdu, open_=open_,
                write=lambda cryptogram: s._call(lambda: s.client.issue_write(
                    op_id, cryptogram, pin)),
                certify=lambda key_answer: s._call(lambda: s.client.issue_certify(
                    op_id, key_answer)),
            )  # fmt: skip
            entry = journaled[0]
            charges = (("deposit_fen", str(certified.deposit_fen)),
                       ("fee_fen", str(certified.fee_fen)))  # fmt: skip
    except DeviceError as exc:
        raise CounterError("citizen_card_gone", str(exc)) from exc
    except ApduError as exc:
        raise CounterError("card_refused", str(exc)) from exc
    except CardError as exc:
        raise CounterError("citizen_card_error", str(exc)) from exc
    purse = s._citizen(entry.asn)
    if opening_fen:
        s.load_opening(purse, entry, pin)
    s._call(lambda: s.client.finish_op(entry.op_id, "done"))
    st.journal.finish(entry.op_id)
    if replaces is not None:
        st.journal.finish(replaces)  # the carry is on the new card
    lines = (("card_number", entry.asn), *charges, *extra, ("opening_fen", str(opening_fen)))
    return s._receipt("counter_issue", entry.op_id, entry.asn, opening_fen, purse.balance(),
                      lines)  # fmt: skip

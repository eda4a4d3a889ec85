"""The window clerk's counter station: its core, without any UI (no kivy here).

The Kivy counter application (terminal_ui) and any CLI drive this API; every
operation runs on the caller's thread (the UI runs it on its worker) and raises a
:class:`CounterError` with a stable ``reason`` on refusal.

Build and log in::

    station = CounterStation(devices, central=client, outbox=outbox, trusted=[issuer_ca],
                             drawer="320500009999-1", receipt_key=terminal_key,
                             journal=OpJournal(state_dir / "counter-ops.json"),
                             upload=agent.run_once,
                             events=StationEvents(state_dir / "station-events",
                                                  lambda evs: send_station_events(client, evs)))
    session = station.login(pin)          # the clerk's card in its reader, PIN on the card

:class:`CounterDevices` — ``open_clerk_card() -> Connection``,
``open_citizen_card() -> Connection``, ``psam: Connection``, ``clerk_present() -> bool``,
``open_supervisor_card`` (optional) — the reader abstraction the kiosk uses:
``simulators.transport.SimReader`` in-process, ``drivers.pcsc.PcscConnection`` behind
pcscd.

:class:`CounterStation`:

- ``login(pin) -> CounterSession``: the clerk card's certificate chains to the issuer
  CA and carries an operator role (clerk or supervisor; a citizen's or technician's
  card: ``not_an_operator``), the card proves its key, the PIN is verified on the
  card (``wrong_pin`` with ``tries_left``, ``pin_blocked``).
- ``supervisor(pin) -> OperatorCard``: a supervisor's card in the supervisor slot
  (``CounterDevices.open_supervisor_card``; both cards must be in at once) for a
  two-person step, its PIN verified on it.
- ``unfinished_ops() -> list[JournalEntry]``: operations begun and not finished
  (after a crash: resume or reverse each, see below).
- ``events`` (``kiosk.counter.events.StationEvents``, optional): the refusals decided
  here alone (``wrong_pin``, ``pin_blocked``, ``not_an_operator``, ``operator_role``,
  ``operator_not_genuine``, ``operator_card_error``, and a session locked by the card's
  removal or by inactivity), each kept on disk with the card number read and sent to
  the central's counter audit on a thread of its own (``note_refusal``).

:class:`CounterSession` (one logged-in clerk; every call first checks the lock):

- ``operator: OperatorCard`` (``asn``, ``number``, ``role``, ``certificate``).
- ``check_active()``: raises ``CounterError("session_locked")`` once the clerk card
  left its reader or nothing happened for ``idle_timeout_s``; ``lock()`` locks now.
- ``open_shift(float_fen) -> ShiftReport`` / ``close_shift(counted_fen) -> ShiftReport``
  (the drawer against the ledger; ``mismatch_fen`` shown, never hidden).
- ``begin_top_up(amount) -> JournalEntry``: the operation recorded (journal, then the
  central) BEFORE the clerk takes the cash; ``complete_top_up(entry, pin) -> CounterReceipt``
  loads the citizen's card through the central (the citizen's PIN on the card first);
  ``top_up(amount, pin)`` does both.
- ``resume(entry, pin=None, application=None) -> CounterReceipt | None``: after a crash
  (``station.unfinished_ops()``): a torn load is settled with the card (never credited
  twice), a load not yet made is made; a top-up with ``pin=None`` and nothing
  authorized is reversed (cash handed back, ``None``); an issue or replacement goes on
  with the citizen's ``pin`` and its ``application`` (by default the holder data the
  journal kept with the entry); a replacement already transferred needs no old card,
  and one whose new card was begun goes on with that issue (never a second card); a
  refund goes on. Journal entries keep when they were first noted (``at``).
- ``reverse(entry)``: hand the cash back (only while none of it is in suspense).
- ``issue_card(application, opening_fen, pin) -> CounterReceipt``: the blank card in the
  citizen reader personalized by the central through this counter's relay (no issuer
  key here), deposit and fee from the drawer, the opening balance paid in cash loaded;
  ``Application(name, id_masked, birth)`` is holder data the UI validated.
- ``refund_and_close(supervisor=None) -> CounterReceipt``: the card present emptied by
  a counter purchase (its TAC verified by the central), balance and deposit paid out
  from the drawer, the card terminated and blocked for good on the chip; above the
  central's limit ``supervisor`` is ``station.supervisor(pin)`` (the supervisor slot),
  else ``CounterError("supervisor_required")``.
- ``begin_replacement(lost_asn=None, application=None) -> Replacement``: the new
  card's holder data kept in the journal for a restart; the old card in the reader (or
  the lost ``lost_asn``, after the quarantine: ``in_quarantine``) transferred and
  terminated; ``Replacement.state`` is the calculation (shadow, late debits, carried,
  cash out, deposit). The clerk then puts a blank card in:
  ``complete_replacement(replacement, application, pin) -> CounterReceipt``.
- ``begin_renewal() -> (Replacement, Application)``: the card present, expiring within
  90 days or its transaction counter at 65000 or more (else ``not_due``), replaced with
  the same carry; the holder data read from it for ``complete_replacement``.
- ``report_loss(asn) -> CounterReceipt``: hotlisted at the central at once, no card.
- ``block() -> CounterReceipt``: the citizen's card present: hotlisted, then blocked on
  the chip (the PSAM's maintenance MAC).
- ``unblock() -> CounterReceipt``: the card present (it signs the request), then
  unblocked on the chip; refused for a terminated (replaced/refunded) card.
- ``reset_pin(new_pin, puk=None) -> CounterReceipt``: the card present; with the
  citizen's PUK at the card, or (identity verified by the clerk) RELOAD PIN authorized
  by the central (``wrong_puk`` with ``tries_left``).
- ``recredit(voided_load, amount, pin) -> CounterReceipt``: the card present credited
  again with a voided load's money (from ``lookup(asn).voided_loads``), once.
- ``lookup(asn) -> CardReport``: status, ledger history, loads in suspense, voided loads.
- ``read_citizen_card() -> CitizenCard``: ASN, holder, balance, status of the card present.

Receipts (:class:`CounterReceipt`) carry the operation, amounts, the operator's card
number and a QR payload signed with the counter terminal's key, like the kiosk's
(``kiosk.receipts.signing``).
"""

from __future__ import annotations

from kiosk.counter.issue import Application
from kiosk.counter.journal import JournalEntry, OpJournal
from kiosk.counter.receipts import CounterReceipt
from kiosk.counter.replace import Replacement
from kiosk.counter.session import CounterSession
from kiosk.counter.station import (
    CitizenCard,
    CounterDevices,
    CounterError,
    CounterStation,
    OperatorCard,
)

__all__ = [
    "Application",
    "CitizenCard",
    "CounterDevices",
    "CounterError",
    "CounterReceipt",
    "CounterSession",
    "CounterStation",
    "JournalEntry",
    "OpJournal",
    "OperatorCard",
    "Replacement",
]

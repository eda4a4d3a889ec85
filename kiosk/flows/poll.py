"""A poll: one ballot per card, that no one can link back to the card (docs/polls.md).

The catalog entry names the poll (``"poll": "NIGHTBUS"``) and declares one
``choice`` field, ``choice``, whose values are the option numbers ``"0"``, ``"1"``...
with the poll's own words. Preparing fetches the poll's document signed by the
central and shows its question and the chosen option, in the citizen's language,
from that document (a catalog whose options do not say what the document says is
refused). Executing asks the central to blind-sign this card's token (the card's
INTERNAL AUTHENTICATE over the request; the kiosk verified the PIN at the start
of the session), finalizes it under the document's key only, and puts the ballot
in the kiosk's ballot box: ballots never go through the outbox, and leave at the
poll's fixed release times (:func:`release_ballots`, from the sync loop).

The receipt is a slip that names no card and no choice: the token's hash (the
public list will contain it) and the poll key's fingerprint.

Nothing of the token request is traced: the ``cardlib.apdu`` logger drops every
record while it runs (:func:`untraced`), so neither the technician's APDU trace
nor a support bundle, nor a ``--trace-apdu`` console, shows the card signing it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from backend_sync.terminal.ballots import (
    BallotBox,
    PollError,
    PollInfo,
    anonymous_sender,
    cast_vote,
    fetch_poll,
)
from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
from kiosk.codes import FieldError, Notice, OutcomeCode
from kiosk.core.views import Language, pick
from kiosk.core.worker import JobContext
from kiosk.flows.base import (
    Answer,
    BaseFlow,
    FlowEnv,
    FormError,
    Outcome,
    OutcomeKind,
    Quote,
    QuoteKind,
    ServiceUnavailable,
)

if TYPE_CHECKING:
    from backend_sync.wire import SignedDocument
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.layouts import Receipt
    from kiosk.receipts.slips import Slip

__all__ = ["PollFlow", "release_ballots", "untraced"]

log = logging.getLogger(__name__)

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
# The central's refusal reasons of a token request, as outcomes with words.
_REFUSALS = {
    "not_eligible": OutcomeCode.NOT_ELIGIBLE,
    "token_already_issued": OutcomeCode.ALREADY_VOTED,
    "poll_closed": OutcomeCode.POLL_CLOSED,
    "poll_not_open": OutcomeCode.POLL_CLOSED,
    "card_not_active": OutcomeCode.CARD_NOT_ACTIVE,
}


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def untraced() -> Iterator[None]:
    """No APDU is logged inside: a filter on the ``cardlib.apdu`` logger drops each
    record before any handler (the diagnostics' trace, a console) sees it. Other
    threads' APDUs in that moment are dropped too: a trace that misses lines, never
    one that shows a poll session."""
    lg = logging.getLogger("cardlib.apdu")
    drop = _DropAll()
    lg.addFilter(drop)
    try:
        yield
    finally:
        lg.removeFilter(drop)


def _spaced(hex_text: str) -> str:
    """64 hex digits in groups of 16, for a slip line and for eyes."""
    return " ".join(hex_text[i : i + 16] for i in range(0, len(hex_text), 16))


def _texts(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or any(not isinstance(value.get(k), str) for k in LANGUAGES):
        raise ValueError("a poll text needs zh-Hans, zh-Hant and en")
    return {k: value[k] for k in LANGUAGES}


def _read(
    doc: Mapping[str, object],
) -> tuple[tuple[int, int], dict[str, str], list[dict[str, str]]]:
    """(opens, closes), the question and the options of a signed poll document,
    checked for shape (ValueError): signed or not, a kiosk does not crash on it."""
    opens, closes, options = doc["opens_ms"], doc["closes_ms"], doc["options"]
    if not isinstance(opens, int) or not isinstance(closes, int) or not isinstance(options, list):
        raise ValueError("poll window or options malformed")
    return (opens, closes), _texts(doc["question"]), [_texts(o) for o in options]


class PollFlow(BaseFlow):
    """Vote in the poll the catalog entry names (``entry.poll``)."""

    name = "poll"
    fields = ("choice",)
    always_online = True  # the token needs the central
    anonymous_receipt = True

    def check(self, entry: ServiceEntry) -> str | None:
        problem = super().check(entry)
        if problem:
            return problem
        if not entry.poll:
            return "a poll service needs poll (the poll's id)"
        spec = next(f for f in entry.fields if f.name == "choice")
        values = [v for v, _ in spec.choices]
        if (
            spec.kind != "choice"
            or values != [str(i) for i in range(len(values))]
            or (len(values) < 2)
        ):
            return "a poll's choice field lists options 0, 1, ... as its values"
        if not entry.needs.card:
            return "a poll needs the card"
        return None

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        env.need_card()
        assert entry.poll is not None  # check() refused entries without one
        if env.ballots is None:  # the ballot box could not be opened (logged at boot)
            raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE)
        if not env.online or env.client is None:
            raise ServiceUnavailable(Notice.NEEDS_NETWORK)
        ctx.progress("preparing", None)
        try:
            poll = fetch_poll(env.client, entry.poll)
            window, question, options = _read(poll.document)
        except CentralUnavailable as exc:
            log.warning("poll %s: central unavailable: %s", entry.poll, exc)
            env.central_down()
            raise ServiceUnavailable(Notice.NEEDS_NETWORK) from exc
        except (CentralRefused, PollError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("poll %s refused: %r", entry.poll, exc)
            raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE) from exc
        now_ms = int(env.clock.now().timestamp() * 1000)
        if poll.document.get("status") != "open" or not window[0] <= now_ms < window[1]:
            raise ServiceUnavailable(Notice.POLL_CLOSED)
        spec = next(f for f in entry.fields if f.name == "choice")
        if [dict(labels) for _, labels in spec.choices] != options:
            # The form's words must be the signed document's: the citizen chose by them.
            log.warning("poll %s: catalog options differ from the signed document", poll.poll_id)
            raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE)
        try:
            choice = int(values.get("choice", ""))
        except ValueError:
            raise FormError(FieldError.NOT_A_CHOICE, "choice") from None
        if not 0 <= choice < len(options):
            raise FormError(FieldError.NOT_A_CHOICE, "choice")
        by_language = {
            lang: (("question", question[lang]), ("choice", options[choice][lang]))
            for lang in LANGUAGES
        }
        return Quote(entry.id, entry.names, self.name, QuoteKind.VOTE,
                     details=by_language["zh-Hans"], details_by_language=by_language,
                     data={"poll": poll, "choice": choice})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card = env.need_card()
        poll = quote.data["poll"]
        choice = quote.data["choice"]
        assert isinstance(poll, PollInfo) and isinstance(choice, int)
        if env.client is None or env.ballots is None or not env.online:
            return Outcome(False, OutcomeCode.NEEDS_NETWORK, OutcomeKind.VOTE)
        ctx.progress("submitting", None)
        try:
            with untraced():
                vote = cast_vote(
                    env.client, poll, asn=card.asn_hex, birth_date=card.holder.birth.isoformat(),
                    card_cert=card.identity.read_certificate(),
                    card_sign=card.identity.internal_authenticate, choice=choice,
                )  # fmt: skip
        except CentralUnavailable as exc:
            log.warning("poll %s: token request failed: %s", poll.poll_id, exc)
            env.central_down()
            return Outcome(False, OutcomeCode.NEEDS_NETWORK, OutcomeKind.VOTE)
        except CentralRefused as exc:
            return Outcome(False, _REFUSALS.get(exc.reason, OutcomeCode.REFUSED), OutcomeKind.VOTE)
        except PollError as exc:
            # A central that signs under another key than the document's: a key per
            # card would let it link ballots to cards. Nothing is kept or sent.
            log.error("poll %s: %s", poll.poll_id, exc)
            return Outcome(False, OutcomeCode.POLL_KEY_REFUSED, OutcomeKind.VOTE)
        env.ballots.put(vote)  # durable before the citizen sees the receipt
        fingerprint = poll.key_fingerprint()
        return Outcome(True, OutcomeCode.VOTED, OutcomeKind.VOTE, reference=vote.receipt_hash,
                       details=(("token", vote.receipt_hash), ("key", fingerprint)))  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        from kiosk.receipts.i18n import label
        from kiosk.receipts.slips import Slip

        assert outcome.reference is not None
        details = dict(outcome.details)
        lang = language.value
        lines = ((label("vote.token", lang), _spaced(details["token"])),
                 (label("vote.key", lang), _spaced(details["key"])),
                 (label("vote.check", lang), ""))  # fmt: skip
        # The signed QR's reference holds 40 characters: the token hash's first 40
        # hex digits (160 bits) find it in the published list.
        return Slip("vote", pick(quote.titles, language), outcome.reference[:40], lines, at)


def open_polls(client: CentralClient) -> list[PollInfo]:
    """Every open poll's document, each signature checked (a bad one is skipped)."""
    docs: list[SignedDocument] = []
    raw = client._send("GET", "/v1/polls")
    for item in raw if isinstance(raw, list) else []:
        try:
            docs.append(client._verified(item, "poll"))
        except (CentralRefused, ValueError) as exc:
            log.warning("a poll document refused: %s", exc)
    polls: list[PollInfo] = []
    for sd in docs:
        try:
            polls.append(PollInfo.from_document(sd))
        except PollError as exc:
            log.warning("a poll document refused: %s", exc)
    return polls


def release_ballots(
    box: BallotBox,
    client: CentralClient,
    central_url: str,
    now_ms: int,
    *,
    sender: Callable[[str], Callable[..., object]] = anonymous_sender,
) -> int:
    """Release whatever each open poll's schedule lets go now, each batch on a fresh
    connection without identity (:func:`anonymous_sender`). Returns how many left;
    a central that does not answer leaves them for the next pass."""
    sent = 0
    try:
        polls = open_polls(client)
    except (CentralUnavailable, CentralRefused) as exc:
        log.info("polls not listed: %s", exc)
        return 0
    send = sender(central_url)
    for poll in polls:
        if box.waiting(poll.poll_id) == 0:
            continue
        try:
            sent += box.release_due(poll, now_ms, send)  # type: ignore[arg-type]
        except (CentralUnavailable, CentralRefused) as exc:
            log.warning("ballots of %s not released: %s", poll.poll_id, exc)
        except Exception:
            # The sync thread must go on (records, catalog, hotlist); the ballots stay
            # in their box for the next pass.
            log.exception("ballots of %s not released", poll.poll_id)
    return sent

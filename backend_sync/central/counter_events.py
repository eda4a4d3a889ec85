"""Refusals at the counter before an operator was proven, in the counter audit
(docs/sync.md, "Station events").

Every operation is audited with the operator's card number (``operators.audit``);
what is refused before there is an operator is recorded here, in ``counter_events``:

- **station** events: refusals the station decided alone (a wrong clerk PIN, a
  citizen card presented as a clerk card, a certificate that does not chain, a
  session locked by the card's removal or by inactivity), sent by the station in
  requests signed by the counter terminal's key (:func:`record_station_events`).
  Each event has the station's sequence number, strictly increasing per terminal: a
  batch that starts at or below the highest one recorded is refused 409 with that
  number as the detail — ``event_replayed`` when its first event is the one recorded
  under that number (a replay, or a resend after a lost answer: the station drops
  what is recorded and sends the rest), ``event_renumber`` when it is another (the
  station's numbers started again, a restored disk: it renumbers after the detail and
  sends again, nothing dropped); gaps are allowed (an event file the station could not
  read is sent as ``journal_corrupt`` under its own number).
- **central** events: a counter request refused before its operator was proven (a
  hotlisted or unregistered operator card, a citizen card, a bad card signature,
  a spent nonce), with the card number it presented (:func:`record_refused_request`).
"""

from __future__ import annotations

import itertools
from typing import Any

import sqlalchemy as sa

from backend_sync.central.counter_models import counter_events
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.station_events_wire import StationEvents, StationEventsAck
from backend_sync.wire import record_dict

__all__ = ["events_of", "record_refused_request", "record_station_events"]


def _last_seq(conn: sa.Connection, terminal_id: str) -> int:
    last = conn.execute(
        sa.select(sa.func.max(counter_events.c.seq)).where(
            counter_events.c.terminal_id == terminal_id, counter_events.c.source == "station"
        )
    ).scalar()
    return int(last or 0)


def record_station_events(
    central: Central, body: StationEvents, signature: str
) -> StationEventsAck:
    """Record a station's events (the module doc); 401 for a bad signature or a stale
    request, 403 for an unknown or revoked terminal, 409 ``event_replayed``, 422
    ``bad_sequence`` for numbers not increasing within the batch."""
    tid = body.terminal_id.upper()
    seqs = [e.seq for e in body.events]
    if any(b <= a for a, b in itertools.pairwise(seqs)):
        raise Refused(422, "bad_sequence", "event numbers must increase")
    now = central.now_ms()
    try:
        with central.engine.begin() as conn:
            check_signed(central, conn, tid, record_dict(body), signature)
            last = _last_seq(conn, tid)
            if seqs[0] <= last:
                first = body.events[0]
                same = conn.execute(sa.select(counter_events.c.id).where(
                    counter_events.c.terminal_id == tid, counter_events.c.seq == first.seq,
                    counter_events.c.source == "station", counter_events.c.at_ms == first.at_ms,
                    counter_events.c.reason == first.reason,
                )).first()  # fmt: skip
                # The same event again: a replay (or a resend after a lost answer);
                # another under a number already used: the station renumbers from last.
                raise Refused(409, "event_replayed" if same else "event_renumber", str(last))
            conn.execute(counter_events.insert(), [
                {"terminal_id": tid, "seq": e.seq, "source": "station", "at_ms": e.at_ms,
                 "received_ms": now, "asn": e.asn, "role": e.role, "reason": e.reason,
                 "detail": e.detail}
                for e in body.events
            ])  # fmt: skip
    except sa.exc.IntegrityError as exc:  # the same numbers, recorded meanwhile
        with central.engine.connect() as conn:
            raise Refused(409, "event_replayed", str(_last_seq(conn, tid))) from exc
    return StationEventsAck(recorded_through=seqs[-1])


def record_refused_request(
    central: Central, terminal_id: str, reason: str, *, asn: str | None, detail: str = ""
) -> None:
    """A counter request the central refused before its operator was proven."""
    now = central.now_ms()
    with central.engine.begin() as conn:
        conn.execute(counter_events.insert().values(
            terminal_id=terminal_id.upper()[:12], seq=None, source="central", at_ms=now,
            received_ms=now, asn=asn, role=None, reason=reason[:32], detail=detail[:200],
        ))  # fmt: skip


def events_of(
    central: Central, *, asn: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The newest events (of one card), for tools and the audit."""
    q = sa.select(counter_events).order_by(counter_events.c.id.desc()).limit(limit)
    if asn is not None:
        q = q.where(counter_events.c.asn == asn.upper())
    with central.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]

"""A screen as plain text lines: the headless kiosk's (``civicard kiosk run``) and the
scripted session's text UI. Codes stay codes here (staff and tests read them)."""

from __future__ import annotations

from kiosk.core.views import Screen
from kiosk.money import format_fen

__all__ = ["describe"]


def describe(s: Screen) -> list[str]:
    """A screen as text lines (the scripted session's and the headless kiosk's UI)."""
    out: list[str] = []
    line = f"    → {s.state.value}"
    if s.notices:
        line += f" (notice: {','.join(s.notices)})"
    out.append(line)
    if s.card and s.state.value == "pin_entry":
        bal = format_fen(s.card.balance_fen) if s.card.balance_fen is not None else "?"
        out.append(f"      card {s.card.card_number_masked}, holder {s.card.holder_masked}, "
               f"balance {bal}, valid to {s.card.expiry}")  # fmt: skip
    if s.pin:
        tries = f", {s.pin.tries_left} tries left" if s.pin.tries_left is not None else ""
        out.append(f"      PIN {'●' * s.pin.length}{'○' * (s.pin.max_length - s.pin.length)}"
               f"{' wrong' if s.pin.wrong else ''}{tries}")  # fmt: skip
    if s.refusal:
        out.append(f"      card refused: {s.refusal}")
    if s.role:
        out.append(f"      {s.journey}: {s.role} card")
    for g in s.menu:
        items = ", ".join(f"{i.title} [{i.service_id}]" + ("" if i.available else
                          f" ({i.why_not})") for i in g.items)  # fmt: skip
        out.append(f"      {g.title}: {items}")
    if s.form:
        for f in s.form.fields:
            err = f" ← {f.error}" if f.error else ""
            out.append(f"      {f.label}: {f.value or '_'}{err}")
        if s.form.error:
            out.append(f"      refused: {s.form.error}")
    if s.info:
        if s.info.balance_fen is not None:
            out.append(f"      {s.info.title}: balance {format_fen(s.info.balance_fen)}")
        for h in s.info.history:
            amount = format_fen(h.amount_fen)
            out.append(f"      {h.when:%Y-%m-%d %H:%M:%S} {h.kind:8s} {amount:>10s}"
                   f" terminal {h.terminal_id}")  # fmt: skip
    if s.confirm:
        c = s.confirm
        out.append(f"      {c.title}: {c.kind} {format_fen(c.amount_fen)} to {c.payee or '-'}")
        for k, v in c.details:
            out.append(f"        {k}: {v}")
        if c.balance_fen is not None and c.balance_after_fen is not None:
            out.append(f"        balance {format_fen(c.balance_fen)} → "
                   f"{format_fen(c.balance_after_fen)}")  # fmt: skip
    if s.extra.get("printer_problem"):
        out.append(f"      printer: {s.extra['printer_problem']}")
    if s.result:
        r = s.result
        bal = format_fen(r.balance_after_fen) if r.balance_after_fen is not None else "-"
        head = f"{'OK' if r.ok else 'NOT DONE'}: {r.code} {format_fen(r.amount_fen)}"
        out.append(f"      {head}, balance {bal}, transaction {r.transaction_id or '-'}, "
               f"receipt {r.receipt}")  # fmt: skip
    return out

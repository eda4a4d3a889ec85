"""What the city-service flows share: asking the central, and laying out an answer.

The kiosk never calls a department: a flow calls one ``CentralClient`` method and
the central asks the department (docs/services.md). :func:`ask` turns what can go
wrong into the kiosk's codes — the department down or slow is
``Notice.DEPARTMENT_UNAVAILABLE`` ("try later", the kiosk stays online: the central
answered), the central unreachable is ``needs_network`` — and nothing is held or
changed by a query that failed.

Details are ``(label code, value)`` rows. A label code has words in
``terminal_ui/texts.py`` (screen) and :mod:`kiosk.receipts.i18n` (``q.<code>``,
slip); an unknown one (a month, ``2026-10``) is shown as it is. A value is text
(money already formatted by :mod:`kiosk.money`), or a value code ``v.<code>``
that both places turn into words (a loan status, "none").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from backend_sync.terminal.client import CentralRefused, CentralUnavailable, DepartmentDown
from kiosk.codes import FieldError, Notice
from kiosk.core.views import Language, pick
from kiosk.core.worker import JobContext
from kiosk.flows.base import Answer, BaseFlow, FlowEnv, FormError, ServiceUnavailable
from kiosk.money import format_fen

if TYPE_CHECKING:
    from backend_sync.terminal.client import CentralClient
    from kiosk.receipts.slips import Slip

__all__ = ["CityQueryFlow", "ask", "money", "plain_money"]

T = TypeVar("T")
Details = tuple[tuple[str, str], ...]


def money(fen: int) -> str:
    """``¥1,234.50``."""
    return format_fen(fen)


def plain_money(fen: int) -> str:
    """``1,234.50``: a column of a table whose header says yuan."""
    return format_fen(fen, symbol="")


def ask(
    env: FlowEnv,
    ctx: JobContext,
    call: Callable[[CentralClient], T],
    *,
    not_found: Mapping[str, tuple[FieldError, str]] | None = None,
) -> T:
    """``call`` on the central client, its failures as the kiosk's codes.

    ``not_found`` maps a central reason to the form field it refuses (back to the
    form); any other refusal is ``service_unavailable``."""
    if env.client is None:
        raise ServiceUnavailable(Notice.NEEDS_NETWORK)
    ctx.progress("asking_department", None)
    try:
        got = call(env.client)
    except DepartmentDown as exc:
        # The central is up: only this department is not answering.
        env.network.online = True
        raise ServiceUnavailable(Notice.DEPARTMENT_UNAVAILABLE) from exc
    except CentralUnavailable as exc:
        env.central_down()
        raise ServiceUnavailable(Notice.NEEDS_NETWORK) from exc
    except CentralRefused as exc:
        if not_found and exc.reason in not_found:
            code, field_name = not_found[exc.reason]
            raise FormError(code, field_name) from exc
        raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE) from exc
    env.network.online = True
    ctx.check()
    return got


class CityQueryFlow(BaseFlow):
    """A query answered by a department through the central: card and PIN first
    (the journey asks the PIN at the start of every session), online always, the
    answer printable on a slip in the citizen's language."""

    always_online = True

    def answer_slip(self, answer: Answer, language: Language, at: dt.datetime) -> Slip | None:
        if not answer.printable:
            return None
        from kiosk.receipts.i18n import detail_text
        from kiosk.receipts.slips import answer_slip

        lang = language.value
        lines = tuple((detail_text(k, lang), detail_text(v, lang)) for k, v in answer.details)
        return answer_slip(pick(answer.titles, language), answer.balance_fen, (), lines, lang, at)

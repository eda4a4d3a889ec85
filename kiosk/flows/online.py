"""Asking the central for a city service from a flow: the refusals as the menu's words.

The central answers from a department's system; a department that is down or slow
(the central's ``503 department_unavailable``) and a central that does not answer
both arrive as :class:`CentralUnavailable`: "try later", and nothing was changed
(the central holds and records nothing for a call that failed so).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
from kiosk.codes import Notice
from kiosk.flows.base import FlowEnv, ServiceUnavailable

__all__ = ["ask", "need_client", "same_in_all", "upload_now"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def need_client(env: FlowEnv) -> CentralClient:
    """The central's client, or back to the menu with "needs the network"."""
    if env.client is None:
        raise ServiceUnavailable(Notice.NEEDS_NETWORK)
    return env.client


def ask(call: Callable[[], T]) -> T:
    """``call()`` for a prepare step: down or slow → DEPARTMENT_UNAVAILABLE, refused → the menu."""
    try:
        return call()
    except CentralUnavailable as exc:
        raise ServiceUnavailable(Notice.DEPARTMENT_UNAVAILABLE) from exc
    except CentralRefused as exc:
        raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE) from exc


def same_in_all(text: str) -> dict[str, str]:
    """A department's own word (a service or place name) for every language."""
    return {"zh-Hans": text, "zh-Hant": text, "en": text}


def upload_now(env: FlowEnv) -> None:
    """The records just closed, to the central now (what it holds for the card
    waits for the payment); a failure leaves them to the sync thread."""
    env.on_record()
    if env.upload is None:
        return
    try:
        env.upload()
    except Exception as exc:  # the outbox keeps them; the sync thread retries
        log.warning("upload after a payment failed: %s", type(exc).__name__)

"""The ticket QR parser against hostile text: a verdict or TicketQrError, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend_sync import chain, tickets_qr

KEY = chain.generate_key()
GOOD = tickets_qr.encode(KEY, tickets_qr.TicketClaim("T1", "20261203-0730-SH", 7, 6500))


def test_round_trip() -> None:
    assert tickets_qr.decode(KEY.public_key(), GOOD) == tickets_qr.TicketClaim(
        "T1", "20261203-0730-SH", 7, 6500
    )


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=700)
    | st.integers(0, len(GOOD) - 1).map(lambda i: GOOD[:i] + "x" + GOOD[i + 1 :])
)
def test_hostile_text_is_refused_cleanly(text: str) -> None:
    if text == GOOD:
        return
    with pytest.raises(tickets_qr.TicketQrError):
        tickets_qr.decode(KEY.public_key(), text)

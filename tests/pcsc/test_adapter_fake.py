"""The pyscard adapter against a fake PC/SC API: exact bytes sent, protocols, errors."""

from __future__ import annotations

from typing import Any

import pytest

from cardlib.apdu import ApduSession
from cardlib.errors import (
    CardRemovedError,
    NoCardError,
    PcscServiceError,
    ReaderGoneError,
)
from drivers.pcsc import (
    SCARD_LEAVE_CARD,
    CardBusyError,
    CardResetError,
    PcscConnection,
    PcscContext,
    PcscError,
    Protocol,
    ShareMode,
    list_readers,
    raise_for_pcsc,
    transaction,
)

OK = 0
E_NO_SMARTCARD = 0x8010000C
W_REMOVED_CARD = 0x80100069
W_RESET_CARD = 0x80100068
E_NO_SERVICE = 0x8010001D
E_INVALID_HANDLE = 0x80100003
E_UNKNOWN_READER = 0x80100009
E_SHARING_VIOLATION = 0x8010000B
E_PROTO_MISMATCH = 0x8010000F
E_NOT_TRANSACTED = 0x80100016
E_NO_READERS = 0x8010002E
STATE_EMPTY = 0x10
STATE_PRESENT = 0x20
ATR = bytes.fromhex("3B8880010000000000000000")
READER = "Test Reader 00 00"


class FakeScard:
    """Records every PC/SC call; answers from scripted queues."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.connect_results: list[tuple[int, int, int]] = []
        self.transmit_results: list[tuple[int, list[int]]] = []
        self.present = True
        self.valid_context = True
        self.next_context = 100

    def SCardEstablishContext(self, scope: int) -> tuple[int, int]:
        self.next_context += 1
        self.calls.append(("establish",))
        return OK, self.next_context

    def SCardIsValidContext(self, ctx: int) -> int:
        return OK if self.valid_context else E_INVALID_HANDLE

    def SCardReleaseContext(self, ctx: int) -> int:
        self.calls.append(("release", ctx))
        return OK

    def SCardListReaders(self, ctx: int, groups: list[str]) -> tuple[int, list[str]]:
        return OK, [READER, "Test Reader 00 01"]

    def SCardConnect(
        self, ctx: int, reader: str, share: int, protocols: int
    ) -> tuple[int, int, int]:
        self.calls.append(("connect", reader, share, protocols))
        if self.connect_results:
            return self.connect_results.pop(0)
        return OK, 7, Protocol.T1

    def SCardStatus(self, card: int) -> tuple[int, str, int, int, list[int]]:
        return OK, READER, STATE_PRESENT, Protocol.T1, list(ATR)

    def SCardTransmit(self, card: int, protocol: int, apdu: list[int]) -> tuple[int, list[int]]:
        self.calls.append(("transmit", card, protocol, bytes(apdu)))
        return self.transmit_results.pop(0)

    def SCardBeginTransaction(self, card: int) -> int:
        self.calls.append(("begin", card))
        return OK

    def SCardEndTransaction(self, card: int, disposition: int) -> int:
        self.calls.append(("end", card, disposition))
        return OK

    def SCardDisconnect(self, card: int, disposition: int) -> int:
        self.calls.append(("disconnect", card, disposition))
        return OK

    def SCardGetStatusChange(
        self, ctx: int, timeout: int, states: list[tuple[str, int]]
    ) -> tuple[int, list[tuple[str, int, list[int]]]]:
        state = STATE_PRESENT if self.present else STATE_EMPTY
        return OK, [(name, state, list(ATR) if self.present else []) for name, _ in states]

    def transmits(self) -> list[bytes]:
        return [c[3] for c in self.calls if c[0] == "transmit"]


@pytest.fixture
def fake() -> FakeScard:
    return FakeScard()


def test_transmit_sends_exact_bytes_and_splits_the_status_word(fake: FakeScard) -> None:
    conn = PcscConnection(READER, api=fake)
    fake.transmit_results = [(OK, [0x01, 0x02, 0x90, 0x00])]
    data, sw = conn.send_and_receive(bytes.fromhex("805C000204"))
    assert (data, sw) == (b"\x01\x02", 0x9000)
    assert fake.calls[-1] == ("transmit", 7, Protocol.T1, bytes.fromhex("805C000204"))
    assert conn.atr == ATR
    assert ("connect", READER, ShareMode.SHARED, Protocol.ANY) in fake.calls


def test_apdu_session_over_t0_collects_61xx_with_exact_get_response(fake: FakeScard) -> None:
    fake.connect_results = [(OK, 9, Protocol.T0)]
    conn = PcscConnection(READER, api=fake)
    assert conn.protocol == Protocol.T0
    fake.transmit_results = [(OK, [0x61, 0x03]), (OK, [0xAA, 0xBB, 0xCC, 0x90, 0x00])]
    out = ApduSession(conn).send_apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A000000632"), le=256)
    assert out == bytes.fromhex("AABBCC")
    assert fake.transmits() == [
        bytes.fromhex("00A4040005A00000063200"),
        bytes.fromhex("00C0000003"),
    ]
    assert all(c[2] == Protocol.T0 for c in fake.calls if c[0] == "transmit")


def test_protocol_mismatch_falls_back_to_t1_then_t0(fake: FakeScard) -> None:
    fake.connect_results = [
        (E_PROTO_MISMATCH, 0, 0),
        (E_PROTO_MISMATCH, 0, 0),
        (OK, 5, Protocol.T0),
    ]
    conn = PcscConnection(READER, api=fake)
    tried = [c[3] for c in fake.calls if c[0] == "connect"]
    assert tried == [Protocol.ANY, Protocol.T1, Protocol.T0]
    assert conn.protocol == Protocol.T0


def test_sharing_violation_is_retried_until_the_card_is_free(fake: FakeScard) -> None:
    fake.connect_results = [(E_SHARING_VIOLATION, 0, 0)] * 2 + [(OK, 3, Protocol.T1)]
    conn = PcscConnection(READER, api=fake, busy_timeout=2.0)
    assert not conn.closed
    assert len([c for c in fake.calls if c[0] == "connect"]) == 3


def test_sharing_violation_past_the_timeout_is_a_busy_error(fake: FakeScard) -> None:
    fake.connect_results = [(E_SHARING_VIOLATION, 0, 0)] * 100
    with pytest.raises(CardBusyError):
        PcscConnection(READER, api=fake, busy_timeout=0.05)
    assert fake.calls[-1][0] == "release"  # the connection's own context is not leaked


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (E_NO_SMARTCARD, NoCardError),
        (W_REMOVED_CARD, CardRemovedError),
        (W_RESET_CARD, CardResetError),
        (E_UNKNOWN_READER, ReaderGoneError),
        (E_NO_SERVICE, PcscServiceError),
        (E_INVALID_HANDLE, PcscServiceError),
        (E_SHARING_VIOLATION, CardBusyError),
        (0x80100001, PcscError),  # SCARD_F_INTERNAL_ERROR: no typed meaning, kept with its code
    ],
)
def test_pcsc_codes_become_typed_errors(code: int, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        raise_for_pcsc("SCardTransmit", code)
    assert type(info.value) is error
    assert f"0x{code:08X}" in str(info.value)
    raise_for_pcsc("SCardTransmit", OK)


def test_reset_card_is_a_removal_to_callers() -> None:
    assert issubclass(CardResetError, CardRemovedError)


def test_transmit_after_pcscd_restart_is_a_service_error_and_closes(fake: FakeScard) -> None:
    conn = PcscConnection(READER, api=fake)
    fake.transmit_results = [(E_NO_SERVICE, [])]
    with pytest.raises(PcscServiceError) as info:
        conn.send_and_receive(b"\x00\xb0\x95\x00\x1e")
    assert isinstance(info.value.__cause__, PcscError)
    assert info.value.__cause__.code == E_NO_SERVICE
    assert conn.closed
    with pytest.raises(NoCardError):
        conn.send_and_receive(b"\x00\xb0\x95\x00\x1e")


def test_empty_answer_with_the_card_gone_is_a_removal(fake: FakeScard) -> None:
    conn = PcscConnection(READER, api=fake)
    fake.present = False
    fake.transmit_results = [(OK, [])]
    with pytest.raises(CardRemovedError):
        conn.send_and_receive(bytes.fromhex("805401000F") + bytes(15) + b"\x08")


def test_not_transacted_with_the_card_gone_is_a_removal(fake: FakeScard) -> None:
    conn = PcscConnection(READER, api=fake)
    fake.present = False
    fake.transmit_results = [(E_NOT_TRANSACTED, [])]
    with pytest.raises(CardRemovedError):
        conn.send_and_receive(b"\x80\x5c\x00\x02\x04")


def test_transaction_holds_card_then_psam_and_releases_in_reverse(fake: FakeScard) -> None:
    fake.connect_results = [(OK, 1, Protocol.T1), (OK, 2, Protocol.T0)]
    card, psam = PcscConnection(READER, api=fake), PcscConnection("Test Reader 00 01", api=fake)
    with pytest.raises(RuntimeError), transaction(card, psam):
        raise RuntimeError("purchase failed")
    held = [c for c in fake.calls if c[0] in ("begin", "end")]
    assert held == [
        ("begin", 1),
        ("begin", 2),
        ("end", 2, SCARD_LEAVE_CARD),
        ("end", 1, SCARD_LEAVE_CARD),
    ]


def test_close_disconnects_leaving_the_card_powered(fake: FakeScard) -> None:
    with PcscConnection(READER, api=fake) as conn:
        assert not conn.closed
    assert ("disconnect", 7, SCARD_LEAVE_CARD) in fake.calls
    assert conn.closed


def test_stale_context_is_established_again(fake: FakeScard) -> None:
    ctx = PcscContext(fake)
    first = ctx.handle()
    assert ctx.handle() == first
    fake.valid_context = False  # pcscd restarted
    second = ctx.handle()
    assert second != first
    assert ("release", first) in fake.calls


def test_list_readers_with_none_is_empty(fake: FakeScard) -> None:
    assert list_readers(PcscContext(fake)) == [READER, "Test Reader 00 01"]
    fake.SCardListReaders = lambda ctx, groups: (E_NO_READERS, [])  # type: ignore[method-assign]
    assert list_readers(PcscContext(fake)) == []

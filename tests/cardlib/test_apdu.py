"""cardlib.apdu: command encoding and parsing, the processor stack, typed status words, tracing."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardlib.apdu import APDU_TRACE, ApduSession, CommandApdu, enable_apdu_trace, split_response
from cardlib.errors import (
    AccessDeniedError,
    ApduError,
    ApplicationBlockedError,
    ApplicationLockedError,
    AtcExhaustedError,
    CardError,
    ConditionsNotSatisfiedError,
    FileNotFoundCardError,
    InsufficientBalanceError,
    InvalidPinError,
    MacError,
    NoTransactionToProveError,
    PinBlockedError,
    ProtocolError,
    RecordNotFoundError,
    SecureMessagingError,
    raise_for_sw,
)
from tests.cardlib.transcript import ScriptedConnection

H = bytes.fromhex

# -- CommandApdu: exact bytes ---------------------------------------------------------

ENCODINGS = [
    # (apdu, expected bytes, case, extended)
    (CommandApdu(0x00, 0xA4, 0x04, 0x00), "00A40400", 1, False),
    (CommandApdu(0x00, 0xB0, 0x95, 0x00, le=0x1E), "00B095001E", 2, False),
    (CommandApdu(0x00, 0xB0, 0x96, 0x00, le=256), "00B0960000", 2, False),
    (CommandApdu(0x00, 0xA4, 0x04, 0x00, H("A000000003")), "00A4040005A000000003", 3, False),
    (CommandApdu(0x80, 0x5A, 0x00, 0x06, H("0001"), le=8), "805A0006020001" + "08", 4, False),
    (CommandApdu(0x00, 0xA4, 0x04, 0x00, H("F0"), le=256), "00A4040001F000", 4, False),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=257), "00B00000000101", 2, True),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=65536), "00B00000000000", 2, True),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256, extended=True), "00B00000000100", 2, True),
    (CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(300)), "00D6000000012C" + "00" * 300, 3, True),
    (
        CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(range(256)), le=65536),
        "00D60000000100" + bytes(range(256)).hex().upper() + "0000",
        4,
        True,
    ),
    (
        CommandApdu(0x00, 0x88, 0x00, 0x00, H("AB"), le=1, extended=True),
        "00880000" + "000001AB0001",
        4,
        True,
    ),
]


@pytest.mark.parametrize(("apdu", "raw", "case", "extended"), ENCODINGS)
def test_encode_exact_bytes_and_parse_back(
    apdu: CommandApdu, raw: str, case: int, extended: bool
) -> None:
    assert apdu.to_bytes().hex().upper() == raw
    assert apdu.case == case
    assert apdu.is_extended is extended
    parsed = CommandApdu.from_bytes(H(raw))
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2) == (apdu.cla, apdu.ins, apdu.p1, apdu.p2)
    assert (parsed.data, parsed.le, parsed.case, parsed.is_extended) == (
        apdu.data,
        apdu.le,
        case,
        extended,
    )


def test_le_256_is_00_short_and_65536_is_0000_extended() -> None:
    assert CommandApdu(0, 0xB0, 0, 0, le=256).to_bytes()[-1:] == H("00")
    assert CommandApdu(0, 0xB0, 0, 0, le=65536).to_bytes()[-3:] == H("000000")
    assert CommandApdu(0, 0xB0, 0, 0, b"\x01", le=65536).to_bytes()[-2:] == H("0000")
    assert CommandApdu.from_bytes(H("00B0000000")).le == 256
    assert CommandApdu.from_bytes(H("00B00000000000")).le == 65536
    assert CommandApdu.from_bytes(H("00B00000000001AB0000")).le == 65536


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "00",
        "00A404",  # shorter than the header
        "00A4040005A0000000",  # Lc 5, 4 data bytes
        "00A4040002A0000000",  # Lc 2, 4 data bytes
        "00B0000000" + "01",  # 00 then one byte: truncated extended length
        "00D6000000000001",  # extended Lc of zero
        "00D6000000000300",  # extended Lc 3, one data byte
        "00D60000000002AABB00",  # extended Lc 2 and a one-byte Le
    ],
)
def test_malformed_command_raises_protocol_error(raw: str) -> None:
    with pytest.raises(ProtocolError):
        CommandApdu.from_bytes(H(raw))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cla": 0x100, "ins": 0, "p1": 0, "p2": 0},
        {"cla": 0, "ins": -1, "p1": 0, "p2": 0},
        {"cla": 0, "ins": 0, "p1": 256, "p2": 0},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 999},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "le": 0},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "le": 65537},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "data": bytes(65536)},
    ],
)
def test_out_of_range_fields_raise_protocol_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        CommandApdu(**kwargs)  # type: ignore[arg-type]


@given(
    header=st.tuples(*[st.integers(0, 255)] * 4),
    data=st.one_of(st.binary(max_size=40), st.binary(min_size=250, max_size=600)),
    le=st.one_of(st.none(), st.integers(1, 300), st.integers(65000, 65536)),
    extended=st.booleans(),
)
def test_encode_parse_round_trip(
    header: tuple[int, int, int, int], data: bytes, le: int | None, extended: bool
) -> None:
    apdu = CommandApdu(*header, data=data, le=le, extended=extended)
    raw = apdu.to_bytes()
    parsed = CommandApdu.from_bytes(raw)
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2) == header
    assert (parsed.data, parsed.le) == (data, le)
    assert parsed.to_bytes() == raw
    # Case 1 has no length field to carry the extended flag; every other case does.
    assert parsed.is_extended is (apdu.is_extended and apdu.case != 1)


def test_split_response() -> None:
    assert split_response(H("01029000")) == (H("0102"), 0x9000)
    assert split_response(H("6A82")) == (b"", 0x6A82)
    with pytest.raises(ProtocolError):
        split_response(H("90"))


# -- ApduSession: the processor stack -------------------------------------------------


def test_61xx_collects_get_response_with_its_le() -> None:
    fake = ScriptedConnection([(b"", 0x6108), (H("0102030405060708"), 0x9000)])
    assert ApduSession(fake).send_apdu(0x80, 0x5C, 0x00, 0x02) == H("0102030405060708")
    # GET RESPONSE in the interindustry class, whatever the proprietary CLA was.
    assert [a.hex().upper() for a in fake.sent] == ["805C0002", "00C0000008"]


def test_61xx_chain_concatenates_all_parts_and_6100_asks_for_256() -> None:
    part1, part2, part3 = bytes(range(2)), bytes(range(256)), H("AABBCC")
    fake = ScriptedConnection([(part1, 0x6100), (part2, 0x6103), (part3, 0x9000)])
    assert ApduSession(fake).send_apdu(0x00, 0xB0, 0x96, 0x00) == part1 + part2 + part3
    assert [a.hex().upper() for a in fake.sent] == ["00B09600", "00C0000000", "00C0000003"]


def test_get_response_keeps_the_logical_channel() -> None:
    fake = ScriptedConnection([(b"", 0x6102), (H("0102"), 0x9000)])
    ApduSession(fake).send_apdu(0x03, 0xB0, 0x95, 0x00)
    assert fake.sent[1] == H("03C0000002")


def test_61xx_then_error_raises_the_error_with_the_data_so_far() -> None:
    fake = ScriptedConnection([(b"", 0x6104), (b"", 0x6A82)])
    with pytest.raises(FileNotFoundCardError) as info:
        ApduSession(fake).send_apdu(0x00, 0xA4, 0x04, 0x00, H("F0"))
    assert info.value.sw == 0x6A82


def test_endless_61xx_is_a_protocol_error() -> None:
    fake = ScriptedConnection([(b"\x00", 0x6101)] * 400)
    with pytest.raises(ProtocolError):
        ApduSession(fake).send_apdu(0x00, 0xB0, 0x95, 0x00)
    assert len(fake.sent) <= 258


def test_6cxx_resends_the_same_command_with_the_right_le() -> None:
    answer = bytes(range(15))
    fake = ScriptedConnection([(b"", 0x6C0F), (answer, 0x9000)])
    data = H("0100000001320582000001")
    got = ApduSession(fake).send_apdu(0x80, 0x50, 0x01, 0x02, data, le=4)
    assert got == answer
    assert [a.hex().upper() for a in fake.sent] == [
        "805001020B" + data.hex().upper() + "04",
        "805001020B" + data.hex().upper() + "0F",
    ]


def test_6c00_resends_with_le_256_then_61xx_is_collected() -> None:
    fake = ScriptedConnection([(b"", 0x6C00), (H("01"), 0x6101), (H("02"), 0x9000)])
    assert ApduSession(fake).send_apdu(0x00, 0xB0, 0x96, 0x00, le=1) == H("0102")
    assert [a.hex().upper() for a in fake.sent] == ["00B0960001", "00B0960000", "00C0000001"]


def test_chaining_splits_long_data_with_cla_bit_on_all_but_the_last() -> None:
    data = bytes(i & 0xFF for i in range(600))
    fake = ScriptedConnection([(b"", 0x9000), (b"", 0x9000), (H("CAFE"), 0x9000)])
    got = ApduSession(fake).send_apdu(0x80, 0xDA, 0x01, 0x02, data, le=2)
    assert got == H("CAFE")
    assert [a[:5].hex().upper() for a in fake.sent] == ["90DA0102FF", "90DA0102FF", "80DA01025A"]
    assert fake.sent[0][5:] == data[:255]
    assert fake.sent[1][5:] == data[255:510]
    assert fake.sent[2][5:] == data[510:] + H("02")  # Le only on the last command
    assert all(len(a) <= 5 + 255 + 1 for a in fake.sent)


def test_chaining_exactly_255_bytes_is_one_command() -> None:
    fake = ScriptedConnection([(b"", 0x9000)])
    ApduSession(fake).send_apdu(0x00, 0xD6, 0x96, 0x00, bytes(255))
    assert len(fake.sent) == 1 and fake.sent[0][:5] == H("00D69600FF")


def test_chaining_stops_at_the_first_refused_part() -> None:
    fake = ScriptedConnection([(b"", 0x6884)])
    with pytest.raises(ApduError) as info:
        ApduSession(fake).send_apdu(0x00, 0xD6, 0x96, 0x00, bytes(300))
    assert info.value.sw == 0x6884
    assert len(fake.sent) == 1


def test_extended_session_sends_long_data_in_one_extended_apdu() -> None:
    fake = ScriptedConnection([(b"", 0x9000)])
    ApduSession(fake, extended=True).send_apdu(0x00, 0xD6, 0x96, 0x00, bytes(300))
    assert [a[:7].hex().upper() for a in fake.sent] == ["00D6960000012C"]


# -- status words: every one its own type, from one place ---------------------------

TYPED = [
    (0x9401, InsufficientBalanceError),
    (0x9302, MacError),
    (0x9303, ApplicationLockedError),
    (0x6A81, ApplicationBlockedError),
    (0x6983, PinBlockedError),
    (0x6982, AccessDeniedError),
    (0x9406, NoTransactionToProveError),
    (0x6A82, FileNotFoundCardError),
    (0x9402, AtcExhaustedError),
    (0x6988, SecureMessagingError),
    (0x6985, ConditionsNotSatisfiedError),
    (0x6A83, RecordNotFoundError),
]


def test_each_status_word_has_its_own_class() -> None:
    classes = [cls for _, cls in TYPED] + [InvalidPinError]
    assert len(set(classes)) == len(classes)
    assert all(issubclass(c, ApduError) and issubclass(c, CardError) for c in classes)


@pytest.mark.parametrize(("sw", "cls"), TYPED)
def test_status_word_raised_as_its_typed_error_through_the_session(
    sw: int, cls: type[ApduError]
) -> None:
    fake = ScriptedConnection([(H("AB"), sw)])
    with pytest.raises(cls) as info:
        ApduSession(fake).send_apdu(0x80, 0x5C, 0x00, 0x02, le=4)
    assert type(info.value) is cls
    assert (info.value.sw, info.value.data) == (sw, H("AB"))
    assert f"{sw:04X}" in str(info.value)
    with pytest.raises(cls):
        raise_for_sw(sw)


@pytest.mark.parametrize("tries", range(16))
def test_63cx_is_invalid_pin_with_tries_left(tries: int) -> None:
    fake = ScriptedConnection([(b"", 0x63C0 | tries)])
    with pytest.raises(InvalidPinError) as info:
        ApduSession(fake).send_apdu(0x00, 0x20, 0x00, 0x01, b"123456")
    assert info.value.tries_left == tries
    assert info.value.sw == 0x63C0 | tries


@pytest.mark.parametrize("sw", [0x6F00, 0x6FAB, 0x6300, 0x6D00, 0x9000 + 1, 0x6E00])
def test_unknown_status_word_is_a_plain_apdu_error(sw: int) -> None:
    with pytest.raises(ApduError) as info:
        raise_for_sw(sw, H("01"))
    assert type(info.value) is ApduError
    assert info.value.sw == sw and info.value.data == H("01")


def test_9000_returns_the_data() -> None:
    assert raise_for_sw(0x9000) is None
    fake = ScriptedConnection([(H("00001388"), 0x9000)])
    assert ApduSession(fake).send_apdu(0x80, 0x5C, 0x00, 0x02, le=4) == H("00001388")


# -- APDU trace logging --------------------------------------------------------------

PIN, NEW_PIN, PUK = "739164", "582037", "40918263"

# (INS, data field) of the commands whose payload must never be logged.
PIN_COMMANDS = [
    (0x20, PIN.encode()),  # VERIFY, ASCII PIN
    (0x20, H(f"26{PIN}FFFFFFFF")[:8]),  # VERIFY, ISO 9564 format-2 PIN block
    (0x24, PIN.encode() + NEW_PIN.encode()),  # CHANGE REFERENCE DATA
    (0x2C, PUK.encode() + NEW_PIN.encode()),  # RESET RETRY COUNTER
    (0x20, H(PIN)),  # VERIFY, PBOC: packed BCD
    (0x5E, H(PIN) + b"\xff" + H(NEW_PIN)),  # CHANGE PIN (PBOC)
    (0x5E, H(NEW_PIN) + H("01020304")),  # RELOAD PIN (PBOC): new PIN || MAC
    (0x2C, H(PUK) + H(NEW_PIN)),  # RESET RETRY COUNTER, BCD
]


def _secret_forms(*secrets: str) -> list[str]:
    """Each secret as digits, as ASCII hex and as BCD, spaced (the trace's format) or not."""
    forms: list[str] = []
    for s in secrets:
        for raw in (s.encode(), bytes.fromhex(s)):
            forms += [raw.hex().upper(), raw.hex(" ").upper()]
        forms.append(s)
    return forms


@pytest.mark.parametrize(("ins", "data"), PIN_COMMANDS)
def test_trace_redacts_pin_payloads(
    caplog: pytest.LogCaptureFixture, ins: int, data: bytes
) -> None:
    caplog.set_level(APDU_TRACE, logger="cardlib.apdu")
    # 6C00 makes the stack resend the command: the resend is traced, and redacted, too.
    fake = ScriptedConnection([(b"", 0x6C00), (b"", 0x63C2)])
    with pytest.raises(InvalidPinError):
        ApduSession(fake).send_apdu(0x00, ins, 0x00, 0x01, data)
    records = [r for r in caplog.records if r.name == "cardlib.apdu"]
    # (The level's name is not checked: uvicorn also names level 5, "TRACE".)
    assert records and all(r.levelno == APDU_TRACE for r in records)
    text = caplog.text
    header = f"00 {ins:02X} 00 01 {len(data):02X}"
    assert header in text and "redacted" in text
    for form in _secret_forms(PIN, NEW_PIN, PUK):
        assert form not in text, form
    # The raw payload bytes in the trace's own format, spaced upper-case hex.
    assert data.hex(" ").upper() not in text


def test_trace_logs_other_commands_and_responses_in_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(APDU_TRACE, logger="cardlib.apdu")
    fake = ScriptedConnection([(b"", 0x6104), (H("00001388"), 0x9000)])
    ApduSession(fake).send_apdu(0x80, 0x5C, 0x00, 0x02)
    lines = [r.getMessage() for r in caplog.records if r.name == "cardlib.apdu"]
    assert lines == ["> 80 5C 00 02", "<  6104", "> 00 C0 00 00 04", "< 00 00 13 88 9000"]


def test_trace_is_below_debug_and_off_by_default(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cardlib.apdu")
    fake = ScriptedConnection([(H("01"), 0x9000)])
    ApduSession(fake).send_apdu(0x00, 0xB0, 0x95, 0x00, le=1)
    assert APDU_TRACE < logging.DEBUG
    assert not [r for r in caplog.records if r.name == "cardlib.apdu"]


def test_enable_apdu_trace_with_a_handler() -> None:
    logger, root = logging.getLogger("cardlib.apdu"), logging.getLogger()
    saved = (logger.level, root.level)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    try:
        enable_apdu_trace(handler)
        fake = ScriptedConnection([(b"", 0x9000)])
        ApduSession(fake).send_apdu(0x00, 0x20, 0x00, 0x01, PIN.encode())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        root.setLevel(saved[1])
    messages = [r.getMessage() for r in records]
    assert messages == ["> 00 20 00 01 06 <6 bytes redacted>", "<  9000"]

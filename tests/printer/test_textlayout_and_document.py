"""Encoding and column layout by East Asian width; documents round-trip through JSON."""

from __future__ import annotations

import pytest

from drivers.printer.document import Align, Barcode, Document, Feed, Field, QRCode, Rule, Size, Text
from drivers.printer.encoder import DocumentEncoder
from drivers.printer.profiles import GB18030_80MM, NO_CJK_58MM, NO_QR_80MM
from drivers.printer.status import PaperLevel, PrinterStatus, is_status_byte
from drivers.printer.textlayout import (
    FS_CHINESE_OFF,
    FS_CHINESE_ON,
    RunMode,
    display_width,
    encode_runs,
    fit_field,
    plan_line,
    wrap,
)


def test_chinese_punctuation_and_full_width_are_encoded_not_replaced() -> None:
    text = "持卡人：「刘龑」，￥１２。"
    runs = plan_line(text, GB18030_80MM)
    assert runs is not None and [r.mode for r in runs] == [RunMode.CHINESE]
    data = encode_runs(runs, GB18030_80MM)
    assert data == FS_CHINESE_ON + text.encode("gb18030") + FS_CHINESE_OFF
    assert b"?" not in data


def test_four_byte_gb18030_goes_native_only_where_the_font_has_it() -> None:
    rare = "鿃"  # U+9FC3: a four-byte GB18030 code, not in GBK
    assert plan_line(rare, GB18030_80MM) is not None
    assert plan_line(rare, NO_QR_80MM) is None  # GBK font: raster line
    assert plan_line(rare, NO_CJK_58MM) is None


def test_yen_uses_the_code_page_on_printers_without_it_in_their_chinese_font() -> None:
    runs = plan_line("金额 ¥12.34", NO_QR_80MM)
    assert runs is not None
    assert [r.mode for r in runs] == [
        RunMode.CHINESE,
        RunMode.ASCII,
        RunMode.CODE_PAGE,
        RunMode.ASCII,
    ]
    assert encode_runs(runs, NO_QR_80MM).endswith(b" \x9d12.34")  # cp437 yen


def test_widths_count_cells_as_the_printer_does() -> None:
    assert display_width("ab", GB18030_80MM) == 2
    assert display_width("中文，", GB18030_80MM) == 6
    assert display_width("·", GB18030_80MM) == 1  # narrow, from the code page
    assert display_width("×", GB18030_80MM) == 2  # not in cp437: a two-byte GB code, full width
    assert display_width("中文", NO_CJK_58MM) == 4  # raster: East Asian wide


@pytest.mark.parametrize("profile", [GB18030_80MM, NO_CJK_58MM, NO_QR_80MM])
def test_fields_fill_the_line_exactly(profile) -> None:  # type: ignore[no-untyped-def]
    for label, value in [
        ("金额：", "¥12.34"),
        ("Card:", "3205 **** **** 5678"),
        ("网点：", "常熟市政务服务中心「东厅」"),
    ]:
        for line in fit_field(label, value, profile.columns, profile):
            assert display_width(line, profile, line=label + value) <= profile.columns
        lines = fit_field(label, value, profile.columns, profile)
        if len(lines) == 1:
            assert display_width(lines[0], profile) == profile.columns


def test_wrap_keeps_words_and_closing_punctuation() -> None:
    lines = wrap("The quick brown fox jumps over the lazy dog", 16, GB18030_80MM)
    assert lines == ["The quick brown", "fox jumps over", "the lazy dog"]
    lines = wrap("一二三四五六七，八九", 14, GB18030_80MM)
    assert all(not line.startswith("，") for line in lines)
    assert "".join(lines) == "一二三四五六七，八九"


def test_document_json_round_trip() -> None:
    doc = Document(
        "purchase",
        "T1",
        "zh-Hant",
        (
            Text("市民卡", align=Align.CENTER, bold=True, size=Size.DOUBLE),
            Field("金額：", "¥1.00", bold=True),
            Rule("="),
            QRCode("CVR1|x", module_dots=5),
            Barcode("T1"),
            Feed(2),
        ),
        cut=False,
    )
    assert Document.from_json(doc.to_json()) == doc
    with pytest.raises(ValueError):
        Document.from_json('{"kind": "x"}')


def test_encoder_uses_each_profiles_commands() -> None:
    doc = Document("t", "1", "zh-Hans", (Text("中文"), QRCode("hello")))
    native = DocumentEncoder(GB18030_80MM).encode(doc)
    assert FS_CHINESE_ON + "中文".encode("gb18030") in native and b"\x1d(k" in native
    raster = DocumentEncoder(NO_CJK_58MM).encode(doc)
    assert FS_CHINESE_ON not in raster and b"\x1d(L" in raster and b"\x1d(k" in raster
    column = DocumentEncoder(NO_QR_80MM).encode(doc)
    assert b"\x1d(k" not in column and b"\x1b*" in column
    assert native.endswith(b"\x1dV\x00") and not raster.endswith(b"\x1dV\x00")


def test_status_bytes() -> None:
    assert is_status_byte(0x12) and not is_status_byte(0x00) and not is_status_byte(0xFF)
    s = PrinterStatus.from_bytes(0x12, 0x12, 0x12 | 0x0C)
    assert s.ready and s.paper is PaperLevel.NEAR_END
    s = PrinterStatus.from_bytes(0x1A, 0x12 | 0x20, 0x12 | 0x60)
    assert not s.ready and s.paper is PaperLevel.OUT


@pytest.mark.parametrize("profile", [NO_CJK_58MM, NO_QR_80MM])
def test_raster_lines_reach_paper_dot_for_dot(profile) -> None:  # type: ignore[no-untyped-def]
    """A line the printer cannot print as text arrives as the driver drew it, through
    GS ( L (58 mm) or ESC * (GBK printer), decoded by the simulator."""
    from drivers.printer.raster import render_text_line
    from simulators.printer.interpreter import ChineseSupport, EscPosInterpreter

    line = "持卡人：*鿃「测试」，Ｗｉｄｅ"
    assert plan_line(line, profile) is None
    data = DocumentEncoder(profile).encode(Document("t", "1", "zh-Hans", (Text(line),)))
    interp = EscPosInterpreter(
        dots=profile.dots_per_line, chinese=ChineseSupport(profile.chinese.value)
    )
    interp.feed(data)
    interp.end_job()  # no-op after a cut
    [job] = interp.jobs
    assert not job.unknown
    drawn = render_text_line(line, profile).convert("L")
    printed = job.image.crop((8, 8, 8 + drawn.width, 8 + drawn.height))
    assert printed.tobytes() == drawn.tobytes()


def test_printer_urls() -> None:
    from drivers.printer.connection import ConnectionSpec
    from drivers.printer.errors import PrinterConfigError

    assert ConnectionSpec.parse("tcp://10.0.0.5").target == "10.0.0.5:9100"
    spec = ConnectionSpec.parse("serial:///dev/ttyS0?baudrate=19200")
    assert (spec.scheme, spec.target, spec.options) == (
        "serial",
        "/dev/ttyS0",
        {"baudrate": "19200"},
    )
    assert ConnectionSpec.parse("usb://04b8:0202").target == "04b8:0202"
    assert ConnectionSpec.parse("file:///dev/usb/lp0").target == "/dev/usb/lp0"
    for bad in ("tcp://", "usb://zz:1", "usb://04b8", "lpt://x", "serial://"):
        with pytest.raises(PrinterConfigError):
            ConnectionSpec.parse(bad)

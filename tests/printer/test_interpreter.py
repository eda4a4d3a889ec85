"""The ESC/POS interpreter on its own: parsing, state, rendering, status answers."""

from __future__ import annotations

import zxingcpp
from PIL import Image

from simulators.printer.interpreter import ChineseSupport, EscPosInterpreter, PaperState

CUT = b"\x1dV\x00"


def _run(data: bytes, **kw) -> EscPosInterpreter:  # type: ignore[no-untyped-def]
    interp = EscPosInterpreter(**kw)
    interp.feed(data)
    return interp


def test_bytes_arriving_one_by_one_print_the_same() -> None:
    data = (
        b"\x1b@\x1ba\x01\x1bE\x01Title\n\x1bE\x00\x1ba\x00"
        + b"\x1c&"
        + "中文「测试」，鿃".encode("gb18030")
        + b"\x1c.\n\x1d!\x11big\n"
        + CUT
    )
    whole = _run(data)
    chunked = EscPosInterpreter()
    for b in data:
        chunked.feed(bytes([b]))
    assert whole.jobs[0].text == chunked.jobs[0].text == "Title\n中文「测试」，鿃\nbig\n"
    assert whole.jobs[0].image.tobytes() == chunked.jobs[0].image.tobytes()


def test_gbk_printer_cannot_print_four_byte_codes() -> None:
    interp = _run(b"\x1c&" + "鿃".encode("gb18030") + b"\x1c.\n" + CUT, chinese=ChineseSupport.GBK)
    assert interp.jobs[0].unprintable == 1 and "?" in interp.jobs[0].text


def test_printer_without_chinese_counts_fs_commands_as_unknown() -> None:
    interp = _run(b"\x1c&\xd6\xd0\x1c.\n" + CUT, chinese=ChineseSupport.NONE)
    assert interp.jobs[0].unknown == {"FS &": 1, "FS .": 1}
    # the bytes print as code page 437 characters, as on a printer without the font
    assert interp.jobs[0].text == b"\xd6\xd0".decode("cp437") + "\n"


def test_unknown_commands_are_counted_and_reported() -> None:
    interp = _run(b"\x1b@\x1b\x99x\x1d\x99\n\x07" + CUT)
    assert interp.unknown == {"ESC 99": 1, "GS 99": 1, "CTL 07": 1}


def test_code_pages() -> None:
    assert _run(b"\x1bt\x00\x9d1\n" + CUT).jobs[0].text == "¥1\n"
    assert _run(b"\x1bt\x10\xa51\n" + CUT).jobs[0].text == "¥1\n"  # WPC1252


def test_raster_commands_render_their_bits() -> None:
    row = bytes([0xF0, 0x0F])  # 16 dots: 4 ink, 8 white, 4 ink
    gs_v0 = b"\x1dv0\x00\x02\x00\x02\x00" + row * 2
    gs_l = b"\x1d(L\x0e\x000p0\x01\x011\x10\x00\x02\x00" + row * 2 + b"\x1d(L\x02\x0002"
    for data in (gs_v0, gs_l):
        img = _run(data + CUT).jobs[0].image
        band = img.crop((8, 8, 24, 10))
        assert [band.getpixel((x, 0)) for x in range(16)] == [0] * 4 + [255] * 8 + [0] * 4
    # ESC * 24-dot double density: one column with the top dot set
    img = _run(b"\x1b*!\x01\x00\x80\x00\x00\n" + CUT).jobs[0].image
    assert img.getpixel((8, 8)) == 0 and img.getpixel((8, 9)) == 255


def test_native_qr_decodes() -> None:
    payload = b"CVR1|T=KSK-1|S=abc"
    store = b"\x1d(k" + bytes([len(payload) + 3, 0]) + b"1P0" + payload
    data = b"\x1ba\x01\x1d(k\x03\x001C\x05\x1d(k\x03\x001E1" + store + b"\x1d(k\x03\x001Q0\n" + CUT
    job = _run(data).jobs[0]
    assert job.qr_payloads == [payload]
    [found] = zxingcpp.read_barcodes(job.image)
    assert found.text == payload.decode()
    assert found.ec_level == "M"  # selected by GS ( k fn 69, parameter 0x31


def test_status_answers_follow_faults() -> None:
    interp = EscPosInterpreter()
    assert interp.feed(b"\x10\x04\x01\x10\x04\x02\x10\x04\x04") == b"\x12\x12\x12"
    interp.faults.paper = PaperState.NEAR_END
    assert interp.feed(b"\x10\x04\x04") == b"\x1e"
    interp.faults.paper = PaperState.OUT
    assert interp.feed(b"\x10\x04\x01\x10\x04\x02\x10\x04\x04") == b"\x1a\x32\x7e"
    interp.faults.mute = True
    assert interp.feed(b"\x10\x04\x01") == b""


def test_held_data_is_dropped_by_clear_buffers() -> None:
    interp = EscPosInterpreter()
    interp.faults.cover_open = True
    interp.feed(b"\x1b@lost\n" + CUT)
    interp.feed(b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08")
    interp.faults.cover_open = False
    interp.resume()
    assert interp.jobs == []


def test_double_size_doubles_the_glyph() -> None:
    small = _run(b"A\n" + CUT).jobs[0].image
    big = _run(b"\x1d!\x11A\n" + CUT).jobs[0].image

    def ink(im: Image.Image) -> int:
        return sum(im.convert("L").histogram()[:128])

    assert 3.5 < ink(big) / ink(small) < 4.5
    assert isinstance(big, Image.Image)


def test_linear_barcodes_decode() -> None:
    ean = b"\x1dH\x02\x1dh\x50\x1dw\x03\x1dkC\x0c590123412345"
    code39 = b"\x1dh\x50\x1dw\x02\x1dk\x04CIVI-42\x00"
    code128 = b"\x1dh\x50\x1dw\x02\x1dkI\x08{BT-0042"
    for data, fmt, text in [
        (ean, zxingcpp.BarcodeFormat.EAN13, "5901234123457"),
        (code39, zxingcpp.BarcodeFormat.Code39, "CIVI-42"),
        (code128, zxingcpp.BarcodeFormat.Code128, "T-0042"),
    ]:
        job = _run(b"\x1ba\x01" + data + CUT).jobs[0]
        assert not job.unknown
        found = zxingcpp.read_barcodes(job.image)
        assert [(r.format, r.text) for r in found] == [(fmt, text)]


def test_process_id_is_answered_after_what_precedes_it_has_printed() -> None:
    ask = b"\x1d(H\x06\x0000AB12"
    answer = b"\x37\x22AB12\x00"
    interp = EscPosInterpreter(process_id=True)
    assert interp.feed(b"\x1b@hello\n" + ask) == answer
    interp.faults.paper_out_after_lines = 1
    assert interp.feed(b"one\ntwo\n" + ask) == b""  # paper ran out: held with the job
    assert interp.feed(b"\x10\x04\x01") == b"\x1a"  # real-time status still answers
    interp.faults.paper = PaperState.ADEQUATE
    assert interp.resume() == answer  # printed at last, then answered
    assert "two" in interp.end_job().text  # type: ignore[union-attr]
    without = EscPosInterpreter(process_id=False)
    assert without.feed(ask) == b"" and without.unknown == {"GS ( H": 1}

"""An ESC/POS interpreter: bytes in, printed paper (pixels and text) and status answers out.

The interpreter parses the byte stream into commands, however it arrives in chunks.
Real-time commands (DLE EOT status, DLE ENQ recovery, DLE DC4 clear buffers) act at
once, even while the printer is stopped; everything else is executed, or held while
the printer is stopped (paper out, cover open, offline) and executed when it can
print again, unless the host cleared the buffers meanwhile. That is how a real
printer behaves, and why a driver must clear the buffer of a failed job.

Unknown commands are counted by name in :attr:`EscPosInterpreter.unknown` and in
each job's report.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import qrcode
from PIL import Image

from simulators.printer.paper import (
    DEFAULT_LINE_SPACING,
    LINE_DOTS,
    Item,
    Paper,
    glyph,
)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
_CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 17: "cp866", 19: "cp858"}


class ChineseSupport(StrEnum):
    """Which Chinese characters the simulated printer's font has."""

    NONE = "none"
    GBK = "gbk"
    GB18030 = "gb18030"


class PaperState(StrEnum):
    ADEQUATE = "adequate"
    NEAR_END = "near_end"
    OUT = "out"


@dataclass
class Faults:
    """Injected faults; change them at any time (the simulator holds a lock)."""

    paper: PaperState = PaperState.ADEQUATE
    cover_open: bool = False
    offline: bool = False
    mute: bool = False  # no status answers at all
    cutter_error: bool = False  # the autocutter jammed (DLE EOT 3 bit 3; stops the printer)
    paper_out_after_lines: int | None = None  # paper runs out after this many more lines
    mute_after_answers: int | None = None  # answers stop after this many more


@dataclass
class Job:
    """One finished job: its picture, its text and what the interpreter noticed."""

    number: int
    image: Image.Image
    text: str
    unknown: Counter[str]
    complete: bool  # ended with a cut (not by the connection closing or going idle)
    unprintable: int  # characters the font could not print
    qr_payloads: list[bytes] = field(default_factory=list)


class _Incomplete(Exception):
    """The buffer ends inside a command: wait for more bytes."""


@dataclass
class _Style:
    bold: bool = False
    underline: int = 0
    kanji_underline: int = 0
    width: int = 1
    height: int = 1
    align: int = 0
    spacing: int = DEFAULT_LINE_SPACING
    code_page: int = 0
    chinese: bool = False
    font_b: bool = False


class EscPosInterpreter:
    """A simulated printer's command processor (not thread-safe; the server locks it)."""

    def __init__(
        self,
        *,
        dots: int = 576,
        chinese: ChineseSupport = ChineseSupport.GB18030,
        native_qr: bool = True,
        cutter: bool = True,
        process_id: bool = False,
        on_job: Callable[[Job], None] | None = None,
    ) -> None:
        self.dots = dots
        self.chinese_support = chinese
        self.native_qr = native_qr
        self.cutter = cutter
        self.process_id = process_id
        self.faults = Faults()
        self.unknown: Counter[str] = Counter()
        self.jobs: list[Job] = []
        self._on_job = on_job
        self._buf = bytearray()
        self._held: list[Callable[[], None]] = []
        self._style = _Style()
        self._paper = Paper(dots)
        self._job_unknown: Counter[str] = Counter()
        self._job_unprintable = 0
        self._job_qr: list[bytes] = []
        self._qr_module = 3
        self._qr_ec = qrcode.constants.ERROR_CORRECT_L
        self._qr_data = b""
        self._graphics: Image.Image | None = None
        self._hri_below = False
        self._bar_height = 162
        self._bar_width = 3
        self._answers = bytearray()

    # -- public -------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        """True while the printer cannot print (paper out, cover open, offline)."""
        f = self.faults
        return f.paper is PaperState.OUT or f.cover_open or f.offline or f.cutter_error

    def feed(self, data: bytes) -> bytes:
        """Process received bytes; return the bytes the printer sends back."""
        self._buf += data
        pos = 0
        while pos < len(self._buf):
            try:
                pos = self._command(pos)
            except _Incomplete:
                break
        del self._buf[:pos]
        out = bytes(self._answers)
        self._answers.clear()
        return out

    def resume(self) -> bytes:
        """Call after a fault clears: held commands are executed (unless cleared).

        Returns the bytes the printer sends back meanwhile (process ID answers)."""
        while self._held and not self.stopped:
            self._held.pop(0)()
        out = bytes(self._answers)
        self._answers.clear()
        return out

    def end_job(self) -> Job | None:
        """Finish the current job (connection closed or idle); None if nothing printed."""
        return self._finish(complete=False)

    # -- parsing --------------------------------------------------------------------
    def _need(self, pos: int, n: int) -> bytes:
        if pos + n > len(self._buf):
            raise _Incomplete
        return bytes(self._buf[pos : pos + n])

    def _do(self, action: Callable[[], None]) -> None:
        if self.stopped:
            self._held.append(action)
        else:
            action()

    def _unknown(self, name: str) -> None:
        self.unknown[name] += 1
        self._job_unknown[name] += 1

    def _command(self, pos: int) -> int:
        b = self._buf[pos]
        if b == DLE:
            return self._realtime(pos)
        if b == ESC:
            return self._esc(pos)
        if b == GS:
            return self._gs(pos)
        if b == FS:
            return self._fs(pos)
        if b == 0x0A:
            self._do(self._lf)
            return pos + 1
        if b == 0x0D:
            return pos + 1  # CR: ignored, as with auto line feed off
        if b == 0x09:
            self._do(lambda: self._text(" " * (8 - len(self._paper.line) % 8)))
            return pos + 1
        if b < 0x20:
            self._unknown(f"CTL {b:02X}")
            return pos + 1
        return self._printable(pos)

    def _printable(self, pos: int) -> int:
        end = pos
        if self._style.chinese and self.chinese_support is not ChineseSupport.NONE:
            b = self._buf[pos]
            if b < 0x80:
                while end < len(self._buf) and 0x20 <= self._buf[end] < 0x80:
                    end += 1
                text = self._buf[pos:end].decode("ascii")
            elif b == 0x80 or b == 0xFF:
                text, end = "?", pos + 1
                self._job_unprintable += 1
            else:
                second = self._need(pos, 2)[1]
                size = 4 if 0x30 <= second <= 0x39 else 2
                raw = self._need(pos, size)
                end = pos + size
                text = raw.decode("gb18030", errors="replace")
                if size == 4 and self.chinese_support is ChineseSupport.GBK:
                    text = "\ufffd"  # a GBK font has no four-byte codes
                if "\ufffd" in text:
                    self._job_unprintable += 1
            self._do(lambda: self._text(text))
            return end
        while end < len(self._buf) and self._buf[end] >= 0x20 and self._buf[end] != 0x7F:
            end += 1
        raw = bytes(self._buf[pos:end])
        codec = _CODE_PAGES.get(self._style.code_page, "cp437")
        self._do(lambda: self._text(raw.decode(codec, errors="replace")))
        return end

    def _realtime(self, pos: int) -> int:
        head = self._need(pos, 2)
        if head[1] == 0x04:  # DLE EOT n
            self._status(self._need(pos, 3)[2])
            return pos + 3
        if head[1] == 0x05:  # DLE ENQ n
            n = self._need(pos, 3)[2]
            if n == 2:
                self._held.clear()
            return pos + 3
        if head[1] == 0x14:  # DLE DC4 fn ...
            fn = self._need(pos, 3)[2]
            if fn == 1:
                return pos + 5
            if fn == 8:
                if self._need(pos, 10)[3:] != b"\x01\x03\x14\x01\x06\x02\x08":
                    self._unknown("DLE DC4 8 (bad key)")
                else:
                    self._held.clear()
                return pos + 10
            self._unknown(f"DLE DC4 {fn}")
            return pos + 3
        self._unknown(f"DLE {head[1]:02X}")
        return pos + 2

    def _status(self, n: int) -> None:
        f = self.faults
        if f.mute:
            return
        if f.mute_after_answers is not None:
            if f.mute_after_answers <= 0:
                return
            f.mute_after_answers -= 1
        value = 0x12
        if n == 1:
            value |= 0x08 if self.stopped else 0
        elif n == 2:
            value |= (0x04 if f.cover_open else 0) | (0x20 if f.paper is PaperState.OUT else 0)
            value |= 0x40 if f.cutter_error else 0
        elif n == 3:
            value |= 0x08 if f.cutter_error else 0
        elif n == 4:
            if f.paper is PaperState.OUT:
                value |= 0x6C
            elif f.paper is PaperState.NEAR_END:
                value |= 0x0C
        else:
            self._unknown(f"DLE EOT {n}")
            return
        self._answers.append(value)

    def _esc(self, pos: int) -> int:
        c = self._need(pos, 2)[1]
        s = self._style
        one = {0x21, 0x45, 0x47, 0x2D, 0x61, 0x33, 0x64, 0x4A, 0x74, 0x52, 0x4D, 0x7B, 0x56}
        if c == 0x40:  # ESC @
            self._do(self._initialize)
            return pos + 2
        if c == 0x32:  # ESC 2
            self._do(lambda: setattr(s, "spacing", DEFAULT_LINE_SPACING))
            return pos + 2
        if c == 0x2A:  # ESC * m nL nH d
            m, nl, nh = self._need(pos, 5)[2:5]
            cols = nl + 256 * nh
            per = 3 if m in (32, 33) else 1
            data = self._need(pos + 5, cols * per)
            self._do(lambda: self._column_image(m, cols, data))
            return pos + 5 + cols * per
        if c == 0x70:  # ESC p m t1 t2: drawer pulse
            self._need(pos, 5)
            return pos + 5
        if c in one:
            n = self._need(pos, 3)[2]
            self._do(lambda: self._esc_one(c, n))
            return pos + 3
        self._unknown(f"ESC {chr(c) if 0x20 < c < 0x7F else f'{c:02X}'}")
        return pos + 2

    def _esc_one(self, c: int, n: int) -> None:
        s = self._style
        if c == 0x21:
            s.font_b, s.bold = bool(n & 1), bool(n & 8)
            s.height, s.width = (2 if n & 0x10 else 1), (2 if n & 0x20 else 1)
            s.underline = 1 if n & 0x80 else 0
        elif c in (0x45, 0x47):
            s.bold = bool(n & 1)
        elif c == 0x2D:
            s.underline = n % 48 if n in (0, 1, 2, 48, 49, 50) else 0
        elif c == 0x61:
            s.align = n % 48 if n in (0, 1, 2, 48, 49, 50) else 0
        elif c == 0x33:
            s.spacing = n
        elif c == 0x64:
            self._print_and_feed(n)
        elif c == 0x4A:
            self._flush_line(spacing=n)
        elif c == 0x74:
            if n not in _CODE_PAGES:
                self._unknown(f"ESC t {n}")
            s.code_page = n
        elif c == 0x4D:
            s.font_b = n in (1, 49)
        # ESC R (international set), ESC { (upside down), ESC V (rotate): accepted

    def _gs(self, pos: int) -> int:
        c = self._need(pos, 2)[1]
        if c == 0x21:  # GS ! n
            n = self._need(pos, 3)[2]
            self._do(lambda: self._size(n))
            return pos + 3
        if c == 0x56:  # GS V m [n]
            m = self._need(pos, 3)[2]
            if m in (65, 66, 97, 98, 103, 104):
                n = self._need(pos, 4)[3]
                self._do(lambda: self._cut(n))
                return pos + 4
            self._do(lambda: self._cut(0))
            return pos + 3
        if c == 0x76:  # GS v 0 m xL xH yL yH d
            hdr = self._need(pos, 8)
            wb, h = hdr[4] + 256 * hdr[5], hdr[6] + 256 * hdr[7]
            data = self._need(pos + 8, wb * h)
            self._do(lambda: self._raster(wb * 8, h, data, "GS v 0"))
            return pos + 8 + wb * h
        if c in (0x28, 0x38):  # GS ( x / GS 8 L
            return self._gs_paren(pos)
        if c == 0x6B:  # GS k m ...
            m = self._need(pos, 3)[2]
            if m <= 6:
                end = pos + 3
                while True:
                    if self._need(end, 1)[0] == 0:
                        break
                    end += 1
                data = bytes(self._buf[pos + 3 : end])
                self._do(lambda: self._barcode(m, data))
                return end + 1
            n = self._need(pos, 4)[3]
            data = self._need(pos + 4, n)
            self._do(lambda: self._barcode(m, data))
            return pos + 4 + n
        if c in (0x48, 0x68, 0x77, 0x66, 0x42, 0x62, 0x61, 0x72):
            n = self._need(pos, 3)[2]
            self._do(lambda: self._gs_one(c, n))
            return pos + 3
        if c in (0x4C, 0x57, 0x50):  # GS L / GS W / GS P: two parameter bytes, accepted
            self._need(pos, 4)
            return pos + 4
        self._unknown(f"GS {chr(c) if 0x20 < c < 0x7F else f'{c:02X}'}")
        return pos + 2

    def _gs_one(self, c: int, n: int) -> None:
        if c == 0x48:
            self._hri_below = n in (2, 3, 50, 51)
        elif c == 0x68:
            self._bar_height = max(n, 1)
        elif c == 0x77:
            self._bar_width = n if 1 <= n <= 6 else 3
        elif c == 0x72:  # GS r: transmit status (paper sensor); answered like DLE EOT 4
            self._status(4)

    def _gs_paren(self, pos: int) -> int:
        hdr = self._need(pos, 3)
        if hdr[1] == 0x38:  # GS 8 L p1 p2 p3 p4 m fn
            if hdr[2] != 0x4C:
                self._unknown("GS 8")
                return pos + 2
            p = self._need(pos, 7)
            length = p[3] + (p[4] << 8) + (p[5] << 16) + (p[6] << 24)
            body = self._need(pos + 7, length)
            self._do(lambda: self._graphics_fn(body))
            return pos + 7 + length
        kind = hdr[2]
        p = self._need(pos, 5)
        length = p[3] + 256 * p[4]
        body = self._need(pos + 5, length)
        end = pos + 5 + length
        if kind == 0x4C:  # GS ( L
            self._do(lambda: self._graphics_fn(body))
        elif kind == 0x6B and self.native_qr:  # GS ( k
            self._do(lambda: self._symbol(body))
        elif kind == 0x48 and self.process_id and len(body) == 6 and body[:2] == b"00":
            # GS ( H fn 48: answered once everything before it has printed (held
            # with the rest of the job while the printer is stopped).
            token = bytes(body[2:])
            self._do(lambda: self._answers.extend(b"\x37\x22" + token + b"\x00"))
        elif kind == 0x41 or kind == 0x45:  # GS ( A test print / GS ( E user setup
            self._unknown(f"GS ( {chr(kind)}")
        else:
            self._unknown(f"GS ( {chr(kind) if 0x20 < kind < 0x7F else f'{kind:02X}'}")
        return end

    def _fs(self, pos: int) -> int:
        c = self._need(pos, 2)[1]
        cjk = self.chinese_support is not ChineseSupport.NONE
        if c in (0x26, 0x2E) and cjk:  # FS & / FS .
            on = c == 0x26
            self._do(lambda: setattr(self._style, "chinese", on))
            return pos + 2
        if c in (0x21, 0x2D, 0x43) and cjk:  # FS ! n / FS - n / FS C n
            n = self._need(pos, 3)[2]
            if c == 0x2D:
                self._do(lambda: setattr(self._style, "kanji_underline", n % 48 if n < 51 else 0))
            elif c == 0x21:
                self._do(lambda: self._kanji_mode(n))
            return pos + 3
        if c == 0x53 and cjk:  # FS S n1 n2
            self._need(pos, 4)
            return pos + 4
        self._unknown(f"FS {chr(c) if 0x20 < c < 0x7F else f'{c:02X}'}")
        return pos + 2

    # -- execution --------------------------------------------------------------------
    def _initialize(self) -> None:
        if self._paper.rows or self._paper.line:
            self._finish(complete=False)  # a new job starts: the previous one ends
        self._style = _Style()

    def _size(self, n: int) -> None:
        self._style.width = min(((n >> 4) & 7) + 1, 8)
        self._style.height = min((n & 7) + 1, 8)

    def _kanji_mode(self, n: int) -> None:
        self._style.kanji_underline = 1 if n & 0x80 else 0

    def _text(self, text: str) -> None:
        s = self._style
        for char in text:
            wide = self._style.chinese and not char.isascii()
            cells = 2 if wide else 1
            shown = "?" if char == "\ufffd" else char
            img = glyph(shown, cells, s.bold)
            # Dots are scaled as dots (nearest neighbour), as a print head does.
            if s.font_b:
                img = img.resize(
                    (img.width * 3 // 4, img.height * 17 // 24), Image.Resampling.NEAREST
                )
            if s.width > 1 or s.height > 1:
                img = img.resize(
                    (img.width * s.width, img.height * s.height), Image.Resampling.NEAREST
                )
            line = s.kanji_underline if wide else s.underline
            self._paper.add(Item(img, shown, line * s.height), s.align)

    def _lf(self) -> None:
        self._flush_line(spacing=self._style.spacing)

    def _flush_line(self, spacing: int) -> None:
        fed = self._paper.print_line(self._style.align, spacing)
        self._consume_paper(max(1, fed // LINE_DOTS))

    def _print_and_feed(self, n: int) -> None:
        if self._paper.line:
            self._lf()
            n = max(n - 1, 0)
        self._paper.feed_dots(n * self._style.spacing)

    def _consume_paper(self, lines: int) -> None:
        f = self.faults
        if f.paper_out_after_lines is None:
            return
        f.paper_out_after_lines -= lines
        if f.paper_out_after_lines <= 0:
            f.paper_out_after_lines = None
            f.paper = PaperState.OUT  # what follows is held until paper is loaded

    def _column_image(self, m: int, cols: int, data: bytes) -> None:
        dots = 24 if m in (32, 33) else 8
        per = dots // 8
        img = Image.new("L", (cols, dots), 255)
        px = img.load()
        assert px is not None
        for x in range(cols):
            for k in range(per):
                byte = data[x * per + k]
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        px[x, k * 8 + bit] = 0
        if m in (0, 32):  # single density: each column is two dots wide
            img = img.resize((cols * 2, dots), Image.Resampling.NEAREST)
        self._paper.add(Item(img, ""), self._style.align)
        self._job_text_note(f"[ESC * {img.width}x{dots}]")

    def _job_text_note(self, note: str) -> None:
        if not self._paper.line or self._paper.line[-1].text:
            return
        self._paper.line[-1].text = note if not self._paper.line[:-1] else ""

    def _raster(self, width: int, height: int, data: bytes, name: str) -> None:
        img = Image.frombytes("1", (width, height), data)
        img = _invert_1bit(img)
        self._paper.add_block(img, self._style.align, f"[{name} {width}x{height}]")
        self._consume_paper(max(1, height // LINE_DOTS))

    def _graphics_fn(self, body: bytes) -> None:
        if len(body) < 2:
            self._unknown("GS ( L short")
            return
        fn = body[1]
        if fn in (0x70, 112):  # store raster graphics: m fn a bx by c xL xH yL yH d
            if len(body) < 10:
                self._unknown("GS ( L 112 short")
                return
            xs, ys = body[6] + 256 * body[7], body[8] + 256 * body[9]
            wb = (xs + 7) // 8
            img = Image.frombytes("1", (wb * 8, ys), bytes(body[10 : 10 + wb * ys]))
            img = _invert_1bit(img).crop((0, 0, xs, ys))
            bx, by = body[3], body[4]
            if bx == 2 or by == 2:
                img = img.resize((xs * bx, ys * by), Image.Resampling.NEAREST)
            self._graphics = img
        elif fn in (0x32, 50):  # print stored graphics
            if self._graphics is None:
                self._unknown("GS ( L 50 without data")
                return
            g = self._graphics
            self._paper.add_block(g, self._style.align, f"[GS ( L {g.width}x{g.height}]")
            self._consume_paper(max(1, g.height // LINE_DOTS))
            self._graphics = None
        elif fn not in (0x30, 0x31):  # 48/49: density and capacity queries, accepted
            self._unknown(f"GS ( L fn {fn}")

    def _symbol(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 0x31:
            self._unknown("GS ( k (not QR)")
            return
        fn = body[1]
        if fn == 0x41:
            pass  # model: only model 2 is rendered
        elif fn == 0x43 and len(body) >= 3:
            self._qr_module = max(1, min(body[2], 16))
        elif fn == 0x45 and len(body) >= 3:
            levels = {48: "L", 49: "M", 50: "Q", 51: "H"}
            level = levels.get(body[2], "L")
            self._qr_ec = getattr(qrcode.constants, f"ERROR_CORRECT_{level}")
        elif fn == 0x50:
            self._qr_data = bytes(body[3:])
        elif fn == 0x51:
            self._print_qr()
        else:
            self._unknown(f"GS ( k fn {fn:02X}")

    def _print_qr(self) -> None:
        if not self._qr_data:
            return
        if self._paper.line:
            self._lf()
        code = qrcode.QRCode(error_correction=self._qr_ec, box_size=self._qr_module, border=0)
        code.add_data(self._qr_data)
        code.make(fit=True)
        img = code.make_image().get_image().convert("L")
        self._job_qr.append(self._qr_data)
        text = self._qr_data.decode("utf-8", errors="replace")
        self._paper.add_block(img, self._style.align, f"[QR {text}]")
        self._consume_paper(max(1, img.height // LINE_DOTS))

    def _barcode(self, m: int, data: bytes) -> None:
        from barcode.codex import Code39, Code128  # type: ignore[import-untyped]
        from barcode.ean import EAN13  # type: ignore[import-untyped]
        from barcode.errors import BarcodeError  # type: ignore[import-untyped]

        # GS k m: function A (m 0-6, NUL-terminated) and B (m 65-79, length-prefixed).
        kinds = {2: "EAN13", 67: "EAN13", 4: "CODE39", 69: "CODE39", 73: "CODE128"}
        kind = kinds.get(m)
        if kind is None or (kind == "CODE128" and not data.startswith(b"{")):
            self._unknown(f"GS k {m}")
            return
        text = (data[2:] if kind == "CODE128" else data).decode("ascii", errors="replace")
        try:
            if kind == "CODE128":
                bars = Code128(text).build()[0]
            elif kind == "CODE39":
                bars = Code39(text.strip("*"), add_checksum=False).build()[0]
            else:
                bars = EAN13(text[:12]).build()[0]
        except (BarcodeError, ValueError):
            self._unknown(f"GS k {m} (invalid data)")
            return
        if self._paper.line:
            self._lf()
        w = self._bar_width
        if len(bars) * w > self.dots:
            self._unknown("GS k (wider than the paper, not printed)")
            return
        img = Image.new("L", (len(bars) * w, self._bar_height), 255)
        for i, bit in enumerate(bars):
            if bit == "1":
                img.paste(0, (i * w, 0, (i + 1) * w, self._bar_height))
        self._paper.add_block(img, self._style.align, f"[{kind} {text}]")
        if self._hri_below:
            saved = self._style.align
            self._text(text)
            self._style.align = saved
            self._lf()

    def _cut(self, feed: int) -> None:
        if self._paper.line:
            self._lf()
        self._paper.feed_dots(feed)
        if self.cutter:  # without a cutter the command is accepted and nothing is cut
            self._finish(complete=True)

    def _finish(self, *, complete: bool) -> Job | None:
        if self._paper.line:
            self._paper.print_line(self._style.align, self._style.spacing)
        if not self._paper.rows:
            return None
        job = Job(
            number=len(self.jobs) + 1,
            image=self._paper.render(),
            text="\n".join(self._paper.text).rstrip("\n") + "\n",
            unknown=self._job_unknown,
            complete=complete,
            unprintable=self._job_unprintable,
            qr_payloads=self._job_qr,
        )
        self.jobs.append(job)
        self._paper = Paper(self.dots)
        self._job_unknown = Counter()
        self._job_unprintable = 0
        self._job_qr = []
        if self._on_job is not None:
            self._on_job(job)
        return job


def _invert_1bit(img: Image.Image) -> Image.Image:
    """ESC/POS bit images use 1 for ink; PIL's mode 1 uses 1 for white."""
    return img.convert("L").point(lambda v: 255 - v)


def job_png_bytes(job: Job) -> bytes:
    """The job's picture as PNG bytes."""
    out = io.BytesIO()
    job.image.save(out, format="PNG")
    return out.getvalue()

"""An ESC/POS interpreter: bytes in, printed paper (pixels and text) and status answers out.

The interpreter parses the byte stream into commands, however it arrives in chunks.
Real-time commands (DLE EOT status, DLE ENQ recovery, DLE DC4 clear buffers) act at
once, even while the printer is stopped; everything else is executed, or held while
the printer is stopped (paper out, cover open, offline) and executed when it can
print again, unless the host cleared the buffers meanwhile. That is how a real
printer behaves, and why a driver must clear the buffer of a failed job.

Unknown commands are counted by name in :attr:`EscPosInterpreter.unknown` and in
each job's report.

The printer has the limits of a real one (:class:`Limits`, docs/printing.md): a
command declaring more data than its buffer holds is read and discarded, data held
while stopped beyond the receive buffer is dropped, a QR code too big for its symbol
is not printed, and a job's paper is recorded up to a length. Each such event goes
into the job's log; none raises, and none makes memory or time grow faster than the
input. Each link (a TCP connection, the serial line) has its own parser, so a half
command from one never swallows another's bytes.
"""

from __future__ import annotations

import functools
import io
from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from PIL import Image

from simulators.printer.graphics import (
    QR_LEVELS,
    barcode_bars,
    bars_image,
    column_image,
    invert_1bit,
    qr_symbol,
    stored_graphics,
)
from simulators.printer.model import (
    ChineseSupport,
    Faults,
    Job,
    Limits,
    PaperState,
)
from simulators.printer.paper import (
    BLANK_RUN_SHOWN,
    DEFAULT_LINE_SPACING,
    LINE_DOTS,
    Item,
    Paper,
    glyph,
)

__all__ = [
    "ChineseSupport",
    "EscPosInterpreter",
    "Faults",
    "Job",
    "Limits",
    "PaperState",
    "job_png_bytes",
]

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
_CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 17: "cp866", 19: "cp858"}


class _Incomplete(Exception):
    """The buffer ends inside a command: wait for more bytes."""


@dataclass
class _Link:
    """One link's parser state: its unparsed bytes and a body being discarded."""

    buf: bytearray = field(default_factory=bytearray)
    skip: int = 0  # bytes of a declared body still to read and discard


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
        limits: Limits | None = None,
        on_job: Callable[[Job], None] | None = None,
    ) -> None:
        self.dots = dots
        self.chinese_support = chinese
        self.native_qr = native_qr
        self.cutter = cutter
        self.process_id = process_id
        self.limits = limits or Limits()
        self.faults = Faults()
        self.unknown: Counter[str] = Counter()
        self.jobs: list[Job] = []  # the latest finished jobs (see Limits.kept_pixels)
        self.job_count = 0  # jobs finished since start
        self.printed_dots = 0  # paper drawn in all jobs' pictures since start
        self._on_job = on_job
        self._links: dict[Hashable, _Link] = {}
        self._link = _Link()
        self._buf = self._link.buf
        self._held: deque[tuple[int, Callable[[], None]]] = deque()  # (bytes, action)
        self._held_bytes = 0
        self._style = _Style()
        self._paper = Paper(dots, self.limits.job_dots)
        self._job_log: Counter[str] = Counter()
        self._job_discarded = 0
        self._job_unknown: Counter[str] = Counter()
        self._job_unprintable = 0
        self._job_qr: list[bytes] = []
        self._qr_module = 3
        self._qr_ec = QR_LEVELS["L"]
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

    def feed(self, data: bytes, link: Hashable = None) -> bytes:
        """Process bytes received on ``link``; return the bytes the printer sends back.

        Each link has its own parser: a command split across reads of one link is
        joined, and never with another link's bytes."""
        self._link = self._links.setdefault(link, _Link())
        buf = self._buf = self._link.buf
        buf += data
        pos = 0
        while pos < len(buf):
            if self._link.skip:  # inside a body too big to hold: read and discard
                n = min(self._link.skip, len(buf) - pos)
                self._link.skip -= n
                pos += n
                continue
            start, held = pos, len(self._held)
            try:
                pos = self._command(pos)
            except _Incomplete:
                break
            if len(self._held) > held:
                self._hold_accounting(held, pos - start)
        del buf[:pos]
        return self._take_answers()

    def close_link(self, link: Hashable = None) -> bool:
        """A link went away: a command it left half sent is dropped (and logged).

        True when something was dropped."""
        state = self._links.pop(link, None)
        if state is None or not (state.buf or state.skip):
            return False
        self._note(f"link closed inside a command: {len(state.buf) + state.skip} bytes dropped")
        return True

    def resume(self) -> bytes:
        """Call after a fault clears: held commands are executed (unless cleared).

        Returns the bytes the printer sends back meanwhile (process ID answers)."""
        while self._held and not self.stopped:
            size, action = self._held.popleft()
            self._held_bytes -= size
            action()
        return self._take_answers()

    def end_job(self) -> Job | None:
        """Finish the current job (connection closed or idle); None if nothing printed."""
        return self._finish(complete=False)

    # -- limits and the job log -------------------------------------------------------
    def _take_answers(self) -> bytes:
        out = bytes(self._answers)
        self._answers.clear()
        return out

    def _note(self, message: str) -> None:
        """Record an event in the current job's log (repeats are counted, not repeated)."""
        self._job_log[message] += 1

    def _hold_accounting(self, first: int, size: int) -> None:
        # The command just parsed was held (printer stopped): it takes receive buffer.
        if self._held_bytes + size > self.limits.receive_buffer:
            while len(self._held) > first:
                self._held.pop()
            self._job_discarded += size
            self._note(
                f"receive buffer ({self.limits.receive_buffer} bytes) full while stopped: "
                "data discarded"
            )
            return
        self._held[-1] = (size, self._held[-1][1])
        self._held_bytes += size

    def _discard_body(self, pos: int, header: int, length: int, why: str) -> int:
        """Read and discard a declared body (as a printer does with data it cannot hold)."""
        self._note(why)
        available = len(self._buf) - (pos + header)
        if length <= available:
            return pos + header + length
        self._link.skip = length - available
        return len(self._buf)

    # -- parsing --------------------------------------------------------------------
    def _need(self, pos: int, n: int) -> bytes:
        if pos + n > len(self._buf):
            raise _Incomplete
        return bytes(self._buf[pos : pos + n])

    def _do(self, action: Callable[[], None]) -> None:
        if self.stopped:
            self._held.append((0, action))  # its size is set once the command is parsed
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
        if b < 0x20 or b == 0x7F:  # DEL is no character either (it once looped forever)
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
                self._clear_held()
            return pos + 3
        if head[1] == 0x14:  # DLE DC4 fn ...
            fn = self._need(pos, 3)[2]
            if fn == 1:
                return pos + 5
            if fn == 8:
                if self._need(pos, 10)[3:] != b"\x01\x03\x14\x01\x06\x02\x08":
                    self._unknown("DLE DC4 8 (bad key)")
                else:
                    self._clear_held()
                return pos + 10
            self._unknown(f"DLE DC4 {fn}")
            return pos + 3
        self._unknown(f"DLE {head[1]:02X}")
        return pos + 2

    def _clear_held(self) -> None:
        self._held.clear()
        self._held_bytes = 0

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
            if m not in (0, 1, 32, 33):
                self._unknown(f"ESC * {m}")
                return pos + 5  # no data size without a known mode: the data prints as text
            data = self._need(pos + 5, cols * per)  # at most 196,605 bytes
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
            if h > self.limits.raster_lines or wb * h > self.limits.graphics_bytes(self.dots):
                why = f"GS v 0 {wb * 8}x{h}: larger than the image buffer, discarded"
                return self._discard_body(pos, 8, wb * h, why)
            data = self._need(pos + 8, wb * h)
            self._do(lambda: self._raster(wb * 8, h, data, "GS v 0"))
            return pos + 8 + wb * h
        if c in (0x28, 0x38):  # GS ( x / GS 8 L
            return self._gs_paren(pos)
        if c == 0x6B:  # GS k m ...
            m = self._need(pos, 3)[2]
            if m <= 6:
                cap = self.limits.barcode_data
                window = self._buf[pos + 3 : pos + 3 + cap + 1]
                end = window.find(0)
                if end < 0:
                    if len(window) <= cap:
                        raise _Incomplete
                    # No NUL within the longest data a barcode takes: not a barcode
                    # command; what follows is processed as ordinary data.
                    self._note(f"GS k {m}: no NUL within {cap} bytes, ignored")
                    return pos + 3
                end += pos + 3
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
            if length > self.limits.graphics_bytes(self.dots) + 10:
                why = f"GS 8 L of {length} bytes: larger than the image buffer, discarded"
                return self._discard_body(pos, 7, length, why)
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
        paper = self._paper
        for char in text:
            if paper.full:  # past the job length limit: counted by the paper, not drawn
                return
            wide = s.chinese and not char.isascii()
            shown = "?" if char == "\ufffd" else char
            img = _scaled_glyph(shown, 2 if wide else 1, s.bold, s.font_b, s.width, s.height)
            line = s.kanji_underline if wide else s.underline
            paper.add(Item(img, shown, line * s.height), s.align)

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
        # Columns past the paper's edge are read and discarded, as the firmware does.
        shown = min(cols, -(-self.dots // 2) if m in (0, 32) else self.dots)
        if shown < cols:
            self._note(f"ESC * {cols} columns: wider than the paper, cut at the edge")
        if shown == 0 or self._paper.full:
            return
        img = column_image(m, shown, data)
        self._paper.add(Item(img, ""), self._style.align)
        self._job_text_note(f"[ESC * {img.width}x{img.height}]")

    def _job_text_note(self, note: str) -> None:
        if not self._paper.line or self._paper.line[-1].text:
            return
        self._paper.line[-1].text = note if not self._paper.line[:-1] else ""

    def _raster(self, width: int, height: int, data: bytes, name: str) -> None:
        if not width or not height or self._paper.full:
            self._consume_paper(max(1, height // LINE_DOTS))
            return
        img = invert_1bit(Image.frombytes("1", (width, height), data))
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
            img = stored_graphics(body, paper_dots=self.dots, max_lines=self.limits.raster_lines)
            if isinstance(img, str):
                self._note(img)
                return
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
            self._qr_ec = QR_LEVELS[levels.get(body[2], "L")]
        elif fn == 0x50:
            data = bytes(body[3:])
            if len(data) > self.limits.qr_data:
                self._note(
                    f"QR data of {len(data)} bytes: more than the symbol store holds "
                    f"({self.limits.qr_data}), discarded"
                )
                data = b""
            self._qr_data = data
        elif fn == 0x51:
            self._print_qr()
        else:
            self._unknown(f"GS ( k fn {fn:02X}")

    def _print_qr(self) -> None:
        if not self._qr_data:
            self._note("QR print without stored data: nothing printed")
            return
        if self._paper.line:
            self._lf()
        if self._paper.full:
            return
        img = qr_symbol(self._qr_data, self._qr_ec, self._qr_module, self.dots)
        if isinstance(img, str):
            level = {v: k for k, v in QR_LEVELS.items()}.get(self._qr_ec, "?")
            self._note(img.replace("this level", f"level {level}"))
            return
        self._job_qr.append(self._qr_data)
        text = self._qr_data.decode("utf-8", errors="replace")
        self._paper.add_block(img, self._style.align, f"[QR {text}]")
        self._consume_paper(max(1, img.height // LINE_DOTS))

    def _barcode(self, m: int, data: bytes) -> None:
        found = barcode_bars(m, data)
        if found is None:
            self._unknown(f"GS k {m}")
            return
        kind, text, bars = found
        if self._paper.line:
            self._lf()
        if self._paper.full:
            return
        if len(bars) * self._bar_width > self.dots:
            self._unknown("GS k (wider than the paper, not printed)")
            return
        img = bars_image(bars, self._bar_width, self._bar_height)
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
        paper = self._paper
        if paper.line:
            paper.print_line(self._style.align, self._style.spacing)
        if not paper.rows and not self._job_log and not self._job_discarded:
            return None
        if paper.dropped_dots:
            self._note(
                f"job length limit ({self.limits.job_dots} dots): "
                f"{paper.dropped_dots} more dots fed, not drawn"
            )
        if paper.shortened_dots:
            self._note(
                f"blank paper: {paper.shortened_dots} dots of feed not drawn "
                f"(runs over {BLANK_RUN_SHOWN} dots are shortened)"
            )
        if self._job_discarded:
            self._note(f"{self._job_discarded} bytes discarded in all (receive buffer full)")
        self.job_count += 1
        self.printed_dots += paper.height
        job = Job(
            number=self.job_count,
            image=paper.render(),
            text="\n".join(paper.text).rstrip("\n") + "\n",
            unknown=self._job_unknown,
            complete=complete,
            unprintable=self._job_unprintable,
            qr_payloads=self._job_qr,
            log=[m if n == 1 else f"{m} (x{n})" for m, n in self._job_log.items()],
        )
        self._keep(job)
        self._paper = Paper(self.dots, self.limits.job_dots)
        self._job_unknown = Counter()
        self._job_log = Counter()
        self._job_discarded = 0
        self._job_unprintable = 0
        self._job_qr = []
        if self._on_job is not None:
            self._on_job(job)
        return job

    def _keep(self, job: Job) -> None:
        # Finished jobs stay in memory up to a pixel budget; older ones are dropped
        # (the server has written them to its output folder).
        self.jobs.append(job)
        pixels = sum(j.image.width * j.image.height for j in self.jobs)
        while len(self.jobs) > 1 and pixels > self.limits.kept_pixels:
            gone = self.jobs.pop(0)
            pixels -= gone.image.width * gone.image.height


@functools.lru_cache(maxsize=512)  # up to 192 x 192 dots each: a small cache
def _scaled_glyph(
    char: str, cells: int, bold: bool, font_b: bool, width: int, height: int
) -> Image.Image:
    img = glyph(char, cells, bold)
    # Dots are scaled as dots (nearest neighbour), as a print head does.
    if font_b:
        img = img.resize((img.width * 3 // 4, img.height * 17 // 24), Image.Resampling.NEAREST)
    if width > 1 or height > 1:
        img = img.resize((img.width * width, img.height * height), Image.Resampling.NEAREST)
    return img


def job_png_bytes(job: Job) -> bytes:
    """The job's picture as PNG bytes."""
    out = io.BytesIO()
    job.image.save(out, format="PNG")
    return out.getvalue()

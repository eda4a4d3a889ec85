"""Pictures the printer makes from command data: bit images, QR symbols, barcodes.

Pure functions of the command's bytes (no printer state), so the interpreter only
decides where they go on the paper. ESC/POS bit images use 1 for ink; PIL's mode
"1" uses 1 for white, hence :func:`invert_1bit`.
"""

from __future__ import annotations

import functools

import qrcode
from PIL import Image

QR_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
_INVERT = [255 - v for v in range(256)]


def invert_1bit(img: Image.Image) -> Image.Image:
    """An ESC/POS bit image (1 = ink) as an 8-bit picture (ink = 0)."""
    return img.convert("L").point(_INVERT)


def column_image(m: int, columns: int, data: bytes) -> Image.Image:
    """``ESC *`` data: ``columns`` columns of 8 or 24 dots (m 32/33), each column's
    bytes top to bottom; single density (m 0/32) makes each column two dots wide."""
    dots = 24 if m in (32, 33) else 8
    per = dots // 8
    # The columns read as rows of a bitmap, then the axes swapped.
    img = invert_1bit(Image.frombytes("1", (dots, columns), data[: columns * per]))
    img = img.transpose(Image.Transpose.TRANSPOSE)
    if m in (0, 32):
        img = img.resize((columns * 2, dots), Image.Resampling.NEAREST)
    return img


def stored_graphics(body: bytes, *, paper_dots: int, max_lines: int) -> Image.Image | str:
    """``GS ( L`` / ``GS 8 L`` fn 112 (``m fn a bx by c xL xH yL yH d...``): the image,
    cut at the paper's edge, or why it is ignored."""
    xs, ys = body[6] + 256 * body[7], body[8] + 256 * body[9]
    wb = (xs + 7) // 8
    bx, by = body[3], body[4]
    if not xs or not ys or bx not in (1, 2) or by not in (1, 2):
        return f"GS ( L 112: bad size {xs}x{ys} scale {bx}x{by}, ignored"
    if ys * by > max_lines or len(body) < 10 + wb * ys:
        return f"GS ( L 112 {xs}x{ys}: data missing or too tall, ignored"
    img = Image.frombytes("1", (wb * 8, ys), bytes(body[10 : 10 + wb * ys]))
    # Wider than the paper: the part past the edge is never printed.
    img = invert_1bit(img).crop((0, 0, min(xs, paper_dots), ys))
    if bx == 2 or by == 2:
        img = img.resize((img.width * bx, ys * by), Image.Resampling.NEAREST)
    return img


@functools.lru_cache(maxsize=4)  # a reprint of the same symbol costs nothing
def qr_symbol(data: bytes, level: int, module: int, paper_dots: int) -> Image.Image | str:
    """The QR symbol (model 2) for ``data``, or why it is not printed: too much data
    for version 40, or wider than the paper (a printer does not print a cut symbol)."""
    # A fixed mask pattern, as printer firmware may use: every decoder reads any of
    # the eight, and choosing the "best" one is most of the encoder's time.
    code = qrcode.QRCode(error_correction=level, box_size=module, border=0, mask_pattern=0)
    code.add_data(data)
    try:
        code.make(fit=True)
    except ValueError:  # qrcode's DataOverflowError
        return f"QR data of {len(data)} bytes: too much for a QR symbol at this level"
    if code.modules_count * module > paper_dots:
        side = code.modules_count * module
        return f"QR symbol {side} dots wide: wider than the paper, not printed"
    img: Image.Image = code.make_image().get_image().convert("L")
    return img


_BARCODE_KINDS = {2: "EAN13", 67: "EAN13", 4: "CODE39", 69: "CODE39", 73: "CODE128"}


def barcode_bars(m: int, data: bytes) -> tuple[str, str, str] | None:
    """``GS k m`` (function A m 0-6, B m 65-79): (kind, human-readable text, bars as
    "0"/"1"), or None for a symbology not rendered or data it cannot encode."""
    from barcode.codex import Code39, Code128  # type: ignore[import-untyped]
    from barcode.ean import EAN13  # type: ignore[import-untyped]
    from barcode.errors import BarcodeError  # type: ignore[import-untyped]

    kind = _BARCODE_KINDS.get(m)
    if kind is None or (kind == "CODE128" and not data.startswith(b"{")):
        return None
    text = (data[2:] if kind == "CODE128" else data).decode("ascii", errors="replace")
    try:
        if kind == "CODE128":
            bars = Code128(text).build()[0]
        elif kind == "CODE39":
            bars = Code39(text.strip("*"), add_checksum=False).build()[0]
        else:
            bars = EAN13(text[:12]).build()[0]
    except (BarcodeError, ValueError):
        return None
    return kind, text, str(bars)


def bars_image(bars: str, width: int, height: int) -> Image.Image:
    """Bars ("0"/"1") as a picture, ``width`` dots per module."""
    img = Image.new("L", (len(bars) * width, height), 255)
    for i, bit in enumerate(bars):
        if bit == "1":
            img.paste(0, (i * width, 0, (i + 1) * width, height))
    return img

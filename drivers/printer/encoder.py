"""Render a :class:`~drivers.printer.document.Document` to ESC/POS bytes for one profile.

python-escpos supplies the commands it gets right (styles, native QR, images in
the three raster formats, barcodes, cut) through its ``Dummy`` printer, fed a
python-escpos profile made from ours; text bytes are encoded here and sent raw
(see :mod:`drivers.printer.textlayout` for why).
"""

from __future__ import annotations

import copy
from typing import Any

from escpos import capabilities
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image

from drivers.printer.document import (
    Align,
    Barcode,
    Block,
    Document,
    Feed,
    Field,
    QRCode,
    Rule,
    Size,
    Text,
)
from drivers.printer.profiles import ChineseFont, PrinterProfile
from drivers.printer.raster import fit_module_dots, render_qr, render_text_line
from drivers.printer.textlayout import encode_runs, fit_field, plan_line, wrap

ESC = b"\x1b"
INIT = ESC + b"@"
LINE_SPACING_DEFAULT = ESC + b"2"


def _escpos_profile(profile: PrinterProfile) -> Any:
    """A python-escpos profile object carrying our profile's paper and features."""
    data = copy.deepcopy(capabilities.get_profile_class("default").profile_data)
    data["name"] = profile.name
    data["media"] = {
        "dpi": 203,
        "width": {"mm": 72 if profile.dots_per_line > 400 else 48, "pixels": profile.dots_per_line},
    }
    data["fonts"]["0"]["columns"] = profile.columns
    data["features"].update(
        {
            "qrCode": profile.native_qr,
            "paperFullCut": profile.cutter,
            "paperPartCut": profile.cutter,
        }
    )
    name = f"Civicard_{profile.name.replace('-', '_')}"
    cls = type(name, (capabilities.Profile,), {"profile_data": data})
    return cls(columns=profile.columns, features=data["features"])


class DocumentEncoder:
    """Turns documents into bytes for one printer profile (stateless between calls)."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self._escpos_profile = _escpos_profile(profile)

    def encode(self, document: Document) -> bytes:
        """The complete job: initialise, every block, then cut (or feed past the tear bar)."""
        out = Dummy(profile=self._escpos_profile)
        out._raw(INIT)
        if self.profile.chinese is not ChineseFont.NONE:
            # Many Chinese printers power up in Chinese mode and ESC @ leaves it on.
            out._raw(b"\x1c.")
        out._raw(ESC + b"t" + bytes([self.profile.code_page_number]))
        for block in document.blocks:
            self._block(out, block)
        if document.cut and self.profile.cutter:
            out.cut()
        else:
            out.print_and_feed(6)
        return bytes(out.output)

    # -- blocks ---------------------------------------------------------------
    def _block(self, out: Dummy, block: Block) -> None:
        if isinstance(block, Text):
            width = self.profile.columns // block.size.width_factor
            for line in wrap(block.text, width, self.profile):
                self._line(out, line, block.align, block.bold, block.underline, block.size)
        elif isinstance(block, Field):
            for line in fit_field(block.label, block.value, self.profile.columns, self.profile):
                self._line(out, line, Align.LEFT, block.bold, False, Size.NORMAL)
        elif isinstance(block, Rule):
            char = block.char if block.char.isascii() and block.char.isprintable() else "-"
            self._line(out, char * self.profile.columns, Align.LEFT, False, False, Size.NORMAL)
        elif isinstance(block, QRCode):
            self._qr(out, block)
        elif isinstance(block, Barcode):
            # GS k m=73 (CODE128, code set B), HRI below, module 2 dots: sent raw, because
            # python-escpos's barcode() prints a notice on stdout on every call.
            data = ("{B" + block.data).encode("ascii")
            # Code set B: 11 modules per character plus start, check, stop (13 with the bar).
            modules = 11 * (len(block.data) + 2) + 13
            module = 2 if 2 * modules <= self.profile.dots_per_line else 1
            out.set(align="center")
            height = bytes([max(1, min(block.height_dots, 255))])
            out._raw(b"\x1dH\x02\x1dw" + bytes([module]) + b"\x1dh" + height)
            out._raw(b"\x1dkI" + bytes([len(data)]) + data + b"\n")
            out.set(align="left")
        elif isinstance(block, Feed):
            out.print_and_feed(max(0, min(block.lines, 255)))

    def _line(
        self, out: Dummy, line: str, align: Align, bold: bool, underline: bool, size: Size
    ) -> None:
        runs = plan_line(line, self.profile)
        if runs is None:
            image = render_text_line(
                line, self.profile, align=align, bold=bold, underline=underline, size=size
            )
            self._image(out, image)
            return
        out.set(
            align=align.value,
            bold=bold,
            underline=1 if underline else 0,
            normal_textsize=size is Size.NORMAL,
            double_width=size.width_factor == 2,
            double_height=size.height_factor == 2,
        )
        if self.profile.chinese is not ChineseFont.NONE:
            out._raw(b"\x1c-" + (b"\x01" if underline else b"\x00"))  # Kanji underline
        out._raw(encode_runs(runs, self.profile) + b"\n")
        if bold or underline or size is not Size.NORMAL:
            out.set(bold=False, underline=0, normal_textsize=True)
            if self.profile.chinese is not ChineseFont.NONE:
                out._raw(b"\x1c-\x00")
        if align is not Align.LEFT:
            out.set(align="left")

    def _qr(self, out: Dummy, block: QRCode) -> None:
        module = fit_module_dots(block.payload, block.module_dots, self.profile)
        if self.profile.native_qr:
            out.set(align="center")
            out.qr(block.payload, ec=QR_ECLEVEL_M, size=module, native=True)
            out._raw(b"\n")
            out.set(align="left")
        else:
            self._image(out, render_qr(block.payload, module, self.profile))

    def _image(self, out: Dummy, image: Image.Image) -> None:
        out.image(image, impl=self.profile.raster.value, center=False)
        if self.profile.raster.value == "bitImageColumn":
            out._raw(LINE_SPACING_DEFAULT)

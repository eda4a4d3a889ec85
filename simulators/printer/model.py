"""What the simulated printer is and reports: its limits, fonts, faults and jobs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from PIL import Image


@dataclass(frozen=True)
class Limits:
    """What the simulated printer can hold; beyond each limit it acts as a printer does."""

    receive_buffer: int = 64 * 1024  # bytes of commands held while the printer is stopped
    raster_lines: int = 2_400  # height of one image (GS v 0, GS ( L, GS 8 L), in dots
    qr_data: int = 7_089  # bytes one QR store holds (model 2, version 40, numeric)
    barcode_data: int = 255  # bytes of GS k data
    job_dots: int = 16_000  # paper recorded per job (2 m at 8 dots/mm); the rest counted
    kept_pixels: int = 64 * 1024 * 1024  # finished jobs kept in memory (oldest dropped)

    def graphics_bytes(self, dots: int) -> int:
        """The image buffer: one paper-wide image of :attr:`raster_lines` lines."""
        return (dots + 7) // 8 * self.raster_lines


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
    log: list[str] = field(default_factory=list)  # limits hit, data discarded, and why

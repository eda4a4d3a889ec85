"""Every receipt kind x every profile x TCP and pty: real driver -> simulator -> PNG -> QR.

The simulator decodes the bytes on its own (it shares no code with the driver), and
the QR code is read back from the rendered PNG with zxing-cpp, a real decoder.
"""

from __future__ import annotations

import pytest
import zxingcpp

from drivers.printer.document import Document, Field, Text
from drivers.printer.printer import Printer
from drivers.printer.profiles import PROFILES, PrinterProfile
from drivers.printer.textlayout import plan_line
from kiosk.receipts.layouts import ReceiptKind, key_signer
from kiosk.receipts.samples import sample_documents
from kiosk.receipts.signing import (
    ReceiptVerificationError,
    TerminalIdentity,
    make_test_terminal_identity,
    verify_reference,
)
from simulators.printer.server import PrinterSimulator
from tests.printer.conftest import SEED

LANGS = ("zh-Hans", "zh-Hant", "en")
CASES = [
    (profile, transport, kind, LANGS[i % 3])
    for i, (profile, transport, kind) in enumerate(
        (p, t, k) for p in PROFILES for t in ("tcp", "pty") for k in ReceiptKind
    )
]


def _pieces(doc: Document) -> list[str]:
    out: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Text):
            out.append(block.text)
        elif isinstance(block, Field):
            out += [block.label, block.value]
    return out


def _squash(text: str) -> str:
    return "".join(text.split())


def _native(piece: str, doc: Document, profile: PrinterProfile) -> bool:
    """True when every line holding ``piece`` is printed as text (not as an image)."""
    for block in doc.blocks:
        if isinstance(block, Field) and piece in (block.label, block.value):
            return plan_line(block.label + block.value, profile) is not None
    return plan_line(piece, profile) is not None


@pytest.mark.parametrize(("profile_name", "transport", "kind", "lang"), CASES)
def test_receipt_prints_and_its_qr_verifies(
    sims: dict[tuple[str, str], tuple[PrinterSimulator, str]],
    identity: TerminalIdentity,
    profile_name: str,
    transport: str,
    kind: ReceiptKind,
    lang: str,
) -> None:
    profile = PROFILES[profile_name]
    sim, url = sims[(profile_name, transport)]
    doc = sample_documents(
        SEED, key_signer(identity.private_key), language=lang, profile_name=profile_name
    )[kind]
    before = len(sim.jobs)
    with Printer(url, profile, timeout=2.0) as printer:
        result = printer.print_document(doc)
    assert result.supervised and result.status.ready
    job = sim.wait_for_jobs(before + 1)[before]

    # Nothing the simulator did not understand, nothing it could not print.
    assert not job.unknown, job.unknown
    assert job.unprintable == 0
    assert job.complete == profile.cutter
    assert "\ufffd" not in job.text

    # The QR code read back from the picture is exactly what was laid out, and verifies.
    printed = next(b.payload for b in doc.blocks if hasattr(b, "payload"))
    found = [
        r.text
        for r in zxingcpp.read_barcodes(job.image)
        if r.format == zxingcpp.BarcodeFormat.QRCode
    ]
    assert found == [printed]
    ref = verify_reference(found[0], identity.certificate)
    assert ref.transaction_id == doc.reference and ref.kind == kind.value
    tampered = found[0].replace(f"|A={ref.amount_fen}|", f"|A={ref.amount_fen + 100}|")
    assert tampered != found[0]
    with pytest.raises(ReceiptVerificationError):
        verify_reference(tampered, identity.certificate)

    # Text printed natively comes back intact (Chinese, CJK punctuation, full width).
    flat = _squash(job.text)
    for piece in _pieces(doc):
        if _native(piece, doc, profile):
            assert _squash(piece) in flat, (piece, job.text)
    assert "?" not in job.text.replace("[QR ", "")  # no character became '?'


def test_another_terminals_certificate_does_not_verify(identity: TerminalIdentity) -> None:
    doc = sample_documents(SEED, key_signer(identity.private_key), language="en")
    payload = next(b.payload for b in doc[ReceiptKind.PURCHASE].blocks if hasattr(b, "payload"))
    other = make_test_terminal_identity(identity.terminal_id)
    with pytest.raises(ReceiptVerificationError):
        verify_reference(payload, other.certificate)

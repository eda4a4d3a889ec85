"""Receipt documents: required fields, masking, languages, signatures, no device imports."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from drivers.printer.document import Field, QRCode
from kiosk.receipts.formatting import local_time, mask_card_number, mask_name
from kiosk.receipts.i18n import LANGUAGES, label
from kiosk.receipts.layouts import ReceiptKind, key_signer
from kiosk.receipts.samples import sample_context, sample_documents
from kiosk.receipts.signing import (
    ReceiptVerificationError,
    TransactionReference,
    make_test_terminal_identity,
    sign_reference,
    verify_reference,
)

SEED = 11


@pytest.fixture(scope="module")
def identity():  # type: ignore[no-untyped-def]
    return make_test_terminal_identity(sample_context(SEED).terminal.terminal_id, seed=SEED)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_receipt_carries_the_required_fields(identity, language: str) -> None:  # type: ignore[no-untyped-def]
    ctx = sample_context(SEED)
    docs = sample_documents(SEED, key_signer(identity.private_key), language=language)
    assert set(docs) == set(ReceiptKind)
    for kind, doc in docs.items():
        fields = {b.label: b.value for b in doc.blocks if isinstance(b, Field)}
        assert fields[label("terminal", language)] == ctx.terminal.terminal_id
        assert fields[label("transaction", language)] == doc.reference
        assert label("time", language) in fields
        text = doc.plain_text()
        assert ctx.card.card_number not in text  # never the full number
        if kind is not ReceiptKind.TEST_PAGE:
            assert fields[label("card", language)] == mask_card_number(ctx.card.card_number)
            assert fields[label("balance_after", language)].startswith("¥")
        if kind is ReceiptKind.TOP_UP:  # which linked account paid, masked
            assert fields[label("funding_account", language)] == "中国工商银行 **** 4521"
        [qr] = [b for b in doc.blocks if isinstance(b, QRCode)]
        ref = verify_reference(qr.payload, identity.certificate)
        assert ref.transaction_id == doc.reference and ref.kind == kind.value


def test_seeded_documents_are_reproducible(identity) -> None:  # type: ignore[no-untyped-def]
    a = sample_documents(SEED, key_signer(identity.private_key), language="zh-Hans")
    b = sample_documents(SEED, key_signer(identity.private_key), language="zh-Hans")
    assert {k: d.to_json() for k, d in a.items()} == {k: d.to_json() for k, d in b.items()}


def test_masking_and_time() -> None:
    assert mask_card_number("3205820012345678") == "3205 **** **** 5678"
    assert mask_name("刘龑") == "*龑" and mask_name("欧阳明月") == "***月"
    assert mask_name("Ada") == "A**"
    at = dt.datetime(2026, 11, 28, 5, 30, 5, tzinfo=dt.UTC)
    assert local_time(at) == "2026-11-28 13:30:05"
    with pytest.raises(ValueError):
        local_time(dt.datetime(2026, 11, 28))


def _ref(**kw) -> TransactionReference:  # type: ignore[no-untyped-def]
    base = {
        "terminal_id": "KSK-0001",
        "transaction_id": "T1",
        "kind": "purchase",
        "amount_fen": 1234,
        "balance_after_fen": 8766,
        "at": dt.datetime(2026, 11, 28, 5, 30, tzinfo=dt.UTC),
    }
    base.update(kw)
    return TransactionReference(**base)  # type: ignore[arg-type]


def test_every_field_is_covered_by_the_signature() -> None:
    ident = make_test_terminal_identity("KSK-0001")
    payload = sign_reference(_ref(), ident.private_key)
    assert verify_reference(payload, ident.certificate) == _ref()
    for old, new in [
        ("|T=KSK-0001|", "|T=KSK-0002|"),
        ("|X=T1|", "|X=T2|"),
        ("|K=purchase|", "|K=top_up|"),
        ("|A=1234|", "|A=1235|"),
        ("|B=8766|", "|B=9766|"),
        ("|D=20261128T053000Z|", "|D=20261128T053001Z|"),
    ]:
        with pytest.raises(ReceiptVerificationError):
            verify_reference(payload.replace(old, new), ident.certificate)
    with pytest.raises(ReceiptVerificationError):
        verify_reference(payload[:-4] + "AAAA", ident.certificate)
    with pytest.raises(ReceiptVerificationError):
        verify_reference("hello", ident.certificate)


def test_reference_refuses_floats_and_naive_times() -> None:
    with pytest.raises(TypeError):
        _ref(amount_fen=12.34)
    with pytest.raises(ValueError):
        _ref(at=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        _ref(transaction_id="T|1")


def test_receipts_import_no_device_library() -> None:
    code = (
        "import sys, kiosk.receipts.layouts, kiosk.receipts.samples;"
        "bad = [m for m in ('escpos', 'kivy', 'smartcard', 'serial', 'PIL') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


def test_only_the_printer_driver_imports_escpos() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(p.relative_to(root))
        for pkg in ("cardlib", "kiosk", "drivers", "simulators", "backend_sync", "terminal_ui")
        for p in (root / pkg).rglob("*.py")
        if (
            "import escpos" in p.read_text(encoding="utf-8")
            or "from escpos" in p.read_text(encoding="utf-8")
        )
        and not p.is_relative_to(root / "drivers" / "printer")
    ]
    assert offenders == []

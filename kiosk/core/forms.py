"""Checking a service form before anything is asked of the card or the central.

Pure functions over the catalog's field specs, the typed values and the PIN
buffers: errors come back as codes per field (docs/kiosk.md lists them), values
normalized (amounts typed in yuan become fen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kiosk.core.pinpad import PinBuffer
from kiosk.money import ascii_digits, parse_yuan

__all__ = ["FieldSpec", "ServiceForm", "check_field", "check_form", "next_step"]


@dataclass(frozen=True)
class FieldSpec:
    """One form field as the catalog declares it."""

    name: str
    labels: Mapping[str, str]
    # "code": letters and digits typed on the letter keys (a tracking number, a plate)
    kind: str = "text"  # "text", "digits", "amount", "choice", "pin", "code"
    required: bool = True
    max_length: int = 32
    min_value: int | None = None  # amounts in fen
    max_value: int | None = None
    choices: tuple[tuple[str, Mapping[str, str]], ...] = ()


@dataclass(frozen=True)
class ServiceForm:
    service_id: str
    titles: Mapping[str, str]
    fields: tuple[FieldSpec, ...]


def check_field(spec: FieldSpec, raw: str) -> tuple[str | None, str | None]:
    """(error code, normalized value) of one non-PIN field."""
    raw = raw.strip()
    if not raw:
        return ("required", None) if spec.required else (None, "")
    if len(raw) > spec.max_length:
        return "too_long", None
    if spec.kind == "digits" and not ascii_digits(raw):
        return "not_digits", None
    if spec.kind == "code" and not all(c.isascii() and (c.isalnum() or c == "-") for c in raw):
        return "not_a_code", None
    if spec.kind == "choice" and raw not in {v for v, _ in spec.choices}:
        return "not_a_choice", None
    if spec.kind == "amount":
        try:
            fen = parse_yuan(raw)
        except ValueError:
            return "not_an_amount", None
        if (
            fen <= 0
            or (spec.min_value is not None and fen < spec.min_value)
            or (spec.max_value is not None and fen > spec.max_value)
        ):
            return "out_of_range", None
        return None, str(fen)
    return None, raw


def check_form(
    form: ServiceForm, values: Mapping[str, str], pins: Mapping[str, PinBuffer]
) -> tuple[dict[str, str], dict[str, str]]:
    """(errors by field, normalized values). A PIN field must be complete, and a
    field ``X_again`` must equal ``X`` (it is cleared when it does not)."""
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for spec in form.fields:
        if spec.kind == "pin":
            if not pins[spec.name].complete:
                errors[spec.name] = "required"
            continue
        err, val = check_field(spec, values.get(spec.name, ""))
        if err:
            errors[spec.name] = err
        elif val is not None:
            clean[spec.name] = val
    for name, buf in pins.items():
        first = pins.get(name.removesuffix("_again"))
        if name.endswith("_again") and first is not None and not first.same_as(buf):
            errors[name] = "pins_differ"
            buf.clear()
    return errors, clean


def next_step(fields: tuple[FieldSpec, ...], values: dict[str, str]) -> str:
    """A form grown by a step (choices the flow found live): drops from ``values``
    what is no longer among its field's choices; the field to focus (the first empty)."""
    for f in fields:
        if f.kind == "choice" and values.get(f.name) not in {v for v, _ in f.choices}:
            values.pop(f.name, None)
    return next((f.name for f in fields if f.name not in values), fields[0].name)

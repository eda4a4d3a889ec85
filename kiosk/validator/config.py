"""The validator's configuration: one TOML file, errors that name the key.

::

    [validator]
    data_dir = "/var/lib/civicard-validator"
    fare_fen = 200            # the flat fare
    payee = "transit"         # the operator's ledger account at the central
    line = 12
    vehicle = 345
    max_hotlist_age_s = 172800
    max_unsent_age_s = 172800 # rides stop while the oldest unsent record is older
    repeat_window_s = 120     # a second tap within this on this bus is not charged
    block_hotlisted = true    # APPLICATION BLOCK a hotlisted card, as kiosks do

    [readers]
    card_reader = "*Contactless*"
    psam_reader = "*SAM*"
    psam_two_level = false    # the PSAM's keys: issuer, then card (INIT SAM Lc 24)
    allow_virtual = false

    [central]
    url = "https://central.example.gov.cn"
    central_key = "/etc/civicard/central.pub"
    terminal_key = "/etc/civicard/validator.key"
    sync_interval = 300

Unknown sections and keys are errors. The terminal id is the PSAM's, never configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.config import ConfigError, read_sections

__all__ = ["ValidatorConfig", "ValidatorConfigError", "load_validator_config"]


class ValidatorConfigError(ConfigError):
    """A validator's configuration value is missing, of the wrong type, or out of range."""


# section -> key -> (type, default)
_SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "validator": {
        "data_dir": ("path", Path("var/validator")),
        "fare_fen": ("int", 200),
        "payee": ("str", "transit"),
        "line": ("int", 0),
        "vehicle": ("int", 0),
        "max_hotlist_age_s": ("int", 48 * 3600),
        # Rides stop once the oldest unacknowledged record is older (docs/sync.md).
        "max_unsent_age_s": ("int", 48 * 3600),
        "repeat_window_s": ("int", 120),
        "block_hotlisted": ("bool", True),
    },
    "readers": {
        "card_reader": ("str", ""),
        "psam_reader": ("str", ""),
        "psam_two_level": ("bool", False),
        "allow_virtual": ("bool", False),
    },
    "central": {
        "url": ("str", ""),
        "central_key": ("path", None),
        "terminal_key": ("path", None),
        "timeout": ("float", 10.0),
        "sync_interval": ("float", 300.0),
    },
}
_PAYEE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


@dataclass(frozen=True)
class ValidatorConfig:
    """The validated configuration."""

    data_dir: Path
    fare_fen: int
    payee: str
    line: int
    vehicle: int
    max_hotlist_age_s: int
    max_unsent_age_s: int
    repeat_window_s: int
    block_hotlisted: bool
    card_reader: str
    psam_reader: str
    psam_two_level: bool
    allow_virtual_readers: bool
    central_url: str
    central_key: Path | None
    terminal_key: Path | None
    central_timeout: float
    sync_interval: float


def load_validator_config(path: Path) -> ValidatorConfig:
    """Read and validate ``path``; raises ValidatorConfigError naming the key."""
    # The kiosk's reader: same TOML rules and coercion (no environment overrides).
    v = read_sections(path, _SCHEMA, error=ValidatorConfigError)
    if not 1 <= v["validator.fare_fen"] <= 0xFFFFFFFF:
        raise ValidatorConfigError("validator.fare_fen", "a fare is 1 fen or more")
    for key in ("validator.line", "validator.vehicle"):
        if v[key] > 0xFFFF:
            raise ValidatorConfigError(key, "at most 65535 (2 bytes in the transit record)")
    if not _PAYEE.match(v["validator.payee"]):
        raise ValidatorConfigError("validator.payee", "letters, digits and _.:- only")
    url = v["central.url"]
    if url and not url.startswith(("http://", "https://")):
        raise ValidatorConfigError("central.url", "must start with http:// or https://")
    for key in ("central.central_key", "central.terminal_key"):
        if url and v[key] is None:
            raise ValidatorConfigError(key, "required when central.url is set")
    if v["central.sync_interval"] <= 0:
        raise ValidatorConfigError("central.sync_interval", "must be positive")
    return ValidatorConfig(
        data_dir=v["validator.data_dir"],
        fare_fen=v["validator.fare_fen"],
        payee=v["validator.payee"],
        line=v["validator.line"],
        vehicle=v["validator.vehicle"],
        max_hotlist_age_s=v["validator.max_hotlist_age_s"],
        max_unsent_age_s=v["validator.max_unsent_age_s"],
        repeat_window_s=v["validator.repeat_window_s"],
        block_hotlisted=v["validator.block_hotlisted"],
        card_reader=v["readers.card_reader"],
        psam_reader=v["readers.psam_reader"],
        psam_two_level=v["readers.psam_two_level"],
        allow_virtual_readers=v["readers.allow_virtual"],
        central_url=url,
        central_key=v["central.central_key"],
        terminal_key=v["central.terminal_key"],
        central_timeout=v["central.timeout"],
        sync_interval=v["central.sync_interval"],
    )

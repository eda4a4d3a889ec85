"""Kiosk configuration: one TOML file, environment overrides, errors that name the key.

Every key has a type and a default (:data:`SCHEMA`). ``CIVICARD_<SECTION>_<KEY>``
overrides a key from the environment (``CIVICARD_PRINTER_URL=tcp://10.0.0.9:9100``;
lists are comma-separated). Anything wrong raises :class:`ConfigError` saying
which key and what is wrong; unknown keys are errors too (a typo must not be
silently ignored). The terminal id is not configured: it is the PSAM's.

::

    [kiosk]
    data_dir = "/var/lib/civicard"
    location = "张家港市民中心 1F"
    languages = ["zh-Hans", "zh-Hant", "en"]
    trusted_ca = "/etc/civicard/issuer-ca.crt"

    [readers]
    card_reader = "*Contact*"
    psam_reader = "*SAM*"

    [printer]
    url = "tcp://10.0.0.9:9100"
    profile = "gb18030-80mm"

    [central]
    url = "https://central.example.gov.cn"
    central_key = "/etc/civicard/central.pub"
    terminal_key = "/etc/civicard/terminal.key"

    [offline]
    max_hotlist_age_s = 86400
    max_card_offline_fen = 20000
    max_unsent_age_s = 86400

    [timeouts]
    pin_entry = 30

    [screen]
    shuffle_pin_pad = true
    dpi = 124
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.core.timeouts import Timeouts
from kiosk.core.views import Language

__all__ = [
    "SCHEMA",
    "ConfigError",
    "KioskConfig",
    "load_config",
    "read_sections",
]

ENV_PREFIX = "CIVICARD_"
PRINTER_SCHEMES = ("tcp://", "serial://", "usb://", "file://")
PROFILES = ("gb18030-80mm", "nocjk-58mm", "noqr-80mm")


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type, or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def _timeout_defaults() -> dict[str, float]:
    from kiosk.journeys import timeout_defaults

    return timeout_defaults()


_TIMED = _timeout_defaults()  # every timed state of the kiosk's journeys: its seconds

# section -> key -> (type, default). Types: str, int, float, bool, path, list.
SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "kiosk": {
        "data_dir": ("path", Path("var/kiosk")),
        "location": ("str", "civicard kiosk"),
        "languages": ("list", ["zh-Hans", "zh-Hant", "en"]),
        "trusted_ca": ("path", None),
        "production": ("bool", False),
        # where the maintenance journey writes support bundles (a USB stick's mount
        # point in the field); unset: <data_dir>/support
        "support_dir": ("path", None),
    },
    "readers": {
        "card_reader": ("str", ""),
        "card_atr": ("str", ""),
        "psam_reader": ("str", ""),
        "psam_atr": ("str", ""),
        "allow_virtual": ("bool", False),
    },
    "printer": {
        "url": ("str", ""),
        "profile": ("str", "gb18030-80mm"),
        "timeout": ("float", 1.0),
    },
    "central": {
        "url": ("str", ""),
        "central_key": ("path", None),
        "terminal_key": ("path", None),
        "timeout": ("float", 10.0),
        "sync_interval": ("float", 30.0),
    },
    "offline": {
        "max_hotlist_age_s": ("int", 24 * 3600),
        "max_card_offline_fen": ("int", 20_000),
        # Purchases stop once the oldest record not acknowledged by the central is
        # older than this (docs/sync.md, "The oldest unsent record").
        "max_unsent_age_s": ("int", 24 * 3600),
    },
    "timeouts": {
        **{name: ("float", seconds) for name, seconds in _TIMED.items()},
        "warning": ("float", Timeouts().warning),
        "elder_factor": ("float", Timeouts().elder_factor),
    },
    "screen": {  # the touch screen (terminal_ui, ``civicard screen``)
        "shuffle_pin_pad": ("bool", False),
        "dpi": ("float", 124.0),  # the demo's 1080x1920 panel; 9 mm touch targets = 44 px
    },
}


@dataclass(frozen=True)
class KioskConfig:
    """The validated configuration."""

    data_dir: Path
    location: str
    languages: tuple[Language, ...]
    trusted_ca: Path | None
    production: bool
    card_reader: str
    card_atr: str
    psam_reader: str
    psam_atr: str
    allow_virtual_readers: bool
    printer_url: str
    printer_profile: str
    printer_timeout: float
    central_url: str
    central_key: Path | None
    terminal_key: Path | None
    central_timeout: float
    sync_interval: float
    max_hotlist_age_s: int
    max_card_offline_fen: int
    timeouts: Timeouts
    shuffle_pin_pad: bool = False  # the PIN pad's digits in a fresh random layout each time
    support_dir: Path | None = None  # support bundles go here (else <data_dir>/support)
    dpi: float = 124.0  # the touch screen's pixels per inch: sizes touch targets in mm
    max_unsent_age_s: int = 24 * 3600  # purchases stop beyond it (docs/sync.md)


def _coerce(key: str, kind: str, value: Any, *, from_env: bool) -> Any:
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {type(value).__name__}")
        return value
    if kind == "path":
        if not isinstance(value, str) or not value:
            raise ConfigError(key, "must be a non-empty path string")
        return Path(value)
    if kind == "bool":
        if from_env and isinstance(value, str):
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ConfigError(key, f"must be true or false, got {value!r}")
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value
    if kind in ("int", "float"):
        if from_env and isinstance(value, str):
            try:
                value = int(value) if kind == "int" else float(value)
            except ValueError:
                raise ConfigError(key, f"must be a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"must be a number, got {value!r}")
        if kind == "int" and not isinstance(value, int):
            raise ConfigError(key, f"must be a whole number, got {value!r}")
        if value < 0:
            raise ConfigError(key, f"must not be negative, got {value!r}")
        return int(value) if kind == "int" else float(value)
    if kind == "list":
        if from_env and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, "must be a list of strings")
        return list(value)
    raise AssertionError(kind)  # pragma: no cover - SCHEMA is fixed


def read_sections(
    path: Path | None,
    schema: Mapping[str, Mapping[str, tuple[str, Any]]],
    *,
    env: Mapping[str, str] | None = None,
    error: type[ConfigError] = ConfigError,
) -> dict[str, Any]:
    """Read a TOML file of ``schema``'s sections (section -> key -> (kind, default)):
    unknown sections and keys refused, each value coerced to its kind, with
    ``CIVICARD_<SECTION>_<KEY>`` overrides from ``env`` when given. Returns
    ``{"section.key": value}``; every problem is ``error`` naming the key. The kiosk's
    and the bus validator's configs are read by it."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise error(str(path), "no such file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise error(str(path), f"not valid TOML: {exc}") from None
    for section in raw:
        if section not in schema:
            raise error(section, f"unknown section (known: {', '.join(schema)})")
        if not isinstance(raw[section], dict):
            raise error(section, "must be a table")
        for key in raw[section]:
            if key not in schema[section]:
                raise error(f"{section}.{key}", "unknown key")
    values: dict[str, Any] = {}
    try:
        for section, keys in schema.items():
            for key, (kind, default) in keys.items():
                name = f"{section}.{key}"
                env_name = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
                if env is not None and env_name in env:
                    values[name] = _coerce(env_name, kind, env[env_name], from_env=True)
                elif key in raw.get(section, {}):
                    values[name] = _coerce(name, kind, raw[section][key], from_env=False)
                else:
                    values[name] = default
    except ConfigError as exc:
        if isinstance(exc, error):
            raise
        raise error(exc.key, exc.problem) from None
    return values


def load_config(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> KioskConfig:
    """Read ``path`` (optional: defaults and environment alone also work), apply
    ``CIVICARD_<SECTION>_<KEY>`` overrides from ``env`` (default ``os.environ``)."""
    env = os.environ if env is None else env
    return _validate(read_sections(path, SCHEMA, env=env))


def _validate(v: dict[str, Any]) -> KioskConfig:
    languages: list[Language] = []
    for lang in v["kiosk.languages"]:
        try:
            languages.append(Language(lang))
        except ValueError:
            known = ", ".join(x.value for x in Language)
            raise ConfigError("kiosk.languages", f"{lang!r} is not one of {known}") from None
    if not languages:
        raise ConfigError("kiosk.languages", "at least one language")
    url = v["printer.url"]
    if url and not url.startswith(PRINTER_SCHEMES):
        raise ConfigError("printer.url", f"must start with one of {', '.join(PRINTER_SCHEMES)}")
    if v["printer.profile"] not in PROFILES:
        raise ConfigError("printer.profile", f"must be one of {', '.join(PROFILES)}")
    central = v["central.url"]
    if central and not central.startswith(("http://", "https://")):
        raise ConfigError("central.url", "must start with http:// or https://")
    if v["kiosk.production"]:
        if central.startswith("http://"):
            raise ConfigError("central.url", "production kiosks talk to the central over https")
        if v["readers.allow_virtual"]:
            raise ConfigError("readers.allow_virtual", "production refuses virtual readers")
        if v["kiosk.trusted_ca"] is None:
            raise ConfigError("kiosk.trusted_ca", "required in production")
    if central and (v["central.central_key"] is None or v["central.terminal_key"] is None):
        missing = "central.central_key" if v["central.central_key"] is None else (
            "central.terminal_key")  # fmt: skip
        raise ConfigError(missing, "required when central.url is set")
    if v["central.sync_interval"] <= 0:
        raise ConfigError("central.sync_interval", "must be positive")
    if not 30 <= v["screen.dpi"] <= 1000:
        raise ConfigError("screen.dpi", "must be a screen's pixels per inch (30 to 1000)")
    timeouts = Timeouts(
        seconds={k: v[f"timeouts.{k}"] for k in _TIMED},
        warning=v["timeouts.warning"],
        elder_factor=v["timeouts.elder_factor"],
    )
    try:
        timeouts.validate()
    except ValueError as exc:
        raise ConfigError("timeouts", str(exc)) from None
    return KioskConfig(
        data_dir=v["kiosk.data_dir"],
        location=v["kiosk.location"],
        languages=tuple(languages),
        trusted_ca=v["kiosk.trusted_ca"],
        production=v["kiosk.production"],
        card_reader=v["readers.card_reader"],
        card_atr=v["readers.card_atr"],
        psam_reader=v["readers.psam_reader"],
        psam_atr=v["readers.psam_atr"],
        allow_virtual_readers=v["readers.allow_virtual"],
        printer_url=url,
        printer_profile=v["printer.profile"],
        printer_timeout=v["printer.timeout"],
        central_url=central,
        central_key=v["central.central_key"],
        terminal_key=v["central.terminal_key"],
        central_timeout=v["central.timeout"],
        sync_interval=v["central.sync_interval"],
        max_hotlist_age_s=v["offline.max_hotlist_age_s"],
        max_card_offline_fen=v["offline.max_card_offline_fen"],
        timeouts=timeouts,
        shuffle_pin_pad=v["screen.shuffle_pin_pad"],
        support_dir=v["kiosk.support_dir"],
        dpi=v["screen.dpi"],
        max_unsent_age_s=v["offline.max_unsent_age_s"],
    )

"""Kiosk configuration: TOML, environment overrides, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config
from kiosk.core.views import Language

GOOD = """
[kiosk]
data_dir = "/var/lib/civicard"
location = "张家港市民中心 1F"
languages = ["zh-Hans", "en"]

[printer]
url = "tcp://10.0.0.9:9100"
profile = "nocjk-58mm"

[central]
url = "http://127.0.0.1:8700"
central_key = "/etc/civicard/central.pub"
terminal_key = "/etc/civicard/terminal.key"

[offline]
max_card_offline_fen = 5000

[timeouts]
pin_entry = 45
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_and_defaults(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, GOOD), env={})
    assert cfg.data_dir == Path("/var/lib/civicard")
    assert cfg.languages == (Language.ZH_HANS, Language.EN)
    assert (cfg.printer_url, cfg.printer_profile) == ("tcp://10.0.0.9:9100", "nocjk-58mm")
    assert cfg.max_card_offline_fen == 5000 and cfg.max_hotlist_age_s == 86400
    assert cfg.timeouts.seconds["pin_entry"] == 45 and cfg.timeouts.seconds["menu"] == 60


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "CIVICARD_PRINTER_URL": "serial:///dev/ttyS0",
        "CIVICARD_KIOSK_LANGUAGES": "en, zh-Hant",
        "CIVICARD_OFFLINE_MAX_CARD_OFFLINE_FEN": "100",
        "CIVICARD_READERS_ALLOW_VIRTUAL": "yes",
        "CIVICARD_TIMEOUTS_WARNING": "25.5",
    }
    cfg = load_config(_write(tmp_path, GOOD), env=env)
    assert cfg.printer_url == "serial:///dev/ttyS0"
    assert cfg.languages == (Language.EN, Language.ZH_HANT)
    assert cfg.max_card_offline_fen == 100 and cfg.allow_virtual_readers
    assert cfg.timeouts.warning == 25.5


def test_no_file_is_defaults(tmp_path: Path) -> None:
    cfg = load_config(None, env={})
    assert cfg.central_url == "" and cfg.printer_profile == "gb18030-80mm"


@pytest.mark.parametrize(
    ("text", "env", "key", "words"),
    [
        ("[kiosk]\nlanguges = ['en']\n", {}, "kiosk.languges", "unknown key"),
        ("[kisok]\n", {}, "kisok", "unknown section"),
        ("[kiosk]\nlanguages = ['fr']\n", {}, "kiosk.languages", "'fr' is not one of"),
        ("[kiosk]\nlanguages = []\n", {}, "kiosk.languages", "at least one"),
        ("[kiosk]\nlanguages = 'en'\n", {}, "kiosk.languages", "list of strings"),
        ("[printer]\nurl = 'http://x'\n", {}, "printer.url", "must start with"),
        ("[printer]\nprofile = 'epson'\n", {}, "printer.profile", "must be one of"),
        ("[printer]\ntimeout = 'soon'\n", {}, "printer.timeout", "must be a number"),
        ("[offline]\nmax_card_offline_fen = 1.5\n", {}, "offline.max_card_offline_fen", "whole"),
        ("[offline]\nmax_hotlist_age_s = -1\n", {}, "offline.max_hotlist_age_s", "negative"),
        ("[central]\nurl = 'ftp://x'\n", {}, "central.url", "http"),
        ("[central]\nurl = 'http://x'\n", {}, "central.central_key", "required"),
        ("[timeouts]\nmenu = 5\n", {}, "timeouts", "menu: 5.0 s must exceed warning"),
        ("", {"CIVICARD_OFFLINE_MAX_HOTLIST_AGE_S": "a day"},
         "CIVICARD_OFFLINE_MAX_HOTLIST_AGE_S", "must be a number"),
        ("", {"CIVICARD_READERS_ALLOW_VIRTUAL": "maybe"}, "CIVICARD_READERS_ALLOW_VIRTUAL",
         "true or false"),
        ("[kiosk]\nproduction = true\n[readers]\nallow_virtual = true\n", {},
         "readers.allow_virtual", "production"),
        ("[kiosk]\nproduction = true\n", {}, "kiosk.trusted_ca", "required in production"),
        ("[kiosk\n", {}, "kiosk.toml", "not valid TOML"),
    ],
)  # fmt: skip
def test_errors_name_the_key(
    tmp_path: Path, text: str, env: dict[str, str], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text), env=env)
    assert err.value.key.endswith(key) and words in str(err.value), str(err.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml", env={})


def test_civicard_kiosk_config_prints_settings_or_the_wrong_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.cli import main

    for name in [k for k in __import__("os").environ if k.startswith("CIVICARD_")]:
        monkeypatch.delenv(name)
    assert main(["kiosk", "config", str(_write(tmp_path, GOOD))]) == 0
    out = capsys.readouterr().out
    assert "printer_url              tcp://10.0.0.9:9100" in out
    assert main(["kiosk", "config", str(_write(tmp_path, "[printer]\nprofile = 'x'\n"))]) == 2
    assert "config error: printer.profile: must be one of" in capsys.readouterr().err

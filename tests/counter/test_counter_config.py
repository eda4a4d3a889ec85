"""``civicard counter --config FILE``: the config file read and checked (a bad one is the
key at fault, exit 2), and the station built from one that names simulators: the printer
simulator and the identity card simulator on ptys, the counter's three readers (the
PC/SC edge replaced by the in-process readers: the pcsc test runs it behind pcscd)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_sync import chain
from kiosk.cli import main
from kiosk.counter.runtime import CounterConfigError, build_counter, load_counter_config
from simulators.idcard import IdCardSimulator, demo_document
from simulators.printer.server import PrinterSimulator
from simulators.transport import SimReader
from tests.counter.conftest import COUNTER_TID, Counter


def _config(k: Counter, tmp: Path, *, printer: str, idcard: str, **over: str) -> Path:
    (tmp / "terminal.pem").write_bytes(chain.private_key_pem(k.terminal.key))
    (tmp / "central.pem").write_bytes(chain.public_key_pem(k.central.signing_key.public_key()))
    values = {
        "clerk_reader": "Clerk", "citizen_reader": "Citizen", "psam_reader": "SAM",
        "supervisor_reader": "", "printer": printer, "idcard": idcard,
        "url": k.server.url, "ca": str(k.wallet.root / "issuer-ca.crt"),
    } | over  # fmt: skip
    path = tmp / "counter.toml"
    path.write_text(f"""
[counter]
data_dir = "{tmp / "data"}"
[readers]
clerk_reader = "{values["clerk_reader"]}"
citizen_reader = "{values["citizen_reader"]}"
psam_reader = "{values["psam_reader"]}"
supervisor_reader = "{values["supervisor_reader"]}"
[idcard]
url = "{values["idcard"]}"
[printer]
url = "{values["printer"]}"
[central]
url = "{values["url"]}"
terminal_key = "{tmp / "terminal.pem"}"
central_key = "{tmp / "central.pem"}"
issuer_ca = "{values["ca"]}"
""")
    return path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[counter]\nwhat = 1\n", "counter.what"),
        ("[drawers]\n", "drawers"),
        ("[readers]\nclerk_reader = 3\n", "readers.clerk_reader"),
        ("[counter\n", "not valid TOML"),
        ("", "readers.clerk_reader: required"),
        ('[counter]\nlanguage = "fr"\n', "readers.clerk_reader"),
    ],
)
def test_a_bad_config_is_the_key_at_fault_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert main(["counter", "--config", str(path)]) == 2
    assert key in capsys.readouterr().err
    with pytest.raises(CounterConfigError):
        load_counter_config(path)


def test_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["counter", "--config", str(tmp_path / "none.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_station_from_a_config_naming_simulators(counter: Counter, tmp_path: Path) -> None:
    k = counter
    printer, ids = PrinterSimulator.model("gb18030-80mm"), IdCardSimulator()
    try:
        cfg = _config(k, tmp_path, printer=f"serial://{printer.start_pty()}?baudrate=115200",
                      idcard=f"serial://{ids.start_pty()}?baudrate=115200")  # fmt: skip
        values = load_counter_config(cfg, env={})
        psam = SimReader("psam")
        psam.insert(k.wallet.open_psam(COUNTER_TID))
        readers = {"ACS ACR39U Clerk 00": k.clerk_reader, "ACS ACR39U Citizen 01":
                   k.citizen_reader, "ACS ACR39U SAM 02": psam}  # fmt: skip
        fake = {"reader_names": lambda: list(readers), "open_reader": readers.__getitem__,
                "card_present": lambda name: bool(readers[name].present)}  # fmt: skip
        # A name that matches two readers is refused, naming the key.
        with pytest.raises(CounterConfigError, match=r"readers\.clerk_reader"):
            build_counter({**values, "readers.clerk_reader": "ACS"}, **fake)  # type: ignore[arg-type]
        with pytest.raises(CounterConfigError, match=r"readers\.citizen_reader: the same"):
            build_counter({**values, "readers.citizen_reader": "Clerk"}, **fake)  # type: ignore[arg-type]
        rt = build_counter(values, **fake)  # type: ignore[arg-type]
        try:
            assert rt.station.terminal_id == COUNTER_TID
            assert rt.station.drawer == f"{COUNTER_TID}-1"
            clerk = k.insert_clerk()
            assert rt.ports.sign_in(clerk.pin).card_number
            ids.place(demo_document("孙浩然"))
            assert rt.ports.read_id_card().name == "孙浩然"  # over the pty
            rt.ports.open_shift(0)
            citizen = k.insert_citizen()
            out = rt.ports.top_up(1_000, citizen.pin)
            assert out.receipt_printed and dict(out.rows)["Cash received"] == "¥10.00"
            assert k.chip_balance_in_reader() == 1_000
        finally:
            rt.close()
        # The shift's report and the top-up's receipt, over the pty.
        assert len(printer.jobs) == 2 and "¥10.00" in printer.jobs[1].text
        assert "CVR1|" in printer.jobs[1].text
    finally:
        printer.stop()
        ids.stop()

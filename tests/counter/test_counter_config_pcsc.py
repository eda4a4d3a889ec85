"""The station ``civicard counter --config FILE`` builds, on real PC/SC: the clerk's and
the citizen's cards in the two slots of a vpcd reader behind a private pcscd (vpcd
gives one reader per pcscd, so the PSAM, a third reader, is in-process beside them),
the identity card simulator on a pty; the clerk signs in through pcscd and tops a
card up. Marker ``pcsc``: run under the machine-wide lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.pcsc import PcscConnection, list_readers, reader_atrs
from kiosk.counter.runtime import build_counter, load_counter_config
from simulators.idcard import IdCardSimulator
from simulators.private_pcscd import PrivatePcscd
from simulators.transport import SimReader
from simulators.vpcd import VpcdBridge
from tests.counter.conftest import COUNTER_TID, Counter
from tests.counter.test_counter_config import _config

pytestmark = pytest.mark.pcsc


def test_the_station_from_a_config_on_pcsc(
    counter: Counter, pcscd: PrivatePcscd, bridge: VpcdBridge, tmp_path: Path
) -> None:
    k = counter
    clerk_name, citizen_name = pcscd.slot_names()
    clerk, citizen = k.card("clerk"), k.card("citizen")
    bridge.card.insert(k.wallet.open_card(clerk.asn))
    bridge.psam.insert(k.wallet.open_card(citizen.asn))  # the second slot: the citizen's
    psam = SimReader("Counter SAM")
    psam.insert(k.wallet.open_psam(COUNTER_TID))

    def open_reader(name: str) -> object:
        return psam if name == psam.name else PcscConnection.wait_for_card(name, timeout=10)

    ids = IdCardSimulator()
    try:
        cfg = _config(k, tmp_path, printer="",
                      idcard=f"serial://{ids.start_pty()}?baudrate=115200",
                      clerk_reader=clerk_name, citizen_reader=citizen_name,
                      psam_reader=psam.name)  # fmt: skip
        rt = build_counter(
            load_counter_config(cfg, env={}),
            reader_names=lambda: [*list_readers(), psam.name], open_reader=open_reader,
            card_present=lambda name: reader_atrs().get(name) is not None,
        )  # fmt: skip
        try:
            assert rt.station.terminal_id == COUNTER_TID
            assert rt.ports.sign_in(clerk.pin).role == "clerk"
            rt.ports.open_shift(0)
            out = rt.ports.top_up(700, citizen.pin)
            assert dict(out.rows)["Balance"] == "¥7.00"
            # Uploaded by the station's own agent (its outbox in the config's data_dir).
            assert k.ledger(f"card:{citizen.asn}") == 700
            bridge.card.remove()  # the clerk's card out: signed out
            with pytest.raises(Exception, match="signed_out"):
                rt.ports.top_up(100, citizen.pin)
        finally:
            rt.close()
    finally:
        ids.stop()

"""``civicard sim ...``: run simulated devices as separate processes.

Each simulator package contributes ``register_sim(sim_subparsers)``.
"""

from __future__ import annotations

import argparse
import importlib

_SIM_MODULES = (
    "simulators.wallet_cli",
    "simulators.vpcd_cli",
    "simulators.printer.cli",
    "simulators.idcard.cli",
    "simulators.departments.cli",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = subparsers.add_parser("sim", help="run simulated card, PSAM and printer devices")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="DEVICE")
    for name in _SIM_MODULES:
        importlib.import_module(name).register_sim(sim_sub)

    def _help(_args: argparse.Namespace) -> int:
        sim.print_help()
        return 2

    sim.set_defaults(handler=_help)

"""The demo world split in two processes for bench_ui's "kiosk alone" memory figure.

``serve(root)`` (its own process: ``python bench/ui_world.py ROOT``) builds the demo
world — the central on uvicorn, the ESC/POS printer simulator on TCP — and boots
the bench's kiosk once (its outbox created and migrated, as on a kiosk's first
start), prints one JSON line (the central's URL, the printer's port) and serves
until its stdin closes. ``kiosk_alone(root, info)`` builds, in the calling process, only what a
kiosk runs: the kiosk runtime (``kiosk.runtime.build_kiosk``) on the same wallet's
card and PSAM in in-process readers (a real kiosk has PC/SC readers there), talking
to that central and printer over loopback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def serve(root: Path) -> int:
    """Build the world in ``root``, print its addresses, serve until stdin closes."""
    sys.path.insert(0, str(ROOT))
    from kiosk.core.clock import SystemClock
    from kiosk.demo.world import DemoWorld

    world = DemoWorld.build(root, clock=SystemClock())
    world.controller.stop()  # its own kiosk stays idle: the bench's kiosk is elsewhere
    port = world.printer_sim.tcp_port if world.printer_sim else None
    info = {"central_url": world.central_url, "printer_port": port}
    # The kiosk's first boot (its outbox created, migrated), here: the bench measures
    # a kiosk starting again, as every start but the first is.
    first, *_ = kiosk_alone(root, info)
    first.close()
    del first
    print(json.dumps(info), flush=True)
    sys.stdin.read()
    world.close()
    return 0


def kiosk_alone(
    root: Path, info: dict[str, Any]
) -> tuple[Any, Callable[[str], None], Callable[[], None], Callable[[str], str]]:
    """A kiosk runtime on the world in ``root`` (served elsewhere); returns it, an
    ``insert(who)`` that puts demo citizen ``who``'s card in its reader, ``remove()``
    and ``pin_of(who)`` (the TEST ONLY wallet's PIN)."""
    from drivers.printer.printer import Printer
    from drivers.printer.profiles import get_profile
    from kiosk.config import load_config
    from kiosk.runtime import KioskDevices, build_kiosk
    from simulators.transport import SimReader
    from simulators.wallet import Wallet

    wallet = Wallet(root / "wallet")
    psam_reader, card_reader = SimReader("PSAM slot"), SimReader("card reader")
    psam_reader.insert(wallet.open_psam())
    printer = None
    if info.get("printer_port"):
        printer = Printer(f"tcp://127.0.0.1:{info['printer_port']}", get_profile("gb18030-80mm"),
                          timeout=1.0, print_timeout=10.0)  # fmt: skip
    config = dataclasses.replace(
        load_config(None, env={}), data_dir=root / "alone", location="bench",
        trusted_ca=root / "issuer-ca.pem", central_url=info["central_url"],
        central_key=root / "central-public.pem", terminal_key=root / "terminal-key.pem",
        central_timeout=5.0,
    )  # fmt: skip
    devices = KioskDevices(lambda: card_reader, psam_reader, card_reader="card reader",
                           psam_reader="PSAM slot", printer=printer)  # fmt: skip
    kiosk = build_kiosk(config, devices=devices)
    citizens = [c for c in wallet.cards() if c.role == "citizen"]

    def insert(who: str) -> None:
        card_reader.insert(wallet.open_card(who))
        kiosk.controller.card_inserted()

    def remove() -> None:
        card_reader.remove()
        kiosk.controller.card_removed()

    return kiosk, insert, remove, lambda who: str(citizens[int(who) - 1].pin)


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1])))

"""The counter demo's app on a :class:`kiosk.demo.counter_world.CounterWorld`: the
station on the station core's ports (``kiosk.counter.ports_adapter``), and the TEST
ONLY device buttons beside the citizen's pad."""

from __future__ import annotations

from typing import Any

from terminal_ui.counter.app import CounterApp
from terminal_ui.counter.screens import DemoDevices
from terminal_ui.counter.station import Station

__all__ = ["make_counter_app"]


def make_counter_app(cw: Any, ports: Any, *, language: str = "zh-Hans") -> CounterApp:
    """The app for ``cw`` with ``ports`` (the composition root passes both)."""
    from simulators.idcard import DEMO_DOCUMENTS

    station = Station(ports)
    citizens = [(c.asn, c.name) for c in cw.wallet.cards() if c.role == "citizen"]
    documents = [(d.number, d.name or d.english_name) for d in DEMO_DOCUMENTS]

    def slots() -> list[tuple[str, str]]:
        clerk = cw.clerk_card().name.split(" ")[-1] if cw.clerk_reader.present else "none"
        card = cw.citizen_reader.present
        citizen = cw.citizen_label() if card else "none"
        doc = cw.id_sim.document
        held = (doc.name or doc.english_name) if doc is not None else "none"
        sup = cw.supervisor_card().name.split(" ")[-1] if cw.supervisor_reader.present else ""
        shown = [("Clerk card", clerk), ("Citizen card", citizen), ("ID document", held)]
        return [*shown, ("Supervisor card", sup)] if sup else shown

    def clerk() -> list[tuple[str, str]]:
        cw.insert_clerk()
        return slots()

    def clerk_out() -> list[tuple[str, str]]:
        cw.clerk_reader.remove()
        station.sign_out()  # the session locks when the clerk card leaves
        return slots()

    def blank() -> list[tuple[str, str]]:
        cw.insert_blank()
        return slots()

    def citizen(asn: str) -> list[tuple[str, str]]:
        cw.insert_citizen(asn)
        return slots()

    def document(number: str) -> list[tuple[str, str]]:
        cw.place_id(number)
        return slots()

    def take() -> list[tuple[str, str]]:
        if cw.citizen_reader.present:
            cw.citizen_reader.remove()
        cw.id_sim.take()
        return slots()

    def supervisor() -> list[tuple[str, str]]:
        cw.insert_supervisor()
        return slots()

    actions = {"clerk": clerk, "supervisor": supervisor, "clerk_out": clerk_out,
               "blank": blank, "citizen": citizen, "document": document, "take": take,
               "slots": slots}  # fmt: skip

    def panel() -> DemoDevices:
        d = DemoDevices(actions=actions, citizens=citizens, documents=documents)
        d.slots = slots()
        return d

    return CounterApp(station, demo=panel, language=language)

"""Kiosk fixtures: a whole DemoWorld (simulated cards and PSAM, printer simulator,
a real central on uvicorn over loopback) per test, copied from one world made per
run (its cards issued, their opening balances credited through its central). After
each test the central's reconciliation must report no mismatch."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend_sync.central import reconcile
from kiosk.core.clock import ManualClock
from kiosk.core.views import KioskEvent
from kiosk.demo.issuer import create_demo_wallet
from kiosk.demo.world import DemoWorld
from kiosk.journeys.citizen_states import State


@pytest.fixture(scope="session")
def wallet_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo wallet (cards personalized, opening balances pending), made once."""
    root = tmp_path_factory.mktemp("wallet-template") / "wallet"
    create_demo_wallet(root, seed=7)
    return root


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A world's folder: the wallet and a central that has registered the cards and
    posted their opening loads (through the central's load path, once per run)."""
    root = tmp_path_factory.mktemp("world-template")
    create_demo_wallet(root / "wallet", seed=7)
    DemoWorld.build(root, printer=False).close()
    return root


def core_errors(world: DemoWorld) -> list[dict[str, object]]:
    """Inputs that failed inside the core (audited as "core_error")."""
    return [e.fields for e in world.audit.entries() if e.event == "core_error"]


def transitions_seen(world: DemoWorld) -> set[tuple[State, State]]:
    """Every (from, to) the citizen journey went through, from the audit log."""
    names = {s.value for s in State}
    return {(State(e.fields["state"]), State(e.fields["to"])) for e in world.audit.entries()
            if e.event == "transition" and e.fields["to"] in names}  # fmt: skip


class Kiosk:
    """A DemoWorld plus the events it emitted and a few driving helpers."""

    def __init__(self, world: DemoWorld, clock: ManualClock) -> None:
        self.world = world
        self.m = world.controller
        self.clock = clock
        self.events: list[KioskEvent] = []
        self.m.subscribe(self.events.append)

    def settle(self) -> None:
        self.world.settle()

    @property
    def state(self) -> State:
        return self.m.state

    def start(self) -> None:
        self.m.start(thread=False)
        self.settle()
        assert self.state is State.ATTRACT

    def insert(self, n: int = 1) -> None:
        self.world.insert(self.world.citizen(n).asn)
        self.settle()

    def type_pin(self, pin: str) -> None:
        for d in pin:
            self.m.pin_digit(int(d))
        self.m.pin_submit()
        self.settle()

    def login(self, n: int = 1) -> None:
        self.insert(n)
        assert self.state is State.PIN_ENTRY, self.m.screen()
        self.type_pin(self.world.citizen(n).pin)
        assert self.state is State.MENU, self.m.screen()

    def to_confirm_bill(self, account: str = "1000001") -> None:
        self.m.choose_service("water_bill")
        self.settle()
        self.m.set_field("account", account)
        self.m.submit_form()
        self.settle()
        assert self.state is State.CONFIRM, self.m.screen()

    def remove(self) -> None:
        self.world.remove()
        self.settle()


@pytest.fixture
def make_kiosk(world_template: Path, tmp_path: Path) -> Iterator[Callable[..., Kiosk]]:
    worlds: list[DemoWorld] = []

    def make(**kw: object) -> Kiosk:
        root = tmp_path / f"k{len(worlds)}"
        shutil.copytree(world_template, root)
        prepare = kw.pop("prepare", None)  # a test's change to the folder before the build
        if callable(prepare):
            prepare(root)
        clock = kw.pop("clock", None) or ManualClock()
        world = DemoWorld.build(root, clock=clock, **kw)  # type: ignore[arg-type]
        worlds.append(world)
        return Kiosk(world, clock)  # type: ignore[arg-type]

    yield make
    reports = []
    for w in worlds:
        # What `civicard central reconcile` reports: every card's shadow balance in
        # the ledger equals what its genuine records say, opening balances included.
        if w.server.started and not w.server.should_exit:
            w.agent.run_once()
            reports.append(reconcile.reconcile(w.central))
        w.close()
    assert [(r.mismatches, r.ledger_ok) for r in reports] == [([], True)] * len(reports)
    # The core swallows (logs, audits) a failing input to keep a kiosk running; in
    # tests any such failure is a bug.
    assert [core_errors(w) for w in worlds] == [[] for _ in worlds]


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    k = make_kiosk()
    k.start()
    return k


# pcscd + vpcd, as tests/pcsc uses them (marker "pcsc").
from tests.pcsc.conftest import bridge, pcscd  # noqa: E402, F401

"""WCAG 2.2.1 on the kiosk's clock: every timed state warns at least 20 s ahead, can
be extended at least ten times, elder mode lengthens every timeout; and what the
citizen is told when taking the card out as asked, or tapping a greyed service."""

from __future__ import annotations

import pytest

from kiosk.config import ConfigError, load_config
from kiosk.core.timeouts import MIN_WARNING_S, Timeouts
from kiosk.core.views import TimeoutWarning
from kiosk.journeys.citizen_states import TABLE, TIMED_STATES, State
from tests.kiosk.conftest import Kiosk
from tests.kiosk.test_session import REACH


@pytest.mark.parametrize("state", sorted(TIMED_STATES, key=lambda s: s.value))
def test_warned_20_s_ahead_and_extended_ten_times(kiosk: Kiosk, state: State) -> None:
    k = kiosk
    REACH[state](k)
    t = Timeouts()
    assert t.warning >= MIN_WARNING_S
    limit = t.for_state(state, TABLE.timeouts().get(state), elder=False)
    assert limit is not None and limit > t.warning
    for _ in range(10):
        k.events.clear()
        k.clock.advance(limit - t.warning + 0.5)
        k.settle()
        warnings = [e for e in k.events if isinstance(e, TimeoutWarning)]
        assert warnings and warnings[-1].seconds_left >= MIN_WARNING_S - 1
        assert k.state is state
        k.m.more_time()
        k.settle()
    assert k.state is state  # ten extensions later, still there


def test_elder_mode_lengthens_every_timeout() -> None:
    t = Timeouts()
    for state in TIMED_STATES:
        default = TABLE.timeouts().get(state)
        normal, elder = t.for_state(state, default, False), t.for_state(state, default, True)
        assert normal is not None and elder is not None and elder >= 1.5 * normal


def test_a_warning_under_20_s_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 20"):
        Timeouts(warning=10).validate()
    with pytest.raises(ConfigError):
        load_config(None, env={"CIVICARD_TIMEOUTS_WARNING": "10"})


def test_taking_a_refused_card_out_is_no_news(kiosk: Kiosk) -> None:
    k = kiosk
    REACH[State.CARD_REFUSED](k)
    k.remove()
    k.settle()
    assert k.state is State.ATTRACT and not k.m.screen().notices


def test_a_greyed_service_says_why(kiosk: Kiosk) -> None:
    k = kiosk
    k.world.server.should_exit = True  # the central goes away
    k.world.server_thread.join(5)
    k.login(1)
    k.m.choose_service("water_bill")
    k.m.set_field("account", "1000001")
    k.m.submit_form()
    k.settle()  # the lookup finds no central: the kiosk knows it is offline now
    greyed = [i for g in k.m.screen().menu for i in g.items if not i.available]
    assert greyed, "some service needs the network"
    k.m.choose_service(greyed[0].service_id)
    k.settle()
    assert k.m.screen().notices == (greyed[0].why_not,) and greyed[0].why_not == "needs_network"


def test_an_amount_out_of_range_carries_the_range(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    k.m.choose_service("top_up")
    k.settle()
    k.m.set_field("amount", "1")
    k.m.submit_form()
    k.settle()
    form = k.m.screen().form
    assert form is not None
    amount = next(f for f in form.fields if f.name == "amount")
    assert amount.error == "out_of_range"
    assert (amount.min_fen, amount.max_fen) == (1000, 50000)

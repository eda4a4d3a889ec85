"""A vote through the real widgets: the poll's options as one-tap buttons, the
question and the chosen option on the confirm screen, the vote cast, the slip
printed with the token hash and without the choice; the same card refused the
second time, in words."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ui

SERVICE = "poll_night_bus"


def _texts(widget: Any) -> str:
    return "\n".join(str(w.text) for w in widget.walk(restrict=True) if hasattr(w, "text"))


def _to_done(ui: Any, value: str) -> str:
    d = ui.driver
    ui.choose(SERVICE)
    form = d.wait_screen("form")
    d.press("choose", value=value)
    d.wait_for(lambda: any(getattr(b, "chosen", False) for b in form.walk()), what="chosen")
    ui.snap("poll-form")
    d.press("submit_form")
    confirm = d.wait_screen("confirm")
    ui.snap("poll-confirm")
    shown = _texts(confirm)
    d.press("confirm")
    d.wait_screen("done")
    ui.snap("poll-done")
    return shown


def test_vote_once_in_a_poll(ui: Any) -> None:
    w = ui.ui_world.world
    jobs_before = len(w.printer_sim.jobs)
    ui.attract(snap=False)
    ui.set_language("en")
    ui.insert_and_pin("4")
    ui.menu()
    shown = _to_done(ui, "0")
    assert "Extend the night bus lines?" in shown and "Yes" in shown and "Your vote" in shown
    done = _texts(ui.driver.kiosk.screen("done"))
    assert "Your vote has been cast" in done
    jobs = w.printer_sim.wait_for_jobs(jobs_before + 1)
    token_hash = w.controller.screen().result.reference
    assert token_hash in "".join(jobs[-1].text.split())
    assert "Yes" not in [line.strip() for line in jobs[-1].text.splitlines()]
    ui.driver.press("finish")
    ui.driver.wait_screen("take_card")
    ui.devices.remove()
    ui.driver.wait_screen("attract")
    ui.set_language("en")
    ui.insert_and_pin("4")
    ui.menu()
    _to_done(ui, "1")
    done = _texts(ui.driver.kiosk.screen("done"))
    assert "This card has voted in this poll already" in done
    ui.finish_and_take_card()

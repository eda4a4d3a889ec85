"""The counter station through its real widgets, in a process of its own (its own Kivy
window at 1920x1080 for the layout check): a clerk signs in with the clerk card (a
wrong PIN first), opens the shift, issues a card to a new holder read off the ID card
reader on a pty, the citizen choosing the PIN on the pad on their side, with an opening
balance in cash loaded through the central; tops it up, looks it up, replaces it (the
old card present, its balance carried exactly), refunds and closes the new card above
the limit with the supervisor's card, is told a card is not due for renewal, reports
another lost, looks a citizen up by name on the name keyboard, resumes a replacement
after the station's core was restarted (reversing a top-up left with it), and closes
the shift ten yuan short. Every operation goes through the
station core (kiosk.counter.ports_adapter) and the central's signed lifecycle endpoints.
Every page is checked in Simplified Chinese and English by terminal_ui.layout_check
(scripts/counter_screenshots.py checks Traditional too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shift() -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = str(Path(__file__).with_name("counter_proc.py"))
    proc = subprocess.run([sys.executable, script], capture_output=True, text=True,
                          timeout=240, env=env, cwd=ROOT)  # fmt: skip
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("COUNTER ")), None)
    assert proc.returncode == 0 and line, proc.stdout[-3000:] + proc.stderr[-3000:]
    return dict(json.loads(line[len("COUNTER ") :]))


def test_a_card_issued_end_to_end_through_the_ui(shift: dict[str, object]) -> None:
    issued = shift["issued"]
    assert isinstance(issued, dict)
    assert issued["户名"] == "孙浩然" and issued["证件号码"] == "320582********0330"
    assert issued["收取现金"] == "¥50.00" and issued["余额"] == "¥50.00"
    assert issued["押金"] == "¥20.00"  # the deposit taken in cash with the opening balance
    # The top-up and the opening balance reached the chip and the central's ledger alike.
    assert shift["topped"] == {"卡号": issued["卡号"], "原余额": "¥50.00", "收取现金": "¥20.00",
                               "余额": "¥70.00"}  # fmt: skip
    assert shift["mismatches"] == 0 and shift["ledger_ok"] is True
    assert shift["lost_status"] == "blocked"  # reported lost: hotlisted at the central


def test_a_card_replaced_and_refunded_through_the_ui(shift: dict[str, object]) -> None:
    issued, new = shift["issued"], shift["replaced"]
    assert isinstance(issued, dict) and isinstance(new, dict)
    # The old card's ¥70.00 (its chip's word, emptied by a counter purchase) carried exactly.
    assert new["原卡卡号"] == issued["卡号"] and new["卡号"] != issued["卡号"]
    assert new["转移时余额"] == new["转入新卡"] == new["开卡充值"] == new["余额"] == "¥70.00"
    assert new["滞后扣款（已计入）"] == "¥0.00" and new["现金退还"] == "¥0.00"
    assert new["原卡押金转入"] == "¥20.00"
    refunded = shift["refunded"]
    assert isinstance(refunded, dict)
    # ¥220.00 after a ¥150.00 top-up, with the deposit over the ¥200.00 limit: two people.
    assert refunded["退还余额"] == "¥220.00" and refunded["押金"] == "¥20.00"
    assert refunded["现金支出"] == "¥240.00" and refunded["值班主管"] == "值班长 刘洋"
    assert shift["card_status"] == "terminated" and shift["ledger"] == 0
    assert shift["renew"] == "not_due"  # a demo card ten years from its expiry


def test_refusals_are_shown(shift: dict[str, object]) -> None:
    assert shift["refused"] == "number_check"  # a typed number with a wrong check character
    closed = shift["closed"]
    assert isinstance(closed, dict)
    # 500 float + 50 opening + 20 deposit + 20 + 150 top-ups - 240 refund + 20 deposit
    # of the card issued on resume (the reversed top-up's cash handed back)
    assert closed["钱箱应有"] == "¥520.00" and closed["实点"] == "¥510.00"
    assert closed["差额"] == "-¥10.00"  # the mismatch is shown, never hidden


def test_every_operation_printed_its_receipt(shift: dict[str, object]) -> None:
    texts = shift["receipt_text"]
    assert isinstance(texts, list) and shift["receipts"] == 12
    # ... the restart: a transfer slip, the reversed top-up, the new card issued on resume
    kinds = ["开班", "办理新卡", "现金充值", "补换卡", "补换卡", "现金充值", "退卡销户", "挂失",
             "补换卡", "现金充值", "补换卡", "结班"]  # fmt: skip
    assert [next(k for k in kinds[::-1] if k in t) for t in texts] == kinds
    transfer, replaced = texts[3], texts[4]  # the calculation on paper, line by line
    for line in ("原卡卡号", "转移时余额", "滞后扣款（已计入）", "转入新卡"):
        assert line in transfer and line in replaced, replaced
    assert "原卡押金转入" in replaced and "CVR1|" not in transfer
    assert "值班主管" in texts[6]
    assert all("CVR1|" in t for i, t in enumerate(texts) if i not in (0, 3, 8, 9, 11))
    assert "已撤销" in texts[9] and "¥10.00" in texts[9]
    assert "320582********0330" in texts[1] and "320582200809150330" not in "".join(texts)


def test_every_page_passes_the_layout_check(shift: dict[str, object]) -> None:
    assert shift["checked"] == 2 * 27  # 27 pages × zh-Hans and en (CJK and Latin widths)
    findings = shift["findings"]
    assert isinstance(findings, list)
    assert findings == [], "\n".join(str(f) for f in findings)


def test_a_citizen_looked_up_by_name_on_the_name_keyboard(shift: dict[str, object]) -> None:
    """The lookup form's name keyboard: 孙浩然's two cards, the new one first; the ID
    number only masked."""
    rows = shift["by_name"]
    assert isinstance(rows, list) and [r[0] for r in rows] == ["卡号", "卡号"]
    new, old = (r[1].split(" · ") for r in rows)
    assert new[1:] == ["孙浩然", "320582********0330", "正常"]
    assert old[1:] == ["孙浩然", "320582********0330", "已销户"] and old[0] < new[0]


def test_unfinished_operations_resumed_after_a_restart(shift: dict[str, object]) -> None:
    """A top-up recorded and a replacement's first step, the station's core restarted:
    after sign-in both are listed; the top-up reversed, the replacement resumed with a
    blank card: the new card issued with the carry exactly once, nothing left, nothing
    offered again."""
    resumed = shift["resumed"]
    assert isinstance(resumed, dict)
    [top_up, repl] = resumed["listed"]
    assert top_up[0] == "topup" and top_up[2:] == [1000, True]
    assert repl[0] == "replace" and repl[1] == top_up[1] and repl[3] is False
    rows = dict(resumed["rows"])
    assert rows["原卡卡号"] == repl[1] and rows["卡号"] != repl[1]
    assert rows["转入新卡"] == rows["开卡充值"] == rows["余额"] == f"¥{repl[2] / 100:.2f}"
    assert resumed["left"] == [] and resumed["again"] is False

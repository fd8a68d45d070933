"""The state machine's every move and step, and the approval rule as a pure function of the sign-offs."""
from __future__ import annotations

from itertools import product
from types import SimpleNamespace

import pytest

from webapp.exceptions import InvalidTransition
from workflow import signoffs, states
from workflow.models import STATES

ALLOWED = {("propose", "discuss"), ("discuss", "decide"), ("discuss", "propose"), ("decide", "implement"),
           ("decide", "discuss"), ("implement", "closed"), ("implement", "decide")} | \
    {(s, "cancelled") for s in ("propose", "discuss", "decide", "implement")}


@pytest.mark.parametrize(("current", "target"), list(product(STATES, STATES)))
def test_every_move_is_allowed_or_refused_as_the_cycle_says(app, current, target):
    with app.test_request_context("/"):
        if (current, target) in ALLOWED:
            states.check_move(current, target)
        else:
            with pytest.raises(InvalidTransition) as refused:
                states.check_move(current, target)
            assert str(refused.value)  # a translated message, never empty


@pytest.mark.parametrize(("state", "step"), list(product(STATES, states.STEPS)))
def test_every_step_happens_only_in_its_states(app, state, step):
    with app.test_request_context("/"):
        if state in states.STEPS[step]:
            states.check_step(state, step)
        else:
            with pytest.raises(InvalidTransition):
                states.check_step(state, step)


def _s(i, user, category, meaning, commit="c1", voided=False):
    return SimpleNamespace(id=i, user_id=user, category=category, meaning=meaning, commit=commit,
                           voided_at="x" if voided else None)


RULE = signoffs.Rule({"management": 1, "dept_head": 1}, True, None)


def test_the_default_rule_needs_management_and_a_department_head():
    assert not signoffs.evaluate(RULE, [_s(1, 1, "management", "approved")], "c1").met
    check = signoffs.evaluate(RULE, [_s(1, 1, "management", "approved"), _s(2, 2, "dept_head", "approved")], "c1")
    assert check.met and check.missing == {}


def test_only_sign_offs_on_the_current_commit_count():
    check = signoffs.evaluate(RULE, [_s(1, 1, "management", "approved", commit="old"),
                                     _s(2, 2, "dept_head", "approved")], "c1")
    assert not check.met and check.missing == {"management": 1}


def test_a_rejection_blocks_until_the_same_person_approves():
    rows = [_s(1, 1, "management", "approved"), _s(2, 2, "dept_head", "approved"), _s(3, 3, "frontline", "rejected")]
    assert not signoffs.evaluate(RULE, rows, "c1").met
    assert signoffs.evaluate(RULE, [*rows, _s(4, 3, "frontline", "approved")], "c1").met  # their latest counts
    lenient = signoffs.Rule({"management": 1, "dept_head": 1}, False, None)
    assert signoffs.evaluate(lenient, rows, "c1").met


def test_one_person_counts_once_and_reviewed_is_not_approval():
    rule = signoffs.Rule({"management": 2}, True, None)
    rows = [_s(1, 1, "management", "approved"), _s(2, 1, "management", "approved"), _s(3, 5, "management", "reviewed")]
    check = signoffs.evaluate(rule, rows, "c1")
    assert not check.met and check.missing == {"management": 1}


def test_nothing_is_met_without_a_draft():
    assert not signoffs.evaluate(signoffs.Rule({"management": 1}, True, None),
                                 [_s(1, 1, "management", "approved")], None).met

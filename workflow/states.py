"""The review cycle as one explicit state machine: propose → discuss → decide → implement → closed.

Every move of ``Review.state`` goes through :func:`check_move`; anything else is an
:class:`~webapp.exceptions.InvalidTransition` (409) with a message saying what is allowed.
Which steps may happen in which state (editing the draft, commenting, signing, deciding) is
asked with :func:`check_step`, so the rules live here and nowhere else.
"""
from __future__ import annotations

from webapp.exceptions import InvalidTransition
from webapp.i18n import _l

STATE_LABELS = {
    "propose": _l("Propose"),
    "discuss": _l("Discuss"),
    "decide": _l("Decide"),
    "implement": _l("Implement"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}

#: state → the states it may move to (cancelling is allowed from every open state).
MOVES = {
    "propose": ("discuss",),
    "discuss": ("decide", "propose"),
    "decide": ("implement", "discuss"),
    "implement": ("closed", "decide"),
    "closed": (),
    "cancelled": (),
}
CANCELLABLE = ("propose", "discuss", "decide", "implement")

#: step → the states in which it may happen.
STEPS = {
    "edit_draft": ("propose", "discuss"),
    "propose": ("propose", "discuss"),
    "comment": ("propose", "discuss", "decide"),
    "resolve": ("propose", "discuss", "decide"),
    "meeting": ("propose", "discuss", "decide", "implement"),
    "participants": ("propose", "discuss", "decide"),
    "sign": ("decide",),
    "decide": ("decide",),
    "implement": ("implement",),
    # The chair resolves a merge conflict on the draft after adoption (sign-offs are voided, back to decide).
    "resolve_conflict": ("implement",),
}

_STEP_REFUSALS = {
    "edit_draft": _l("The draft can be changed only while changes are proposed or discussed."),
    "propose": _l("Proposals can be filed only while changes are proposed or discussed."),
    "comment": _l("Comments are closed: the review is being implemented or is over."),
    "resolve": _l("Comments are closed: the review is being implemented or is over."),
    "meeting": _l("This review is over; its meetings can no longer be changed."),
    "participants": _l("Participants can be changed only until the decision."),
    "sign": _l("Sign-offs are given in the decision step."),
    "decide": _l("Decisions are recorded in the decision step."),
    "implement": _l("The review can be implemented only after the decision."),
    "resolve_conflict": _l("Merge conflicts are resolved while the review is being implemented."),
}


def check_move(current: str, target: str) -> None:
    """Refuse a move the cycle does not allow (InvalidTransition, a 409)."""
    if target == "cancelled" and current in CANCELLABLE:
        return
    if target not in MOVES.get(current, ()):
        allowed = ", ".join(str(STATE_LABELS[s]) for s in MOVES.get(current, ())) or "—"
        raise InvalidTransition(_l("A review in the step “%(current)s” cannot move to “%(target)s” (allowed: "
                                   "%(allowed)s).", current=STATE_LABELS.get(current, current),
                                   target=STATE_LABELS.get(target, target), allowed=allowed))


def allows(state: str, step: str) -> bool:
    return state in STEPS[step]


def check_step(state: str, step: str) -> None:
    """Refuse ``step`` (a key of :data:`STEPS`) in ``state`` (InvalidTransition, a 409)."""
    if not allows(state, step):
        raise InvalidTransition(_STEP_REFUSALS[step])

"""Who works an action: each step's people, who must act next, the to-do filter and the notices.

Procedure 4.4 with segregation of duties:

* **plan and approve** (``analyse``), **verify** and **close**: management (:data:`ACTIONS_MANAGE`) or
  the head of the responsible department (a user whose participant category is ``dept_head`` in it);
* **carry out** (``take_action``): the responsible person, or — when none is named — the people of the
  responsible department;
* **verify**: never the person who recorded the action taken.

Everyone must also be able to see the action (records.read and its project). The rules here are plain
functions of the action and the user, so the pages, the API, the to-do filter and the notices agree.
"""
from __future__ import annotations

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.orm import selectinload

from accounts.models import User, user_projects
from actions.models import Action
from actions.permissions import ACTIONS_MANAGE
from notifications import service as inbox
from records.permissions import RECORDS_ALL_PROJECTS, RECORDS_READ
from webapp.exceptions import PermissionDenied
from webapp.extensions import db
from webapp.i18n import _l

DEPT_HEAD = "dept_head"

#: The step the action waits for in each state (``verified`` waits for closing).
NEXT_STEP = {"open": "analyse", "cause_analysed": "take_action", "action_taken": "verify", "verified": "close"}

#: Who does a step, in words (beside the names on the action's page).
STEP_ROLES = {
    "analyse": _l("management or the head of the responsible department"),
    "take_action": _l("the responsible person, or the responsible department"),
    "verify": _l("management or the head of the responsible department, not whoever took the action"),
    "close": _l("management or the head of the responsible department"),
}

SAME_PERSON = _l("You recorded the action taken, so someone else must verify its effectiveness "
                 "(segregation of duties).")
REFUSED = {
    "analyse": _l("Planning and approving an action is for management or the head of the responsible "
                  "department."),
    "take_action": _l("The action is carried out by the responsible person or, when none is named, by the "
                      "responsible department."),
    "verify": _l("Effectiveness is verified by management or the head of the responsible department."),
    "close": _l("Closing an action is for management or the head of the responsible department."),
}


def _is_head_of(user, department_id) -> bool:
    return (department_id is not None and getattr(user, "participant_category", None) == DEPT_HEAD
            and getattr(user, "department_id", None) == department_id)


def may_plan(user, action: Action) -> bool:
    """Management, or the head of the action's responsible department."""
    return user.can(ACTIONS_MANAGE) or _is_head_of(user, action.responsible_department_id)


def may_carry_out(user, action: Action) -> bool:
    """The responsible person; when none is named, anyone of the responsible department."""
    if action.responsible_user_id is not None:
        return user.id == action.responsible_user_id
    return action.responsible_department_id is not None and user.department_id == action.responsible_department_id


def may(user, action: Action, step: str) -> bool:
    """Whether ``user`` may do ``step`` on ``action`` (its state aside)."""
    if step == "take_action":
        return may_carry_out(user, action)
    if step == "verify" and action.action_taken_by_id is not None and user.id == action.action_taken_by_id:
        return False
    return may_plan(user, action)


def check(user, action: Action, step: str) -> None:
    """PermissionDenied, saying who may, unless ``user`` may do ``step``."""
    if may(user, action, step):
        return
    if step == "verify" and user.id == action.action_taken_by_id:
        raise PermissionDenied(SAME_PERSON)
    raise PermissionDenied(REFUSED[step])


def next_step(action: Action) -> str | None:
    """The step the action waits for (None once closed or voided)."""
    if action.voided or action.status == "closed":
        return None
    return NEXT_STEP.get(action.status)


def _visible_users(project_id: int, *conditions) -> list[User]:
    """Active users matching ``conditions`` who can open records of the project, by name."""
    users = db.session.execute(select(User).where(User.active.is_(True), *conditions)
                               .options(selectinload(User.roles)).order_by(User.display_name, User.id)).scalars()
    members = set(db.session.execute(select(user_projects.c.user_id).where(
        user_projects.c.project_id == project_id)).scalars())
    return [u for u in users if u.can(RECORDS_READ) and (u.can(RECORDS_ALL_PROJECTS) or u.id in members)]


def managers(project_id: int) -> list[User]:
    """Management (:data:`ACTIONS_MANAGE`) who can see the project."""
    return [u for u in _visible_users(project_id) if u.can(ACTIONS_MANAGE)]


def people_for(action: Action, step: str | None = None) -> list[User]:
    """The active users who may do ``step`` (default: the next one) and can open the action, by name."""
    step = step or next_step(action)
    if step is None:
        return []
    conditions = []
    if step == "take_action" and action.responsible_user_id is not None:
        conditions.append(User.id == action.responsible_user_id)
    elif step == "take_action":
        conditions.append(User.department_id == (action.responsible_department_id or -1))
    return [u for u in _visible_users(action.project_id, *conditions) if may(u, action, step)]


def waiting_for_me(user):
    """A condition on :class:`Action`: the actions whose next step ``user`` may do (the to-do list)."""
    manage = user.can(ACTIONS_MANAGE)
    dept = getattr(user, "department_id", None)
    head = dept is not None and getattr(user, "participant_category", None) == DEPT_HEAD
    plans = true() if manage else (Action.responsible_department_id == dept if head else false())
    does = or_(Action.responsible_user_id == user.id,
               and_(Action.responsible_user_id.is_(None), Action.responsible_department_id == dept)
               if dept is not None else false())
    return and_(Action.voided_at.is_(None), or_(
        and_(Action.status.in_(("open", "verified")), plans),
        and_(Action.status == "cause_analysed", does),
        and_(Action.status == "action_taken", plans,
             or_(Action.action_taken_by_id.is_(None), Action.action_taken_by_id != user.id))))


def notify_next(action: Action, *, actor=None) -> int:
    """Tell whoever must act next (not the actor) that the action waits for them; in the caller's
    transaction. Once per user and state of the action (the version is in the key)."""
    step = next_step(action)
    if step is None:
        return 0
    from actions.service import TRANSITION_LABELS  # the service calls this module

    skip = getattr(actor, "id", None)
    people = [u for u in people_for(action, step) if u.id != skip]
    db.session.flush()  # the action's id and version
    return inbox.notify(
        people, kind="action.waiting",
        subject=_l("%(number)s waits for you: %(step)s", number=action.number, step=TRANSITION_LABELS[step]),
        body=_l("%(title)s (%(project)s)", title=action.title, project=action.project.label),
        url=f"/actions/{action.id}", dedupe_key=f"action:{action.id}:{action.version}")

"""Account administration's own permission, the seeded roles and the review-participant categories.

Every other permission is declared by the feature that checks it (``<feature>/permissions.py``, listed in
its :class:`webapp.features.Feature` record); :func:`default_roles` collects them per role.
"""
from __future__ import annotations

from webapp.features import all_permissions
from webapp.i18n import _l
from webapp.permissions import Permission

USERS_MANAGE = Permission("users.manage", _l("Manage users, departments, projects and roles"))

PERMISSIONS = (USERS_MANAGE,)

#: The roles seeded into a new database: code -> (Chinese name, English name). Which permissions each
#: gets comes from the permissions' ``roles`` (the administrator gets all).
ROLE_NAMES = {
    "admin": ("系统管理员", "Administrator"),
    "controller": ("文控", "Document controller"),
    "manager": ("管理层", "Management"),
    "participant": ("复审参与人", "Review participant"),
    "clerk": ("客服专员", "Customer-service clerk"),
    "reader": ("员工（阅读）", "Staff reader"),
}

#: Review-participant categories named by the procedure: code -> label.
PARTICIPANT_CATEGORIES = {
    "management": _l("Management"),
    "dept_head": _l("Department head"),
    "frontline": _l("Frontline staff"),
    "customer_rep": _l("Customer representative"),
}


def default_roles(app=None) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """code -> (Chinese name, English name, permission codes) for the enabled features of ``app``."""
    permissions = all_permissions(app)
    return {code: (zh, en, tuple(str(p) for p in permissions if code in p.roles))
            for code, (zh, en) in ROLE_NAMES.items()}


def permission_labels(app=None) -> dict[str, object]:
    """code -> label of every permission the enabled features declare."""
    return {str(p): p.label for p in all_permissions(app)}

"""Permissions are code (declared by the features that check them); roles (data) grant them.

A :class:`Permission` is the string stored in ``role.permissions`` with its label and the default roles
that get it; a feature lists its permissions in its :class:`webapp.features.Feature` record. Views declare
the one they need with :func:`permission_required`; services check with :func:`require`.
"""
from __future__ import annotations

from functools import wraps

from flask_login import current_user

from webapp.exceptions import PermissionDenied
from webapp.i18n import _l

#: Every seeded role gets every permission; no need to name it in ``roles``.
ADMIN_ROLE = "admin"


class Permission(str):
    """A permission code (``"records.write"``) that also knows its label, constant name and default roles."""

    label: object
    roles: tuple[str, ...]
    name: str

    def __new__(cls, code: str, label, *, roles: tuple[str, ...] = ()):
        obj = super().__new__(cls, code)
        obj.label = label
        obj.roles = (ADMIN_ROLE, *roles)
        # The constant's name, as templates use it: ``perm.RECORDS_WRITE``.
        obj.name = code.upper().replace(".", "_")
        return obj

    def __reduce__(self):  # pickles (and copies) as the plain code
        return (str, (str(self),))


def require(permission: str, user=None) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` (default: current user) has ``permission``."""
    user = current_user if user is None else user
    if not getattr(user, "is_authenticated", False) or not user.can(permission):
        raise PermissionDenied(_l("You do not have permission to do this."))


def permission_required(permission: str, *alternatives: str):
    """View decorator: the view needs ``permission`` — or any of ``alternatives`` (login is enforced globally)."""

    def decorator(view):
        view.required_permission = permission

        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user
            if not any(getattr(user, "is_authenticated", False) and user.can(p) for p in alternatives):
                require(permission)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator

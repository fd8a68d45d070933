"""Who a request acts for: a read-only :class:`Principal`, loaded with one query per request.

Flask-Login's ``current_user`` is a ``Principal``, not the ORM :class:`~accounts.models.User`.
Every page needs the user's name, language and permissions, and building ORM objects
for them cost more than the rest of a procedure page. The principal is plain data: the
user row and their roles' permissions from one Core query, kept per process while the
accounts change stamp holds (:mod:`accounts.cache`) — disabling a user, changing their
roles or a role's permissions takes effect on their next request, in every worker and
on every host.

A login is remembered in the session (and the remember-me cookie) as a *login id*,
``<user id>.<session nonce>.<issued at>.<random>`` (:func:`new_login_id`): the nonce ties it to the
user's current sessions — logging out, changing the password or being disabled draws a new one
and so ends them all, everywhere — the time bounds how long one login lasts, and the random part
makes every login's cookies different.

Code that changes the account (profile, password, language) works on
:attr:`Principal.account`, the ORM ``User``, loaded on first use. Attributes are
read-only: assigning one raises, so a change can never be silently lost on the copy.
"""
from __future__ import annotations

import secrets
import time
from datetime import timedelta

from sqlalchemy import bindparam, select

from accounts import cache
from accounts.models import Role, User, user_projects, user_roles
from webapp.extensions import db

_users = User.__table__
_roles = Role.__table__

#: The user row and one row per role (a user without roles gives one row with NULL role).
_PRINCIPAL_QUERY = (
    select(_users.c.id, _users.c.login, _users.c.display_name, _users.c.email, _users.c.active, _users.c.locale,
           _users.c.participant_category, _users.c.department_id, _users.c.session_nonce,
           _roles.c.code, _roles.c.permissions)
    .select_from(_users.outerjoin(user_roles, user_roles.c.user_id == _users.c.id)
                 .outerjoin(_roles, _roles.c.id == user_roles.c.role_id))
    .where(_users.c.id == bindparam("user_id"))
    .order_by(_roles.c.id)
)

_PROJECTS_QUERY = select(user_projects.c.project_id).where(user_projects.c.user_id == bindparam("user_id"))

_COLUMNS = ("id", "login", "display_name", "email", "active", "locale", "participant_category", "department_id",
            "session_nonce")


class Principal:
    """The logged-in user as permission checks and page frames see them (Flask-Login protocol)."""

    is_authenticated = True
    is_anonymous = False

    __slots__ = (*_COLUMNS, "permissions", "role_codes", "_project_ids", "_account")

    def __init__(self, *, permissions: frozenset[str], role_codes: tuple[str, ...], **columns):
        for name in _COLUMNS:
            object.__setattr__(self, name, columns[name])
        object.__setattr__(self, "permissions", permissions)
        object.__setattr__(self, "role_codes", role_codes)
        object.__setattr__(self, "_project_ids", _UNSET)
        object.__setattr__(self, "_account", None)

    def __setattr__(self, name, value):
        raise AttributeError(f"Principal is read-only; change {name!r} on .account (the ORM User)")

    @classmethod
    def of(cls, user: User) -> Principal:
        """The principal of an ORM user already at hand (API tokens, tests)."""
        principal = cls(permissions=user.permissions, role_codes=tuple(r.code for r in user.roles),
                        **{name: getattr(user, name) for name in _COLUMNS})
        object.__setattr__(principal, "_account", user)
        return principal

    # Flask-Login
    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}.{self.session_nonce}"

    def login_session_id(self) -> str:
        """What Flask-Login stores at login (``LoginManager.id_attribute``): a new login id."""
        return new_login_id(self.id, self.session_nonce)

    # Permissions and scope
    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def has_role(self, code: str) -> bool:
        return code in self.role_codes

    def member_project_ids(self) -> frozenset[int]:
        """Ids of the projects the user works on (``records.scope.project_ids`` widens it to all)."""
        if self._project_ids is _UNSET:
            ids = cache.cached(("projects", self.id), lambda: frozenset(
                db.session.execute(_PROJECTS_QUERY, {"user_id": self.id}).scalars()))
            object.__setattr__(self, "_project_ids", ids)
        return set(self._project_ids)

    # The ORM side, loaded when a view needs it
    @property
    def account(self) -> User:
        """The ORM ``User`` (in this request's session): for changes and relationships."""
        if self._account is None:
            object.__setattr__(self, "_account", db.session.get(User, self.id))
        return self._account

    @property
    def roles(self):
        return self.account.roles

    @property
    def department(self):
        return self.account.department

    @property
    def projects(self):
        return self.account.projects

    def __eq__(self, other) -> bool:
        if isinstance(other, (Principal, User)):
            return self.id == other.id
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("principal", self.id))

    def __repr__(self) -> str:
        return f"<Principal {self.login}>"


_UNSET = object()


def _principal_data(user_id: int) -> dict | None:
    rows = db.session.connection().execute(_PRINCIPAL_QUERY, {"user_id": user_id}).all()
    if not rows:
        return None
    first = rows[0]
    data = {name: getattr(first, name) for name in _COLUMNS}
    data["permissions"] = frozenset(p for row in rows for p in (row.permissions or ()))
    data["role_codes"] = tuple(row.code for row in rows if row.code is not None)
    return data


def load_principal(user_id: int, session_nonce: str) -> Principal | None:
    """The active user ``user_id`` whose session nonce is ``session_nonce``, else None.

    The data comes from this process's copy while the accounts stamp holds
    (:mod:`accounts.cache`), so a page that needs nothing else touches no database.
    """
    data = cache.cached(("principal", user_id), lambda: _principal_data(user_id))
    if data is None or not data["active"] or data["session_nonce"] != session_nonce:
        return None
    return Principal(**data)


def new_login_id(user_id: int, session_nonce: str) -> str:
    """The id one login keeps in its session and remember-me cookie (both signed with the secret key)."""
    return f"{user_id}.{session_nonce}.{int(time.time())}.{secrets.token_hex(16)}"


def principal_for_login_id(login_id: str, max_age: timedelta) -> Principal | None:
    """The principal a session's login id stands for: None when the id is malformed or from an older
    format, older than ``max_age`` (the remember-me duration: no login outlives it), or its nonce is
    no longer the user's (they logged out, changed their password or were disabled since)."""
    parts = (login_id or "").split(".")
    if len(login_id or "") > 200 or len(parts) != 4 or not parts[0].isdecimal() or not parts[2].isdecimal():
        return None
    if time.time() - int(parts[2]) > max_age.total_seconds():
        return None
    return load_principal(int(parts[0]), parts[1])

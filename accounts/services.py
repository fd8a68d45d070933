"""Account services: passwords, login with throttling, sessions, users, API tokens.

Plain functions over the database; they raise domain errors and never touch the
request or response (views do that).
"""
from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from sqlalchemy import func, select

from accounts.models import ApiToken, Department, LoginAttempt, Project, Role, User
from accounts.permissions import PARTICIPANT_CATEGORIES, default_roles
from audit import service as audit
from webapp.config import LOCALES
from webapp.db import utcnow
from webapp.exceptions import Conflict, DomainError, NotFound, ValidationError
from webapp.extensions import app_state, db
from webapp.i18n import _l

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "pd_"  # noqa: S105 — a marker, not a secret

USER_AUDIT_FIELDS = ("login", "display_name", "email", "active", "locale", "participant_category")


class TooManyAttempts(DomainError):
    status_code = 429


class InvalidCredentials(DomainError):
    status_code = 401


def _hasher() -> tuple[PasswordHasher, str]:
    """This app's argon2 hasher (parameters from the ``PASSWORD_HASH`` setting, see webapp.config)
    and a hash it made, verified against when the login name is unknown so both paths take the
    same time. Built once per app."""
    def make():
        hasher = PasswordHasher(**current_app.config["PASSWORD_HASH"])
        return hasher, hasher.hash("procdesk-timing-equaliser")

    return app_state("accounts.password_hasher", make)


def hash_password(password: str) -> str:
    """An argon2 hash of ``password`` with this app's parameters."""
    return _hasher()[0].hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Constant-time-ish check; rehashes when the stored hash's argon2 parameters differ from this app's."""
    hasher, dummy = _hasher()
    try:
        hasher.verify(user.password_hash if user else dummy, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _password_problem(password: str, *, login: str = ""):
    """Why ``password`` is not good enough, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if login and password.lower() == login.lower():
        return _l("The password must differ from the login name.")
    return None


def validate_password(password: str, *, login: str = "") -> None:
    problem = _password_problem(password, login=login)
    if problem is not None:
        raise ValidationError(problem, errors={"password": [problem]})


@dataclass(frozen=True)
class LoginLimits:
    """How failed logins are throttled (settings ``LOGIN_*``, see the README).

    Failures are counted for two keys: the pair (login name, address), over ``memory_seconds`` and
    since that pair's last success, and the address alone, over ``window_seconds``. Up to
    ``max_failures`` (per pair) and ``address_max_failures`` (per address) cost nothing; after that,
    the next attempt for that key must wait ``delay_seconds`` × 2^k after the key's last failure, k
    being the failures beyond the free ones, and never more than ``window_seconds``. So failures only
    slow down the place they come from: guessing a user's password from one address never locks that
    user out at another. With the defaults, one address gets about 100 guesses at one login name in
    its first day, then 4 an hour; and about 60 an hour over all login names.
    """

    max_failures: int = 5
    address_max_failures: int = 20
    delay_seconds: float = 2
    window_seconds: int = 15 * 60
    memory_seconds: int = 24 * 3600

    @classmethod
    def from_config(cls, config) -> LoginLimits:
        return cls(max_failures=int(config["LOGIN_MAX_FAILURES"]),
                   address_max_failures=int(config["LOGIN_ADDRESS_MAX_FAILURES"]),
                   delay_seconds=float(config["LOGIN_DELAY_SECONDS"]),
                   window_seconds=int(config["LOGIN_WINDOW_SECONDS"]),
                   memory_seconds=int(config["LOGIN_MEMORY_SECONDS"]))

    def delay(self, failures: int, free: int) -> float:
        """Seconds to wait after the last of ``failures`` failures when ``free`` cost nothing."""
        if failures < free:
            return 0.0
        return min(float(self.window_seconds), self.delay_seconds * 2.0 ** min(failures - free, 60))


def authenticate(login: str, password: str, remote_addr: str, limits: LoginLimits) -> User:
    """Check credentials, throttled per (login name, address) and per address (:class:`LoginLimits`).

    Raises :class:`TooManyAttempts` (without checking the password, and without counting the
    attempt) while a wait is due — ``details["retry_after"]`` is the number of seconds — and
    :class:`InvalidCredentials` with one generic message otherwise. Every checked attempt is
    recorded in the database, which is what makes the limits hold across workers and hosts.
    """
    login = (login or "").strip().lower()[:64]
    remote_addr = (remote_addr or "")[:64]
    wait = _throttle_wait(login, remote_addr, limits)
    if wait > 0:
        raise _too_many(wait)
    user = db.session.execute(select(User).where(User.login == login)).scalar_one_or_none()
    ok = check_password(user, password) and user.active
    db.session.add(LoginAttempt(login=login, remote_addr=remote_addr, success=ok))
    if ok:
        user.last_login_at = utcnow()
    db.session.commit()
    if not ok:
        raise InvalidCredentials(_l("Invalid login name or password."))
    return user


def _throttle_wait(login: str, remote_addr: str, limits: LoginLimits) -> float:
    """Seconds until this login name may be tried from this address again (0: now)."""
    now = utcnow()
    remembered = now - timedelta(seconds=limits.memory_seconds)
    pair = (LoginAttempt.login == login, LoginAttempt.remote_addr == remote_addr)
    # The pair's count restarts at its last success (a user who mistyped, then got in, starts afresh);
    # the address's does not, so one valid account cannot reset it while spraying guesses at others.
    last_success = db.session.execute(
        select(func.max(LoginAttempt.at)).where(*pair, LoginAttempt.success.is_(True), LoginAttempt.at > remembered)
    ).scalar()
    wait = 0.0
    for condition, start, free in (
            (pair, last_success or remembered, limits.max_failures),
            ((LoginAttempt.remote_addr == remote_addr,), now - timedelta(seconds=limits.window_seconds),
             limits.address_max_failures)):
        failures, last = db.session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                *condition, LoginAttempt.success.is_(False), LoginAttempt.at > start)
        ).one()
        if last is not None:
            wait = max(wait, (last - now).total_seconds() + limits.delay(failures, free))
    return wait


def _too_many(wait: float) -> TooManyAttempts:
    seconds = max(1, math.ceil(wait))
    if seconds <= 90:
        message = _l("Too many failed attempts. Please wait %(seconds)d seconds and try again.",
                     seconds=max(2, seconds))
    else:
        message = _l("Too many failed attempts. Please wait %(minutes)d minutes and try again.",
                     minutes=math.ceil(seconds / 60))
    return TooManyAttempts(message, retry_after=seconds)


def end_sessions(user: User) -> None:
    """End every session and remember-me cookie of ``user``, in every worker and on every host.

    Sessions carry the user's session nonce (:func:`accounts.principal.new_login_id`); a new one
    makes them all invalid on their next request. The change moves the accounts stamp
    (:mod:`accounts.cache`), so no process keeps the old nonce. The caller commits.
    """
    user.session_nonce = secrets.token_hex(8)


def log_out(user: User) -> None:
    """Logging out ends every session of the user, not only this one (a stolen cookie dies with it)."""
    end_sessions(user)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    if not check_password(user, current):
        raise ValidationError(_l("The current password is wrong."),
                              errors={"current_password": [_l("The current password is wrong.")]})
    validate_password(new, login=user.login)
    user.password_hash = hash_password(new)
    end_sessions(user)  # every other session and remember-me cookie ends
    audit.record("user.password_changed", user, actor=user)
    db.session.commit()


@dataclass
class UserData:
    login: str
    display_name: str
    email: str = ""
    password: str | None = None
    active: bool = True
    locale: str | None = None
    participant_category: str | None = None
    department_code: str | None = None
    role_codes: tuple[str, ...] = ()
    project_codes: tuple[str, ...] = ()


def _check(data: UserData, user: User | None):
    """Every reason ``data`` cannot be saved, by field, and the roles, projects and department it names."""
    errors: dict[str, list] = {}
    login = user.login if user is not None else (data.login or "").strip().lower()
    if user is None:
        if not LOGIN_RE.match(login):
            errors["login"] = [_l("Use 2–64 lowercase letters, digits, dots, dashes or underscores.")]
        elif db.session.execute(select(User.id).where(User.login == login)).first():
            errors["login"] = [_l("The login name %(login)s is taken.", login=login)]
    if user is None or data.password:
        problem = _password_problem(data.password or "", login=login)
        if problem is not None:
            errors["password"] = [problem]
    if data.locale and data.locale not in LOCALES:
        errors["locale"] = [_l("Unknown language.")]
    if data.participant_category and data.participant_category not in PARTICIPANT_CATEGORIES:
        errors["participant_category"] = [_l("Unknown participant category.")]
    roles = list(db.session.execute(select(Role).where(Role.code.in_(data.role_codes))).scalars())
    if len(roles) != len(set(data.role_codes)):
        errors["roles"] = [_l("Unknown role.")]
    projects = list(db.session.execute(select(Project).where(Project.code.in_(data.project_codes))).scalars())
    if len(projects) != len(set(data.project_codes)):
        errors["projects"] = [_l("Unknown project.")]
    department = None
    if data.department_code:
        department = db.session.execute(
            select(Department).where(Department.code == data.department_code)).scalar_one_or_none()
        if department is None:
            errors["department"] = [_l("Unknown department.")]
    if not (data.display_name or "").strip():
        errors["display_name"] = [_l("This field is required.")]
    return errors, (login, roles, projects, department)


def user_errors(data: UserData, user: User | None = None) -> dict[str, list]:
    """Every reason ``data`` cannot be saved — as a new user when ``user`` is None — by field; empty
    when it can. The admin form shows these together with its own, so a refused submit lists every
    error at once."""
    return _check(data, user)[0]


def _checked(data: UserData, user: User | None):
    errors, found = _check(data, user)
    if errors:
        raise ValidationError(_l("Please correct the marked fields."), errors=errors)
    return found


def _apply(user: User, data: UserData, roles, projects, department) -> None:
    user.display_name = data.display_name.strip()
    user.email = (data.email or "").strip()
    user.active = data.active
    user.locale = data.locale or None
    user.participant_category = data.participant_category or None
    user.department = department
    user.roles = roles
    user.projects = projects
    user.__dict__.pop("_permissions", None)


def create_user(data: UserData, *, actor=None) -> User:
    """Create a user; the login must be new and the password strong enough. Every problem is
    reported at once (``ValidationError.errors``, by field)."""
    login, roles, projects, department = _checked(data, None)
    user = User(login=login, password_hash=hash_password(data.password), display_name="")
    _apply(user, data, roles, projects, department)
    db.session.add(user)
    audit.record("user.created", user, after=_user_snapshot(user), actor=actor)
    db.session.commit()
    return user


def update_user(user: User, data: UserData, *, actor=None) -> User:
    """Change a user's details, roles and projects; a new password is optional."""
    _login, roles, projects, department = _checked(data, user)
    before = _user_snapshot(user)
    was_active = user.active
    _apply(user, data, roles, projects, department)
    if data.password:
        user.password_hash = hash_password(data.password)
    if data.password or (was_active and not user.active):
        end_sessions(user)
    audit.record("user.updated", user, before=before, after=_user_snapshot(user), actor=actor)
    db.session.commit()
    return user


def _user_snapshot(user: User) -> dict:
    snap = audit.snapshot(user, USER_AUDIT_FIELDS)
    snap["roles"] = sorted(r.code for r in user.roles)
    snap["projects"] = sorted(p.code for p in user.projects)
    snap["department"] = user.department.code if user.department else None
    return snap


def set_locale(user: User, locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationError(_l("Unknown language."))
    user.locale = locale
    db.session.commit()


def get_user(login: str) -> User:
    user = db.session.execute(select(User).where(User.login == (login or "").lower())).scalar_one_or_none()
    if user is None:
        raise NotFound(_l("No user %(login)s.", login=login))
    return user


# --- API tokens ------------------------------------------------------------------------------

def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str, *, actor=None) -> str:
    """Create a personal API token and return it; only its hash is kept."""
    name = (name or "").strip()[:80] or "token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=_token_digest(token), prefix=token[:10])
    db.session.add(row)
    audit.record("token.created", row, after={"user": user.login, "name": name, "prefix": row.prefix},
                 actor=actor or user)
    db.session.commit()
    return token


def revoke_token(user: User, token_id: int, *, actor=None) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_l("No such token."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("token.revoked", row, before={"prefix": row.prefix}, actor=actor or user)
        db.session.commit()


def user_for_token(token: str) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, disabled)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now  # coarse, so API reads do not write on every request
        db.session.commit()
    return row.user


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())).scalars())


# --- reference data ------------------------------------------------------------------------

def ensure_default_roles() -> None:
    """Create the built-in roles that are missing (never changes edited ones)."""
    existing = set(db.session.execute(select(Role.code)).scalars())
    for code, (name, name_en, perms) in default_roles().items():
        if code not in existing:
            db.session.add(Role(code=code, name=name, name_en=name_en, permissions=list(perms)))
    db.session.flush()


def save_reference(model, obj, values: dict, *, actor=None):
    """Create (``obj`` None) or update a department, project or role, audited.

    Codes are unique; a clash is a :class:`Conflict`, not a database error.
    """
    code = values.get("code")
    clash = db.session.execute(select(model.id).where(model.code == code)).scalar()
    if clash is not None and (obj is None or clash != obj.id):
        raise Conflict(_l("The code %(code)s is already used.", code=code))
    fields = tuple(values)
    before = audit.snapshot(obj, fields) if obj is not None else None
    if obj is None:
        obj = model()
        db.session.add(obj)
    for key, value in values.items():
        setattr(obj, key, value)
    action = f"{model.__tablename__.rstrip('s')}.{'updated' if before else 'created'}"
    audit.record(action, obj, before=before, after=audit.snapshot(obj, fields), actor=actor)
    db.session.commit()
    return obj

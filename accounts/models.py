"""Users, roles, departments, projects (managed estates) and API tokens."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import get_locale
from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db

user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("role_id", ForeignKey("roles.id"), primary_key=True),
)

user_projects = Table(
    "user_projects",
    db.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("project_id", ForeignKey("projects.id"), primary_key=True),
)


class LocalizedName:
    """Mixin for data with a Chinese ``name`` and an English ``name_en``."""

    @property
    def label(self) -> str:
        locale = str(get_locale() or "zh_Hans")
        if locale.startswith("en") and self.name_en:
            return self.name_en
        return self.name


class Role(LocalizedName, db.Model):
    __tablename__ = "roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    permissions: Mapped[list] = mapped_column(JSON, default=list)


class Department(LocalizedName, db.Model):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Project(LocalizedName, db.Model):
    """A managed estate (项目/小区)."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    households: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)
    participant_category: Mapped[str | None] = mapped_column(String(20), nullable=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    # Changes on logout, on a password change and when the account is disabled, ending every session.
    session_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    department: Mapped[Department | None] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin", order_by=Role.id)
    projects: Mapped[list[Project]] = relationship(secondary=user_projects, order_by=Project.code)

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled users cannot log in
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}.{self.session_nonce}"

    def login_session_id(self) -> str:
        """What Flask-Login stores at login (``LoginManager.id_attribute``): a new login id, unique per login."""
        from accounts.principal import new_login_id  # principal imports this module

        return new_login_id(self.id, self.session_nonce)

    @property
    def permissions(self) -> frozenset[str]:
        cached = self.__dict__.get("_permissions")
        if cached is None:
            cached = frozenset(p for role in self.roles for p in (role.permissions or ()))
            self.__dict__["_permissions"] = cached
        return cached

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def has_role(self, code: str) -> bool:
        return any(role.code == code for role in self.roles)

    def member_project_ids(self) -> set[int]:
        """Ids of the projects the user works on (``records.scope.project_ids`` widens it to all)."""
        return {p.id for p in self.projects}

    def __repr__(self) -> str:
        return f"<User {self.login}>"


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """Every login attempt; failures since the last success drive the rate limit."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(Boolean, default=False)

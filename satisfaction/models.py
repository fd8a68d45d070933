"""Shared satisfaction reference data: service categories and settings."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from accounts.models import LocalizedName
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db


class ServiceCategory(LocalizedName, db.Model):
    """A service area rated in surveys and named in complaints (安全, 环境, 维修, 客服, 其他 …)."""

    __tablename__ = "service_categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Setting(db.Model):
    """A configurable value (JSON); see ``satisfaction.settings.DEFAULTS`` for the keys."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict | list | int | float | str | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

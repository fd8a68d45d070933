"""One message in a user's inbox (and maybe their mailbox)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db


class Notification(db.Model):
    """Something a user should look at: ``subject`` and ``body`` in their language, ``url`` a path in the app.

    ``dedupe_key`` (unique per user, NULL never clashes) makes a repeated reminder — the same cron job on
    two hosts, a retried request — land once. ``emailed_at``: when the e-mail copy was handed to the
    mail server (NULL: no mail sent)."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The unread badge on every page: COUNT(*) WHERE user_id = ? AND read_at IS NULL.
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_id_dedupe_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

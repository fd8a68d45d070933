"""Read acknowledgements: "I have read version X of procedure Y" (one row per user, code, version).

Only the confirmations are stored. What a user still has to read is derived from the
current versions in git each time (see :mod:`procedures.acknowledgements.service`), so a version
pushed with plain git, or an upcoming version whose effective date arrives, shows up
in the to-read list without anything being written.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from webapp.db import UTCDateTime, utcnow
from webapp.extensions import db


class ProcedureAcknowledgement(db.Model):
    __tablename__ = "procedure_acknowledgements"
    __table_args__ = (UniqueConstraint("user_id", "code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[str] = mapped_column(String(10))
    # The commit whose text the user confirmed (the version's publishing commit).
    commit: Mapped[str] = mapped_column(String(40))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ProcedureAcknowledgement {self.user_id} {self.code} {self.version}>"

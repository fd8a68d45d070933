"""After ``main`` moved: step 3 of a publish, the database side derived from the new commit.

The version exists once its commit is on ``main``; what follows is bookkeeping that the
next :func:`procedures.catalog.sync` would redo from git if this process died here:

1. one transaction: the audit entry linked to the commit (``git_commit=sha``), and the
   :data:`webapp.signals.version_published` signal for a new effective version, whose
   receivers add their rows to the same transaction;
2. the catalogue mirror (:func:`procedures.catalog.sync`);
3. the audit anchor in the git store.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, OperationalError

from accounts.models import User
from audit import service as audit
from procedures import catalog, document
from webapp import signals
from webapp.extensions import db

__all__ = ["DB_RETRIES", "Change", "finish", "finish_all"]

#: How often the audit transaction is retried when concurrent writers collide on the chain.
DB_RETRIES = 8

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One procedure a commit changed: ``action`` names it in the audit (``procedure.published`` …)."""

    action: str
    code: str
    doc: document.ProcedureDoc
    previous: str | None
    reason: str = ""


def finish(action: str, code: str, *, sha: str, doc: document.ProcedureDoc, previous: str | None,
           old_head: str | None, actor: User, approver: User | None, summary: str, reason: str = "") -> None:
    """Record, announce and mirror commit ``sha`` that put ``doc`` on ``main`` (``action`` names it in the audit).

    The entry is linked to the commit (``git_commit``, unique): when another worker's sync
    recorded it from git first, that entry stands and none is added. When the transaction
    fails for good the error is raised, but the version stays published (git cannot be
    rolled back); the next sync records it from git. A failed mirror is only logged.
    """
    finish_all([Change(action, code, doc, previous, reason)], sha=sha, old_head=old_head, actor=actor,
               approver=approver, summary=summary)


def finish_all(changes: Sequence[Change], *, sha: str, old_head: str | None, actor: User, approver: User | None,
               summary: str, facts: dict | None = None, record: tuple[str, str, str] | None = None) -> None:
    """:func:`finish` for a commit that changed several procedures (a review's release), or none.

    One audit entry per change, the first linked to the commit (``git_commit`` is unique; the
    others name it in ``after.commit``), each with ``facts`` added to ``after``; a commit that
    changed no procedure gets one entry ``record`` = ``(action, object_type, object_id)``
    instead. ``version_published`` for every change that is not a withdrawal; then, as
    :func:`finish`, the catalogue mirror and the audit anchor.
    """
    facts = facts or {}
    for attempt in range(DB_RETRIES):
        try:
            if audit.entry_for_commit(sha) is None:
                for index, change in enumerate(changes):
                    doc = change.doc
                    audit.record(
                        change.action, None, object_type="procedure", object_id=change.code, actor=actor,
                        git_commit=sha if index == 0 else None,
                        before={"version": change.previous, "commit": old_head} if change.previous else None,
                        after={"version": doc.version, "commit": sha, "title": doc.title, "effective": doc.effective,
                               "status": doc.status, "departments": list(doc.departments),
                               "approved_by": approver.login if approver else None, "summary": summary, **facts},
                        reason=change.reason or summary,
                    )
                if not changes and record is not None:
                    action, object_type, object_id = record
                    audit.record(action, None, object_type=object_type, object_id=object_id, actor=actor,
                                 git_commit=sha, after={"commit": sha, "summary": summary, **facts}, reason=summary)
            for change in changes:
                if change.doc.status == document.STATUS_EFFECTIVE:  # a withdrawal is not a version to follow
                    signals.version_published.send(change.code, version=change.doc.version, commit=sha,
                                                   actor=actor)
            db.session.commit()
            break
        except (IntegrityError, OperationalError):
            # Another writer extended the audit chain from the same tail, or SQLite refused a
            # stale snapshot: the version is already in git, so append the entry again (and
            # let the receivers redo their rows, rolled back with it).
            db.session.rollback()
            if attempt == DB_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
        except BaseException:
            db.session.rollback()
            raise
    # Mirror the new version now (and remember the head, so the next request need not).
    # The version is published whatever happens here: a failed mirror is redone by the
    # next request's sync, and reporting an error now would make the user publish again.
    try:
        catalog.sync(commit=True)
    except Exception:
        log.exception("catalogue sync after commit %s (%s) failed; the next request retries", sha[:12],
                      ", ".join(f"{c.code} {c.doc.version}" for c in changes) or "no procedure")
        db.session.rollback()
    # The audit log's head, now including this publish, goes into the git store (outside the database).
    audit.anchor_quietly()

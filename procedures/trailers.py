"""Commit messages of procedure versions: what a publish writes, and how to read it back.

A publish commit on ``main`` reads, in plain ``git log``::

    QP-CS-001 A/1: 回访时请顾客评价处理结果

    回访时请顾客评价处理结果并记入《投诉情况月汇总表》，月汇总报送时限收紧至次月 3 日。

    Procedure: QP-CS-001
    Version: A/1
    Effective: 2025-12-01
    Approved-by: 总经理 陈志远 <manager@example.com>
    Review: 12

The body is the full change summary ("Change-Summary"); the trailers make the
history machine-readable. Commits made with plain git (no trailers) are still
understood: :func:`parse_commit` falls back to the front matter of the file as
it was in that commit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from procedures.document import ProcedureDoc, code_from_path, parse
from webapp.exceptions import ValidationError
from webapp.i18n import _l

__all__ = [
    "T_PROCEDURE", "T_VERSION", "T_EFFECTIVE", "T_APPROVED_BY", "T_REVIEW", "T_WITHDRAWN", "T_REVIEW_NUMBER",
    "T_SIGNATURE", "CommitMeta", "build_message", "build_release_message", "parse_commit", "person", "person_name",
]

T_PROCEDURE = "Procedure"
T_VERSION = "Version"
T_EFFECTIVE = "Effective"
T_APPROVED_BY = "Approved-by"
T_REVIEW = "Review"
T_WITHDRAWN = "Withdrawn"
T_REVIEW_NUMBER = "Review-Number"
T_SIGNATURE = "Signature"

#: A subject line longer than this is cut (with "…"); the body keeps the whole summary.
SUBJECT_MAX = 120

_SPACE_RE = re.compile(r"\s+")
_PERSON_RE = re.compile(r"^\s*(.*?)\s*<([^<>]*)>\s*$")


@dataclass(frozen=True)
class CommitMeta:
    """What one commit says about the procedure version it records."""

    code: str | None
    version: str | None
    effective: date | None
    approved_by: str | None  # "Name <email>" as written in the trailer
    summary: str
    review_id: int | None
    withdrawn_reason: str | None
    #: ``Signature:`` trailers of a review's release, in order (formatted by the review workflow).
    signatures: tuple[str, ...] = ()


def _one_line(value: str) -> str:
    """Trailer values are single lines: fold any whitespace run into one space."""
    return _SPACE_RE.sub(" ", str(value)).strip()


def person(name: str, email: str) -> str:
    """``"Name <email>"``, the form used in ``Approved-by`` (and by git for authors)."""
    name = _one_line(name).replace("<", "").replace(">", "")
    email = _one_line(email).replace("<", "").replace(">", "")
    return f"{name} <{email}>" if email else name


def person_name(value: str | None) -> str:
    """The display name of ``"Name <email>"`` (or the value itself when it has no address)."""
    if not value:
        return ""
    m = _PERSON_RE.match(value)
    return (m.group(1) or m.group(2)) if m else value.strip()


def build_message(doc: ProcedureDoc, summary: str, *, approved_by: str | None, review_id: int | None = None,
                  extra=()) -> tuple[str, str, list[tuple[str, str]]]:
    """``(subject, body, trailers)`` for the commit that publishes ``doc``.

    Subject ``"<code> <version>: <first line of summary>"``; body = the whole summary;
    trailers ``Procedure``, ``Version``, ``Effective`` (ISO date), ``Approved-by`` and
    ``Review`` when given, then ``extra`` pairs such as ``("Withdrawn", reason)``.
    Raises :class:`ValidationError` (field ``summary``) for an empty summary.
    """
    subject, text = _subject(f"{doc.code} {doc.version}", summary)
    trailers = [(T_PROCEDURE, doc.code), (T_VERSION, doc.version), (T_EFFECTIVE, doc.effective.isoformat())]
    if approved_by:
        trailers.append((T_APPROVED_BY, _one_line(approved_by)))
    if review_id is not None:
        trailers.append((T_REVIEW, str(int(review_id))))
    for key, value in extra:
        trailers.append((key, _one_line(value)))
    return subject, text, trailers


def _subject(prefix: str, summary: str) -> tuple[str, str]:
    """``("<prefix>: <first line of summary>", whole summary)``; ValidationError for an empty summary."""
    text = (summary or "").replace("\r\n", "\n").strip()
    if not text:
        message = _l("Describe what changed in this version.")
        raise ValidationError(message, errors={"summary": [message]})
    first = _one_line(text.split("\n", 1)[0])
    if len(first) > SUBJECT_MAX:
        first = first[: SUBJECT_MAX - 1].rstrip() + "…"
    return f"{prefix}: {first}", text


def build_release_message(docs: list[ProcedureDoc], summary: str, *, review_id: int, review_number: str,
                          approved_by=(), withdrawn: dict[str, str] | None = None,
                          signatures=()) -> tuple[str, str, list[tuple[str, str]]]:
    """``(subject, body, trailers)`` of the one commit that releases a review's outcome.

    ``docs``: the new versions it holds (revisions and withdrawals). With exactly one, the
    message is that of a publish (subject and ``Procedure``/``Version``/``Effective``
    trailers, ``Withdrawn: <reason>`` for a withdrawal); with none or several, the subject
    is ``"<review number>: <summary>"`` and each file's front matter is the only source of
    its version (``Withdrawn: <code>: <reason>`` per withdrawal). Then ``Approved-by`` (one
    per approver), ``Review``, ``Review-Number`` and one ``Signature`` per signature.
    """
    withdrawn = withdrawn or {}
    if len(docs) == 1:
        doc = docs[0]
        subject, text, trailers = build_message(doc, summary, approved_by=None)
        if doc.code in withdrawn:
            trailers.append((T_WITHDRAWN, _one_line(withdrawn[doc.code])))
    else:
        subject, text = _subject(_one_line(review_number), summary)
        trailers = [(T_WITHDRAWN, f"{code}: {_one_line(reason)}") for code, reason in withdrawn.items()]
    trailers += [(T_APPROVED_BY, _one_line(a)) for a in approved_by]
    trailers += [(T_REVIEW, str(int(review_id))), (T_REVIEW_NUMBER, _one_line(review_number))]
    trailers += [(T_SIGNATURE, _one_line(s)) for s in signatures]
    return subject, text, trailers


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None


def _parse_int(value: str | None) -> int | None:
    value = (value or "").strip().lstrip("#")
    return int(value) if value.isdecimal() else None


def _summary(commit, code: str | None, version: str | None) -> str:
    if commit.trailer(T_PROCEDURE) is not None or commit.trailer(T_REVIEW_NUMBER) is not None:
        if commit.body:
            return commit.body
        prefix = f"{code} {version}: " if commit.trailer(T_PROCEDURE) is not None \
            else f"{commit.trailer(T_REVIEW_NUMBER)}: "
        return commit.summary[len(prefix):] if commit.summary.startswith(prefix) else commit.summary
    # Plain git: the whole message is the only description there is.
    return f"{commit.summary}\n\n{commit.body}".strip() if commit.body else commit.summary


def _doc_from_store(commit, store, path: str | None) -> ProcedureDoc | None:
    """The procedure file the commit changed, read from the store (None when unclear or invalid)."""
    if path is None:
        try:
            if commit.parents:
                changed = [p for status, p in store.diff_paths(commit.parents[0], commit.sha) if status != "D"]
            else:
                changed = [p for p, _blob in store.list_files(commit.sha)]
        except Exception:  # noqa: BLE001 - a metadata fallback must never break a history page
            return None
        candidates = [p for p in changed if code_from_path(p)]
        if len(candidates) != 1:
            return None
        path = candidates[0]
    try:
        return parse(store.read(path, commit.sha).data, expected_code=code_from_path(path))
    except Exception:  # noqa: BLE001 - missing or invalid file: no fallback values
        return None


def parse_commit(commit, *, doc: ProcedureDoc | None = None, store=None, path: str | None = None) -> CommitMeta:
    """Read a :class:`repo_store.CommitInfo` back into a :class:`CommitMeta`.

    Trailers win; whatever they lack (all of it for a commit made with plain git) is
    taken from ``doc``, or — when ``store`` is given — from the front matter of the
    procedure file (``path``, or the one procedure file the commit changed) as it was in
    that commit. ``summary`` is the change summary (the body, or the subject without
    its ``"<code> <version>: "`` prefix; for plain git commits the whole message).
    """
    code = commit.trailer(T_PROCEDURE)
    version = commit.trailer(T_VERSION)
    effective = _parse_date(commit.trailer(T_EFFECTIVE))
    if (code is None or version is None or effective is None) and doc is None and store is not None:
        if path is None and code is not None:
            path = f"{code}.md" if code_from_path(f"{code}.md") else None
        doc = _doc_from_store(commit, store, path)
    if doc is not None:
        code = code or doc.code
        version = version or doc.version
        effective = effective or doc.effective
    return CommitMeta(
        code=code,
        version=version,
        effective=effective,
        approved_by=commit.trailer(T_APPROVED_BY) or None,
        summary=_summary(commit, code, version),
        review_id=_parse_int(commit.trailer(T_REVIEW)),
        withdrawn_reason=_withdrawn_reason(commit, code),
        signatures=tuple(v for v in commit.trailer_all(T_SIGNATURE) if v),
    )


def _withdrawn_reason(commit, code: str | None) -> str | None:
    """The ``Withdrawn`` reason for ``code``: a commit releasing several procedures names each one's
    (``Withdrawn: <code>: <reason>``) and has no ``Procedure`` trailer."""
    values = commit.trailer_all(T_WITHDRAWN)
    if not values:
        return None
    if commit.trailer(T_PROCEDURE) is None and commit.trailer(T_REVIEW_NUMBER) is not None:
        prefix = f"{code}: "
        return next((v[len(prefix):].strip() or None for v in values if code and v.startswith(prefix)), None)
    return values[-1] or None

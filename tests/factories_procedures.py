"""Helpers for procedure tests: write procedure files and commit them to a test app's store."""
from __future__ import annotations

from datetime import date

from procedures import document, trailers
from repo_store import Signature

AUTHOR = Signature("文控 周敏", "controller@example.com")
APPROVER = "总经理 陈志远 <manager@example.com>"


def procedure_text(code: str, version: str = "A/0", *, effective: date | str = "2026-01-01",
                   title: str = "顾客满意控制作业规程", departments=("CS",), body: str | None = None,
                   status: str = "effective", review_months: int = 6) -> str:
    """A valid procedure file (front matter + body)."""
    doc = document.ProcedureDoc(
        code=code, title=title, departments=tuple(departments), version=version,
        effective=date.fromisoformat(str(effective)), review_months=review_months, status=status,
        body=body if body is not None else f"## 1.0 目的\n\n1.1 规定 {code} 的工作要求。\n")
    return document.serialize(doc)


def commit_version(app, code: str, version: str = "A/0", *, effective="2026-01-01", summary: str = "首次发布",
                   approved_by: str | None = APPROVER, review_id: int | None = None, extra=(),
                   author: Signature = AUTHOR, **kw) -> str:
    """Commit one version of ``code`` on main with the publish trailers; returns the commit sha."""
    from webapp.store import get_store

    text = procedure_text(code, version, effective=effective, **kw)
    doc = document.parse(text)
    subject, body, trailer_list = trailers.build_message(doc, summary, approved_by=approved_by,
                                                         review_id=review_id, extra=extra)
    with app.app_context():
        store = get_store()
        return store.commit({doc.path: text}, summary=subject, body=body, trailers=trailer_list, author=author,
                            base=store.head("main"))

"""Demo procedures: three versions of QP-CS-001 and first versions of QP-CS-002 and QP-ENV-001.

Committed to the store as the demo users would have published them (author ``controller``,
approver ``manager``), then mirrored into the catalogue. Idempotent: a procedure already
in the store is left alone.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from accounts.models import User
from audit import service as audit
from procedures import catalog, document, trailers
from procedures.publishing.service import signature_for
from repo_store import Signature
from webapp.extensions import db
from webapp.store import get_store

CONTENT = Path(__file__).resolve().parent / "demo_content"

#: (code, [(version, file)]) in publishing order.
DEMO_PROCEDURES = (
    ("QP-CS-001", (("A/0", "QP-CS-001.A0.md"), ("A/1", "QP-CS-001.A1.md"), ("A/2", "QP-CS-001.A2.md"))),
    ("QP-CS-002", (("A/0", "QP-CS-002.md"),)),
    ("QP-ENV-001", (("A/0", "QP-ENV-001.md"),)),
)
FIRST_SUMMARY = {
    "QP-CS-002": "首次发布，规定投诉的受理渠道、分级与办结时限、回访和月度汇总要求。",
    "QP-ENV-001": "首次发布，规定公共区域保洁的范围、频次、质量标准和检查要求。",
}


def _signature(login: str) -> Signature:
    user = db_user(login)
    if user is None:
        return Signature(login, f"{login}@example.com")
    return signature_for(user)


def db_user(login: str) -> User | None:
    return db.session.execute(select(User).where(User.login == login)).scalar_one_or_none()


def load_demo() -> list[str]:
    store = get_store()
    changes = yaml.safe_load((CONTENT / "QP-CS-001.changes.yaml").read_text(encoding="utf-8"))
    head = store.head(catalog.BRANCH)
    present = {document.code_from_path(p) for p, _blob in (store.list_files(head) if head else [])}
    committed = []
    for code, versions in DEMO_PROCEDURES:
        if code in present:
            continue
        for version, filename in versions:
            text = (CONTENT / filename).read_text(encoding="utf-8")
            doc = document.parse(text, expected_code=code)
            meta = changes.get(version, {}) if code == "QP-CS-001" else {}
            author = _signature(meta.get("author", "controller"))
            approver = _signature(meta.get("approved_by", "manager"))
            subject, body, trailer_list = trailers.build_message(
                doc, meta.get("summary") or FIRST_SUMMARY[code],
                approved_by=trailers.person(approver.name, approver.email))
            head = store.commit({doc.path: text}, summary=subject, body=body, trailers=trailer_list,
                                author=author, base=head, branch=catalog.BRANCH)
            # Every commit on main has exactly one audit entry, as if the demo users had published it.
            audit.record("procedure.created" if version == "A/0" else "procedure.published", None,
                         object_type="procedure", object_id=code, actor=db_user(meta.get("author", "controller")),
                         after={"version": version, "commit": head, "title": doc.title, "effective": doc.effective},
                         reason=meta.get("summary") or FIRST_SUMMARY[code], git_commit=head)
            committed.append(f"{code} {version}")
    catalog.sync()
    if committed:
        return [f"procedures committed: {', '.join(committed)}"]
    return ["procedures: already in the store"]

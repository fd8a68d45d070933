"""Helpers for the publishing and acknowledgement tests: procedure texts and a seeded procedure."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date

from sqlalchemy import select

from accounts.models import User
from webapp.extensions import db
from webapp.store import get_store

BODY = """## 1.0 目的

1.1 规定顾客满意信息的收集、统计和处置方法。

## 2.0 适用范围

2.1 本规程适用于公司下属各项目管理处。

## 4.0 程序

4.1 客服中心每月汇总投诉，次月 5 日前报送品质部。

4.2 满意率低于 85% 时，项目须制定纠正预防措施。
"""


def procedure_text(code="QP-CS-001", *, title="顾客满意控制作业规程", departments="[CS]", version="A/0",
                   effective="2026-01-01", owner=None, status="effective", body=BODY, extra="") -> str:
    front = [f"code: {code}", f"title: {title}", f"departments: {departments}", f"version: {version}",
             f"effective: {effective}", "review_months: 6", f"status: {status}"]
    if owner:
        front.append(f"owner: {owner}")
    if extra:
        front.append(extra)
    return "---\n" + "\n".join(front) + "\n---\n\n" + body


def text_today(code="QP-CS-001", **kw) -> str:
    """:func:`procedure_text` effective today (company time zone): what the editor's source mode sends."""
    from webapp.dates import local_today

    return procedure_text(code, **{"effective": local_today().isoformat(), **kw})


def user(login: str) -> User:
    return db.session.execute(select(User).where(User.login == login)).scalar_one()


@contextmanager
def self_approval(app, allowed=True):
    """The setting ``PUBLISH_ALLOW_SELF_APPROVAL`` for the block (for tests that are not about who approves)."""
    before = app.config.get("PUBLISH_ALLOW_SELF_APPROVAL", False)
    app.config["PUBLISH_ALLOW_SELF_APPROVAL"] = allowed
    try:
        yield
    finally:
        app.config["PUBLISH_ALLOW_SELF_APPROVAL"] = before


def seed_procedure(app, code="QP-CS-001", *, login="controller", **kw) -> str:
    """Create the first version of ``code`` through the service, effective on the text's date (default
    2026-01-01: a first version may start on an earlier day), approved by its author (seed data); returns
    the new head sha."""
    from procedures.publishing import service as publishing

    effective = date.fromisoformat(kw.get("effective", "2026-01-01"))
    with app.app_context(), self_approval(app):
        result = publishing.create(code, procedure_text(code, **kw), summary="首次发布",
                                   author=user(login), approved_by=None, effective=effective)
        return result.commit


def head(app) -> str | None:
    with app.app_context():
        return get_store().head()


def read_file(app, code="QP-CS-001", rev="main") -> str:
    with app.app_context():
        return get_store().read(f"{code}.md", rev).text


def hidden_value(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html) or \
        re.search(rf'type="hidden" name="{name}" value="([^"]*)"', html) or \
        re.search(rf'id="{name}" name="{name}" type="hidden" value="([^"]*)"', html)
    assert m, f"no hidden field {name}"
    return m.group(1)

"""A review's release (publishing.release_review): one commit on main with the new versions, the withdrawals
and the change record; three-way merges with main; the next-review rule and signatures in the history."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

import repo_store
from audit import service as audit_service
from audit.models import AuditEntry
from procedures import catalog, document, publishing
from procedures.models import Procedure, ProcedureVersion
from tests.factories_publishing import BODY, head, read_file, seed_procedure, self_approval, user
from webapp import dates, signals
from webapp.exceptions import Conflict, NotFound, ValidationError
from webapp.extensions import db
from webapp.store import get_store

CS1, CS2, ENG = "QP-CS-001", "QP-CS-002", "QP-ENG-001"
BRANCH = "reviews/14"
RECORD = "reviews/2026/R-2026-014.md"
SIGNATURES = [
    "总经理 陈志远 <chen@example.com> | management | approved | 2026-11-30T10:12:00+08:00 | draft 1a2b3c4",
    "客服主管 李娜 <li@example.com> | owner | approved | 2026-11-29T16:40:00+08:00 | draft 1a2b3c4",
]
ADDED = "\n4.3 投诉处理完毕后三日内回访。\n"


@pytest.fixture
def world(app, logged_in, make_department):
    """Three procedures at A/0 (effective 2026-01-01, review every 6 months); returns the controller's client."""
    make_department("CS")
    make_department("ENG")
    client = logged_in("controller", department="CS", display_name="文控 周敏")
    seed_procedure(app, CS1)
    seed_procedure(app, CS2, title="投诉处理作业规程")
    seed_procedure(app, ENG, title="设备维修作业规程", departments="[ENG]")
    return client


def _draft(app, changes: dict[str, tuple[str, str]]) -> str:
    """The review branch with ``{code: (old, new)}`` replaced in each stored file; returns its start (base)."""
    with app.app_context():
        store = get_store()
        start = store.create_branch(BRANCH)
        texts = {}
        for code, (old, new) in changes.items():
            text = store.read(document.path_for(code), start).text
            assert old in text
            texts[document.path_for(code)] = text.replace(old, new)
        store.commit(texts, summary="评审草稿", author=publishing.service.signature_for(user("controller")),
                     base=start, branch=BRANCH)
        return start


def _on_main(app, code: str, old: str, new: str, summary: str = "主线修改") -> str:
    """A publish of ``code`` on main (its stored text with ``old`` replaced, effective today, approved by its
    author); returns the new head."""
    with app.app_context(), self_approval(app):
        text = read_file(app, code)
        return publishing.service.publish(code, text.replace(old, new), summary=summary, base=get_store().head(),
                                          author=user("controller"), approved_by=None).commit


def _release(app, items, base, *, branch=BRANCH, effective=None, calls=None, **kw):
    def record_text(versions, previous):
        if calls is not None:
            calls.append((dict(versions), dict(previous)))
        lines = ["# R-2026-014 变更记录", ""]
        lines += [f"- {code}: {previous[code]} → {v.version} ({v.effective})" for code, v in versions.items()]
        return "\n".join(lines) + "\n"

    with app.app_context():
        args = dict(base=base, items=items, record_path=RECORD, record_text=record_text,
                    effective=effective or dates.local_today(), summary="2026 年度评审：加回访条款",
                    author=user("controller"), signatures=SIGNATURES, review_id=14, review_number="R-2026-014")
        args.update(kw)
        return publishing.release_review(branch, **args)


def _commit(app, sha):
    with app.app_context():
        [info] = get_store().history(rev=sha, limit=1)
        return info


def _changed(app, sha) -> list[str]:
    with app.app_context():
        store = get_store()
        [info] = store.history(rev=sha, limit=1)
        return sorted(p for _s, p in store.diff_paths(info.parents[0], sha))


# ---------------------------------------------------------------------------
# one commit
# ---------------------------------------------------------------------------


def test_a_review_of_several_procedures_is_released_in_one_commit(app, world):
    base = _draft(app, {CS1: ("4.2 满意率", ADDED + "\n4.2 满意率"), ENG: ("1.1 规定", "1.1 明确规定")})
    before = head(app)
    calls, announced = [], []

    def receiver(sender, **kw):
        announced.append((sender, kw["version"], kw["commit"]))

    items = [publishing.ReleaseItem(CS1, "revise"), publishing.ReleaseItem(ENG, "revise"),
             publishing.ReleaseItem(CS2, "withdraw", "并入 QP-CS-001")]
    with signals.version_published.connected_to(receiver):
        result = _release(app, items, base, calls=calls)
    today = dates.local_today()
    assert head(app) == result.commit
    assert {c: (v.version, v.commit, v.effective) for c, v in result.versions.items()} == {
        CS1: ("A/1", result.commit, today), ENG: ("A/1", result.commit, today), CS2: ("A/1", result.commit, today)}
    assert result.previous == {CS1: "A/0", ENG: "A/0", CS2: "A/0"}
    # record_text was called once, with the numbers (the commit cannot name itself yet).
    [(versions, previous)] = calls
    assert {c: (v.version, v.commit) for c, v in versions.items()} == {CS1: ("A/1", ""), ENG: ("A/1", ""),
                                                                       CS2: ("A/1", "")}
    assert previous == result.previous
    # ONE commit: a merge of the branch holding the three files and the record.
    info = _commit(app, result.commit)
    with app.app_context():
        tip = get_store().head(BRANCH)
    assert info.parents == (before, tip)
    assert _changed(app, result.commit) == sorted([f"{CS1}.md", f"{CS2}.md", f"{ENG}.md", RECORD])
    with app.app_context():
        assert "- QP-CS-001: A/0 → A/1" in get_store().read(RECORD).text
    cs1 = document.parse(read_file(app, CS1).encode())
    assert cs1.version == "A/1" and cs1.effective == today and "4.3 投诉处理完毕后三日内回访" in cs1.body
    assert "1.1 明确规定" in read_file(app, ENG)
    cs2 = document.parse(read_file(app, CS2).encode())
    assert (cs2.version, cs2.status) == ("A/1", "withdrawn")
    # Several procedures: no Procedure trailers (each file's front matter holds its version).
    assert info.summary == "R-2026-014: 2026 年度评审：加回访条款"
    assert [k for k, _v in info.trailers] == ["Withdrawn", "Approved-by", "Review", "Review-Number", "Signature",
                                              "Signature"]
    assert info.trailer("Withdrawn") == "QP-CS-002: 并入 QP-CS-001"
    assert info.trailer("Approved-by") == "总经理 陈志远 <chen@example.com>"
    assert info.trailer_all("Signature") == tuple(SIGNATURES)
    # The catalogue: each version from its own file, the review, the signatures, the reason where it belongs.
    with app.app_context():
        for code in (CS1, ENG):
            v = catalog.get_current(code)
            assert (v.version, v.commit, v.review_id, v.signatures) == ("A/1", result.commit, 14, tuple(SIGNATURES))
            assert v.summary == "2026 年度评审：加回访条款" and v.withdrawn_reason is None
            assert v.approver_name == "总经理 陈志远"
        withdrawn = catalog.get_current(CS2)
        assert withdrawn.is_withdrawn and withdrawn.withdrawn_reason == "并入 QP-CS-001"
        # The audit: one entry per procedure, the first linked to the commit; the chain accounts for it.
        entries = [e for e in db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
                   if (e.after or {}).get("commit") == result.commit]
        assert [(e.action, e.object_id, e.git_commit) for e in entries] == [
            ("procedure.published", CS1, result.commit), ("procedure.published", ENG, None),
            ("procedure.withdrawn", CS2, None)]
        assert {e.after["review_number"] for e in entries} == {"R-2026-014"}
        assert entries[2].reason == "并入 QP-CS-001"
        assert audit_service.verify().ok
    # Announced for the revisions, not for the withdrawal.
    assert announced == [(CS1, "A/1", result.commit), (ENG, "A/1", result.commit)]


def test_one_procedure_keeps_the_publish_trailers_and_a_later_date_makes_it_upcoming(app, world):
    base = _draft(app, {CS1: ("4.2 满意率", ADDED + "\n4.2 满意率")})
    later = dates.local_today() + timedelta(days=10)
    items = [publishing.ReleaseItem(CS1, "revise"), publishing.ReleaseItem(CS2, "no_change")]
    result = _release(app, items, base, effective=later)
    assert set(result.versions) == {CS1} and result.previous == {CS1: "A/0", CS2: "A/0"}
    info = _commit(app, result.commit)
    assert [k for k, _v in info.trailers] == ["Procedure", "Version", "Effective", "Approved-by", "Review",
                                              "Review-Number", "Signature", "Signature"]
    assert (info.trailer("Version"), info.trailer("Effective")) == ("A/1", later.isoformat())
    assert info.summary == f"{CS1} A/1: 2026 年度评审：加回访条款"
    assert _changed(app, result.commit) == sorted([f"{CS1}.md", RECORD])
    with app.app_context():
        current = catalog.get_current(CS1)
        assert current.version == "A/0" and current.upcoming.version == "A/1"
        assert current.upcoming.effective == later and current.upcoming.signatures == tuple(SIGNATURES)


def test_a_review_with_no_change_commits_its_record_alone(app, world):
    before = head(app)
    result = _release(app, [publishing.ReleaseItem(CS1, "no_change")], None, branch=None)
    assert result.versions == {} and result.previous == {CS1: "A/0"}
    info = _commit(app, result.commit)
    assert info.parents == (before,) and _changed(app, result.commit) == [RECORD]
    assert info.summary == "R-2026-014: 2026 年度评审：加回访条款"
    assert [k for k, _v in info.trailers] == ["Approved-by", "Review", "Review-Number", "Signature", "Signature"]
    with app.app_context():
        assert [v.version for v in catalog.list_versions(CS1)] == ["A/0"]
        [entry] = db.session.execute(select(AuditEntry).where(AuditEntry.git_commit == result.commit)).scalars()
        assert (entry.action, entry.object_type, entry.object_id) == ("procedure.review_recorded", "review", "14")
        assert audit_service.verify().ok
        # Released twice: the record is there already.
        with pytest.raises(Conflict):
            _release(app, [publishing.ReleaseItem(CS1, "no_change")], None, branch=None)
    assert head(app) == result.commit


# ---------------------------------------------------------------------------
# refused, nothing written
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["past effective", "no reason", "twice", "no branch", "uncovered file",
                                  "unchanged draft", "unknown code", "bad record path"])
def test_refused_releases_write_nothing(app, world, case):
    base = _draft(app, {CS1: ("4.2 满意率", ADDED + "\n4.2 满意率")})
    revise = publishing.ReleaseItem(CS1, "revise")
    kw, field = {}, None
    if case == "past effective":
        kw, field = {"effective": dates.local_today() - timedelta(days=1)}, "effective"
    elif case == "no reason":
        kw, field = {"items": [revise, publishing.ReleaseItem(CS2, "withdraw")]}, "reason"
    elif case == "twice":
        kw, field = {"items": [revise, publishing.ReleaseItem(CS1, "no_change")]}, "items"
    elif case == "no branch":
        kw, field = {"branch": None}, "branch"
    elif case == "uncovered file":  # the branch also changes ENG, which the review does not cover
        with app.app_context():
            store = get_store()
            text = store.read(f"{ENG}.md", BRANCH).text.replace("1.1 规定", "1.1 偷偷规定")
            store.commit({f"{ENG}.md": text}, summary="x", author=publishing.service.signature_for(
                user("controller")), base=store.head(BRANCH), branch=BRANCH)
        field = "branch"
    elif case == "unchanged draft":
        kw, field = {"items": [publishing.ReleaseItem(CS2, "revise")]}, "branch"
    elif case == "bad record path":
        kw, field = {"record_path": "QP-CS-009.md"}, "record_path"
    before = head(app)
    items = kw.pop("items", [revise])
    branch = kw.pop("branch", BRANCH)
    if case == "unknown code":
        with pytest.raises(NotFound):
            _release(app, [revise, publishing.ReleaseItem("QP-XX-404", "no_change")], base)
    else:
        with pytest.raises(ValidationError) as info:
            _release(app, items, base, branch=branch, **kw)
        assert field in info.value.errors, info.value.errors
    assert head(app) == before


# ---------------------------------------------------------------------------
# main moved since the branch started
# ---------------------------------------------------------------------------


def test_main_moving_on_other_files_is_fine(app, world):
    base = _draft(app, {CS1: ("4.2 满意率", ADDED + "\n4.2 满意率")})
    moved = _on_main(app, ENG, "1.1 规定", "1.1 主线规定")
    result = _release(app, [publishing.ReleaseItem(CS1, "revise")], base)
    assert _commit(app, result.commit).parents[0] == moved
    assert "1.1 主线规定" in read_file(app, ENG)  # main's change stays
    assert "4.3 投诉处理完毕后三日内回访" in read_file(app, CS1) and result.versions[CS1].version == "A/1"


def test_main_moving_on_the_same_file_elsewhere_is_merged(app, world):
    base = _draft(app, {CS1: ("4.2 满意率", ADDED + "\n4.2 满意率")})
    _on_main(app, CS1, "1.1 规定顾客满意信息", "1.1 规定顾客满意及表扬信息")  # A/1 on main
    result = _release(app, [publishing.ReleaseItem(CS1, "revise")], base)
    assert result.versions[CS1].version == "A/2" and result.previous == {CS1: "A/1"}
    text = read_file(app, CS1)
    assert "1.1 规定顾客满意及表扬信息" in text and "4.3 投诉处理完毕后三日内回访" in text
    assert document.parse(text.encode()).version == "A/2"


def test_a_real_conflict_names_the_procedures_and_writes_nothing(app, world):
    base = _draft(app, {CS1: ("次月 5 日", "次月 3 日"), ENG: ("1.1 规定", "1.1 明确规定")})
    moved = _on_main(app, CS1, "次月 5 日", "次月 10 日", summary="主线放宽时限")
    items = [publishing.ReleaseItem(CS1, "revise"), publishing.ReleaseItem(ENG, "revise")]
    with pytest.raises(Conflict) as info:
        _release(app, items, base)
    assert head(app) == moved
    details = info.value.details
    assert details["paths"] == [CS1] and details["current"] == moved and details["base"] == base
    side = details["files"][CS1]
    assert "次月 5 日" in side["base_markdown"]
    assert "次月 10 日" in side["theirs"]["markdown"] and side["theirs"]["summary"] == "主线放宽时限"
    assert "次月 3 日" in side["yours"]["markdown"]
    with app.app_context():
        with pytest.raises(repo_store.NotFound):
            get_store().read(RECORD)


# ---------------------------------------------------------------------------
# the next review, and signatures on the pages
# ---------------------------------------------------------------------------


def _procedure(app, code):
    with app.app_context():
        row = db.session.execute(select(Procedure).where(Procedure.code == code)).scalar_one()
        return row.first_effective, row.last_reviewed, row.next_review


def test_next_review_counts_from_the_last_review_or_the_newest_effective_date(app, world):
    today = dates.local_today()
    assert _procedure(app, CS1) == (date(2026, 1, 1), None, date(2026, 7, 1))
    # A plain-git correction that keeps its effective date does not move the review clock…
    with app.app_context():
        store = get_store()
        text = read_file(app, CS1).replace("4.2 满意率", "4.2 顾客满意率").replace("version: A/0", "version: A/1")
        store.commit({f"{CS1}.md": text}, summary="typo", author=repo_store.Signature("git", "git@example.com"),
                     base=store.head())
        catalog.sync()
        db.session.commit()
    assert _procedure(app, CS1) == (date(2026, 1, 1), None, date(2026, 7, 1))
    # …a published version does: it was approved, and counts from the day it takes effect (today).
    _on_main(app, CS1, "4.1 客服中心", "4.1 客服部")
    due = dates.add_months(today, 6)
    assert _procedure(app, CS1) == (date(2026, 1, 1), None, due)
    with app.app_context():
        view = catalog.get_current(CS1)
        assert (view.effective, view.next_review, view.review_state(today)) == (today, due, "ok")
        assert CS1 not in {v.code for v in catalog.list_procedures(status="review_overdue")}
        reviewed = today + timedelta(days=40)  # a review closing after the version took effect
        catalog.mark_reviewed(CS1, reviewed)
        db.session.commit()
        view = catalog.get_current(CS1)
        assert (view.next_review, view.last_reviewed) == (dates.add_months(reviewed, 6), reviewed)
        assert catalog.list_procedures(status="review_overdue") and \
            CS1 not in {v.code for v in catalog.list_procedures(status="review_overdue")}
        with pytest.raises(NotFound):
            catalog.mark_reviewed("QP-XX-404", date(2026, 11, 30))
    expected = (date(2026, 1, 1), reviewed, dates.add_months(reviewed, 6))
    assert _procedure(app, CS1) == expected
    # Kept by an incremental sync (a new version effective before the review) and by a rebuild.
    _on_main(app, CS1, "4.2 顾客满意率", "4.2 满意率")
    assert _procedure(app, CS1) == expected
    r = app.test_cli_runner().invoke(args=["procedures", "sync", "--rebuild"])
    assert r.exit_code == 0, r.output
    assert _procedure(app, CS1) == expected
    assert _procedure(app, ENG) == (date(2026, 1, 1), None, date(2026, 7, 1))


def test_a_release_does_not_mark_the_review_done_but_the_workflow_can(app, world):
    result = _release(app, [publishing.ReleaseItem(CS1, "no_change")], None, branch=None)
    assert result.commit and _procedure(app, CS1)[1] is None
    with app.app_context():
        catalog.mark_reviewed(CS1, dates.local_today())
        db.session.rollback()  # the caller's transaction decides
    assert _procedure(app, CS1)[1] is None


def test_signatures_show_in_the_history_and_on_the_print(app, world):
    base = _draft(app, {CS1: ("4.2 满意率", ADDED + "\n4.2 满意率")})
    _release(app, [publishing.ReleaseItem(CS1, "revise")], base)
    page = world.get(f"/procedures/{CS1}/history").get_data(as_text=True)
    assert 'data-testid="history-signatures"' in page and page.count('data-testid="history-signatures"') == 1
    assert "总经理 陈志远 &lt;chen@example.com&gt; | management | approved" in page
    printed = world.get(f"/procedures/{CS1}/print").get_data(as_text=True)
    assert 'data-testid="print-signatures"' in printed and "客服主管 李娜" in printed
    assert 'data-testid="print-signatures"' not in world.get(f"/procedures/{ENG}/print").get_data(as_text=True)


def test_a_review_that_only_withdraws_needs_no_branch(app, world):
    result = _release(app, [publishing.ReleaseItem(CS2, "withdraw", "不再适用")], None, branch=None)
    assert result.versions[CS2].version == "A/1"
    info = _commit(app, result.commit)
    assert (info.trailer("Procedure"), info.trailer("Withdrawn")) == (CS2, "不再适用")
    with app.app_context():
        assert catalog.get_current(CS2).withdrawn_reason == "不再适用"
    assert document.parse(read_file(app, CS2).encode()).body == document.parse(
        read_file(app, CS2, rev=_commit(app, result.commit).parents[0]).encode()).body
    assert BODY.strip() in read_file(app, CS2)


def test_migration_0011_fills_the_first_effective_date(tmp_path, database_url):
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from tests.conftest import make_app
    from webapp.db import UTCDateTime, utcnow

    def table(name, *columns):
        return sa.table(name, *(sa.column(c, t) for c, t in columns))

    procedures = table("procedures", ("id", sa.Integer()), ("code", sa.String()), ("title", sa.String()),
                       ("departments", sa.JSON()), ("version", sa.String()), ("effective", sa.Date()),
                       ("status", sa.String()), ("review_months", sa.Integer()), ("next_review", sa.Date()),
                       ("commit", sa.String()), ("blob", sa.String()), ("versions_count", sa.Integer()),
                       ("removed", sa.Boolean()), ("updated_at", UTCDateTime()))
    versions = table("procedure_versions", ("procedure_id", sa.Integer()), ("code", sa.String()), ("seq", sa.Integer()),
                     ("version", sa.String()), ("commit", sa.String()), ("blob", sa.String()),
                     ("effective", sa.Date()), ("status", sa.String()), ("title", sa.String()),
                     ("departments", sa.JSON()), ("review_months", sa.Integer()), ("author_name", sa.String()),
                     ("author_email", sa.String()), ("committed_at", UTCDateTime()), ("summary", sa.Text()))
    state = table("store_state", ("key", sa.String()), ("value", sa.String()), ("updated_at", UTCDateTime()))
    app = make_app(tmp_path, database_url)
    with app.app_context():
        upgrade(revision="0010_store_problems")
        now = utcnow()
        with db.engine.begin() as conn:
            conn.execute(procedures.insert().values(
                id=1, code=CS1, title="t", departments=[], version="A/1", effective=date(2026, 6, 1), status="effective",
                review_months=6, next_review=date(2026, 12, 1), commit="a" * 40, blob="a" * 40, versions_count=2,
                removed=False, updated_at=now))
            for seq, version, effective in ((1, "A/0", date(2026, 1, 1)), (2, "A/1", date(2026, 6, 1))):
                conn.execute(versions.insert().values(
                    procedure_id=1, code=CS1, seq=seq, version=version, commit=str(seq) * 40, blob=str(seq) * 40,
                    effective=effective, status="effective", title="t", departments=[], review_months=6,
                    author_name="a", author_email="a@example.com", committed_at=now, summary=""))
            conn.execute(state.insert().values(key="main.head", value="a" * 40, updated_at=now))
        upgrade(revision="0011_procedure_reviews")
        with db.engine.connect() as conn:
            row = conn.execute(sa.select(Procedure.first_effective, Procedure.last_reviewed)).one()
            assert tuple(row) == (date(2026, 1, 1), None)
            assert conn.execute(sa.select(ProcedureVersion.signatures)).scalars().all() == [[], []]
            assert conn.execute(sa.select(sa.func.count()).select_from(state)).scalar() == 0  # the next sync rebuilds
        db.engine.dispose()

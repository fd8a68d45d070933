"""Procedures, the read side: catalogue sync, current/upcoming versions, pages, search, import CLI."""
from __future__ import annotations

import re
import subprocess
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from procedures import catalog, trailers
from procedures.models import Procedure, ProcedureVersion, StoreState
from tests.factories_procedures import APPROVER, AUTHOR, commit_version, procedure_text
from webapp import dates
from webapp.extensions import db
from webapp.store import get_store

TODAY = date(2026, 11, 27)


@pytest.fixture
def today(monkeypatch):
    """Pin "today" (Asia/Shanghai) for pages and services; ``today.set(date)`` moves it."""

    class Today:
        value = TODAY

        def set(self, value):
            self.value = value

    t = Today()
    monkeypatch.setattr(dates, "local_today", lambda: t.value)
    return t


@pytest.fixture
def reader(logged_in, today):
    return logged_in("reader")


def _text(r) -> str:
    return r.get_data(as_text=True)


def _count_versions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ProcedureVersion))


# --------------------------------------------------------------------------
# trailers
# --------------------------------------------------------------------------

def test_build_message_and_parse_commit_round_trip(app):
    from procedures import document

    doc = document.parse(procedure_text("QP-CS-001", "A/1", effective="2026-06-01"))
    subject, body, trailer_list = trailers.build_message(
        doc, "收紧回访时限\n\n第二段说明。", approved_by=APPROVER, review_id=12, extra=[("Withdrawn", "不再\n适用")])
    assert subject == "QP-CS-001 A/1: 收紧回访时限"
    assert body == "收紧回访时限\n\n第二段说明。"
    assert trailer_list == [("Procedure", "QP-CS-001"), ("Version", "A/1"), ("Effective", "2026-06-01"),
                            ("Approved-by", APPROVER), ("Review", "12"), ("Withdrawn", "不再 适用")]
    with app.app_context():
        store = get_store()
        store.commit({doc.path: document.serialize(doc)}, summary=subject, body=body, trailers=trailer_list,
                     author=trailers_author(), base=None)
        meta = trailers.parse_commit(store.history(doc.path)[0])
    assert (meta.code, meta.version, meta.effective) == ("QP-CS-001", "A/1", date(2026, 6, 1))
    assert meta.approved_by == APPROVER and meta.review_id == 12 and meta.withdrawn_reason == "不再 适用"
    assert meta.summary == "收紧回访时限\n\n第二段说明。"
    assert trailers.person_name(APPROVER) == "总经理 陈志远"


def trailers_author():
    from tests.factories_procedures import AUTHOR

    return AUTHOR


def test_build_message_needs_a_summary():
    from procedures import document
    from webapp.exceptions import ValidationError

    doc = document.parse(procedure_text("QP-CS-001"))
    with pytest.raises(ValidationError) as exc:
        trailers.build_message(doc, "   ", approved_by=None)
    assert "summary" in exc.value.errors


def test_parse_commit_of_a_plain_git_commit_falls_back_to_front_matter(app):
    from repo_store import Signature

    with app.app_context():
        store = get_store()
        store.commit({"QP-ENV-001.md": procedure_text("QP-ENV-001", "B/2", effective="2026-03-01")},
                     summary="fix typo", body="details", author=Signature("Git User", "git@example.com"), base=None)
        meta = trailers.parse_commit(store.history()[0], store=store)
    assert (meta.code, meta.version, meta.effective) == ("QP-ENV-001", "B/2", date(2026, 3, 1))
    assert meta.approved_by is None and meta.summary == "fix typo\n\ndetails"


# --------------------------------------------------------------------------
# catalogue and versions
# --------------------------------------------------------------------------

def test_sync_mirrors_versions_once_and_is_cheap_when_nothing_moved(app):
    commit_version(app, "QP-CS-001", "A/0", effective="2025-06-02")
    commit_version(app, "QP-CS-001", "A/1", effective="2025-12-01", summary="第二版")
    commit_version(app, "QP-ENV-001", "A/0", effective="2026-04-01", departments=("ENV",))
    with app.app_context():
        assert catalog.sync(commit=True) == 3
        assert catalog.sync(commit=True) == 0
        state = {s.key: s.value for s in db.session.scalars(select(StoreState))}
        assert state["main.head"] == get_store().head() and state["main.length"] == "3"
        proc = db.session.scalar(select(Procedure).where(Procedure.code == "QP-CS-001"))
        assert (proc.version, proc.versions_count, proc.effective) == ("A/1", 2, date(2025, 12, 1))
    commit_version(app, "QP-CS-001", "A/2", effective="2026-06-01")
    with app.app_context():
        assert catalog.sync(commit=True) == 1  # only the new commit is walked
        assert [v.version for v in catalog.list_versions("QP-CS-001", TODAY)] == ["A/2", "A/1", "A/0"]


def test_upcoming_version_becomes_current_on_its_date(app):
    commit_version(app, "QP-CS-001", "A/0", effective="2026-01-01")
    commit_version(app, "QP-CS-001", "A/1", effective="2027-01-01", summary="明年生效")
    with app.app_context():
        before = catalog.get_current("QP-CS-001", date(2026, 12, 31))
        assert before.version == "A/0" and before.upcoming.version == "A/1"
        assert before.upcoming.effective == date(2027, 1, 1)
        on_the_day = catalog.get_current("QP-CS-001", date(2027, 1, 1))
        assert on_the_day.version == "A/1" and on_the_day.upcoming is None and on_the_day.is_current
        old = catalog.get_version("QP-CS-001", "A-0", date(2027, 1, 1))
        assert old.is_superseded and old.superseded_by == "A/1"


def test_first_version_with_a_future_date_is_upcoming(app):
    commit_version(app, "QP-SEC-001", "A/0", effective="2027-03-01", departments=("SEC",))
    with app.app_context():
        v = catalog.get_current("QP-SEC-001", TODAY)
        assert v.is_upcoming and not v.is_current and v.upcoming is None
        assert [x.code for x in catalog.list_procedures(status="upcoming", today=TODAY)] == ["QP-SEC-001"]


def test_unknown_code_and_version_are_not_found(app):
    from webapp.exceptions import NotFound

    commit_version(app, "QP-CS-001")
    with app.app_context():
        with pytest.raises(NotFound):
            catalog.get_current("QP-XX-999", TODAY)
        with pytest.raises(NotFound):
            catalog.get_version("QP-CS-001", "B-7", TODAY)
        with pytest.raises(NotFound):
            catalog.get_version("QP-CS-001", "../../etc", TODAY)


def test_reused_version_label_is_reachable_by_commit(app):
    first = commit_version(app, "QP-CS-001", "A/0", body="## 1.0 目的\n\n原文。\n")
    second = commit_version(app, "QP-CS-001", "A/0", body="## 1.0 目的\n\n更正后的原文。\n", summary="更正错别字")
    with app.app_context():
        versions = catalog.list_versions("QP-CS-001", TODAY)
        assert [v.commit for v in versions] == [second, first]
        assert versions[0].ref == "A-0" and versions[1].ref == first[:12]
        assert catalog.get_version("QP-CS-001", "A-0", TODAY).commit == second
        assert catalog.get_version("QP-CS-001", first[:12], TODAY).commit == first


def test_concurrent_syncs_from_two_workers_do_not_duplicate(tmp_path, database_url, app):
    """Two app instances (two workers) on one database and store sync the same new head at once."""
    from tests.conftest import make_app

    for n in range(1, 6):
        commit_version(app, f"QP-CS-{n:03d}", "A/0")
    other = make_app(tmp_path, database_url)  # same store path and database
    errors = []
    barrier = threading.Barrier(2)

    def worker(a):
        try:
            with a.app_context():
                barrier.wait()
                catalog.sync(commit=True)
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(a,)) for a in (app, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert _count_versions(app) == 5
    with other.app_context():
        db.engine.dispose()


def test_history_rewrite_rebuilds_the_mirror(app):
    a = commit_version(app, "QP-CS-001", "A/0")
    commit_version(app, "QP-CS-001", "A/1", summary="被撤销的版本")
    with app.app_context():
        catalog.sync(commit=True)
        store = get_store()
        subprocess.run(["git", "--git-dir", store.git_dir, "update-ref", "refs/heads/main", a], check=True)
    commit_version(app, "QP-CS-002", "A/0", title="投诉处理作业规程")
    with app.app_context():
        catalog.sync(commit=True)
        assert [v.version for v in catalog.list_versions("QP-CS-001", TODAY)] == ["A/0"]
        assert catalog.get_current("QP-CS-002", TODAY).title == "投诉处理作业规程"


def test_invalid_file_pushed_with_plain_git_is_skipped(app):
    from repo_store import Signature

    commit_version(app, "QP-CS-001", "A/0")
    with app.app_context():
        store = get_store()
        store.commit({"QP-CS-001.md": "no front matter at all"}, summary="broken", base=store.head(),
                     author=Signature("x", "x@example.com"))
        catalog.sync(commit=True)
        assert catalog.get_current("QP-CS-001", TODAY).version == "A/0"


# --------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------

def test_list_filters_by_department_and_hides_withdrawn(app, reader, make_department):
    make_department("ENV", "环境部")
    commit_version(app, "QP-CS-001", "A/0", effective="2026-10-01")
    commit_version(app, "QP-ENV-001", "A/0", effective="2025-01-01", title="公共区域保洁作业规程", departments=("ENV",))
    commit_version(app, "QP-ADM-001", "A/0", title="旧规程", departments=("ADM",))
    commit_version(app, "QP-ADM-001", "A/1", title="旧规程", departments=("ADM",), status="withdrawn",
                   summary="作废", extra=[("Withdrawn", "业务已外包")])
    page = _text(reader.get("/procedures/"))
    assert "QP-CS-001" in page and "QP-ENV-001" in page and "QP-ADM-001" not in page
    assert "环境部" in page  # department names, not only codes
    only_env = _text(reader.get("/procedures/?department=ENV"))
    assert "QP-ENV-001" in only_env and "QP-CS-001" not in only_env
    with_withdrawn = _text(reader.get("/procedures/?withdrawn=1"))
    assert "QP-ADM-001" in with_withdrawn and "作废" in with_withdrawn
    overdue = _text(reader.get("/procedures/?status=review_overdue"))  # 2025-01-01 + 6 months < today
    assert "QP-ENV-001" in overdue and "QP-CS-001" not in overdue
    assert re.search(r'<tr class="overdue" data-code="QP-ENV-001"', overdue)


def test_read_page_shows_header_and_rendered_body(app, reader):
    commit_version(app, "QP-CS-001", "A/1", effective="2026-06-01",
                   body="## 4.0 程序\n\n4.1.1 满意率低于 85% 时采取纠正措施。\n\n| 岗位 | 职责 |\n|---|---|\n| 客服 | 登记 |\n")
    r = reader.get("/procedures/QP-CS-001")
    assert r.status_code == 200
    page = _text(r)
    assert 'data-testid="procedure-version">A/1<' in page
    assert 'data-testid="procedure-effective">2026-06-01<' in page
    assert 'data-testid="procedure-approver">总经理 陈志远<' in page
    assert "2026-12-01" in page  # next review: effective + 6 months
    assert "<table>" in page and "<td>客服</td>" in page
    assert 'href="#sec-4-0-程序"' in page  # table of contents
    assert "修订历史" in page and "打印" in page
    assert 'data-testid="edit-link"' not in page  # readers cannot publish


def test_read_page_offers_edit_and_withdraw_to_controllers(app, logged_in, today):
    commit_version(app, "QP-CS-001")
    page = _text(logged_in("controller").get("/procedures/QP-CS-001"))
    assert 'href="/procedures/QP-CS-001/edit"' in page and 'href="/procedures/QP-CS-001/withdraw"' in page


def test_read_page_announces_upcoming_version_and_switches_on_the_day(app, reader, today):
    commit_version(app, "QP-CS-001", "A/0", effective="2026-01-01")
    commit_version(app, "QP-CS-001", "A/1", effective="2027-01-01", body="## 1.0 目的\n\n新版本正文。\n")
    page = _text(reader.get("/procedures/QP-CS-001"))
    assert 'data-testid="upcoming-notice"' in page and "A/1" in page and "2027-01-01" in page
    assert 'data-testid="procedure-version">A/0<' in page
    today.set(date(2027, 1, 1))
    page = _text(reader.get("/procedures/QP-CS-001"))
    assert 'data-testid="procedure-version">A/1<' in page and "新版本正文" in page
    assert 'data-testid="upcoming-notice"' not in page


def test_past_version_has_superseded_banner(app, reader):
    commit_version(app, "QP-CS-001", "A/0", body="## 1.0 目的\n\n旧版正文。\n")
    commit_version(app, "QP-CS-001", "A/1", effective="2026-06-01")
    page = _text(reader.get("/procedures/QP-CS-001/versions/A-0"))
    assert 'data-testid="superseded-banner"' in page and "现行有效版本为 A/1" in page and "旧版正文" in page
    current = _text(reader.get("/procedures/QP-CS-001/versions/A-1"))
    assert 'data-testid="current-banner"' in current
    assert reader.get("/procedures/QP-CS-001/versions/Z-9").status_code == 404
    assert reader.get("/procedures/QP-CS-001/versions/").status_code == 302


def test_withdrawn_procedure_is_marked(app, reader):
    commit_version(app, "QP-CS-001", "A/0")
    commit_version(app, "QP-CS-001", "A/0", status="withdrawn", summary="作废本规程",
                   extra=[("Withdrawn", "已由 QP-CS-002 取代")])
    page = _text(reader.get("/procedures/QP-CS-001"))
    assert 'data-testid="withdrawn-badge"' in page and ">作废<" in page
    assert "已由 QP-CS-002 取代" in page
    english = _text(reader.get("/procedures/QP-CS-001?lang=en"))
    assert ">Withdrawn<" in english


def test_history_lists_every_version_with_approver(app, reader):
    commit_version(app, "QP-CS-001", "A/0", summary="首次发布", approved_by="张三 <z@example.com>")
    commit_version(app, "QP-CS-001", "A/1", summary="收紧时限\n\n详细说明", review_id=7)
    page = _text(reader.get("/procedures/QP-CS-001/history"))
    assert page.count('data-testid="history-approver"') == 2
    assert ">张三<" in page and ">总经理 陈志远<" in page
    assert "收紧时限\n\n详细说明" in page and "#7" in page
    assert 'href="/procedures/QP-CS-001/compare?from=A-0&amp;to=A-1"' in page
    assert 'href="/procedures/QP-CS-001/versions/A-0"' in page


def test_review_numbers_link_to_the_page_a_review_page_wanted_receiver_names(app, reader):
    from webapp.signals import review_page_wanted

    def known_reviews(review_id, **extra):
        return f"/reviews/{review_id}" if review_id == 7 else None

    commit_version(app, "QP-CS-001", "A/0", review_id=8)
    commit_version(app, "QP-CS-001", "A/1", review_id=7)
    with review_page_wanted.connected_to(known_reviews):
        read = _text(reader.get("/procedures/QP-CS-001"))
        history = _text(reader.get("/procedures/QP-CS-001/history"))
    assert 'href="/reviews/7"' in read
    assert 'href="/reviews/7"' in history and "#8" in history and 'href="/reviews/8"' not in history


def test_one_commit_changing_two_procedures_keeps_their_pages_apart(app, reader):
    # A bulk change (import, plain git) puts several procedures in one commit; cached pages must not mix.
    from webapp.store import get_store

    texts = {f"{code}.md": procedure_text(code, title=title) for code, title in
             (("QP-CS-001", "顾客满意控制"), ("QP-ENV-001", "公共区域保洁"))}
    with app.app_context():
        store = get_store()
        store.commit(texts, summary="批量导入", author=AUTHOR, base=store.head("main"))
    first = _text(reader.get("/procedures/QP-CS-001/history"))
    second = _text(reader.get("/procedures/QP-ENV-001/history"))
    assert "QP-CS-001" in first and "公共区域保洁" not in first
    assert "QP-ENV-001" in second and "顾客满意控制" not in second


def test_compare_marks_chinese_phrases(app, reader):
    commit_version(app, "QP-CS-001", "A/0", body="## 4.0 程序\n\n4.1 客服人员应在三天内回访顾客并记录结果。\n")
    commit_version(app, "QP-CS-001", "A/1", body="## 4.0 程序\n\n4.1 客服人员应在两个工作日内回访顾客并记录结果。\n")
    r = reader.get("/procedures/QP-CS-001/compare")  # default: previous -> current
    page = _text(r)
    assert r.status_code == 200
    dels = re.findall(r'<del class="rl-del">([^<]*)</del>', page)
    inss = re.findall(r'<ins class="rl-ins">([^<]*)</ins>', page)
    assert "三天" in "".join(dels) and "两个工作日" in "".join(inss)
    assert all("客服人员" not in x and "回访顾客" not in x for x in dels + inss)  # phrase level, not the line
    assert 'data-testid="side-by-side"' in page and 'data-testid="compare-stats"' in page
    same = _text(reader.get("/procedures/QP-CS-001/compare?from=A-1&to=A-1"))
    assert "两个版本的正文相同" in same


def test_compare_of_a_first_version_is_a_clear_400(app, reader):
    commit_version(app, "QP-CS-001", "A/0")
    r = reader.get("/procedures/QP-CS-001/compare")
    assert r.status_code == 400 and "没有更早的版本" in _text(r)


def test_search_chinese_english_highlight_and_all_versions(app, reader):
    commit_version(app, "QP-CS-001", "A/0", body="## 1.0 目的\n\n旧版：问卷通过传真报送。\n")
    commit_version(app, "QP-CS-001", "A/1", body="## 1.0 目的\n\n满意率低于 85% 时在 ProcDesk 中登记纠正措施。\n")
    commit_version(app, "QP-ENV-001", "A/0", title="公共区域保洁作业规程", departments=("ENV",),
                   body="## 1.0 目的\n\n保洁 <b>不得</b> 使用强酸。\n")
    page = _text(reader.get("/procedures/search?q=满意率"))
    assert "QP-CS-001" in page and "QP-ENV-001" not in page
    assert "<mark>满意率</mark>" in page
    english = _text(reader.get("/procedures/search?q=procdesk"))
    assert "<mark>ProcDesk</mark>" in english
    assert "QP-ENV-001" in _text(reader.get("/procedures/search?q=保洁"))  # title match
    assert "QP-ENV-001" in _text(reader.get("/procedures/search?q=qp-env"))  # code match
    escaped = _text(reader.get("/procedures/search?q=不得"))
    assert "&lt;b&gt;<mark>不得</mark>" in escaped  # escaped first, then marked
    assert "传真" not in _text(reader.get("/procedures/search?q=传真")).split("search-results")[1].split("</ol>")[0]
    old = _text(reader.get("/procedures/search?q=传真&all=1"))
    assert "<mark>传真</mark>" in old and "/procedures/QP-CS-001/versions/A-0" in old
    both = _text(reader.get("/procedures/search?q=满意率+ProcDesk"))  # every term must match
    assert "QP-CS-001" in both
    assert "QP-CS-001" not in _text(reader.get("/procedures/search?q=满意率+强酸")).split("search-results")[1]


def test_etag_gives_304_and_changes_with_the_version(app, reader):
    commit_version(app, "QP-CS-001", "A/0")
    first = reader.get("/procedures/QP-CS-001")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = reader.get("/procedures/QP-CS-001", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    english = reader.get("/procedures/QP-CS-001?lang=en", headers={"If-None-Match": etag})
    assert english.status_code == 200  # another language is another page
    commit_version(app, "QP-CS-001", "A/1")
    changed = reader.get("/procedures/QP-CS-001", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_etag_differs_per_user(app, client, make_user, today):
    commit_version(app, "QP-CS-001")
    make_user("alice")
    make_user("bob")
    client.login("alice")
    etag = client.get("/procedures/QP-CS-001").headers["ETag"]
    client.logout()
    client.login("bob")
    assert client.get("/procedures/QP-CS-001", headers={"If-None-Match": etag}).status_code == 200


def test_commit_pushed_with_plain_git_shows_up(app, reader, tmp_path):
    commit_version(app, "QP-CS-001")
    assert "QP-PUSH-001" not in _text(reader.get("/procedures/"))
    with app.app_context():
        bare = get_store().git_dir
    work = tmp_path / "clone"
    git = ["git", "-c", "user.name=外部 用户", "-c", "user.email=ext@example.com", "-C", str(work)]
    subprocess.run(["git", "clone", "-q", bare, str(work)], check=True)
    (work / "QP-PUSH-001.md").write_text(procedure_text("QP-PUSH-001", title="外部推送的规程"), encoding="utf-8")
    subprocess.run(git + ["add", "QP-PUSH-001.md"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "Add procedure by plain git"], check=True)
    subprocess.run(git + ["push", "-q", "origin", "HEAD:main"], check=True)
    page = _text(reader.get("/procedures/"))
    assert "QP-PUSH-001" in page and "外部推送的规程" in page
    history = _text(reader.get("/procedures/QP-PUSH-001/history"))
    assert "Add procedure by plain git" in history and "外部 用户" in history


def test_xss_in_a_procedure_is_inert(app, reader):
    commit_version(app, "QP-CS-001", title="<script>alert(1)</script>标题",
                   body="## 1.0 目的\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(2)>\n\n"
                        "[点我](javascript:alert(3))\n\n<a href=\"#\" onclick=\"alert(4)\">链接</a>\n")
    for url in ("/procedures/QP-CS-001", "/procedures/QP-CS-001/print", "/procedures/",
                "/procedures/search?q=alert", "/procedures/QP-CS-001/history"):
        page = _text(reader.get(url))
        assert "<script>alert" not in page, url
        assert not re.search(r"<[a-z][^>]*\son\w+\s*=", page), url  # no event handler inside a tag
        assert not re.search(r"href=\"?javascript:", page, re.I), url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;标题" in _text(reader.get("/procedures/QP-CS-001"))


def test_print_page_and_its_page_css(app, reader):
    commit_version(app, "QP-CS-001", "A/0", effective="2026-01-01")
    commit_version(app, "QP-CS-001", "A/1", effective="2026-06-01")
    page = _text(reader.get("/procedures/QP-CS-001/print"))
    assert 'data-testid="copy-mark"' in page and "受控文件" in page and "打印人：Reader" in page
    assert 'href="/procedures/QP-CS-001/print.css"' in page
    css = reader.get("/procedures/QP-CS-001/print.css")
    assert css.mimetype == "text/css"
    body = _text(css)
    assert "@top-left" in body and "QP-CS-001" in body and "版本 A/1 · 生效日期 2026-06-01" in body
    assert "counter(page)" in body and "counter(pages)" in body and "受控文件" in body
    old = _text(reader.get("/procedures/QP-CS-001/print?version=A-0"))
    assert "非受控文件" in old and 'data-testid="print-version">A/0<' in old
    assert "非受控文件" in _text(reader.get("/procedures/QP-CS-001/print.css?version=A-0"))


def test_print_css_escapes_titles(app, reader):
    commit_version(app, "QP-CS-001", title='带"引号"和\\反斜杠 } @import')
    body = _text(reader.get("/procedures/QP-CS-001/print.css"))
    top_left = re.search(r"@top-left \{ content: (\"(?:[^\"\\]|\\.)*\"); \}", body)
    assert top_left and '\\22 ' in top_left.group(1) and '\\5c ' in top_left.group(1)


def test_reading_needs_the_permission(app, client, make_user):
    from accounts.models import Role

    commit_version(app, "QP-CS-001")
    with app.app_context():
        db.session.add(Role(code="outsider", name="外部", name_en="Outsider", permissions=[]))
        db.session.commit()
    make_user("outsider", roles=("outsider",))
    client.login("outsider")
    for url in ("/procedures/", "/procedures/QP-CS-001", "/procedures/QP-CS-001/history",
                "/procedures/QP-CS-001/print", "/procedures/search?q=x", "/api/v1/procedures",
                "/api/v1/procedures/QP-CS-001"):
        assert client.get(url).status_code == 403, url


def test_unknown_procedure_is_a_translated_404(app, reader):
    r = reader.get("/procedures/QP-XX-404")
    assert r.status_code == 404 and "没有编号为 QP-XX-404 的规程" in _text(r)


# --------------------------------------------------------------------------
# CLI: import and sync
# --------------------------------------------------------------------------

@pytest.fixture
def departments(make_department):
    for code in ("CS", "ENV"):
        make_department(code)


def test_import_cli_imports_a_folder(app, tmp_path, departments, make_user):
    make_user("controller", roles=("controller",), display_name="文控 周敏")
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "QP-CS-010.md").write_text(procedure_text("QP-CS-010", "B/3", title="报修作业规程"), encoding="utf-8")
    (folder / "QP-ENV-010.md").write_text(procedure_text("QP-ENV-010", departments=("ENV",)), encoding="utf-8")
    (folder / "notes.txt").write_text("ignored")
    r = app.test_cli_runner().invoke(args=["procedures", "import", str(folder), "--author", "controller",
                                           "--approved-by", "controller"])
    assert r.exit_code == 0, r.output
    assert "2 procedure(s) imported" in r.output
    with app.app_context():
        v = catalog.get_current("QP-CS-010", TODAY)
        assert (v.version, v.author, v.approver_name) == ("B/3", "文控 周敏", "文控 周敏")
        assert v.summary == "从 QP-CS-010.md 导入"
        from audit.models import AuditEntry

        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "procedure.imported")) == 2
    again = app.test_cli_runner().invoke(args=["procedures", "import", str(folder)])
    assert again.exit_code == 1 and "已存在" in again.output


def test_import_cli_rejects_bad_files_and_imports_nothing(app, tmp_path, departments):
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "QP-CS-010.md").write_text(procedure_text("QP-CS-010"), encoding="utf-8")
    (folder / "QP-CS-011.md").write_text("---\ncode: QP-CS-011\ntitle: 缺字段\n---\n正文\n", encoding="utf-8")
    (folder / "QP-CS-012.md").write_text(procedure_text("QP-CS-012", departments=("XYZ",)), encoding="utf-8")
    (folder / "QP-CS-013.md").write_text(procedure_text("QP-CS-099"), encoding="utf-8")  # name != code
    r = app.test_cli_runner().invoke(args=["procedures", "import", str(folder)])
    assert r.exit_code == 1
    assert "ERROR QP-CS-011.md: departments:" in r.output and "ERROR QP-CS-011.md: version:" in r.output
    assert "ERROR QP-CS-012.md: departments: 没有代码为 XYZ 的部门" in r.output
    assert "ERROR QP-CS-013.md: code:" in r.output
    assert "nothing imported" in r.output
    with app.app_context():
        assert get_store().head() is None  # not one commit
    r = app.test_cli_runner().invoke(args=["procedures", "import", str(folder), "--skip-invalid"])
    assert r.exit_code == 1 and "imported QP-CS-010.md" in r.output
    with app.app_context():
        assert [p for p, _ in get_store().list_files()] == ["QP-CS-010.md"]


def test_sync_cli(app):
    commit_version(app, "QP-CS-001")
    r = app.test_cli_runner().invoke(args=["procedures", "sync"])
    assert r.exit_code == 0 and "1 version(s) added" in r.output
    r = app.test_cli_runner().invoke(args=["procedures", "sync", "--rebuild"])
    assert r.exit_code == 0 and "1 version(s) added" in r.output
    assert _count_versions(app) == 1


def test_demo_procedures_are_loaded_once(app):
    from accounts import demo as accounts_demo
    from procedures import demo

    with app.app_context():
        accounts_demo.load_demo()
        assert demo.load_demo() == ["procedures committed: QP-CS-001 A/0, QP-CS-001 A/1, QP-CS-001 A/2, "
                                    "QP-CS-002 A/0, QP-ENV-001 A/0"]
        db.session.commit()
        assert demo.load_demo() == ["procedures: already in the store"]
        versions = catalog.list_versions("QP-CS-001", TODAY)
        assert [v.version for v in versions] == ["A/2", "A/1", "A/0"]
        assert versions[0].approver_name == "总经理 陈志远" and versions[0].author == "文控专员 周敏"
        assert "电子登记" in versions[0].summary
        assert set(catalog.current_versions(TODAY)) == {"QP-CS-001", "QP-CS-002", "QP-ENV-001"}


def test_pages_keep_to_the_content_security_policy(app, reader):
    commit_version(app, "QP-CS-001", "A/0")
    commit_version(app, "QP-CS-001", "A/1", body="## 1.0 目的\n\n改写。\n")
    for url in ("/procedures/", "/procedures/QP-CS-001", "/procedures/QP-CS-001/history",
                "/procedures/QP-CS-001/versions/A-0", "/procedures/QP-CS-001/compare",
                "/procedures/QP-CS-001/print", "/procedures/search?q=目的"):
        page = _text(reader.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), url
        assert not re.search(r"<[a-z][^>]*\sstyle=", page), url
        assert not re.search(r"<[a-z][^>]*\son[a-z]+=", page), url
        assert "/static/css/procedures.css" in page, url

"""Publishing: create, new versions, conflicts, withdraw, upload, preview, API, crash safety, concurrency.

These tests are about the mechanics, so the author may approve their own versions here (the setting
``PUBLISH_ALLOW_SELF_APPROVAL``); the four-eyes rule, the effective date chosen when publishing and
the refusal of a version that changes nothing are in tests/test_publishing_guards.py."""
from __future__ import annotations

import io
import multiprocessing
import subprocess

import pytest
from sqlalchemy import func, select

import repo_store
from audit import service as audit_service
from audit.models import AuditEntry
from procedures import catalog, document
from procedures.models import ProcedureVersion
from procedures.publishing import service as publishing
from procedures.publishing import validate as publishing_checks
from tests.factories_publishing import (
    BODY,
    head,
    hidden_value,
    procedure_text,
    read_file,
    seed_procedure,
    text_today,
    user,
)
from webapp import dates, signals
from webapp.exceptions import Conflict, NotFound, ValidationError
from webapp.extensions import db
from webapp.store import get_store

CODE = "QP-CS-001"
EDIT = f"/procedures/{CODE}/edit"
NEW_BODY = BODY + "\n4.3 投诉处理完毕后三日内回访。\n"


@pytest.fixture(autouse=True)
def _self_approval(app):
    app.config["PUBLISH_ALLOW_SELF_APPROVAL"] = True


@pytest.fixture
def controller(logged_in, make_department):
    make_department("CS")
    make_department("ENG")
    return logged_in("controller", department="CS", display_name="文控 周敏")


@pytest.fixture
def seeded(app, controller):
    """A procedure at A/0 and the controller's client; returns the client."""
    seed_procedure(app)
    return controller


def _audit_count(app, action):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == action)).scalar()


def _history(app, code=CODE):
    with app.app_context():
        return get_store().history(f"{code}.md")


def _edit_form(client, url=EDIT):
    html = client.get(url).get_data(as_text=True)
    return hidden_value(html, "base")


# ---------------------------------------------------------------------------
# service
# ---------------------------------------------------------------------------


def test_create_then_versions_are_numbered_by_the_service(app, controller):
    first = seed_procedure(app)
    with app.app_context():
        controller_user = user("controller")
        # Whatever the editor says, the service numbers the version.
        r1 = publishing.publish(CODE, procedure_text(version="Z/99", body=NEW_BODY), summary="加回访条款",
                                base=first, author=controller_user, approved_by=None)
        assert r1.version == "A/1"
        r2 = publishing.publish(CODE, procedure_text(body=NEW_BODY + "\n4.4 x\n"), summary="改版", base=r1.commit,
                                author=controller_user, approved_by=None, new_edition=True)
        assert r2.version == "B/0"
        assert document.parse(get_store().read(f"{CODE}.md").data).version == "B/0"
        assert [v.version for v in catalog.list_versions(CODE)] == ["B/0", "A/1", "A/0"]
        with pytest.raises(Conflict):
            publishing.create(CODE, procedure_text(), summary="again", author=controller_user, approved_by=None)


def test_commit_carries_author_approver_and_trailers(app, controller, make_user):
    make_user("boss", roles=("manager",), display_name="总经理 陈志远")
    with app.app_context():
        from accounts.services import UserData, update_user

        boss = user("boss")
        update_user(boss, UserData(login="boss", display_name="总经理 陈志远", email="boss@example.com",
                                   role_codes=("manager",)))
    base = seed_procedure(app)
    r = controller.post(EDIT, {"mode": "source", "markdown": text_today(body=NEW_BODY), "summary": "加回访条款\n\n详细说明。",
                               "base": base, "approved_by": "boss"})
    assert r.status_code == 302
    commit = _history(app)[0]
    assert commit.author.name == "文控 周敏"
    assert commit.trailer("Procedure") == CODE and commit.trailer("Version") == "A/1"
    assert commit.trailer("Effective") == dates.local_today().isoformat()  # chosen when publishing: today
    assert commit.trailer("Approved-by") == "总经理 陈志远 <boss@example.com>"
    assert commit.summary == f"{CODE} A/1: 加回访条款"
    assert "详细说明" in commit.body
    first = _history(app)[-1]
    assert first.trailer("Approved-by").startswith("文控 周敏 <")  # no approver chosen → the publisher


def test_plain_git_clone_shows_author_and_trailers(app, seeded, tmp_path):
    base = head(app)
    seeded.post(EDIT, {"mode": "source", "markdown": text_today(body=NEW_BODY), "summary": "加回访条款", "base": base})
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", app.config["REPO_STORE_PATH"], str(clone)], check=True)
    log = subprocess.run(["git", "-C", str(clone), "log", "--format=%an|%s|%(trailers:key=Version,valueonly)"],
                         capture_output=True, text=True, check=True).stdout
    assert f"文控 周敏|{CODE} A/1: 加回访条款|A/1" in log
    assert f"{CODE} A/0: 首次发布" in log
    assert "4.3 投诉处理完毕后三日内回访" in (clone / f"{CODE}.md").read_text("utf-8")


@pytest.mark.parametrize("step", ["audit", "sync", "commit"])
def test_crash_after_git_write_leaves_a_consistent_store(app, controller, monkeypatch, step, tmp_path,
                                                         database_url):
    """Git is written first; when the database step dies, the store is complete and a later sync() catches up."""
    base = seed_procedure(app)
    with app.app_context():
        assert len(catalog.list_versions(CODE)) == 1

    def boom(*args, **kwargs):
        raise RuntimeError("power cut")

    target = {"audit": (audit_service, "record"), "sync": (catalog, "sync"),
              "commit": (db.session, "commit")}[step]
    with app.app_context():
        monkeypatch.setattr(*target, boom)
        if step == "sync":
            # Published, audited; the mirror is left to the next request (logged, not raised).
            publishing.publish(CODE, procedure_text(body=NEW_BODY), summary="加回访条款", base=base,
                               author=user("controller"), approved_by=None)
        else:
            with pytest.raises(RuntimeError):
                publishing.publish(CODE, procedure_text(body=NEW_BODY), summary="加回访条款", base=base,
                                   author=user("controller"), approved_by=None)
        monkeypatch.undo()
        db.session.remove()
    # The store has the new version, complete and valid, on a linear history.
    history = _history(app)
    assert [c.trailer("Version") for c in history] == ["A/1", "A/0"]
    assert history[0].parents == (history[1].sha,)
    assert document.parse(read_file(app).encode()).version == "A/1"
    with app.app_context():
        # The database side was not written (the audit entry only when the crash came after it)…
        assert _audit_count(app, "procedure.published") == (1 if step == "sync" else 0)
        assert db.session.execute(select(func.count()).select_from(ProcedureVersion)).scalar() == 1
    # …and another worker (a fresh app on the same database and store) mirrors it on its first request.
    from tests.conftest import make_app

    other = make_app(tmp_path, database_url, PUBLISH_ALLOW_SELF_APPROVAL=True)
    with other.app_context():
        assert [v.version for v in catalog.list_versions(CODE)] == ["A/1", "A/0"]
        assert db.session.execute(select(func.count()).select_from(ProcedureVersion)).scalar() == 2
        # …and the next publish goes on from there.
        r = publishing.publish(CODE, procedure_text(body=NEW_BODY + "\n4.4 x\n"), summary="再改",
                               base=get_store().head(), author=user("controller"), approved_by=None)
        assert r.version == "A/2"
        db.session.remove()
        db.engine.dispose()


def test_unrelated_publish_in_between_is_not_a_conflict(app, controller):
    base = seed_procedure(app)
    seed_procedure(app, "QP-ENG-001", departments="[ENG]")  # main moves, our file does not
    with app.app_context():
        r = publishing.publish(CODE, procedure_text(body=NEW_BODY), summary="加回访条款", base=base,
                               author=user("controller"), approved_by=None)
    assert r.version == "A/1"


def test_service_validation(app, controller):
    base = seed_procedure(app)
    with app.app_context():
        u = user("controller")
        cases = [
            (procedure_text(departments="[CS, XX]"), "departments"),
            (procedure_text(owner="nobody"), "owner"),
            (procedure_text(code="QP-CS-002"), "code"),
            (text_today(effective="2026-02-30"), "effective"),
            (text_today(effective="2025-12-31"), "effective"),  # before today (and the version it replaces)
            (procedure_text(status="withdrawn"), "status"),
            ("no front matter", "front_matter"),
            ("", "markdown"),
            ("x" * (publishing.MAX_DOCUMENT_BYTES + 1), "markdown"),
        ]
        for text, field in cases:
            with pytest.raises(ValidationError) as info:
                publishing.publish(CODE, text, summary="s", base=base, author=u, approved_by=None,
                                   effective=publishing.AS_WRITTEN)
            assert field in info.value.errors, (field, info.value.errors)
        with pytest.raises(ValidationError) as info:
            publishing.publish(CODE, procedure_text(), summary="  ", base=base, author=u, approved_by=None)
        assert "summary" in info.value.errors
        for bad in ("", "zz", "HEAD", "0" * 40):
            with pytest.raises(ValidationError) as info:
                publishing.publish(CODE, procedure_text(), summary="s", base=bad, author=u, approved_by=None)
            assert "base" in info.value.errors
        with pytest.raises(NotFound):
            publishing.publish("QP-CS-404", procedure_text("QP-CS-404"), summary="s", base=base, author=u,
                               approved_by=None)
        with pytest.raises(ValidationError) as info:
            publishing.resolve_approver("controller-does-not-exist", u)
        assert "approved_by" in info.value.errors
    assert head(app) == base  # nothing was committed


# ---------------------------------------------------------------------------
# publishing a review's draft from its branch
# ---------------------------------------------------------------------------

DRAFT = "reviews/7"
REVIEWER = repo_store.Signature("评审 王强", "wang@example.com")


def _draft_branch(app, body=NEW_BODY, *, changes=None) -> str:
    """A review draft on ``reviews/7`` started from main (the store's public API); returns that start."""
    with app.app_context():
        store = get_store()
        start = store.create_branch(DRAFT)
        store.commit(changes or {f"{CODE}.md": procedure_text(body=body)}, summary="评审草稿", author=REVIEWER,
                     base=start, branch=DRAFT)
        return start


def _publish_draft(base, **kw):
    return publishing.publish_branch(CODE, DRAFT, base=base, summary="评审通过：加回访条款", author=user("controller"),
                                     approved_by=None, review_id=7, **kw)


def test_an_adopted_draft_is_published_by_merging_its_branch(app, controller):
    seed_procedure(app)
    base = _draft_branch(app)
    seed_procedure(app, "QP-ENG-001", departments="[ENG]")  # main moves meanwhile, our file does not
    announced = []

    def receiver(sender, **kw):
        announced.append((sender, kw["version"], kw["commit"], kw["actor"].login))

    with app.app_context(), signals.version_published.connected_to(receiver):
        result = _publish_draft(base)
        store = get_store()
        [merge] = store.history(rev=result.commit, limit=1)
        tip = store.head(DRAFT)
    assert result.version == "A/1" and head(app) == result.commit
    # A merge commit on main: first parent the old head, second the draft (numbered by the service).
    assert merge.parents[1] == tip and merge.parents[0] != base
    text = read_file(app)
    assert text == read_file(app, rev=tip)
    assert "4.3 投诉处理完毕后三日内回访" in text and document.parse(text.encode()).version == "A/1"
    # The trailers of a publish (and the review), the publisher as author, the catalogue and the audit.
    assert [key for key, _value in merge.trailers] == ["Procedure", "Version", "Effective", "Approved-by", "Review"]
    assert (merge.trailer("Procedure"), merge.trailer("Version"), merge.trailer("Review")) == (CODE, "A/1", "7")
    assert merge.summary == f"{CODE} A/1: 评审通过：加回访条款" and merge.author.name == "文控 周敏"
    assert announced == [(CODE, "A/1", result.commit, "controller")]
    with app.app_context():
        current = catalog.get_current(CODE)
        assert (current.version, current.commit) == ("A/1", result.commit)
        [entry] = db.session.execute(select(AuditEntry).where(AuditEntry.git_commit == result.commit)).scalars()
        assert (entry.action, entry.after["version"], entry.actor_id) == ("procedure.published", "A/1",
                                                                           user("controller").id)
        # The next editor publish goes on from the merge like from any version.
        r = publishing.publish(CODE, procedure_text(body=NEW_BODY + "\n4.4 x\n"), summary="再改",
                               base=get_store().head(), author=user("controller"), approved_by=None)
        assert r.version == "A/2"
        [after_merge] = get_store().history(rev=r.commit, limit=1)
        assert [key for key, _value in after_merge.trailers] == ["Procedure", "Version", "Effective", "Approved-by"]
        assert audit_service.verify().ok  # every commit on main accounted for, the merge included


@pytest.mark.parametrize("meanwhile", ["other procedure", "this procedure"])
def test_main_moving_while_a_draft_is_merged_is_handled_like_a_publish(app, controller, monkeypatch, meanwhile):
    """Between the check and the CAS someone commits to main: retried, or Conflict with both sides."""
    seed_procedure(app)
    base = _draft_branch(app)
    real_merge = repo_store.GitStore.merge
    pushed = []

    def merge_after_a_push(store, *args, **kw):
        if not pushed:  # the concurrent writer gets in first, once
            path, text = (("QP-ENG-009.md", "plain git\n") if meanwhile == "other procedure"
                          else (f"{CODE}.md", procedure_text(body=BODY.replace("次月 5 日", "次月 3 日"))))
            pushed.append(store.commit({path: text}, summary="quick fix", author=REVIEWER, base=store.head()))
        return real_merge(store, *args, **kw)

    monkeypatch.setattr(repo_store.GitStore, "merge", merge_after_a_push)
    with app.app_context():
        if meanwhile == "other procedure":
            result = _publish_draft(base)
            [merge] = get_store().history(rev=result.commit, limit=1)
            assert result.version == "A/1" and merge.parents[0] == pushed[0]
            return
        with pytest.raises(Conflict) as info:
            _publish_draft(base)
    assert head(app) == pushed[0]  # nothing overwritten
    details = info.value.details
    assert details["current"] == pushed[0] and details["theirs"]["summary"] == "quick fix"
    assert "次月 3 日" in details["theirs"]["markdown"]
    assert details["yours"]["summary"] == "评审通过：加回访条款"
    assert "4.3 投诉处理完毕后三日内回访" in details["yours"]["markdown"]


def test_a_draft_of_a_procedure_changed_since_its_start_conflicts(app, controller):
    seed_procedure(app)
    base = _draft_branch(app)
    with app.app_context():
        theirs = publishing.publish(CODE, procedure_text(body=BODY + "\n4.3 其他修改\n"), summary="其他修改",
                                    base=base, author=user("controller"), approved_by=None)
        with pytest.raises(Conflict) as info:
            _publish_draft(base)
    assert info.value.details["theirs"]["commit"] == theirs.commit and head(app) == theirs.commit


def test_a_draft_must_exist_and_change_only_its_procedure(app, controller):
    seed_procedure(app)
    base = _draft_branch(app, changes={f"{CODE}.md": procedure_text(body=NEW_BODY), "QP-ENG-001.md": "x\n"})
    with app.app_context():
        with pytest.raises(ValidationError) as info:
            _publish_draft(base)
        assert "markdown" in info.value.errors
        with pytest.raises(NotFound):
            publishing.publish_branch(CODE, "reviews/404", base=base, summary="s", author=user("controller"),
                                      approved_by=None)
        with pytest.raises(NotFound):
            publishing.publish_branch(CODE, "main", base=base, summary="s", author=user("controller"),
                                      approved_by=None)
    assert head(app) == base


# ---------------------------------------------------------------------------
# pages
# ---------------------------------------------------------------------------


def test_new_procedure_page(app, controller):
    r = controller.get("/procedures/new?mode=source")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "version: A/0" in html and 'enctype="multipart/form-data"' in html
    text = procedure_text("QP-CS-007", title="回访作业规程")
    r = controller.post("/procedures/new", {"mode": "source", "markdown": text, "summary": "首次发布"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert document.parse(read_file(app, "QP-CS-007").encode()).version == "A/0"
    assert _audit_count(app, "procedure.created") == 1
    # The same code again is refused (409) and the text is kept in the editor.
    r = controller.post("/procedures/new", {"mode": "source", "markdown": text, "summary": "again"})
    assert r.status_code == 409
    assert "回访作业规程" in r.get_data(as_text=True)


def test_edit_page_publishes_and_redirects(app, seeded):
    base = _edit_form(seeded)
    r = seeded.post(EDIT, {"mode": "source", "markdown": text_today(body=NEW_BODY), "summary": "加回访条款", "base": base})
    assert r.status_code == 302
    assert "4.3 投诉处理完毕后三日内回访" in read_file(app)
    assert _audit_count(app, "procedure.published") == 1
    with app.app_context():
        assert catalog.get_current(CODE).version == "A/1"


def test_field_errors_give_400_and_commit_nothing(app, seeded):
    base = _edit_form(seeded)
    before = head(app)
    r = seeded.post(EDIT, {"mode": "source", "markdown": text_today(departments="[CS, XX]", title=""), "summary": "s",
                           "base": base})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "XX" in html and "has-error" in html
    assert "departments: [CS, XX]" in html  # the text is kept
    r = seeded.post(EDIT, {"mode": "source", "markdown": text_today(body=NEW_BODY), "summary": "", "base": base})
    assert r.status_code == 400
    assert head(app) == before
    assert _audit_count(app, "procedure.published") == 0


def test_pages_are_in_chinese(app, seeded):
    html = seeded.get(EDIT).get_data(as_text=True)
    assert "修改说明" in html and "发布后版本号为 A/1" in html and "预览" in html


@pytest.mark.parametrize("role", ["reader", "clerk", "manager"])
def test_only_publishers_may_publish(app, logged_in, make_user, make_department, role):
    make_department("CS")
    make_user("controller", roles=("controller",))
    app_client = logged_in(role)
    base = seed_procedure(app)
    for url in (EDIT, "/procedures/new", f"/procedures/{CODE}/withdraw"):
        assert app_client.get(url).status_code == 403, url
        assert app_client.post(url, {"markdown": procedure_text(body=NEW_BODY), "summary": "s", "base": base,
                                     "reason": "r"}).status_code == 403, url
    r = app_client.http.post("/procedures/preview", json={"markdown": "x"},
                             headers={"X-CSRFToken": app_client.csrf})
    # The preview writes nothing; review participants (managers among them) use it in the draft editor.
    assert r.status_code == (200 if role == "manager" else 403)
    r = app_client.api("POST", f"/api/v1/procedures/{CODE}/versions",
                       json={"base": base, "markdown": procedure_text(body=NEW_BODY), "summary": "s"})
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert head(app) == base


def test_csrf_is_required(app, seeded):
    base = _edit_form(seeded)
    r = seeded.post(EDIT, {"mode": "source", "markdown": text_today(body=NEW_BODY), "summary": "s", "base": base}, csrf=False)
    assert r.status_code == 400
    r = seeded.http.post("/procedures/preview", json={"markdown": "x"})
    assert r.status_code == 400
    r = seeded.api("POST", f"/api/v1/procedures/{CODE}/versions", csrf=False,
                   json={"base": base, "markdown": procedure_text(body=NEW_BODY), "summary": "s"})
    assert r.status_code == 400
    assert head(app) == base


def test_stale_base_shows_the_conflict_page_and_keeps_the_text(app, seeded, make_user):
    base = _edit_form(seeded)  # I open the editor…
    make_user("other", roles=("controller",), display_name="文控 李娜")
    with app.app_context():  # …and a colleague publishes first
        theirs = publishing.publish(CODE, procedure_text(body=BODY.replace("次月 5 日", "次月 3 日")),
                                    summary="报送时限提前到次月 3 日", base=base, author=user("other"),
                                    approved_by=None)
    mine = text_today(body=NEW_BODY)
    r = seeded.post(EDIT, {"mode": "source", "markdown": mine, "summary": "加回访条款", "base": base})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "文控 李娜" in html and "报送时限提前到次月 3 日" in html  # their author and summary
    assert 'data-testid="theirs-redline"' in html and 'data-testid="yours-redline"' in html
    theirs_part = html[html.index('data-testid="theirs-redline"'):html.index('data-testid="yours"')]
    assert "rl-ins" in theirs_part and ">3<" in theirs_part  # their change as a redline
    yours_part = html[html.index('data-testid="yours-redline"'):]
    assert "投诉处理完毕后三日内回访" in yours_part
    assert "4.3 投诉处理完毕后三日内回访" in html[html.index("<textarea"):]  # my text is kept
    assert hidden_value(html, "base") == theirs.commit  # …on top of the new base
    assert "加回访条款" in html
    assert [c.trailer("Version") for c in _history(app)] == ["A/1", "A/0"]  # nothing overwritten
    # Merge (take their date change too) and resubmit with the new base.
    merged = text_today(body=NEW_BODY.replace("次月 5 日", "次月 3 日"))
    r = seeded.post(EDIT, {"mode": "source", "markdown": merged, "summary": "加回访条款", "base": theirs.commit})
    assert r.status_code == 302
    history = _history(app)
    assert [c.trailer("Version") for c in history] == ["A/2", "A/1", "A/0"]
    final = read_file(app)
    assert "次月 3 日" in final and "4.3 投诉处理完毕后三日内回访" in final


def test_upload_md_file(app, seeded):
    base = _edit_form(seeded)
    data = {"summary": "上传新版", "base": base, "markdown": "",
            "file": (io.BytesIO(("\ufeff" + text_today(body=NEW_BODY)).encode("utf-8")), "QP-CS-001.md")}
    r = seeded.post(EDIT, data, content_type="multipart/form-data")
    assert r.status_code == 302
    assert "4.3 投诉处理完毕后三日内回访" in read_file(app)


@pytest.mark.parametrize("filename,payload,message", [
    ("QP-CS-001.md", procedure_text().encode("gbk"), "UTF-8"),
    ("QP-CS-001.docx", procedure_text().encode("utf-8"), ".md"),
    ("QP-CS-001.md", b"x" * 3000, "2 KB"),  # the limit is lowered to 2 KB below
    ("QP-CS-001.md", b"  \n", "empty"),
])
def test_bad_uploads_are_refused(app, seeded, filename, payload, message, monkeypatch):
    monkeypatch.setattr(publishing_checks, "MAX_DOCUMENT_BYTES", 2048)
    base = _edit_form(seeded)
    r = seeded.post(EDIT + "?lang=en", {"summary": "s", "base": base, "markdown": procedure_text(body=NEW_BODY),
                                        "file": (io.BytesIO(payload), filename)},
                    content_type="multipart/form-data")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert message in html
    assert head(app) == base


def test_withdraw(app, seeded):
    url = f"/procedures/{CODE}/withdraw"
    base = _edit_form(seeded, url)
    r = seeded.post(url, {"reason": "", "base": base})
    assert r.status_code == 400
    assert head(app) == base
    r = seeded.post(url, {"reason": "已被 QP-CS-009 取代", "base": base})
    assert r.status_code == 302
    commit = _history(app)[0]
    assert commit.trailer("Withdrawn") == "已被 QP-CS-009 取代"
    assert commit.trailer("Version") == "A/1"
    doc = document.parse(read_file(app).encode())
    assert doc.status == "withdrawn" and doc.body == document.parse(read_file(app, rev=base).encode()).body
    with app.app_context():
        assert catalog.get_current(CODE).is_withdrawn
        with pytest.raises(Exception) as info:
            publishing.withdraw(CODE, reason="again", base=get_store().head(), user=user("controller"))
        assert info.value.status_code == 409
    assert _audit_count(app, "procedure.withdrawn") == 1
    # The history stays readable and a new version can bring it back into force.
    r = seeded.post(EDIT, {"mode": "source", "markdown": text_today(body=NEW_BODY), "summary": "恢复",
                           "base": head(app)})
    assert r.status_code == 302
    assert document.parse(read_file(app).encode()).status == "effective"


def test_withdraw_with_stale_base_is_409(app, seeded):
    url = f"/procedures/{CODE}/withdraw"
    base = _edit_form(seeded, url)
    with app.app_context():
        publishing.publish(CODE, procedure_text(body=NEW_BODY), summary="加回访条款", base=base,
                           author=user("controller"), approved_by=None)
    r = seeded.post(url, {"reason": "不再适用", "base": base})
    assert r.status_code == 409
    assert document.parse(read_file(app).encode()).status == "effective"


def test_preview_endpoint(app, seeded):
    r = seeded.http.post("/procedures/preview", json={"markdown": procedure_text(departments="[XX]"),
                                                      "code": CODE}, headers={"X-CSRFToken": seeded.csrf})
    assert r.status_code == 200
    assert "<h2" in r.json["html"] and "满意率低于 85%" in r.json["html"]
    assert "departments" in r.json["errors"]
    r = seeded.http.post("/procedures/preview", json={"markdown": procedure_text(), "code": CODE},
                         headers={"X-CSRFToken": seeded.csrf})
    assert r.json["errors"] == {}
    r = seeded.http.post("/procedures/preview", json={"markdown": "x" * (publishing.MAX_DOCUMENT_BYTES + 1)},
                         headers={"X-CSRFToken": seeded.csrf})
    assert r.status_code == 400


XSS_BODY = """## 1.0 目的

<script>alert('x')</script>

[点我](javascript:alert(1))

<img src="x" onerror="alert(2)">

<a href="#" onclick="alert(3)">链接</a>

<iframe src="https://evil.example"></iframe>
"""


def _inert(html: str) -> None:
    lowered = html.lower()
    for bad in ("<script", "javascript:", "onerror", "onclick", "<iframe"):
        assert bad not in lowered, bad


def test_script_and_event_handlers_are_inert_after_publishing(app, seeded):
    base = _edit_form(seeded)
    r = seeded.http.post("/procedures/preview", json={"markdown": procedure_text(body=XSS_BODY)},
                         headers={"X-CSRFToken": seeded.csrf})
    _inert(r.json["html"])
    r = seeded.post(EDIT, {"mode": "source", "markdown": text_today(body=XSS_BODY), "summary": "xss", "base": base})
    assert r.status_code == 302
    with app.app_context():
        current = catalog.get_current(CODE)
        assert "<script>" in current.markdown()  # stored as written…
        _inert(str(current.rendered().html))  # …rendered inert
    page = seeded.get(EDIT).get_data(as_text=True)
    preview = page[page.index('data-testid="preview"'):page.index("</section>")]
    _inert(preview)
    html = seeded.get(f"/procedures/{CODE}").get_data(as_text=True)
    _inert(html[html.index("<main"):html.index("</main>")])


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------


def test_api_publish_201_400_409(app, seeded):
    base = head(app)
    url = f"/api/v1/procedures/{CODE}/versions"
    r = seeded.api("POST", url, json={"base": base, "markdown": procedure_text(body=NEW_BODY),
                                      "summary": "加回访条款"})
    assert r.status_code == 201, r.json
    assert r.json["version"] == "A/1" and r.json["revision"] == head(app)
    # 400 with field errors, nothing written
    r = seeded.api("POST", url, json={"base": r.json["revision"], "markdown": procedure_text(departments="[XX]"),
                                      "summary": "s"})
    assert r.status_code == 400 and "departments" in r.json["errors"]
    r = seeded.api("POST", url, json={"markdown": 3, "new_edition": "yes"})
    assert r.status_code == 400
    assert {"base", "markdown", "summary", "new_edition"} <= set(r.json["errors"])
    r = seeded.api("POST", url, data="not json", content_type="text/plain")
    assert r.status_code == 400
    # 409 with both sides when the base is stale
    mine = procedure_text(body=NEW_BODY + "\n4.9 我的修改\n")
    r = seeded.api("POST", url, json={"base": base, "markdown": mine, "summary": "我的修改"})
    assert r.status_code == 409
    details = r.json["details"]
    assert details["current"] == head(app)
    assert details["theirs"]["version"] == "A/1" and details["theirs"]["summary"] == "加回访条款"
    assert "4.3 投诉处理完毕后三日内回访" in details["theirs"]["markdown"]
    assert details["yours"] == {"markdown": mine, "summary": "我的修改"}
    assert "4.3" not in details["base_markdown"]
    # resubmitting on the new base works
    r = seeded.api("POST", url, json={"base": details["current"], "markdown": mine, "summary": "我的修改",
                                      "new_edition": True})
    assert r.status_code == 201 and r.json["version"] == "B/0"
    assert seeded.api("POST", "/api/v1/procedures/QP-CS-404/versions",
                      json={"base": base, "markdown": mine, "summary": "s"}).status_code == 404


def test_api_create_and_token_auth(app, seeded):
    from accounts.services import create_token

    with app.app_context():
        token = create_token(user("controller"), "ci")
    r = seeded.api("POST", "/api/v1/procedures", token=token,
                   json={"markdown": procedure_text("QP-ENG-002", departments="[ENG]"), "summary": "首次发布"})
    assert r.status_code == 201 and r.json["version"] == "A/0" and r.json["code"] == "QP-ENG-002"
    r = seeded.api("POST", "/api/v1/procedures", token=token,
                   json={"markdown": procedure_text("QP-ENG-002", departments="[ENG]"), "summary": "again"})
    assert r.status_code == 409
    r = seeded.api("POST", "/api/v1/procedures", token=token,
                   json={"code": "QP-ENG-003", "markdown": procedure_text("QP-ENG-002"), "summary": "s"})
    assert r.status_code == 400 and "code" in r.json["errors"]
    r = seeded.api("POST", f"/api/v1/procedures/{CODE}/withdrawal", token=token,
                   json={"base": head(app), "reason": "合并入 QP-CS-002"})
    assert r.status_code == 201
    assert _history(app)[0].trailer("Withdrawn") == "合并入 QP-CS-002"


def test_api_is_in_openapi(client, logged_in):
    c = logged_in("reader")
    doc = c.get("/api/v1/openapi.json").json
    assert "post" in doc["paths"]["/procedures/{code}/versions"]
    assert "409" in doc["paths"]["/procedures/{code}/versions"]["post"]["responses"]
    assert "post" in doc["paths"]["/procedures"]
    assert {"get", "post"} <= set(doc["paths"]["/acknowledgements"])


# ---------------------------------------------------------------------------
# reliability: concurrent publishers in several processes
# ---------------------------------------------------------------------------


def _publisher(tmp_path, database_url, worker, attempts, barrier, results):
    from tests.conftest import make_app

    app = make_app(tmp_path, database_url, PUBLISH_ALLOW_SELF_APPROVAL=True)
    outcomes = []
    with app.app_context():
        author = user("controller")
        barrier.wait()
        for attempt in range(attempts):
            base = publishing.editor_state(CODE).base  # each publish starts from what it read
            text = procedure_text(body=BODY + f"\n4.{worker}.{attempt} 第 {worker} 号进程第 {attempt} 次修改\n")
            try:
                result = publishing.publish(CODE, text, summary=f"worker {worker} attempt {attempt}", base=base,
                                            author=author, approved_by=None)
            except Conflict as exc:
                assert exc.details["theirs"]["commit"] != base
                outcomes.append(("conflict", None))
            else:
                outcomes.append(("ok", result.commit))
        db.session.remove()
        db.engine.dispose()
    results.put(outcomes)


@pytest.mark.slow
def test_concurrent_publishes_from_several_processes(app, controller, tmp_path, database_url):
    seed_procedure(app)
    ctx = multiprocessing.get_context("spawn")
    workers, attempts = 4, 5
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [ctx.Process(target=_publisher, args=(tmp_path, database_url, w, attempts, barrier, results))
             for w in range(workers)]
    for p in procs:
        p.start()
    outcomes = [o for _ in procs for o in results.get(timeout=120)]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert len(outcomes) == workers * attempts
    landed = [sha for kind, sha in outcomes if kind == "ok"]
    assert landed, outcomes
    # Linear, complete history: every success is exactly one commit, in a chain, numbered in order.
    history = list(reversed(_history(app)))
    assert len(history) == 1 + len(landed)
    assert {c.sha for c in history[1:]} == set(landed)
    for previous, commit in zip(history, history[1:], strict=False):
        assert commit.parents == (previous.sha,)
    assert [c.trailer("Version") for c in history] == [f"A/{n}" for n in range(len(history))]
    assert _audit_count(app, "procedure.published") == len(landed)
    with app.app_context():
        catalog.sync()
        assert len(catalog.list_versions(CODE)) == len(history)

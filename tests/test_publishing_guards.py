"""Publishing that guards the document (issue 12, point 2): the editor's form and source modes, the
effective date chosen when publishing (and the review date counted from it), an approver other than the
author, no version that changes nothing, and a refused submit that says so at the top and lands on the
field in error — through the service, the pages and the API."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from accounts.services import UserData, update_user
from procedures import catalog, document
from procedures.acknowledgements import service as acknowledgements
from procedures.publishing import editing
from procedures.publishing import service as publishing
from tests.factories_publishing import (
    BODY,
    head,
    hidden_value,
    procedure_text,
    read_file,
    seed_procedure,
    self_approval,
    text_today,
    user,
)
from webapp import dates
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.store import get_store

CODE = "QP-CS-001"
EDIT = f"/procedures/{CODE}/edit"
API = f"/api/v1/procedures/{CODE}/versions"
ADDED = "\n4.3 投诉处理完毕后三日内回访。\n"


@pytest.fixture
def world(app, logged_in, make_department, make_user):
    """QP-CS-001 at A/0 (effective 2026-01-01); the document controller (author) logged in, in English;
    the general manager who approves (with an e-mail address, which must never be shown)."""
    make_department("CS", "客户服务部")
    make_department("ENG", "工程部")
    make_user("boss", roles=("manager",), display_name="总经理 陈志远")
    make_user("li", department="CS", display_name="客服 李强")
    with app.app_context():
        update_user(user("boss"), UserData(login="boss", display_name="总经理 陈志远", email="boss@example.com",
                                           role_codes=("manager",)))
    client = logged_in("controller", department="CS", display_name="文控 周敏", locale="en")
    seed_procedure(app)
    return client


def _today():
    return dates.local_today()


def _publish(app, text=None, *, approver="boss", author="controller", **kw):
    with app.app_context():
        return publishing.publish(CODE, text or procedure_text(body=BODY + ADDED), summary="加回访条款",
                                  base=get_store().head(), author=user(author),
                                  approved_by=user(approver) if approver else None, **kw)


def _form(client, url=EDIT, mode=None):
    html = client.get(url + (f"?mode={mode}" if mode else "")).get_data(as_text=True)
    return html, hidden_value(html, "base")


def _fields_post(base, **changes):
    """What the editor's form mode posts for QP-CS-001 with ``changes``."""
    data = {"mode": "fields", "title": "顾客满意控制作业规程", "departments": ["CS"],
            "effective": _today().isoformat(), "review_months": "6", "owner": "", "body": BODY + ADDED,
            "extra": "", "summary": "加回访条款", "approved_by": "boss", "base": base}
    data.update(changes)
    return data


def _messages(app, *texts):
    """The app's own words for ``texts`` in English (the controller reads English)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("en"):
        return [gettext(t) for t in texts]


# ---------------------------------------------------------------------------
# service: the effective date
# ---------------------------------------------------------------------------


def test_a_new_version_takes_effect_today_by_default_and_its_review_counts_from_then(app, world):
    with app.app_context():
        assert catalog.get_current(CODE).review_state(_today()) == "overdue"  # 2026-01-01 + 6 months
    result = _publish(app)  # the text still says effective: 2026-01-01, as the editor once kept it
    assert result.effective == _today()
    assert document.parse(read_file(app).encode()).effective == _today()
    with app.app_context():
        current = catalog.get_current(CODE)
        assert (current.version, current.effective) == ("A/1", _today())
        assert current.next_review == dates.add_months(_today(), 6)
        assert current.review_state(_today()) == "ok"
        assert CODE not in {v.code for v in catalog.list_procedures(status="review_overdue")}


def test_a_later_date_makes_the_version_upcoming(app, world):
    later = _today() + timedelta(days=20)
    result = _publish(app, effective=later)
    assert result.effective == later
    with app.app_context():
        current = catalog.get_current(CODE)
        assert current.version == "A/0" and current.upcoming.version == "A/1"
        assert current.upcoming.effective == later
        assert catalog.get_current(CODE, later).version == "A/1"


@pytest.mark.parametrize("effective", ["yesterday", "as written in the past", "not a date"])
def test_a_new_version_cannot_take_effect_before_today(app, world, effective):
    before = head(app)
    kw = {"yesterday": {"effective": date(2026, 1, 2)},
          "as written in the past": {"effective": publishing.AS_WRITTEN},
          "not a date": {"effective": "2027-01-01"}}[effective]
    with pytest.raises(ValidationError) as info:
        _publish(app, **kw)
    assert set(info.value.errors) == {"effective"}
    assert head(app) == before


def test_the_date_as_written_counts_for_the_editor_and_a_first_version_may_start_earlier(app, world):
    later = (_today() + timedelta(days=3)).isoformat()
    result = _publish(app, text_today(effective=later, body=BODY + ADDED), effective=publishing.AS_WRITTEN)
    assert result.effective.isoformat() == later
    with app.app_context():
        created = publishing.create(None, procedure_text("QP-CS-009", effective="2025-03-01"), summary="补录",
                                    author=user("controller"), approved_by=user("boss"),
                                    effective=publishing.AS_WRITTEN)
        assert created.effective == date(2025, 3, 1)
        default = publishing.create(None, procedure_text("QP-CS-010", effective="2025-03-01"), summary="新建",
                                    author=user("controller"), approved_by=user("boss"))
        assert default.effective == _today()


# ---------------------------------------------------------------------------
# service: approval, nothing changed, departments
# ---------------------------------------------------------------------------


def test_the_approver_is_someone_other_than_the_author(app, world):
    before = head(app)
    for approver in (None, "controller"):
        with pytest.raises(ValidationError) as info:
            _publish(app, approver=approver)
        assert set(info.value.errors) == {"approved_by"}
    with pytest.raises(ValidationError) as info:  # every problem at once: the document's and the approver's
        _publish(app, procedure_text(departments="[CS, XX]"), approver=None)
    assert set(info.value.errors) == {"approved_by", "departments"}
    with app.app_context():
        with pytest.raises(ValidationError) as info:
            publishing.withdraw(CODE, reason="不再适用", base=get_store().head(), user=user("controller"))
        assert set(info.value.errors) == {"approved_by"}
        with pytest.raises(ValidationError):
            publishing.create(None, procedure_text("QP-CS-011"), summary="新建", author=user("controller"),
                              approved_by=None)
    assert head(app) == before
    result = _publish(app)
    [commit] = get_store_history(app, 1)
    assert commit.trailer("Approved-by") == "总经理 陈志远 <boss@example.com>" and commit.author.name == "文控 周敏"
    assert result.version == "A/1"


def test_a_small_company_may_allow_self_approval(app, world):
    with self_approval(app):
        result = _publish(app, approver=None)
    assert result.version == "A/1"
    [commit] = get_store_history(app, 1)
    assert commit.trailer("Approved-by").startswith("文控 周敏 <")


def get_store_history(app, limit):
    with app.app_context():
        return get_store().history(f"{CODE}.md", limit=limit)


@pytest.mark.parametrize("variant", ["same file", "only the version and date", "blank lines and trailing spaces"])
def test_a_version_that_changes_nothing_is_refused(app, world, variant):
    stored = read_file(app)
    text = {"same file": stored,
            "only the version and date": stored.replace("version: A/0", "version: A/7").replace(
                "effective: 2026-01-01", f"effective: {_today().isoformat()}"),
            "blank lines and trailing spaces": stored.replace("1.1 规定", "1.1 规定").rstrip("\n") + "  \n\n\n"}[variant]
    with app.app_context():
        acknowledgements.confirm(user("li"), CODE, "A/0")
        db.session.commit()
    before = head(app)
    with pytest.raises(publishing.NoChange) as info:
        _publish(app, text)
    assert info.value.status_code == 422 and set(info.value.errors) == {"markdown"}
    assert head(app) == before
    with app.app_context():
        assert [v.version for v in catalog.list_versions(CODE)] == ["A/0"]
        assert CODE not in [t.current.code for t in acknowledgements.to_read(user("li"))]  # nobody re-confirms


@pytest.mark.parametrize("change", ["title", "departments", "review_months", "body"])
def test_any_change_in_the_document_is_a_change(app, world, change):
    text = {"title": procedure_text(title="顾客满意控制规程"), "departments": procedure_text(departments="[CS, ENG]"),
            "review_months": procedure_text().replace("review_months: 6", "review_months: 12"),
            "body": procedure_text(body=BODY + ADDED)}[change]
    assert _publish(app, text).version == "A/1"


def test_an_unknown_department_says_which_codes_exist(app, world):
    with pytest.raises(ValidationError) as info:
        _publish(app, procedure_text(departments="[CS, XX]"))
    [message] = info.value.errors["departments"]
    with app.test_request_context():
        assert "XX" in str(message) and "CS, ENG" in str(message)


# ---------------------------------------------------------------------------
# the form mode's composition (the same parser as a file)
# ---------------------------------------------------------------------------


def test_fields_and_source_convert_both_ways_keeping_unknown_keys(app, world):
    text = procedure_text(owner="controller", extra="iso_clause: '7.5'")
    with app.app_context():
        fields = editing.fields_of(text)
        assert (fields.title, fields.departments, fields.effective, fields.review_months, fields.owner) == (
            "顾客满意控制作业规程", ("CS",), "2026-01-01", "6", "controller")
        assert fields.extra == "iso_clause: '7.5'" and fields.body == document.parse(text).body
        again = document.parse(editing.compose(fields, code=CODE, version="A/0"))
        assert again == document.parse(text)
        broken = editing.compose(editing.DocumentFields(title="", departments=(), effective="2026-02-30",
                                                        review_months="x", body="x"), code=CODE)
        with pytest.raises(ValidationError) as info:
            document.parse(broken)
        assert {"title", "departments", "effective", "review_months"} <= set(info.value.errors)
        with pytest.raises(ValidationError) as info:
            editing.fields_of("no front matter")
        assert "front_matter" in info.value.errors


# ---------------------------------------------------------------------------
# pages
# ---------------------------------------------------------------------------


def test_the_editor_opens_in_form_mode_with_today_and_the_real_departments(app, world):
    html, _base = _form(world)
    assert 'data-mode="fields"' in html and 'name="markdown"' not in html
    assert re.search(rf'name="effective"[^>]*value="{_today().isoformat()}"', html) or \
        re.search(rf'value="{_today().isoformat()}"[^>]*name="effective"', html)
    boxes = re.findall(r'<input[^>]*name="departments"[^>]*>', html)
    assert len(boxes) == 2 and "checked" in boxes[0] and "checked" not in boxes[1]
    assert 'value="CS"' in boxes[0] and 'value="ENG"' in boxes[1]  # the department table, in the user's language
    with app.test_request_context():
        assert editing.department_choices() == [("CS", "客户服务部 (CS)"), ("ENG", "工程部 (ENG)")]
        assert editing.department_choices(("CS", "XX"))[-1] == ("XX", "XX")  # shown, so the check can name it
    assert re.search(r'<option[^>]*value="boss"', html)
    assert not re.search(r'<option[^>]*value="controller"', html.split('name="approved_by"')[1].split("</select>")[0])
    source, _base = _form(world, mode="source")
    assert 'data-mode="source"' in source and f"effective: {_today().isoformat()}" in source


def test_publishing_from_the_form_with_a_later_date_makes_it_upcoming(app, world):
    _html, base = _form(world)
    later = _today() + timedelta(days=14)
    r = world.post(EDIT, _fields_post(base, effective=later.isoformat(), title="顾客满意控制规程"))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    doc = document.parse(read_file(app).encode())
    assert (doc.version, doc.effective, doc.title, doc.departments) == ("A/1", later, "顾客满意控制规程", ("CS",))
    with app.app_context():
        assert catalog.get_current(CODE).upcoming.version == "A/1"
    page = world.get(f"/procedures/{CODE}/versions/A-1").get_data(as_text=True)
    assert 'data-testid="upcoming-banner"' in page


def test_a_refused_submit_shows_a_banner_and_marks_the_fields_in_error(app, world):
    _html, base = _form(world)
    before = head(app)
    r = world.post(EDIT, _fields_post(base, title="", departments=["CS", "XX"], approved_by=""))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    form = html[html.index('<form method="post"'):]
    banner = re.search(r'<div class="form-errors" role="alert" tabindex="-1"[^>]*>(.*?)</div>', form, re.S)
    assert banner and form.index("form-errors") < form.index('data-mode="fields"')  # at the top of the form
    assert banner.group(1).count("<li>") == 3 and "CS, ENG" in banner.group(1)  # title, departments, approver
    title = re.search(r'<input[^>]*name="title"[^>]*>', form).group(0)
    assert 'aria-invalid="true"' in title and "autofocus" in title  # the first field in error
    boxes = re.findall(r'<input[^>]*name="departments"[^>]*>', form)
    assert all('aria-invalid="true"' in b for b in boxes) and not any("autofocus" in b for b in boxes)
    approver = re.search(r'<select[^>]*name="approved_by"[^>]*>', form).group(0)
    assert 'aria-invalid="true"' in approver
    assert html.count("autofocus") == 1
    assert head(app) == before


def test_nothing_changed_is_refused_on_the_page_with_422(app, world):
    _html, base = _form(world)
    r = world.post(EDIT, _fields_post(base, body=BODY))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'data-testid="form-errors"' in html
    body = re.search(r'<textarea[^>]*name="body"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in body and "autofocus" in body
    assert len(get_store_history(app, 5)) == 1


def test_switching_modes_keeps_the_edits(app, world):
    _html, base = _form(world)
    r = world.post(EDIT, _fields_post(base, title="改过的标题", switch="source"))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-mode="source"' in html and "title: 改过的标题" in html and "4.3 投诉处理完毕后三日内回访" in html
    text = document.parse(editing.compose(editing.DocumentFields(
        title="改过的标题", departments=("CS",), effective=_today().isoformat(), review_months="6",
        body=BODY + ADDED), code=CODE)).body
    source = procedure_text(title="源码改的标题", body=text, extra="iso_clause: '7.5'").replace(
        "effective: 2026-01-01", f"effective: {_today().isoformat()}")
    r = world.post(EDIT, {"mode": "source", "markdown": source, "switch": "fields", "summary": "", "base": base})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-mode="fields"' in html and 'value="源码改的标题"' in html and "iso_clause" in html
    # A text whose front matter cannot be read stays in source mode, with the reason.
    r = world.post(EDIT, {"mode": "source", "markdown": "no front matter", "switch": "fields", "base": base})
    assert r.status_code == 400
    assert 'data-mode="source"' in r.get_data(as_text=True)
    assert len(get_store_history(app, 5)) == 1  # switching never publishes


def test_the_form_mode_keeps_unknown_front_matter_keys(app, world):
    with app.app_context(), self_approval(app):
        publishing.publish(CODE, procedure_text(extra="iso_clause: '7.5'", body=BODY + "\n4.9 x\n"), summary="s",
                           base=get_store().head(), author=user("controller"), approved_by=None)
    html, base = _form(world)
    extra = hidden_value(html, "extra")
    assert "iso_clause" in extra
    r = world.post(EDIT, _fields_post(base, extra=extra.replace("&#39;", "'")))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    assert document.parse(read_file(app).encode()).extra == {"iso_clause": "7.5"}


def test_a_new_procedure_from_the_form(app, world):
    r = world.get("/procedures/new")
    html = r.get_data(as_text=True)
    assert 'data-mode="fields"' in html and 'name="code"' in html
    data = _fields_post("", code="QP-CS-020", title="回访作业规程", effective="2025-06-01")
    del data["base"]
    r = world.post("/procedures/new", data)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    doc = document.parse(read_file(app, "QP-CS-020").encode())
    assert (doc.version, doc.effective, doc.title) == ("A/0", date(2025, 6, 1), "回访作业规程")


def test_the_approver_is_shown_by_name_everywhere(app, world):
    _publish(app)
    for url in (f"/procedures/{CODE}", f"/procedures/{CODE}/history", f"/procedures/{CODE}/versions/A-1",
                f"/procedures/{CODE}/print"):
        html = world.get(url).get_data(as_text=True)
        assert "总经理 陈志远" in html and "boss@example.com" not in html, url
    # The conflict page names who approved their version, without the address.
    with app.app_context():
        old = get_store().history(f"{CODE}.md")[-1].sha
    r = world.post(EDIT, _fields_post(old, body=BODY + "\n4.9 我的修改\n"))
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert 'data-testid="theirs-approver">总经理 陈志远<' in html and "boss@example.com" not in html


def test_self_approval_on_the_page_follows_the_setting(app, world):
    _html, base = _form(world)
    r = world.post(EDIT, _fields_post(base, approved_by=""))
    assert r.status_code == 400
    with self_approval(app):
        html, base = _form(world)
        [me] = _messages(app, "Me (%(name)s)")
        assert me % {"name": "文控 周敏"} in html
        r = world.post(EDIT, _fields_post(base, approved_by=""))
    assert r.status_code == 302


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------


def test_api_effective_date_no_change_and_self_approval(app, world):
    base = head(app)
    text = procedure_text(body=BODY + ADDED)
    r = world.api("POST", API, json={"base": base, "markdown": text, "summary": "s"})
    assert r.status_code == 400 and set(r.json["errors"]) == {"approved_by"}
    r = world.api("POST", API, json={"base": base, "markdown": text, "summary": "s", "approved_by": "boss",
                                     "effective": "2026-13-01"})
    assert r.status_code == 400 and set(r.json["errors"]) == {"effective"}
    r = world.api("POST", API, json={"base": base, "markdown": text, "summary": "s", "approved_by": "boss",
                                     "effective": None})
    assert r.status_code == 400 and set(r.json["errors"]) == {"effective"}
    r = world.api("POST", API, json={"base": base, "markdown": text, "summary": "s", "approved_by": "boss",
                                     "effective": "2026-01-02"})
    assert r.status_code == 400 and set(r.json["errors"]) == {"effective"}
    later = _today() + timedelta(days=7)
    r = world.api("POST", API, json={"base": base, "markdown": text, "summary": "s", "approved_by": "boss",
                                     "effective": later.isoformat()})
    assert r.status_code == 201 and r.json["effective"] == later.isoformat() and r.json["version"] == "A/1"
    # The same text again: nothing would change.
    r = world.api("POST", API, json={"base": r.json["revision"], "markdown": text, "summary": "again",
                                     "approved_by": "boss", "effective": later.isoformat()})
    assert r.status_code == 422 and r.json["error"] == "unprocessable" and set(r.json["errors"]) == {"markdown"}
    # Without a date: today (the upcoming A/1 takes effect later, so a version today cannot follow it).
    r = world.api("POST", API, json={"base": head(app), "markdown": procedure_text(body=BODY), "summary": "s",
                                     "approved_by": "boss"})
    assert r.status_code == 400 and set(r.json["errors"]) == {"effective"}
    r = world.api("POST", "/api/v1/procedures", json={"markdown": procedure_text("QP-CS-030"), "summary": "s",
                                                      "approved_by": "boss"})
    assert r.status_code == 201 and r.json["effective"] == _today().isoformat()


def test_openapi_documents_the_guards(app, world):
    spec = world.get("/api/v1/openapi.json").json
    post = spec["paths"]["/procedures/{code}/versions"]["post"]
    assert "422" in post["responses"] and "PUBLISH_ALLOW_SELF_APPROVAL" in post["description"]
    for schema in ("NewVersion", "NewProcedure"):
        assert spec["components"]["schemas"][schema]["properties"]["effective"]["format"] == "date"



def test_withdrawing_needs_another_approver_too(app, world):
    url = f"/procedures/{CODE}/withdraw"
    base = hidden_value(world.get(url).get_data(as_text=True), "base")
    r = world.post(url, {"reason": "不再适用", "base": base})
    assert r.status_code == 400 and head(app) == base
    assert re.search(r'<div class="error" role="alert"[^>]*>', r.get_data(as_text=True))
    r = world.post(url, {"reason": "不再适用", "base": base, "approved_by": "boss"})
    assert r.status_code == 302
    assert get_store_history(app, 1)[0].trailer("Approved-by") == "总经理 陈志远 <boss@example.com>"


def test_the_live_preview_checks_the_form_fields(app, world):
    def preview(fields):
        return world.http.post("/procedures/preview", json={"code": CODE, "fields": fields},
                               headers={"X-CSRFToken": world.csrf})

    good = {"title": "顾客满意控制作业规程", "departments": ["CS"], "effective": _today().isoformat(),
            "review_months": "6", "owner": "", "extra": "", "body": BODY}
    r = preview(good)
    assert r.status_code == 200 and r.json["errors"] == {} and "满意率低于 85%" in r.json["html"]
    r = preview({**good, "departments": ["XX"], "review_months": "99"})
    assert r.status_code == 200 and {"departments", "review_months"} <= set(r.json["errors"])
    assert preview({**good, "departments": "CS"}).status_code == 400
    assert preview({**good, "title": 3}).status_code == 400

"""The complaint register page: status tabs with their counts, the total, numbered pages that keep the
filters; and the handler list, which offers the project's staff only (issue 12, part 5)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from satisfaction.categories import ensure_default_categories
from satisfaction.complaints import service
from satisfaction.complaints.models import STATUSES, Complaint
from satisfaction.models import ServiceCategory
from tests.factories_complaints import fast_user, local, project, user
from tests.sql_count import counting_statements
from webapp.db import utcnow
from webapp.extensions import db

LIST = "/satisfaction/complaints/"
TAB_RE = re.compile(r'<a href="([^"]+)" data-status="(\w*)"[^>]*>[^<]*<span class="c-count">([\d,]+)</span>')
ROW_RE = re.compile(r'<tr class="[^"]*" data-number="([^"]+)">')


@pytest.fixture
def register(app, make_project):
    """P1 with 120 entries over March 2026 spread over the statuses (every tenth a praise) and a voided one,
    P2 with 7; a clerk of P1, a manager who sees both. The rows go straight into the table (the list only
    reads them; the life cycle has its own tests)."""
    make_project("P1")
    make_project("P2")
    with app.app_context():
        ensure_default_categories()
        fast_user("clerk", "clerk", ("P1",))
        fast_user("boss", "manager")
        start = local(2026, 3, 1, 8)
        category = db.session.execute(select(ServiceCategory.id).where(ServiceCategory.code == "maintenance")).scalar()
        cycle = ("received", "acknowledged", "in_progress", "resolved", "followed_up")

        def row(code, n, received, **kw):
            values = {"number": f"TS-{code}-2026-{n:04d}", "kind": "complaint", "channel": "phone",
                      "received_at": received, "project_id": project(code).id, "category_id": category,
                      "description": "卫生间天花板渗水", "severity": "normal", "status": "received", "room": "",
                      "void_reason": "", "reopen_count": 0, **kw}
            db.session.add(Complaint(**values))

        for i in range(120):
            praise = i % 10 == 9
            row("P1", i, start + timedelta(hours=5 * i), room=f"R{i:03d}", kind="praise" if praise else "complaint",
                number=f"{'BY' if praise else 'TS'}-P1-2026-{i:04d}",
                status="acknowledged" if praise else cycle[i % len(cycle)])
        for i in range(7):
            row("P2", i, start + timedelta(hours=5 * i + 1), room=f"Q{i}")
        row("P1", 999, start + timedelta(hours=2), room="VOID", voided_at=utcnow(), void_reason="重复登记")
        db.session.commit()
    return app


def login(app, name):
    from tests.conftest import Client

    client = Client(app)
    assert client.login(name).status_code == 302
    client.get("/")
    return client


def tabs(html: str) -> dict[str, tuple[str, int]]:
    """status ('' = all) -> (link, count shown)."""
    return {status: (href.replace("&amp;", "&"), int(count.replace(",", "")))
            for href, status, count in TAB_RE.findall(html)}


def all_rows(client, url: str) -> list[str]:
    """The entry numbers of every page of a list, following the numbered page links."""
    numbers, page = [], 1
    while True:
        r = client.get(url + ("&" if "?" in url else "?") + f"page={page}")
        assert r.status_code == 200, (url, page)
        html = r.get_data(as_text=True)
        numbers += ROW_RE.findall(html)
        if 'rel="next"' not in html:
            return numbers
        page += 1


def test_every_tab_counts_exactly_the_rows_it_lists(register):
    client = login(register, "clerk")
    html = client.get(LIST).get_data(as_text=True)
    found = tabs(html)
    assert list(found) == ["", *STATUSES]
    assert found[""][1] == 120 and sum(n for s, (_u, n) in found.items() if s) == 120
    for status, (href, count) in found.items():
        assert len(all_rows(client, href)) == count, status
    with register.app_context():
        expected = {s: db.session.execute(select(Complaint.id).where(
            Complaint.status == s, Complaint.voided_at.is_(None),
            Complaint.project_id == project("P1").id)).all() for s in STATUSES}
    assert {s: n for s, (_u, n) in found.items() if s} == {s: len(rows) for s, rows in expected.items()}
    assert found["closed"][1] == 0 and all(n > 0 for s, (_u, n) in found.items() if s != "closed")


def test_the_tabs_count_under_the_other_filters_and_keep_them(register):
    client = login(register, "boss")
    html = client.get(f"{LIST}?kind=complaint&q=R0").get_data(as_text=True)
    found = tabs(html)
    # R000–R099 of P1 that are complaints (every tenth one is a praise): 90.
    assert found[""][1] == 90
    for _status, (href, count) in found.items():
        assert "kind=complaint" in href and "q=R0" in href
        assert len(all_rows(client, href)) == count
    # The total says how many the tab shown holds.
    in_progress = client.get(found["in_progress"][0]).get_data(as_text=True)
    total = re.search(r'data-testid="register-total">([^<]+)<', in_progress).group(1)
    assert str(found["in_progress"][1]) in total


def test_pages_of_fifty_walk_the_whole_list_in_order_once(register):
    client = login(register, "boss")
    numbers = all_rows(client, f"{LIST}?month=2026-03")
    with register.app_context():
        expected = [e.number for e in db.session.execute(
            select(Complaint).where(Complaint.voided_at.is_(None))
            .order_by(Complaint.received_at.desc(), Complaint.id.desc())).scalars()]
    assert numbers == expected and len(numbers) == 127
    html = client.get(f"{LIST}?month=2026-03&page=2").get_data(as_text=True)
    assert len(ROW_RE.findall(html)) == 50
    assert said(register, "page %(n)d of %(pages)d", n=2, pages=3) in html
    # The last page (read from the oldest end) holds the 27 oldest.
    html = client.get(f"{LIST}?month=2026-03&page=3").get_data(as_text=True)
    assert ROW_RE.findall(html) == expected[100:]


def test_page_links_keep_every_filter(register):
    client = login(register, "boss")
    p1 = _pid(register, "P1")
    html = client.get(f"{LIST}?kind=complaint&category=maintenance&q=R&project={p1}&page=2").get_data(as_text=True)
    pager = re.search(r'<nav class="pager c-pager".*?</nav>', html, re.S)
    assert pager is not None
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', pager.group(0))]
    assert len(links) == 4  # previous, 1, 3, next
    assert all(f"project={p1}" in h and "kind=complaint" in h and "q=R" in h and "category=maintenance" in h
               and "page=" in h for h in links)
    # A tab's pages keep the tab; the filter form keeps it too, so applying other filters stays on it.
    html = client.get(f"{LIST}?status=acknowledged&project={p1}").get_data(as_text=True)
    assert '<input type="hidden" name="status" value="acknowledged">' in html


@pytest.mark.parametrize("page", ["abc", "0", "-3", "", "1.5", "9" * 30, "%ED%A0%80"])
def test_a_page_that_is_no_number_is_the_first_page(register, page):
    client = login(register, "clerk")
    r = client.get(f"{LIST}?page={page}")
    assert r.status_code in (200, 400)  # 400: the request guard refuses bytes that are not UTF-8
    if r.status_code == 200:
        assert 'aria-current="page">1<' in r.get_data(as_text=True)


def test_a_page_past_the_last_is_a_404_that_says_so(register):
    client = login(register, "clerk")
    r = client.get(f"{LIST}?page=4")
    assert r.status_code == 404
    assert said(register, "There is no page %(n)d of this list: it has %(pages)d.", n=4, pages=3) in r.get_data(
        as_text=True)
    assert client.get(f"{LIST}?page=99999999").status_code == 404
    # An empty list still has its first page.
    assert client.get(f"{LIST}?q=nothing-matches&page=1").status_code == 200


def test_counts_are_one_group_by_and_the_page_one_more_query(register):
    client = login(register, "boss")
    client.get(LIST)
    with counting_statements(register) as statements:
        assert client.get(f"{LIST}?page=2").status_code == 200
    on_complaints = [s for s in statements if "FROM complaints" in s]
    grouped = [s for s in on_complaints if "GROUP BY complaints.status" in s]
    assert len(grouped) == 1 and "count(" in grouped[0].lower()
    assert len(on_complaints) == 2, on_complaints


def test_a_clerk_sees_the_counts_of_her_projects_only(register):
    clerk = login(register, "clerk")
    boss = login(register, "boss")
    assert tabs(clerk.get(LIST).get_data(as_text=True))[""][1] == 120
    assert tabs(boss.get(LIST).get_data(as_text=True))[""][1] == 127
    assert tabs(boss.get(f"{LIST}?voided=only").get_data(as_text=True))[""][1] == 1


def _pid(app, code):
    with app.app_context():
        return project(code).id


def said(app, msgid: str, **values) -> str:
    """What the app says for ``msgid`` in Chinese (the default locale), HTML-escaped as a page shows it."""
    from flask_babel import force_locale
    from markupsafe import escape

    from webapp.i18n import _

    with app.test_request_context(), force_locale("zh_Hans"):
        return str(escape(_(msgid, **values)))


# ---------------------------------------------------------------------------------------------
# the handler list: the project's staff


@pytest.fixture
def staffed(app, make_project, make_user):
    """P1 and P2 with people of every kind: who of them may handle P1's entries?"""
    make_project("P1")
    make_project("P2")
    make_user("clerk", roles=("clerk",), projects=("P1",), display_name="客服文员")
    make_user("frontline", roles=("participant",), projects=("P1",), category="frontline", display_name="客服专员")
    make_user("cleaner", roles=("reader",), projects=("P1",), display_name="保洁主管")
    make_user("custrep", roles=("participant",), projects=("P1",), category="customer_rep", display_name="业委会代表")
    make_user("docctl", roles=("controller",), projects=("P1",), display_name="文控")
    make_user("sysadmin", roles=("admin",), projects=("P1",), display_name="系统管理员")
    make_user("boss", roles=("manager",), display_name="总经理")
    make_user("other", roles=("clerk",), projects=("P2",), display_name="别的项目文员")
    make_user("gone", roles=("clerk",), projects=("P1",), display_name="已离职")
    with app.app_context():
        ensure_default_categories()
        user("gone").active = False
        db.session.commit()
    return app


def _handler_options(html: str) -> dict[str, str]:
    select_html = re.search(r'<select[^>]*id="handler_id".*?</select>', html, re.S).group(0)
    return {name: value for value, name in re.findall(r'<option[^>]*value="(\d*)"[^>]*>([^<]*)</option>', select_html)
            if value}


def _entry_form(project_id, **kw):
    data = {"kind": "complaint", "project_id": str(project_id), "channel": "phone", "category": "maintenance",
            "severity": "normal", "description": "卫生间天花板渗水", "handler_id": "", "department_id": "",
            "received_at": (utcnow() + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M")}
    return {**data, **kw}


def _uid(app, login_name):
    with app.app_context():
        return user(login_name).id


def test_the_handler_list_offers_the_projects_staff_only(staffed):
    client = login(staffed, "clerk")
    options = _handler_options(client.get(f"{LIST}new").get_data(as_text=True))
    assert sorted(options) == sorted(["客服文员", "客服专员", "保洁主管", "总经理"])
    with staffed.app_context():
        staff = {u.login: projects for u, projects in service.project_staff([project("P1").id, project("P2").id])}
        p1, p2 = project("P1").id, project("P2").id
    assert staff == {"clerk": {p1}, "frontline": {p1}, "cleaner": {p1}, "boss": {p1, p2}, "other": {p2}}


def test_a_handler_outside_the_staff_is_a_field_error_on_the_form_and_in_the_api(staffed):
    client = login(staffed, "clerk")
    p1 = _pid(staffed, "P1")
    with staffed.app_context():
        before = db.session.execute(select(Complaint.id)).all()
    for outsider in ("custrep", "docctl", "sysadmin", "other", "gone"):
        r = client.post(f"{LIST}new", _entry_form(p1, handler_id=str(_uid(staffed, outsider))))
        html = r.get_data(as_text=True)
        assert r.status_code == 400, outsider
        assert said(staffed, "Choose a handler from the project's staff.") in html and 'class="error"' in html
        r = client.api("POST", "/api/v1/complaints", json={
            "kind": "complaint", "project": "P1", "channel": "phone", "category": "maintenance",
            "severity": "normal", "received_at": utcnow().isoformat(), "description": "渗水",
            "handler_id": _uid(staffed, outsider)})
        assert r.status_code == 400 and list(r.json["errors"]) == ["handler_id"], (outsider, r.json)
    with staffed.app_context():
        assert db.session.execute(select(Complaint.id)).all() == before
    r = client.post(f"{LIST}new", _entry_form(p1, handler_id=str(_uid(staffed, "frontline"))))
    assert r.status_code == 302


def test_an_entrys_handler_who_left_the_project_stays_until_changed(staffed):
    client = login(staffed, "clerk")
    r = client.post(f"{LIST}new", _entry_form(_pid(staffed, "P1"), handler_id=str(_uid(staffed, "frontline"))))
    entry_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with staffed.app_context():
        user("frontline").projects = []
        db.session.commit()
        version = db.session.get(Complaint, entry_id).version
    page = client.get(f"{LIST}{entry_id}/edit").get_data(as_text=True)
    assert "客服专员" in _handler_options(page)  # shown, so saving the form does not drop them
    form = {k: v for k, v in _entry_form(_pid(staffed, "P1"), handler_id=str(_uid(staffed, "frontline")),
                                         room="2201").items() if k not in ("kind", "project_id")}
    r = client.post(f"{LIST}{entry_id}/edit", {**form, "version": str(version)})
    assert r.status_code == 302
    # …but nobody else from outside the staff can be chosen instead.
    with staffed.app_context():
        version = db.session.get(Complaint, entry_id).version
    r = client.post(f"{LIST}{entry_id}/edit", {**form, "version": str(version),
                                                "handler_id": str(_uid(staffed, "custrep"))})
    assert r.status_code == 400

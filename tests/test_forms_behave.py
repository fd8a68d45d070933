"""Forms that behave: a refused submit lists every error at the top of the form, each linked to its
field, marks the fields for assistive technology and puts the focus on the first one (autofocus, so
it works without JavaScript); the admin user form keeps what was typed, except the password."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from flask_babel import force_locale, ngettext
from sqlalchemy import select

from accounts.models import User
from webapp.extensions import db


class _Tags(HTMLParser):
    """Every start tag's attributes, and the error summary's items."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.summary_links: list[str] = []
        self.summary_title = ""
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: ("" if v is None else v) for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "a" and "data-error-for" in a:
            self.summary_links.append(a["data-error-for"])
        self._in_title = "error-summary-title" in a.get("class", "")

    def handle_data(self, data):
        if self._in_title:
            self.summary_title += data

    def handle_endtag(self, tag):
        self._in_title = False

    def by_id(self, ident):
        return next(a for _t, a in self.tags if a.get("id") == ident)

    def invalid(self):
        return [a for t, a in self.tags if a.get("aria-invalid") == "true" and t in ("input", "select", "textarea")]

    def autofocused(self):
        return [a for _t, a in self.tags if "autofocus" in a]


def _banner_title(app, n):
    with app.test_request_context(), force_locale("zh_Hans"):
        return ngettext("Please correct the following error", "Please correct the following %(num)d errors", n)


def assert_refused_form(app, response, fields):
    """The page refuses the submit with ``fields`` in error, in this order, and behaves."""
    html = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, html[:2000]
    page = _Tags(html)
    assert page.summary_links == fields, page.summary_links
    assert page.summary_title.strip() == _banner_title(app, len(fields))
    for name in fields:
        control = page.by_id(name)
        if control.get("aria-invalid") is None:  # a radio group: its options carry the state
            control = next(a for _t, a in page.tags if a.get("name") == name and a.get("type") == "radio")
        assert control["aria-invalid"] == "true", name
        assert f"{name}-error" in control["aria-describedby"].split(), name
        message = page.by_id(f"{name}-error")
        assert message.get("role") == "alert"
    focused = page.autofocused()
    assert len(focused) == 1 and (focused[0].get("id") == fields[0] or focused[0].get("name") == fields[0]), focused
    return page


def _new_user_payload(**kw):
    data = {"login": "Bad Login!", "display_name": "", "email": "not-an-address", "password": "short",
            "roles": ["reader", "clerk"], "department": "", "participant_category": "", "locale": ""}
    data.update(kw)
    return data


def test_admin_user_form_shows_every_error_at_once_and_keeps_what_was_typed(app, logged_in):
    client = logged_in("admin")
    r = client.post("/admin/users/new", _new_user_payload())
    page = assert_refused_form(app, r, ["login", "display_name", "email", "password"])
    assert page.by_id("login")["value"] == "Bad Login!" and page.by_id("email")["value"] == "not-an-address"
    assert page.by_id("password").get("value", "") == ""  # a password is never sent back
    assert "short" not in r.get_data(as_text=True)
    selected = [a["value"] for t, a in page.tags if t == "option" and "selected" in a and a["value"] in ("reader", "clerk")]
    assert sorted(selected) == ["clerk", "reader"]
    with app.app_context():
        assert db.session.execute(select(User).where(User.login == "bad login!")).first() is None


def test_the_services_errors_come_with_the_forms_own(app, logged_in):
    # A taken login and a weak password (the service's rules) are listed with a bad e-mail address
    # (the form's rule), not one round trip each; a taken login is a field error, not an error page.
    client = logged_in("admin")
    r = client.post("/admin/users/new", _new_user_payload(login="admin", display_name="X", password="admin"))
    assert_refused_form(app, r, ["login", "email", "password"])
    html = r.get_data(as_text=True)
    assert "已被使用" in html and "至少" in html
    # Only the service objects: still every one of its errors at once.
    r = client.post("/admin/users/new", _new_user_payload(login="admin", display_name="X", email="", password="x"))
    assert_refused_form(app, r, ["login", "password"])


def test_admin_user_edit_keeps_the_typed_values(app, logged_in, make_user):
    make_user("bob", roles=("reader",), display_name="Bob")
    with app.app_context():
        bob_id = db.session.execute(select(User.id).where(User.login == "bob")).scalar_one()
    client = logged_in("admin")
    r = client.post(f"/admin/users/{bob_id}", {"login": "bob", "display_name": "Robert Li", "email": "@@",
                                               "password": "s3cret-but-typed", "roles": ["clerk"],
                                               "department": "", "participant_category": "", "locale": "en"})
    page = assert_refused_form(app, r, ["email"])
    assert page.by_id("display_name")["value"] == "Robert Li"
    assert [a["value"] for t, a in page.tags if t == "option" and "selected" in a and a["value"] in ("clerk", "reader")] \
        == ["clerk"]
    assert "s3cret-but-typed" not in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, bob_id).display_name == "Bob"


def test_reference_and_profile_forms_behave_the_same(app, logged_in):
    client = logged_in("admin")
    r = client.post("/admin/projects/new", {"code": "x", "name": "", "households": "-3"})
    assert_refused_form(app, r, ["code", "name", "households"])
    r = client.post("/profile", {"display_name": "", "email": "nope", "locale": "zh_Hans"})
    assert_refused_form(app, r, ["display_name", "email"])


def test_a_radio_group_in_error_is_marked_and_focused(app, logged_in):
    client = logged_in("controller")
    r = client.post("/reviews/new", {"kind": "", "chair": "", "title": "", "reason": ""})
    page = assert_refused_form(app, r, ["kind", "codes", "chair"])
    radios = [a for t, a in page.tags if a.get("name") == "kind" and a.get("type") == "radio"]
    assert radios and all(a.get("aria-invalid") == "true" for a in radios)
    assert "autofocus" in radios[0] and not any("autofocus" in a for a in radios[1:])
    assert page.by_id("kind")  # the summary's link target: the group's fieldset


def test_an_accepted_page_has_no_summary_and_no_autofocus_from_errors(app, logged_in):
    html = logged_in("admin").get("/admin/users/new").get_data(as_text=True)
    page = _Tags(html)
    assert page.summary_links == [] and page.invalid() == [] and 'data-testid="error-summary"' not in html


def test_multiple_choice_lists_become_searchable_with_translated_texts(app, logged_in):
    html = logged_in("admin").get("/admin/users/new").get_data(as_text=True)
    page = _Tags(html)
    with app.test_request_context(), force_locale("zh_Hans"):
        from flask_babel import gettext

        placeholder, empty = gettext("Type to search…"), gettext("No matches")
    for name in ("roles", "projects"):
        select_ = page.by_id(name)
        assert "multiple" in select_ and "data-multiselect" in select_
        assert select_["data-placeholder"] == placeholder and select_["data-no-results"] == empty
        assert f"{name}-hint" in select_["aria-describedby"]  # how to pick several without JavaScript


def test_favicon(client):
    html = client.get("/login").get_data(as_text=True)
    assert re.search(r'<link rel="icon" href="/static/favicon.svg" type="image/svg\+xml">', html)
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r.headers["Location"].endswith("/static/favicon.svg")
    r = client.get("/static/favicon.svg")
    try:
        assert r.status_code == 200 and r.mimetype == "image/svg+xml" and b"<svg" in r.data
    finally:
        r.close()

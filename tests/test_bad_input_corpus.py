"""The bad-input corpus through every write endpoint, API and forms (issue 8, "Done when").

Surrogates, control characters, far dates, YAML alias bombs, bracket and nesting bombs, huge
and malformed uploads go to every operation of the OpenAPI document and every POST form of
the pages (``tests/bad_input.py`` finds them, so a new endpoint is covered without editing
this file). Every answer must be a 2xx/3xx or a 4xx with a message, never a 5xx; a refused
request writes nothing (row counts of every table, the git store's refs); nothing takes more
than a few seconds; and pages still work after a write was accepted. All failures are listed
at the end, one line each, grouped by owning area.

The app holds the demo data (``flask demo load``: one of every record, a user per role) and a
user with every role, so every form and every operation has something to act on.
"""
from __future__ import annotations

import io
import os
import re
from datetime import date
from itertools import count

import pytest
from sqlalchemy import select

from tests.bad_input import ApiWalker, FormWalker, Probe
from tests.conftest import Client
from tests.factories_demo import demo_with_superuser
from webapp.extensions import db

pytestmark = pytest.mark.slow

CANARY_PAGES = ("/", "/procedures/", "/acknowledgements/", "/satisfaction/complaints/", "/actions/")
CANARY_API = ("/api/v1/procedures", "/api/v1/acknowledgements", "/api/v1/complaints", "/api/v1/actions")
#: A refused login is recorded on purpose (that is what the lockout counts).
ALLOWED_WRITES = {"accounts.login": re.compile(r"login|attempt|throttl")}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, demo_template):
    """(app, API token of ``corpus``): the demo data plus ``corpus``, a user with every role."""
    with demo_with_superuser(tmp_path_factory.mktemp("corpus"), demo_template, "corpus") as found:
        yield found


def _write_report(name: str, probe: Probe, notes: list[str]) -> None:
    """``BAD_INPUT_REPORT=dir``: the failures and notes of each test in ``dir/<test>.txt`` (for reading at leisure)."""
    folder = os.environ.get("BAD_INPUT_REPORT")
    if folder:
        with open(os.path.join(folder, f"{name}.txt"), "w", encoding="utf-8") as fh:
            fh.write("\n".join([probe.report(), "", "Notes:", *notes, "", "Time by endpoint:", *probe.timings(), ""]))


def _settler(client: Client, token: str):
    """After an accepted write: one read that mirrors the git store (the sync any next request does)."""
    return lambda: client.http.get("/api/v1/procedures", headers={"Authorization": f"Bearer {token}"})


def _login(client: Client, login: str) -> None:
    client.http.delete_cookie(client.app.config["SESSION_COOKIE_NAME"])
    client.csrf = None
    response = client.login(login)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    client.get("/")


def _api_hints(app) -> dict:
    """Valid values a schema cannot give: codes and logins of the demo data."""
    from accounts.models import Project, User
    from procedures import document
    from satisfaction.models import ServiceCategory

    with app.app_context():
        project_id = db.session.execute(select(Project.id).where(Project.code == "P-LJY")).scalar_one()
        staff_id = db.session.execute(select(User.id).where(User.login == "frontline")).scalar_one()
        category = db.session.execute(select(ServiceCategory.code).where(ServiceCategory.active)
                                      .order_by(ServiceCategory.id)).scalars().first()
        sample = app.extensions["procdesk_store"].read(document.path_for("QP-CS-002")).text
    fresh = count(900)

    def code(walker, schema, subject, ctx):
        if ctx["op"].path == "/procedures":  # a new procedure: a code not used yet
            return ctx.setdefault("code", f"QP-CS-{next(fresh)}")
        return "QP-CS-002"

    def markdown(walker, schema, subject, ctx):
        return re.sub(r"^code: .*$", f"code: {code(walker, schema, subject, ctx)}", sample, count=1, flags=re.M)

    def version(walker, schema, subject, ctx):
        if schema.get("type") == "string":  # a procedure version (acknowledgements)
            return (walker.get("/procedures/QP-CS-002") or {}).get("version", "A/0")
        return NotImplemented

    return {
        "project": "P-LJY", "project_id": project_id, "category": category, "staff": "frontline",
        "staff_id": staff_id, "responsible_user": "frontline", "responsible_department": "CS",
        "approved_by": "manager", "handler_id": None, "department_id": None, "overall": 4,
        "year": date.today().year - 1, "code": code, "markdown": markdown, "version": version,
        "category_ids": NotImplemented, "login": "frontline", "codes": ["QP-CS-002"],
    }


def test_api_write_operations_survive_bad_input(seeded):
    app, token = seeded
    client = Client(app)
    _login(client, "corpus")
    probe = Probe(app, allowed_writes=ALLOWED_WRITES, settle=_settler(client, token))
    walker = ApiWalker(probe, client.http, token, hints=_api_hints(app), aliases={"base": "revision"},
                       canaries=CANARY_API)
    walker.run()
    _write_report("api", probe, walker.notes + ["valid bodies accepted by: " + ", ".join(walker.accepted)])
    assert not probe.failures, probe.report()


def test_forms_survive_bad_input(seeded):
    app, token = seeded
    client = Client(app)
    _login(client, "corpus")
    anonymous = Client(app)
    anonymous.http.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    with app.app_context():
        from accounts.models import Project, User
        from actions import proposals
        from satisfaction.surveys.models import SurveyCampaign

        own_id = db.session.execute(select(User.id).where(User.login == "corpus")).scalar_one()
        # A pending preventive proposal (made here: the API test may decide the others), so the accept and
        # dismiss forms have something to refuse input on.
        campaign = db.session.execute(select(SurveyCampaign).order_by(SurveyCampaign.id)).scalars().first()
        proposals.propose(key="corpus:forms", reason="met_uncertain", kind="preventive",
                          source_type="survey_campaign", source_id=campaign.id,
                          project_id=db.session.execute(select(Project.id).where(Project.code == "P-LJY")).scalar_one(),
                          title="满意率达标但尚不确定", actor=db.session.get(User, own_id))
        db.session.commit()

    # The newest meeting (so the crawl sees it) with an issue not yet a register entry or an action.
    response = client.http.post("/api/v1/meetings", headers={"Authorization": f"Bearer {token}"}, json={
        "held_on": date.today().isoformat(), "title": "业主座谈", "project": "P-LJY",
        "issues": [{"description": "楼道灯不亮", "category": "maintenance"}]})
    assert response.status_code == 201, response.get_json()
    # A file on that meeting and on the newest register entry (pages the crawl sees), so their void forms
    # are found too.
    auth = {"Authorization": f"Bearer {token}"}
    newest = client.http.get("/api/v1/complaints?limit=1", headers=auth).get_json()["items"][0]["id"]
    for url in (f"/api/v1/meetings/{response.get_json()['id']}/attachments", f"/api/v1/complaints/{newest}/attachments"):
        made = client.http.post(url, headers=auth, content_type="multipart/form-data",
                                data={"file": (io.BytesIO(b"%PDF-1.4\n" + b"0" * 256 + b"\n%%EOF\n"), "纪要.pdf")})
        assert made.status_code == 201, made.get_json()

    def relogin(c: Client, login):
        if login:
            _login(c, login)

    probe = Probe(app, allowed_writes=ALLOWED_WRITES, settle=_settler(client, token))
    walker = FormWalker(probe, {"corpus": (client, "corpus"), "anonymous": (anonymous, None)}, relogin=relogin,
                        skip=lambda endpoint, args: args.get("user_id") == own_id, canaries=CANARY_PAGES)
    start = sorted(r.rule for r in app.url_map.iter_rules()
                   if "GET" in r.methods and not r.arguments and not r.rule.startswith(("/api/", "/static")))
    walker.run({"corpus": start, "anonymous": ["/login"]})
    missing = sorted(r.endpoint for r in app.url_map.iter_rules()
                     if "POST" in r.methods and not r.rule.startswith("/api/") and r.endpoint not in walker.covered)
    _write_report("forms", probe, walker.notes + [f"{walker.pages} pages crawled", f"not exercised: {missing}"])
    assert not missing, f"POST routes not exercised: {missing}"
    assert not probe.failures, probe.report()

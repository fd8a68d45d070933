"""Issue 8, items 2 and 12 for the record APIs, and root rule (b) for record dates.

* Item 2: a lone surrogate (as the JSON escape ``\\ud800`` or the raw bytes ``ED A0 80``) or a
  control character in any field of any record write endpoint is a 400 naming the field, and
  nothing is written.
* Item 12: another project's record is a 404 like a missing one (pages and API); unknown JSON
  fields and query parameters are refused with a 400 naming them; ``project`` (code) and
  ``project_id`` are accepted alike; the OpenAPI document lists exactly what is accepted.
* Rule (b): every record date is checked against ``webapp.dates.date_bounds()`` where it enters
  (forms and API alike), so nothing stored can overflow later date arithmetic.
"""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from webapp.extensions import db

PLACEHOLDER = "\u2603PLACEHOLDER\u2603"
BAD_TEXT = {
    "escaped surrogate": lambda body: json.dumps(body).replace(json.dumps(PLACEHOLDER)[1:-1], "x\\ud800y").encode(),
    "raw surrogate bytes": lambda body: json.dumps(body, ensure_ascii=False).encode().replace(
        PLACEHOLDER.encode(), b"x\xed\xa0\x80y"),
    "control character": lambda body: json.dumps(body).replace(json.dumps(PLACEHOLDER)[1:-1], "x\\u0007y").encode(),
}
UNKNOWN = "bogus_field"


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture
def world(app, make_project, make_user, make_department):
    from accounts.models import User
    from accounts.services import create_token
    from satisfaction.categories import ensure_default_categories

    p1, p2 = make_project("P1", households=200), make_project("P2", households=100)
    make_department("ENG")
    make_user("boss", roles=("admin",))
    make_user("clerk", roles=("clerk",), projects=("P1",))
    make_user("clerk2", roles=("clerk",), projects=("P2",))
    make_user("engineer", roles=("clerk",), projects=("P1",), department="ENG")  # carries out ENG's actions
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
        token = create_token(db.session.execute(sa.select(User).where(User.login == "boss")).scalar_one(), "t")
        engineer = create_token(db.session.execute(sa.select(User).where(User.login == "engineer")).scalar_one(),
                                "t")
        db.session.commit()
        from webapp.dates import date_bounds, local_today

        today = local_today()
        bounds = date_bounds()
    return SimpleNamespace(app=app, p1=p1, p2=p2, token=token, engineer=engineer, today=today, bounds=bounds,
                           http=app.test_client())


def send(world, method, url, body=None, *, data: bytes | None = None, token=None):
    headers = {"Authorization": f"Bearer {token or world.token}"}
    if data is None and body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    return world.http.open(url, method=method, data=data, headers=headers)


def ok(world, method, url, body=None, **kw):
    r = send(world, method, url, body, **kw)
    assert r.status_code < 300, (method, url, body, r.status_code, r.get_json())
    return r.get_json()


def row_counts(app) -> dict:
    with app.app_context():
        return {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in db.metadata.sorted_tables}


def leaves(value, path=()):
    """(path, field name as the request guard names it) of every scalar in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        name = ""
        for part in path:
            name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
        yield path, name


def replaced(body, path, value):
    body = json.loads(json.dumps(body))
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


def proposal_id(world, code: str, key: str) -> int:
    """A proposed action in project ``code`` (the system makes them when a survey closes; here directly)."""
    from accounts.models import Project
    from actions import proposals

    with world.app.app_context():
        pid = db.session.execute(sa.select(Project.id).where(Project.code == code)).scalar_one()
        made = proposals.propose(key=key, reason="met_uncertain", kind="preventive", source_type="survey_campaign",
                                 source_id=1, project_id=pid, title=f"{code} 满意率达标但尚不确定")
        db.session.commit()
        return made.id


def record_ids(world) -> dict:
    """One record of each kind in P1 (and the same in P2), made through the API (a proposal directly)."""
    day = (world.today - timedelta(days=1)).isoformat()
    ids = {}
    for code in ("P1", "P2"):
        ids[code] = {
            "complaint": ok(world, "POST", "/api/v1/complaints", complaint_body(world, code))["id"],
            "action": ok(world, "POST", "/api/v1/actions", {"kind": "corrective", "project": code,
                                                             "title": f"{code} 的措施"})["id"],
            "campaign": ok(world, "POST", "/api/v1/survey-campaigns", {
                "project": code, "year": world.today.year, "distributed": 10, "distributed_on": day})["id"],
            "caring": ok(world, "POST", "/api/v1/caring-services", {
                "project": code, "served_on": day, "household": "1-101", "service": "代缴费用", "minutes": 10})["id"],
            "meeting": ok(world, "POST", "/api/v1/meetings", {"project": code, "held_on": day,
                                                               "title": f"{code} 例会"})["id"],
            "proposal": proposal_id(world, code, f"test:{code}"),
        }
    return ids


def complaint_body(world, project="P1", **kw):
    from webapp.db import utcnow

    return {"kind": "complaint", "project": project, "channel": "online", "category": "security",
            "severity": "urgent", "description": "车库照明损坏", "building": "3栋", "room": "B2",
            "contact_name": "王先生", "contact_phone": "13800000000",
            "received_at": (utcnow() - timedelta(hours=1)).isoformat(), **kw}


# ------------------------------------------------------------------- item 2: text at the boundary


def _write_cases(world):
    """(method, rule, url, valid body[, API token]) for every record write endpoint, in an order that works."""
    day = (world.today - timedelta(days=1)).isoformat()
    due = (world.today + timedelta(days=10)).isoformat()
    cases = [("POST", "/api/v1/complaints", "/api/v1/complaints", complaint_body(world))]
    yield from cases
    entry = ok(world, "POST", "/api/v1/complaints", complaint_body(world))
    base = f"/api/v1/complaints/{entry['id']}"
    yield "PATCH", "/api/v1/complaints/<int:entry_id>", base, {
        "version": entry["version"], "description": "改过的描述", "room": "B3", "building": "4栋"}
    rule = "/api/v1/complaints/<int:entry_id>/transitions"
    for step in ({"action": "acknowledge", "note": "已受理"}, {"action": "start", "note": "开始处理"},
                 {"action": "resolve", "cause": "灯管老化", "action_taken": "更换灯管", "note": "已处理"},
                 {"action": "follow_up", "feedback_given": "电话回访", "handling_satisfaction": "satisfied",
                  "follow_up_notes": "满意"},
                 {"action": "close", "note": "结案"}):
        yield "POST", rule, base + "/transitions", step
    yield "POST", "/api/v1/complaints/<int:entry_id>/void", base + "/void", {"reason": "重复录入"}

    yield "POST", "/api/v1/actions", "/api/v1/actions", {
        "kind": "corrective", "project": "P1", "title": "车库照明", "description": "灯管老化",
        "responsible_department": "ENG", "due_on": due}
    action = ok(world, "POST", "/api/v1/actions", {"kind": "corrective", "project": "P1", "title": "照明"})
    base = f"/api/v1/actions/{action['id']}"
    rule = "/api/v1/actions/<int:action_id>/transitions/<name>"
    yield "POST", rule, base + "/transitions/analyse", {
        "cause_analysis": "巡查不到位", "planned_action": "增加巡查", "responsible_department": "ENG", "due_on": due}
    # Engineering carries out its action; someone else (the administrator) verifies it (issue 11).
    yield "POST", rule, base + "/transitions/take_action", {"action_taken": "已增加巡查"}, world.engineer
    yield "POST", rule, base + "/transitions/verify", {"remeasured": "回访 20 户", "verification_result": "一月无投诉",
                                                       "effective": True}
    yield "POST", rule, base + "/transitions/close", {"note": "关闭"}
    yield "POST", "/api/v1/actions/<int:action_id>/void", base + "/void", {"reason": "重复"}
    accepted, dismissed = proposal_id(world, "P1", "test:accept"), proposal_id(world, "P1", "test:dismiss")
    yield ("POST", "/api/v1/actions/proposals/<int:proposal_id>/accept",
           f"/api/v1/actions/proposals/{accepted}/accept", {"version": 1})
    yield ("POST", "/api/v1/actions/proposals/<int:proposal_id>/dismiss",
           f"/api/v1/actions/proposals/{dismissed}/dismiss", {"reason": "继续观察", "version": 1})

    yield "POST", "/api/v1/survey-campaigns", "/api/v1/survey-campaigns", {
        "project": "P1", "year": world.today.year, "period": "上半年", "households": 100, "distributed": 10,
        "distributed_on": day, "category_ids": ["security"]}
    campaign = ok(world, "POST", "/api/v1/survey-campaigns", {
        "project": "P1", "year": world.today.year, "period": "下半年", "distributed": 10, "distributed_on": day})
    yield ("POST", "/api/v1/survey-campaigns/<int:campaign_id>/responses",
           f"/api/v1/survey-campaigns/{campaign['id']}/responses",
           {"overall": 4, "ratings": {"security": 3}, "room": "1-101", "comments": "很好", "source": "paper"})
    yield "POST", "/api/v1/meetings", "/api/v1/meetings", {
        "project": "P1", "held_on": day, "title": "业委会例会", "location": "会议室", "attendees": ["张三", "李四"],
        "staff": ["clerk"], "topics": "车库照明", "minutes": "## 纪要\n- 照明",
        "issues": [{"description": "灯管损坏", "category": "security"}]}
    yield "POST", "/api/v1/caring-services", "/api/v1/caring-services", {
        "project": "P1", "served_on": day, "staff": "clerk", "household": "1-1-101", "service": "代缴费用",
        "minutes": 20, "owner_comment": "谢谢"}
    # Attachments are uploaded as multipart (their file names: test_bad_file_names_are_refused_at_upload);
    # voiding one takes JSON.
    for record, url in (("complaints", "/api/v1/complaints/{}".format(
            ok(world, "POST", "/api/v1/complaints", complaint_body(world))["id"])),
                        ("meetings", "/api/v1/meetings/{}".format(ok(world, "POST", "/api/v1/meetings", {
                            "project": "P1", "held_on": day, "title": "签字纪要"})["id"]))):
        made = upload(world, url + "/attachments", "签字纪要.pdf")
        assert made.status_code == 201, made.get_json()
        yield ("POST", f"/api/v1/{record}/<int:record_id>/attachments/<int:attachment_id>/void",
               f"{url}/attachments/{made.get_json()['id']}/void", {"reason": "传错了文件"})


PDF = b"%PDF-1.7\n" + b"0" * 200 + b"\n%%EOF\n"


def upload(world, url, filename, token=None):
    """A multipart upload of a small PDF."""
    import io

    return world.http.post(url, headers={"Authorization": f"Bearer {token or world.token}"},
                           data={"file": (io.BytesIO(PDF), filename)}, content_type="multipart/form-data")


def test_bad_file_names_are_refused_at_upload(world):
    ids = record_ids(world)["P1"]
    before = row_counts(world.app)
    for url in (f"/api/v1/complaints/{ids['complaint']}/attachments", f"/api/v1/meetings/{ids['meeting']}/attachments"):
        for name in ("纪要\x07.pdf", "纪要\x00.pdf", "\u202e纪要fdp.exe" + "\x1b.pdf"):
            r = upload(world, url, name)
            assert r.status_code == 400 and "file" in r.get_json()["errors"], (url, name, r.get_json())
    assert row_counts(world.app) == before


def test_bad_text_in_any_field_of_any_record_write_is_a_400_naming_it_and_writes_nothing(world):
    covered = set()
    for method, rule, url, body, *token in _write_cases(world):
        token = token[0] if token else None
        before = row_counts(world.app)
        for path, name in leaves(body):
            for label, encode in BAD_TEXT.items():
                r = send(world, method, url, data=encode(replaced(body, path, PLACEHOLDER)), token=token)
                assert r.status_code == 400, (label, method, url, name, r.status_code, r.get_data(as_text=True))
                assert name in r.get_json()["errors"], (label, method, url, name, r.get_json())
        assert row_counts(world.app) == before, (method, url)
        ok(world, method, url, body, token=token)  # the same body, clean, is accepted: the 400s were the bad text's
        covered.add((method, rule))
    writes = {(m, r.rule) for r in world.app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
              and not r.endpoint.startswith(("publishing_api.", "reviews_api."))  # their own tests
              and not r.endpoint.endswith(".attachments_upload")  # multipart: test_bad_file_names_are_refused_at_upload
              for m in r.methods & {"POST", "PUT", "PATCH"}}
    assert writes == covered, writes ^ covered


# --------------------------------------------------------------- item 12: other projects are 404


def test_another_projects_records_are_404_like_missing_ones(world):
    from tests.conftest import Client

    ids = record_ids(world)
    clerk = Client(world.app)
    clerk.login("clerk")
    clerk.get("/")
    theirs, missing = ids["P2"], {k: 987654 for k in ids["P2"]}
    api = {"complaint": "/api/v1/complaints/{}", "action": "/api/v1/actions/{}",
           "campaign": "/api/v1/survey-campaigns/{}", "campaign_responses": "/api/v1/survey-campaigns/{}/responses"}
    pages = {"complaint": "/satisfaction/complaints/{}", "action": "/actions/{}",
             "campaign": "/satisfaction/surveys/{}", "caring": "/satisfaction/caring/{}",
             "meeting": "/satisfaction/meetings/{}"}
    for kind, url in api.items():
        key = kind.split("_")[0]
        r, r_missing = clerk.api("GET", url.format(theirs[key])), clerk.api("GET", url.format(missing[key]))
        assert r.status_code == 404 and r_missing.status_code == 404, (kind, r.get_json())
    for kind, url in pages.items():
        assert clerk.get(url.format(theirs[kind])).status_code == 404, kind
    writes = [("POST", f"/api/v1/actions/{theirs['action']}/transitions/analyse", {"cause_analysis": "x"}),
              ("POST", f"/api/v1/complaints/{theirs['complaint']}/transitions", {"action": "acknowledge"}),
              ("POST", f"/api/v1/survey-campaigns/{theirs['campaign']}/responses", {"overall": 5})]
    before = row_counts(world.app)
    for method, url, body in writes:
        assert clerk.api(method, url, json=body).status_code == 404, url
    # Creating in another project and in one that does not exist: the same answer, word for word.
    day = (world.today - timedelta(days=1)).isoformat()
    for url, body in (("/api/v1/actions", {"kind": "corrective", "title": "越权"}),
                      ("/api/v1/survey-campaigns", {"year": world.today.year}),
                      ("/api/v1/caring-services", {"served_on": day, "household": "1", "service": "x", "minutes": 5}),
                      ("/api/v1/meetings", {"held_on": day, "title": "x"}),
                      ("/api/v1/complaints", {k: v for k, v in complaint_body(world).items() if k != "project"})):
        for theirs_, unknown in (({"project": "P2"}, {"project": "NOPE"}),
                                 ({"project_id": world.p2}, {"project_id": 987654})):
            r, r_unknown = (clerk.api("POST", url, json={**body, **project}) for project in (theirs_, unknown))
            assert r.status_code in (400, 404), (url, theirs_, r.get_json())
            assert (r.status_code, r.get_json()) == (r_unknown.status_code, r_unknown.get_json()), url
    assert row_counts(world.app) == before
    # The monthly summary of another project, and of an unknown one.
    assert clerk.api("GET", "/api/v1/complaint-summary?project=P2").status_code == 404
    assert clerk.api("GET", "/api/v1/complaint-summary?project=NOPE").status_code == 404
    assert clerk.get(f"/satisfaction/complaints/summary?project={world.p2}").status_code == 404


# ------------------------------------------------------- item 12: unknown fields and filters


def _fill(rule: str, ids: dict) -> str:
    values = {"entry_id": ids["complaint"], "action_id": ids["action"], "campaign_id": ids["campaign"],
              "proposal_id": ids["proposal"], "record_id": ids["complaint"], "attachment_id": 1,
              "code": "QP-CS-001", "ref": "A-0", "name": "analyse", "number": "R-2026-999"}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def test_unknown_query_parameters_and_body_fields_are_refused_by_every_api_endpoint(world):
    ids = record_ids(world)["P1"]
    before = row_counts(world.app)
    checked = 0
    for rule in world.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        url = _fill(rule.rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = send(world, method, url + "?bogus_filter=1", {} if method != "GET" else None)
            assert r.status_code == 400, (method, url, r.status_code, r.get_json())
            assert list(r.get_json()["errors"]) == ["bogus_filter"], (method, url, r.get_json())
            if method != "GET":
                r = send(world, method, url, {UNKNOWN: 1, "x" * 200: 2})
                assert r.status_code == 400, (method, url, r.status_code, r.get_json())
                errors = r.get_json()["errors"]
                assert UNKNOWN in errors and any(k.startswith("xxx") and len(k) < 100 for k in errors), errors
                assert UNKNOWN in r.get_json()["message"]
            checked += 1
    assert checked >= 30
    assert row_counts(world.app) == before
    # ?lang= (the language of messages) is the one parameter every endpoint takes.
    assert send(world, "GET", "/api/v1/me?lang=en").status_code == 200
    r = send(world, "POST", "/api/v1/actions?lang=en", {"kind": "corrective", "title": "x", "project": "P1",
                                                        UNKNOWN: 1})
    assert r.status_code == 400 and r.get_json()["message"].startswith(f"Unknown field: {UNKNOWN}.")
    ok(world, "POST", "/api/v1/actions?lang=en", {"kind": "corrective", "title": "x", "project": "P1"})


def test_step_fields_are_refused_on_other_steps_and_many_unknown_names_give_one_short_answer(world):
    ids = record_ids(world)["P1"]
    before = row_counts(world.app)
    r = send(world, "POST", f"/api/v1/actions/{ids['action']}/transitions/analyse",
             {"cause_analysis": "x", "planned_action": "y", "responsible_department": "ENG", "action_taken": "z"})
    assert r.status_code == 400 and list(r.get_json()["errors"]) == ["action_taken"]
    r = send(world, "POST", f"/api/v1/complaints/{ids['complaint']}/transitions",
             {"action": "acknowledge", "handling_satisfaction": "satisfied"})
    assert r.status_code == 400 and list(r.get_json()["errors"]) == ["handling_satisfaction"]
    # Kind and project cannot change after entry: not accepted by PATCH.
    r = send(world, "PATCH", f"/api/v1/complaints/{ids['complaint']}", {"version": 1, "project": "P2"})
    assert r.status_code == 400 and list(r.get_json()["errors"]) == ["project"]
    r = send(world, "POST", "/api/v1/caring-services", {f"f{i}": i for i in range(10_000)})
    assert r.status_code == 400 and len(r.get_json()["errors"]) == 20 and len(r.get_json()["message"]) < 1000
    assert row_counts(world.app) == before


def test_the_openapi_document_lists_exactly_what_each_endpoint_accepts(world):
    from actions.api import STEP_BODY
    from api.openapi import property_names as declared
    from satisfaction.complaints.service import ACTION_FIELDS

    def property_names(declaration):  # the document is the app's: names are read in its context
        with world.app.app_context():
            return declared(declaration)

    assert set().union(*STEP_BODY.values()) == property_names("ActionTransition")
    assert {"action", "version", "note"}.union(*ACTION_FIELDS.values()) == property_names("ComplaintTransition")
    ids = record_ids(world)["P1"]
    spec = ok(world, "GET", "/api/v1/openapi.json")
    unknown_param = send(world, "GET", "/api/v1/actions?bogus=1").get_json()["errors"]["bogus"]
    unknown_field = send(world, "POST", "/api/v1/actions", {"bogus": 1}).get_json()["errors"]["bogus"]
    rules = {re.sub(r"<(?:\w+:)?\w+>", "{}", r.rule): r.rule for r in world.app.url_map.iter_rules()}
    before = row_counts(world.app)
    for path, item in spec["paths"].items():
        rule = rules["/api/v1" + re.sub(r"{\w+}", "{}", path)]
        url = _fill(rule, ids)
        for method, op in item.items():
            if method == "parameters":
                continue
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    r = send(world, method.upper(), f"{url}?{param['name']}=1", {} if method != "get" else None)
                    errors = (r.get_json() or {}).get("errors", {})
                    assert errors.get(param["name"]) != unknown_param, (method, path, param["name"])
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if not content or path.endswith("/void"):  # voiding is tested apart: it would void the record
                continue
            fields = property_names(content["schema"])
            if path.endswith("/transitions/{name}"):
                fields = STEP_BODY["analyse"]
            elif path.endswith("/transitions"):
                fields = ("action", "version", "note")
            for name in fields:
                if name in ("action", "version", "effective", "new_edition"):
                    continue
                r = send(world, method.upper(), url, {name: "\u2009"})
                errors = (r.get_json() or {}).get("errors", {})
                assert errors.get(name) != unknown_field, (method, path, name)
    assert row_counts(world.app) == before


# ----------------------------------------------------------- item 12: project code or project id


def test_project_code_and_project_id_are_accepted_alike_in_bodies_and_filters(world):
    day = (world.today - timedelta(days=1)).isoformat()
    record_ids(world)
    by_code = ok(world, "POST", "/api/v1/survey-campaigns", {"project": "P1", "year": world.today.year,
                                                              "period": "A", "distributed": 5, "distributed_on": day})
    by_id = ok(world, "POST", "/api/v1/survey-campaigns", {"project_id": world.p2, "year": world.today.year,
                                                            "period": "B"})
    assert by_code["project"]["code"] == "P1" and by_id["project"]["code"] == "P2"
    both = send(world, "POST", "/api/v1/survey-campaigns", {"project": "P1", "project_id": world.p2,
                                                             "year": world.today.year, "period": "x"})
    assert both.status_code == 400 and "project" in both.get_json()["errors"]
    for url in ("/api/v1/survey-campaigns", "/api/v1/actions", "/api/v1/complaints", "/api/v1/meetings",
                "/api/v1/caring-services"):
        everything = ok(world, "GET", url)["items"]
        assert {i["project"]["code"] for i in everything} == {"P1", "P2"}, url
        for query in (f"project_id={world.p1}", "project=P1", f"project=P1&project_id={world.p1}"):
            codes = {i["project"]["code"] for i in ok(world, "GET", f"{url}?{query}")["items"]}
            assert codes == {"P1"}, (url, query, codes)
        for query in ("project=NOPE", f"project=P1&project_id={world.p2}", "project_id=987654",
                      "project_id=99999999999999999999"):
            assert ok(world, "GET", f"{url}?{query}")["items"] == [], (url, query)
        r = send(world, "GET", f"{url}?project_id=P1")
        assert r.status_code == 400 and "project_id" in r.get_json()["errors"]


# ------------------------------------------------------------------ rule (b): dates in range


def _action_id(world):
    return ok(world, "POST", "/api/v1/actions", {"kind": "corrective", "project": "P1", "title": "x"})["id"]


def _complaint_patch(world, received_at):
    complaint = ok(world, "POST", "/api/v1/complaints", complaint_body(world))
    return "PATCH", f"/api/v1/complaints/{complaint['id']}", {"version": complaint["version"],
                                                              "received_at": received_at}


def _caring(served_on):
    return {"project": "P1", "served_on": served_on, "household": "1", "service": "x", "minutes": 5}


#: (id, request(world, lo, hi) -> (method, url, body), the field the 400 names); lo and hi are the date bounds.
OUT_OF_RANGE_WRITES = [
    ("action due_on 9999", lambda w, lo, hi: (
        "POST", "/api/v1/actions", {"kind": "corrective", "project": "P1", "title": "x", "due_on": "9999-12-31"}),
     "due_on"),
    ("action due_on after the range", lambda w, lo, hi: (
        "POST", "/api/v1/actions", {"kind": "corrective", "project": "P1", "title": "x",
                                    "due_on": (hi + timedelta(days=1)).isoformat()}), "due_on"),
    ("action analysed with due_on 9999", lambda w, lo, hi: (
        "POST", f"/api/v1/actions/{_action_id(w)}/transitions/analyse",
        {"cause_analysis": "x", "planned_action": "y", "responsible_department": "ENG", "due_on": "9999-12-31"}),
     "due_on"),
    ("caring served_on 0001", lambda w, lo, hi: ("POST", "/api/v1/caring-services", _caring("0001-01-01")),
     "served_on"),
    ("caring served_on before the range", lambda w, lo, hi: (
        "POST", "/api/v1/caring-services", _caring((lo - timedelta(days=1)).isoformat())), "served_on"),
    ("meeting held_on 0001", lambda w, lo, hi: (
        "POST", "/api/v1/meetings", {"project": "P1", "held_on": "0001-01-01", "title": "x"}), "held_on"),
    ("complaint received_at 0001 with offset", lambda w, lo, hi: (
        "POST", "/api/v1/complaints", complaint_body(w, received_at="0001-01-01T00:00:00+08:00")), "received_at"),
    ("complaint received_at 0001 naive", lambda w, lo, hi: (
        "POST", "/api/v1/complaints", complaint_body(w, received_at="0001-01-01T00:00:00")), "received_at"),
    ("complaint received_at 9999 with offset", lambda w, lo, hi: (
        "POST", "/api/v1/complaints", complaint_body(w, received_at="9999-12-31T23:59:59-08:00")), "received_at"),
    ("complaint received_at 1999", lambda w, lo, hi: (
        "POST", "/api/v1/complaints", complaint_body(w, received_at="1999-12-31T12:00:00")), "received_at"),
    ("complaint changed to received_at 0001", lambda w, lo, hi: _complaint_patch(w, "0001-01-01T00:00+08:00"),
     "received_at"),
    ("survey distributed_on 1999", lambda w, lo, hi: (
        "POST", "/api/v1/survey-campaigns", {"project": "P1", "year": w.today.year, "distributed": 5,
                                             "distributed_on": "1999-12-31"}), "distributed_on"),
    ("survey year before the range", lambda w, lo, hi: (
        "POST", "/api/v1/survey-campaigns", {"project": "P1", "year": lo.year - 1}), "year"),
    ("survey year 9999", lambda w, lo, hi: (
        "POST", "/api/v1/survey-campaigns", {"project": "P1", "year": 9999}), "year"),
]


@pytest.mark.parametrize(("write", "field"), [pytest.param(write, field, id=name.replace(" ", "-"))
                                               for name, write, field in OUT_OF_RANGE_WRITES])
def test_a_record_date_out_of_range_is_refused_by_the_api(world, write, field):
    method, url, body = write(world, *world.bounds)
    before = row_counts(world.app)
    r = send(world, method, url, body)
    assert r.status_code == 400 and field in r.get_json()["errors"], (url, body, r.status_code, r.get_json())
    assert row_counts(world.app) == before


@pytest.mark.parametrize(("query", "field"), [
    ("from=9999-12-31", "from"), ("to=9999-12-31", "to"), ("month=9999-12", "month"), ("to=0001-01-01", "to"),
    ("after=99999999999999999999.1", "cursor")])
def test_a_list_filter_or_page_link_out_of_range_is_a_field_message(world, query, field):
    """Filters and page links: a date out of range is a field message, never an overflow."""
    r = send(world, "GET", f"/api/v1/complaints?{query}")
    assert r.status_code == 400 and field in r.get_json()["errors"], (query, r.get_json())


def test_a_summary_month_out_of_range_is_refused(world):
    before = row_counts(world.app)
    assert send(world, "GET", "/api/v1/complaint-summary?month=9999-12").status_code == 400
    assert row_counts(world.app) == before


def test_an_action_due_on_the_last_day_of_the_range_is_accepted_and_not_overdue(world):
    hi = world.bounds[1]
    far = ok(world, "POST", "/api/v1/actions", {"kind": "preventive", "project": "P1", "title": "远期",
                                                 "due_on": hi.isoformat()})
    assert far["due_on"] == hi.isoformat() and not far["overdue"]
    assert ok(world, "GET", "/api/v1/actions?overdue=1")["items"] == []


def test_a_caring_service_on_the_first_day_of_the_range_is_accepted_and_reported(world):
    lo = world.bounds[0]
    ok(world, "POST", "/api/v1/caring-services", _caring(lo.isoformat()))
    ok(world, "GET", f"/api/v1/caring-services/monthly?year={lo.year}")


def test_a_meeting_held_yesterday_is_accepted(world):
    day = (world.today - timedelta(days=1)).isoformat()
    ok(world, "POST", "/api/v1/meetings", {"project": "P1", "held_on": day, "title": "y"})


def test_record_dates_out_of_range_are_refused_by_the_forms(world, client):
    from satisfaction.categories import list_categories

    client.login("boss")
    client.get("/")
    with world.app.app_context():
        from accounts.models import User

        boss = db.session.execute(sa.select(User.id).where(User.login == "boss")).scalar()
        cats = [str(c.id) for c in list_categories()][:1]
    before = row_counts(world.app)
    forms = [
        ("/actions/new", {"kind": "corrective", "project_id": str(world.p1), "title": "x",
                          "due_on": "9999-12-31"}),
        ("/satisfaction/caring/new", {"project_id": str(world.p1), "served_on": "0001-01-01", "staff_id": str(boss),
                                      "household": "1", "service": "x", "minutes": "5"}),
        ("/satisfaction/complaints/new", {"kind": "complaint", "project_id": str(world.p1), "channel": "phone",
                                          "category": "security", "severity": "normal", "description": "x",
                                          "handler_id": "", "department_id": "", "received_at": "0001-01-01T00:00"}),
        ("/satisfaction/surveys/new", {"project_id": str(world.p1), "year": str(world.today.year),
                                       "distributed": "5", "distributed_on": "1999-12-31", "category_ids": cats}),
        ("/satisfaction/meetings/new", {"project_id": str(world.p1), "held_on": "0001-01-01", "title": "x"}),
    ]
    for url, data in forms:
        client.get(url)
        r = client.post(url, data)
        html = r.get_data(as_text=True)
        assert r.status_code == 400, (url, r.status_code)
        assert world.bounds[0].isoformat() in html and world.bounds[1].isoformat() in html, url
    assert client.get("/satisfaction/complaints/?to=9999-12-31").status_code == 400
    assert client.get("/satisfaction/complaints/summary?month=9999-12").status_code == 400
    assert client.get("/satisfaction/surveys/?year=99999999999999999999").status_code == 200
    assert row_counts(world.app) == before


def test_the_date_range_is_a_setting(world):
    world.app.config.update(DATE_EARLIEST="2010-01-01", DATE_YEARS_AHEAD=1)
    body = {"project": "P1", "household": "1", "service": "x", "minutes": 5}
    r = send(world, "POST", "/api/v1/caring-services", {**body, "served_on": "2009-12-31"})
    assert r.status_code == 400 and "2010-01-01" in r.get_json()["errors"]["served_on"][0]
    ok(world, "POST", "/api/v1/caring-services", {**body, "served_on": "2010-01-01"})
    latest = date(world.today.year + 1, 12, 31)
    action = {"kind": "preventive", "project": "P1", "title": "x"}
    r = send(world, "POST", "/api/v1/actions", {**action, "due_on": (latest + timedelta(days=1)).isoformat()})
    assert r.status_code == 400 and latest.isoformat() in r.get_json()["errors"]["due_on"][0]
    ok(world, "POST", "/api/v1/actions", {**action, "due_on": latest.isoformat()})

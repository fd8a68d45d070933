"""The review workflow over JSON (/api/v1/reviews): the whole cycle, lists and filters, and the errors —
illegal moves and stale versions (409), stale signatures (409), wrong passwords (400), people who may not
(403), unknown reviews (404), bad JSON types (400). Every answer is checked against the OpenAPI document."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from openapi_spec_validator import validate

from tests.conftest import PASSWORD, Client
from tests.factories_publishing import BODY, procedure_text, self_approval, user
from tests.factories_workflow import as_user, open_review, seed_people, seed_procedure
from webapp.dates import local_today
from webapp.store import get_store

API = "/api/v1/reviews"
CODE = "QP-CS-001"
NEW_TEXT = procedure_text(body=BODY + "\n4.3 投诉处理完毕后三日内回访，并记录顾客评价。\n")
PEOPLE = [{"login": "manager", "category": "management"}, {"login": "head", "category": "dept_head"},
          {"login": "front", "category": "frontline"}, {"login": "owner", "category": "customer_rep"}]


@pytest.fixture
def people(app, make_user, make_department):
    return seed_people(app, make_user, make_department)



def token_of(c: Client) -> str:
    c.get("/profile")
    html = c.post("/profile/tokens", {"tk-name": "script"}).get_data(as_text=True)
    return re.search(r'<code class="token">([^<]+)</code>', html).group(1)


def get(c, number, what=""):
    r = c.api("GET", f"{API}/{number}{what}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def move(c, number, target, **extra):
    return c.api("POST", f"{API}/{number}/move", json={"target": target, "version": get(c, number)["version"],
                                                        **extra})


def create(c, **body):
    return c.api("POST", API, json={"kind": "incident", "codes": [CODE], "reason": "投诉反映回访不及时", **body})


def save(c, number, text=NEW_TEXT, parent=None, code=CODE, **extra):
    return c.api("PUT", f"{API}/{number}/drafts/{code}", json={"markdown": text, "parent": parent, **extra})


def test_the_whole_cycle_over_the_api(people):
    app = people
    chair, front, owner, head, manager = (as_user(app, u) for u in ("controller", "front", "owner", "head", "manager"))

    # open: the caller chairs; 201 with the review and where it lives
    r = create(chair, participants=PEOPLE, title="回访时限评审")
    assert r.status_code == 201, r.get_json()
    review = r.get_json()
    number = review["number"]
    assert r.headers["Location"].endswith(f"{API}/{number}")
    assert (review["kind"], review["state"], review["chair"], review["title"]) == \
        ("incident", "propose", "controller", "回访时限评审")
    assert {p["login"]: p["category"] for p in review["participants"]} == {
        "controller": "management", "manager": "management", "head": "dept_head", "front": "frontline",
        "owner": "customer_rep"}
    assert review["items"] == [{"code": CODE, "title": "顾客满意控制作业规程", "version_before": "A/0",
                                "decision": None, "decision_reason": "", "version_after": None}]
    assert review["triggers"][0]["source_type"] == "person" and review["triggers"][0]["reason"] == "投诉反映回访不及时"
    assert review["draft"] == {"branch": None, "base_commit": None, "tip": None}
    assert review["approval"]["met"] is False and review["allowed_transitions"] == ["discuss"]
    assert review["links"]["html"] == f"/reviews/{number}" and review["can_run"] is True

    # propose: the frontline participant saves a draft (no parent: there was no draft yet)
    drafts = get(front, number, "/drafts")
    assert drafts["tip"] is None and drafts["commits"] == []
    assert drafts["items"] == [{"code": CODE, "title": "顾客满意控制作业规程", "changed": False}]
    assert "markdown" in get(front, number, f"/drafts?code={CODE}")["items"][0]
    r = save(front, number, summary="增加回访要求")
    assert r.status_code == 200, r.get_json()
    first = r.get_json()["tip"]
    assert r.get_json()["file"]["changed"] is True and "4.3 投诉处理完毕后三日内回访" in r.get_json()["file"]["markdown"]
    drafts = get(front, number, "/drafts")
    assert drafts["tip"] == first and drafts["items"][0]["changed"] is True
    assert [(c["sha"], c["author"]) for c in drafts["commits"]] == [(first, "客服专员 王芳")]
    # someone who started before that save gets both texts, and nothing is written
    r = save(head, number, procedure_text(body=BODY + "\n4.3 另一种写法。\n"))
    assert r.status_code == 409
    details = r.get_json()["details"]
    assert details["current"] == first and "三日内回访" in details["theirs"]["markdown"]
    assert "另一种写法" in details["yours"]["markdown"]
    assert get(front, number, "/drafts")["tip"] == first

    # discuss: anchored comments (a clause, a quote) and a reply
    assert move(chair, number, "discuss", note="进入讨论").status_code == 200
    r = owner.api("POST", f"{API}/{number}/comments", json={"body": "建议明确措施期限", "code": CODE, "clause": "4.2"})
    assert r.status_code == 201, r.get_json()
    on_clause = r.get_json()
    assert on_clause["anchor"]["clause"] == "4.2" and on_clause["anchor"]["commit"] == first
    assert on_clause["location"]["clause"] == "4.2" and on_clause["outdated"] is False
    r = head.api("POST", f"{API}/{number}/comments", json={"body": "三日是否太紧？", "code": CODE, "quote": "三日内回访"})
    assert r.status_code == 201, r.get_json()
    on_quote = r.get_json()
    r = manager.api("POST", f"{API}/{number}/comments", json={"body": "同意", "parent_id": on_clause["id"]})
    assert r.status_code == 201 and r.get_json()["parent_id"] == on_clause["id"] and r.get_json()["anchor"] is None
    # the quoted text goes: that comment is outdated, the clause comment still found
    second = save(front, number, NEW_TEXT.replace("三日内回访", "两个工作日内回访"), parent=first).get_json()["tip"]
    thread = get(owner, number, "/comments")
    assert thread["commit"] == second
    roots = {c["id"]: c for c in thread["items"]}
    assert roots[on_clause["id"]]["outdated"] is False and roots[on_clause["id"]]["location"]["clause"] == "4.2"
    assert [x["body"] for x in roots[on_clause["id"]]["replies"]] == ["同意"]
    assert roots[on_quote["id"]]["outdated"] is True and roots[on_quote["id"]]["location"] is None
    assert roots[on_quote["id"]]["anchor"]["quote"] == "三日内回访"

    # decide: signatures with the password, bound to the draft commit, also with an API token
    assert move(chair, number, "decide").status_code == 200
    anonymous, token = app.test_client(), token_of(manager)
    bearer = {"Authorization": f"Bearer {token}"}

    def sign_with_token(**body):
        return anonymous.post(f"{API}/{number}/signoffs", headers=bearer, json={
            "meaning": "approved", "commit": second, **body})

    for wrong in ({"password": "wrong"}, {}):
        r = sign_with_token(**wrong)
        assert r.status_code == 400 and "password" in r.get_json()["errors"]
    assert sign_with_token(password=PASSWORD, commit=first).status_code == 409  # a commit the draft left behind
    r = sign_with_token(password=PASSWORD)
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["login"], r.get_json()["category"], r.get_json()["valid"]) == ("manager", "management", True)
    r = head.api("POST", f"{API}/{number}/signoffs", json={"meaning": "approved", "password": PASSWORD,
                                                            "commit": second})
    assert r.status_code == 201
    listed = get(chair, number, "/signoffs")
    assert listed["commit"] == second and [s["valid"] for s in listed["items"]] == [True, True]
    assert listed["approval"] == {"met": True, "approvals": {"management": 1, "dept_head": 1}, "missing": {},
                                  "rejections": 0, "commit": second}
    r = chair.api("POST", f"{API}/{number}/decision", json={
        "decisions": {CODE: {"decision": "revise", "reason": "采纳草稿"}}, "summary": "采纳草稿",
        "version": get(chair, number)["version"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["items"][0]["decision"] == "revise" and r.get_json()["decision_summary"] == "采纳草稿"
    assert move(chair, number, "implement").status_code == 200

    # implement with a future effective date: closed, with the new version and the change record
    effective = local_today() + timedelta(days=3)
    r = chair.api("POST", f"{API}/{number}/implementation", json={"effective": effective.isoformat(),
                                                                    "version": get(chair, number)["version"]})
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert done["state"] == "closed" and done["closed_at"] and done["effective_on"] == effective.isoformat()
    assert done["items"][0]["version_after"] == "A/1" and done["links"]["record"] == f"/reviews/{number}/record"
    with app.app_context():
        assert get_store().head() == done["result_commit"]
        assert number in get_store().read(done["record_path"], "main").text
    assert [x["number"] for x in chair.api("GET", f"{API}?state=closed").get_json()["items"]] == [number]


def test_a_release_conflict_is_409_and_the_chair_merges_through_the_draft(people):
    app = people
    chair, front, manager, head = (as_user(app, u) for u in ("controller", "front", "manager", "head"))
    number = create(chair, participants=PEOPLE).get_json()["number"]
    save(front, number)
    move(chair, number, "discuss")
    move(chair, number, "decide")
    tip = get(chair, number)["draft"]["tip"]
    for c in (manager, head):
        c.api("POST", f"{API}/{number}/signoffs", json={"meaning": "approved", "password": PASSWORD, "commit": tip})
    chair.api("POST", f"{API}/{number}/decision", json={"decisions": {CODE: {"decision": "revise"}}})
    assert move(chair, number, "implement").status_code == 200
    with app.app_context(), self_approval(app):  # main changes the same place meanwhile
        from procedures.publishing import service as publishing
        publishing.publish(CODE, procedure_text(body=BODY + "\n4.3 主线上的另一条款。\n"), summary="主线修改",
                           base=get_store().head(), author=user("controller"), approved_by=None)
    r = chair.api("POST", f"{API}/{number}/implementation", json={"effective": local_today().isoformat()})
    assert r.status_code == 409 and r.get_json()["details"]["paths"] == [CODE]
    assert get(chair, number)["state"] == "implement"
    # only the chair merges; the merge voids the signatures and goes back to the decision
    merged = procedure_text(body=BODY + "\n4.3 投诉处理完毕后三日内回访，并记录顾客评价。\n\n4.4 主线上的另一条款。\n")
    assert save(front, number, merged).status_code == 403
    r = save(chair, number, merged)
    assert r.status_code == 200, r.get_json()
    review = get(chair, number)
    assert review["state"] == "decide" and review["draft"]["tip"] == r.get_json()["tip"]
    assert review["approval"]["met"] is False
    assert [s["valid"] for s in get(chair, number, "/signoffs")["items"]] == [False, False]


def test_lists_filter_and_page(people, make_user):
    app = people
    for code in ("QP-CS-002", "QP-CS-003"):
        seed_procedure(app, code)
    first = open_review(app, (CODE,))
    periodic = open_review(app, ("QP-CS-002",), kind="periodic")
    cancelled = open_review(app, ("QP-CS-003",))
    chair = as_user(app, "controller")
    r = chair.api("POST", f"{API}/{cancelled}/cancel", json={"reason": "重复"})
    assert r.status_code == 200 and r.get_json()["state"] == "cancelled" and r.get_json()["cancel_reason"] == "重复"

    def numbers(query=""):
        r = chair.api("GET", f"{API}{query}")
        assert r.status_code == 200, r.get_json()
        return [x["number"] for x in r.get_json()["items"]]

    assert numbers() == [cancelled, periodic, first]  # newest first
    assert numbers("?state=open") == [periodic, first]
    assert numbers("?state=propose") == [periodic, first]
    assert numbers("?state=cancelled") == [cancelled]
    assert numbers("?state=closed") == []
    assert numbers("?kind=periodic") == [periodic]
    assert numbers("?procedure=qp-cs-002") == [periodic]
    assert numbers("?procedure=QP-NONE") == []
    assert numbers("?state=open&kind=incident") == [first]
    page = chair.api("GET", f"{API}?per_page=2&page=1").get_json()
    assert (len(page["items"]), page["page"], page["per_page"], page["has_next"]) == (2, 1, 2, True)
    page = chair.api("GET", f"{API}?per_page=2&page=2").get_json()
    assert [x["number"] for x in page["items"]] == [first] and page["has_next"] is False
    item = page["items"][0]
    assert item["codes"] == [CODE] and item["chair"] == "controller" and "participants" not in item
    for bad in ("?state=done", "?kind=weekly", "?sort=number"):
        r = chair.api("GET", f"{API}{bad}")
        assert r.status_code == 400 and r.get_json()["errors"], bad
    # reading needs the review permissions
    make_user("reader", roles=("reader",))
    reader = as_user(app, "reader")
    assert reader.api("GET", API).status_code == 403
    assert reader.api("GET", f"{API}/{first}").status_code == 403


def test_opening_refuses_what_it_should(people, make_user):
    app = people
    front = as_user(app, "front")
    assert create(front, kind="periodic").status_code == 403  # periodic reviews: managers and controllers
    for body, field in (({"codes": CODE}, "codes"), ({"codes": [1]}, "codes"), ({"codes": []}, "codes"),
                        ({"kind": 3}, "kind"), ({"kind": "weekly"}, "kind"), ({"chair": "nobody"}, "chair"),
                        ({"chair": "front"}, "chair"), ({"participants": "front"}, "participants"),
                        ({"participants": ["front"]}, "participants"),
                        ({"participants": [{"login": "nobody", "category": "frontline"}]}, "participants"),
                        ({"participants": [{"login": "head", "category": "boss"}]}, "participants"),
                        ({"participants": [{"login": "head", "category": "dept_head", "x": 1}]}, "x"),
                        ({"reason": ""}, "reason"), ({"reason": ["x"]}, "reason"), ({"colour": "red"}, "colour")):
        r = create(front, **body)
        assert r.status_code == 400 and field in r.get_json().get("errors", {}), (body, r.get_json())
    r = front.api("POST", API, data="not json", content_type="application/json")
    assert r.status_code == 400
    # a participant may open an incident review; without a chair of their own, the default chair runs it
    r = create(front, participants=[{"login": "front", "category": "frontline"}])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["chair"] == "controller" and r.get_json()["can_run"] is False
    r = create(as_user(app, "manager"))
    assert r.status_code == 409 and r.get_json()["error"] == "conflict"  # one open review per procedure


def test_steps_refuse_what_they_should(people, make_user):
    app = people
    make_user("other", roles=("participant",), category="frontline")
    number = open_review(app)
    chair, front, other = (as_user(app, u) for u in ("controller", "front", "other"))
    url = f"{API}/{number}"

    assert chair.api("GET", f"{API}/R-2000-999").status_code == 404
    assert chair.api("POST", f"{API}/R-2000-999/move", json={"target": "discuss"}).status_code == 404
    assert chair.api("GET", f"{url}?verbose=1").status_code == 400
    # moves: only the chair, only what the cycle allows, only from the version read
    assert move(front, number, "discuss").status_code == 403
    assert move(chair, number, "implement").status_code == 409
    assert move(chair, number, "closed").status_code == 409
    assert move(chair, number, "cancelled").status_code == 409
    version = get(chair, number)["version"]
    assert chair.api("POST", f"{url}/move", json={"target": "discuss", "version": version + 1}).status_code == 409
    for body, field in (({"target": 5}, "target"), ({"target": "discuss", "version": "1"}, "version"),
                        ({"target": "discuss", "version": True}, "version"), ({}, "target"),
                        ({"target": "discuss", "when": "now"}, "when")):
        r = chair.api("POST", f"{url}/move", json=body)
        assert r.status_code == 400 and field in r.get_json()["errors"], (body, r.get_json())
    assert chair.api("POST", f"{url}/move", json=["discuss"]).status_code == 400
    # the session needs the CSRF header for writes
    assert chair.api("POST", f"{url}/move", json={"target": "discuss"}, csrf=False).status_code == 400

    # people: the chair adds, a login must exist
    r = chair.api("POST", f"{url}/participants", json={"login": "other", "category": "frontline"})
    assert r.status_code == 200 and "other" in {p["login"] for p in r.get_json()["participants"]}
    assert chair.api("POST", f"{url}/participants", json={"login": "nobody", "category": "frontline"}
                     ).status_code == 400
    assert chair.api("POST", f"{url}/participants", json={"login": "other", "category": "boss"}).status_code == 400
    assert front.api("POST", f"{url}/participants", json={"login": "head", "category": "dept_head"}
                     ).status_code == 403

    # comments: participants only; a reply to a comment that is not there
    make_user("outsider", roles=("participant",), category="frontline")
    outsider = as_user(app, "outsider")
    assert get(outsider, number)["can_take_part"] is False
    assert outsider.api("POST", f"{url}/comments", json={"body": "hi"}).status_code == 403
    assert front.api("POST", f"{url}/comments", json={"body": "hi", "parent_id": 10**12}).status_code == 404
    assert front.api("POST", f"{url}/comments", json={"body": "hi", "parent_id": "1"}).status_code == 400
    assert front.api("POST", f"{url}/comments", json={"body": ""}).status_code == 400
    assert front.api("POST", f"{url}/comments", json={"body": "x", "code": "QP-XX-9", "clause": "4.2"}
                     ).status_code == 404
    r = other.api("POST", f"{url}/comments", json={"body": "无锚点的评论"})
    assert r.status_code == 201 and "outdated" not in r.get_json()
    assert get(front, number, "/comments")["items"][0]["body"] == "无锚点的评论"

    # drafts: covered procedures only, valid procedures only, participants only
    assert front.api("GET", f"{url}/drafts?code=QP-XX-9").status_code == 404
    assert front.api("GET", f"{url}/drafts?codes={CODE}").status_code == 400
    assert save(front, number, code="QP-XX-9").status_code == 404
    r = save(front, number, "no front matter")
    assert r.status_code == 400 and "markdown" in r.get_json()["errors"]
    assert save(front, number, 42).status_code == 400
    assert save(front, number, parent=7).status_code == 400
    assert save(as_user(app, "outsider"), number).status_code == 403

    # sign-offs, decision, implementation: only in their step
    assert front.api("POST", f"{url}/signoffs", json={"meaning": "approved", "password": PASSWORD,
                                                      "commit": "0" * 40}).status_code == 409
    assert chair.api("POST", f"{url}/decision", json={"decisions": {CODE: {"decision": "no_change"}}}
                     ).status_code == 409
    assert chair.api("POST", f"{url}/implementation", json={}).status_code == 409
    for body, field in (({"decisions": []}, "decisions"), ({"decisions": {CODE: "revise"}}, f"decision_{CODE}"),
                        ({"decisions": {"QP-XX-9": {"decision": "revise"}}}, "decision_QP-XX-9"),
                        ({"decisions": {CODE: {"decision": "revise", "why": "x"}}}, "why")):
        r = chair.api("POST", f"{url}/decision", json=body)
        assert r.status_code == 400 and field in r.get_json()["errors"], (body, r.get_json())
    r = chair.api("POST", f"{url}/implementation", json={"effective": "tomorrow"})
    assert r.status_code == 400 and "effective" in r.get_json()["errors"]

    # cancelling: a reason; afterwards nothing moves
    assert chair.api("POST", f"{url}/cancel", json={"reason": ""}).status_code == 400
    assert front.api("POST", f"{url}/cancel", json={"reason": "x"}).status_code == 403
    assert chair.api("POST", f"{url}/cancel", json={"reason": "不再需要"}).status_code == 200
    assert move(chair, number, "discuss").status_code == 409
    assert chair.api("POST", f"{url}/cancel", json={"reason": "again"}).status_code == 409


def test_a_stale_signature_is_voided_and_shown_so(people):
    app = people
    number = open_review(app)
    chair, front, manager = (as_user(app, u) for u in ("controller", "front", "manager"))
    save(front, number)
    move(chair, number, "discuss")
    move(chair, number, "decide")
    first = get(chair, number)["draft"]["tip"]
    assert manager.api("POST", f"{API}/{number}/signoffs", json={"meaning": "approved", "password": PASSWORD,
                                                                 "commit": first}).status_code == 201
    with app.app_context():  # a push to the branch with plain git
        from repo_store import Signature
        get_store().commit({f"{CODE}.md": NEW_TEXT + "\n4.4 新增条款。\n"}, base=first, branch=f"reviews/{number}",
                           summary="push", author=Signature("git user", "git@example.com"))
    listed = get(chair, number, "/signoffs")
    assert listed["commit"] != first and listed["approval"]["approvals"] == {}
    (voided,) = listed["items"]
    assert voided["valid"] is False and voided["voided_at"] and voided["voided_reason"]
    r = manager.api("POST", f"{API}/{number}/signoffs", json={"meaning": "approved", "password": PASSWORD,
                                                              "commit": first})
    assert r.status_code == 409 and r.get_json()["details"]["current"] == listed["commit"]
    r = manager.api("POST", f"{API}/{number}/signoffs", json={"meaning": "rejected", "password": PASSWORD,
                                                              "commit": listed["commit"]})
    assert r.status_code == 400 and "reason" in r.get_json()["errors"]  # a rejection says why


def test_the_openapi_document_describes_the_review_api(people):
    doc = as_user(people, "controller").api("GET", "/api/v1/openapi.json").get_json()
    validate(doc)
    assert {"/reviews", "/reviews/{number}", "/reviews/{number}/move", "/reviews/{number}/cancel",
            "/reviews/{number}/participants", "/reviews/{number}/comments", "/reviews/{number}/drafts",
            "/reviews/{number}/drafts/{code}", "/reviews/{number}/signoffs", "/reviews/{number}/decision",
            "/reviews/{number}/implementation"} <= set(doc["paths"])
    assert set(doc["paths"]["/reviews/{number}/comments"]) == {"get", "post"}

"""The read API for procedures: list, one procedure with its text, versions, compare, search, OpenAPI."""
from __future__ import annotations

from datetime import date

import pytest

from tests.factories_procedures import APPROVER, commit_version
from webapp import dates


@pytest.fixture
def api(logged_in, monkeypatch):
    monkeypatch.setattr(dates, "local_today", lambda: date(2026, 11, 27))
    return logged_in("reader")


@pytest.fixture
def procedures(app):
    a0 = commit_version(app, "QP-CS-001", "A/0", effective="2026-01-01", body="## 1.0 目的\n\n三天内回访。\n")
    a1 = commit_version(app, "QP-CS-001", "A/1", effective="2026-06-01", summary="缩短回访时限",
                        body="## 1.0 目的\n\n两个工作日内回访。\n", review_id=3)
    a2 = commit_version(app, "QP-CS-001", "A/2", effective="2027-01-01", summary="明年生效")
    commit_version(app, "QP-ENV-001", "A/0", title="公共区域保洁作业规程", departments=("ENV",))
    return {"A/0": a0, "A/1": a1, "A/2": a2}


def test_list_with_filters(api, procedures):
    r = api.get("/api/v1/procedures")
    assert r.status_code == 200
    assert [p["code"] for p in r.json["items"]] == ["QP-CS-001", "QP-ENV-001"] and r.json["count"] == 2
    cs = r.json["items"][0]
    assert cs["version"] == "A/1" and cs["state"] == "current" and cs["revision"] == procedures["A/1"]
    assert cs["upcoming"] == {"version": "A/2", "effective": "2027-01-01", "revision": procedures["A/2"],
                              "ref": "A-2"}
    # Never reviewed: the review clock runs from the newest version's effective date (A/2, approved to take
    # effect on 2027-01-01, + 6 months), not from the first version.
    assert cs["approved_by"] == APPROVER and cs["next_review"] == "2027-07-01"
    env = api.get("/api/v1/procedures?department=ENV").json["items"]
    assert [p["code"] for p in env] == ["QP-ENV-001"]
    assert [p["code"] for p in api.get("/api/v1/procedures?status=upcoming").json["items"]] == ["QP-CS-001"]
    bad = api.get("/api/v1/procedures?status=nonsense")
    assert bad.status_code == 400 and bad.json["error"] == "bad_request" and "status" in bad.json["errors"]


def test_one_procedure_with_text_and_revision(api, procedures):
    r = api.get("/api/v1/procedures/QP-CS-001")
    assert r.status_code == 200
    body = r.json
    assert body["version"] == "A/1" and body["revision"] == procedures["A/1"] and body["review_id"] == 3
    assert body["markdown"].startswith("---\ncode: QP-CS-001\n") and "两个工作日内回访" in body["markdown"]
    assert "<p>两个工作日内回访。</p>" in body["html"]
    assert body["toc"][0]["text"] == "1.0 目的"
    again = api.get("/api/v1/procedures/QP-CS-001", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


def test_versions_and_one_version(api, procedures):
    r = api.get("/api/v1/procedures/QP-CS-001/versions")
    assert [(v["version"], v["state"]) for v in r.json["items"]] == [
        ("A/2", "upcoming"), ("A/1", "current"), ("A/0", "superseded")]
    old = api.get("/api/v1/procedures/QP-CS-001/versions/A-0").json
    assert old["superseded_by"] == "A/1" and "三天内回访" in old["markdown"] and old["revision"] == procedures["A/0"]
    by_sha = api.get(f"/api/v1/procedures/QP-CS-001/versions/{procedures['A/0'][:10]}")
    assert by_sha.status_code == 200 and by_sha.json["version"] == "A/0"


def test_compare(api, procedures):
    r = api.get("/api/v1/procedures/QP-CS-001/compare?from=A-0&to=A-1")
    assert r.status_code == 200
    body = r.json
    assert body["from"]["version"] == "A/0" and body["to"]["version"] == "A/1"
    assert body["inserted_chars"] > 0 and body["deleted_chars"] > 0
    ops = [(s["op"], s["text"]) for line in body["lines"] for s in line["segments"] if s["op"] != "equal"]
    assert ("delete", "三天") in ops and ("insert", "两个工作日") in ops
    assert '<del class="rl-del">三天</del>' in body["redline_html"]
    default = api.get("/api/v1/procedures/QP-CS-001/compare").json
    assert (default["from"]["version"], default["to"]["version"]) == ("A/0", "A/1")


def test_search(api, procedures):
    r = api.get("/api/v1/procedures/search?q=回访")
    assert r.status_code == 200 and [i["code"] for i in r.json["items"]] == ["QP-CS-001"]
    assert "<mark>回访</mark>" in r.json["items"][0]["snippets"][0]
    old = api.get("/api/v1/procedures/search?q=三天&all=1").json["items"]
    assert [(i["code"], i["version"]) for i in old] == [("QP-CS-001", "A/0")]
    assert api.get("/api/v1/procedures/search?q=三天").json["items"] == []
    assert api.get("/api/v1/procedures/search?q=").status_code == 400


@pytest.mark.parametrize("url", [
    "/api/v1/procedures/QP-XX-999", "/api/v1/procedures/QP-XX-999/versions",
    "/api/v1/procedures/QP-CS-001/versions/Z-1", "/api/v1/procedures/QP-CS-001/compare?from=Q-1",
])
def test_not_found_is_json(api, procedures, url):
    r = api.get(url)
    assert r.status_code == 404 and r.json["error"] == "not_found" and r.json["message"]


def test_token_auth_and_anonymous(app, client, make_user, procedures):
    make_user("robot")
    r = app.test_client().get("/api/v1/procedures")
    assert r.status_code == 401
    result = app.test_cli_runner().invoke(args=["users", "token", "robot"])
    token = result.output.strip().splitlines()[-1]
    r = client.api("GET", "/api/v1/procedures/QP-CS-001", token=token)
    assert r.status_code == 200 and r.json["code"] == "QP-CS-001"


def test_openapi_lists_the_read_paths(api):
    doc = api.get("/api/v1/openapi.json").json
    for path in ("/procedures", "/procedures/search", "/procedures/{code}", "/procedures/{code}/versions",
                 "/procedures/{code}/versions/{version}", "/procedures/{code}/compare"):
        assert "get" in doc["paths"][path], path
    assert "ProcedureText" in doc["components"]["schemas"]

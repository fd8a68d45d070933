"""The JSON API shell: token auth, session + CSRF header, JSON errors, OpenAPI."""
from __future__ import annotations

import re


def _token(client, name="script"):
    client.get("/profile")
    html = client.post("/profile/tokens", {"tk-name": name}).get_data(as_text=True)
    return re.search(r'<code class="token">([^<]+)</code>', html).group(1)


def test_token_auth_valid_revoked_missing(app, logged_in):
    client = logged_in("clerk")
    token = _token(client)
    anon = app.test_client()
    r = anon.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json["login"] == "clerk"
    assert anon.get("/api/v1/me").status_code == 401  # missing
    r = anon.get("/api/v1/me", headers={"Authorization": "Bearer pd_not-a-real-token"})
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    # revoke on the profile page
    html = client.get("/profile").get_data(as_text=True)
    revoke_url = re.search(r'action="(/profile/tokens/\d+/revoke)"', html).group(1)
    assert client.post(revoke_url).status_code == 302
    assert anon.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_token_is_stored_hashed(app, logged_in):
    from sqlalchemy import select

    from accounts.models import ApiToken
    from webapp.extensions import db

    token = _token(logged_in("clerk"))
    with app.app_context():
        row = db.session.execute(select(ApiToken)).scalar_one()
        assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64


def test_bearer_token_ignores_the_session(app, logged_in):
    client = logged_in("admin")
    r = client.api("GET", "/api/v1/me", token="pd_bogus")
    assert r.status_code == 401  # a bad token is not rescued by the session cookie


def test_session_writes_need_the_csrf_header(logged_in):
    client = logged_in("reader")
    r = client.api("POST", "/api/v1/me", csrf=False)
    assert r.status_code == 400 and r.json["error"] == "bad_request" and "CSRF" in r.json["message"]
    r = client.api("POST", "/api/v1/me")
    assert r.status_code == 405 and r.json["error"] == "method_not_allowed"


def test_json_errors_and_openapi(logged_in):
    client = logged_in("reader")
    r = client.api("GET", "/api/v1/nothing-here")
    assert r.status_code == 404 and r.json["error"] == "not_found" and r.json["message"]
    doc = client.api("GET", "/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.") and "/me" in doc["paths"]
    assert "bearer" in doc["components"]["securitySchemes"]


def test_api_messages_follow_the_language(logged_in):
    client = logged_in("reader")
    assert "不存在" in client.api("GET", "/api/v1/nothing").json["message"]
    client.post("/language", {"lang": "en"})
    assert "does not exist" in client.api("GET", "/api/v1/nothing").json["message"]

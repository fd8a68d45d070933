"""The OpenAPI document is valid OpenAPI 3.1, and the suite's check of every API answer against it
(tests/openapi_check.py, installed on every test app) catches what it should."""
from __future__ import annotations

import pytest
from flask import Response
from openapi_spec_validator import validate

from tests.openapi_check import CheckedClient, check_response


def test_the_document_is_valid_openapi(logged_in):
    doc = logged_in("reader").api("GET", "/api/v1/openapi.json").get_json()
    validate(doc)  # raises OpenAPIValidationError naming the first fault
    assert doc["openapi"].startswith("3.1")


def test_every_operation_declares_the_401_of_an_anonymous_caller(app, logged_in):
    doc = logged_in("reader").api("GET", "/api/v1/openapi.json").get_json()
    anonymous = app.test_client()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":  # the path item's shared parameters, not an operation
                continue
            assert "401" in operation["responses"], f"{method.upper()} {path} does not declare 401"
        if "get" in item and "{" not in path:
            assert anonymous.get("/api/v1" + path).status_code == 401  # and its body is the declared Error


def _json(status: int, body) -> Response:
    import json

    return Response(json.dumps(body), status=status, mimetype="application/json")


def test_answers_are_checked_against_the_declared_schema(app, logged_in):
    client = logged_in("reader")
    assert isinstance(client.http, CheckedClient)
    me = client.api("GET", "/api/v1/me").get_json()
    check_response(app, "GET", "/api/v1/me", _json(200, me))
    with pytest.raises(AssertionError, match=r"at login: 5 is not of type 'string'"):
        check_response(app, "GET", "/api/v1/me", _json(200, {**me, "login": 5}))
    with pytest.raises(AssertionError, match="fields the declared schema does not list: /secret"):
        check_response(app, "GET", "/api/v1/me", _json(200, {**me, "secret": "x"}))
    with pytest.raises(AssertionError, match="answered 418, which the OpenAPI document does not declare"):
        check_response(app, "GET", "/api/v1/me", _json(418, {"error": "teapot", "message": "no"}))
    with pytest.raises(AssertionError, match="message"):  # an error body without its message
        check_response(app, "GET", "/api/v1/me", _json(401, {"error": "unauthorized"}))
    with pytest.raises(AssertionError, match="declared JSON"):
        check_response(app, "GET", "/api/v1/me", Response("<p>hi</p>", status=200, mimetype="text/html"))
    # Paths and methods the document does not list (a 404 or 405 provoked on purpose) are not checked.
    check_response(app, "GET", "/api/v1/nothing-here", _json(404, {}))
    check_response(app, "DELETE", "/api/v1/me", _json(405, {}))
    check_response(app, "GET", "/procedures/", Response("x", status=200))

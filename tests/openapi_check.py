"""Every API answer a test sees must be one the OpenAPI document declares.

:class:`CheckedClient` is the test client of every app the suite builds (``make_app``): each
response to ``/api/v1/...`` is looked up in the document ``/api/v1/openapi.json`` serves —
the operation for that path and method, then the response for that status (or ``default``) —
and its JSON body is validated against the declared schema, ``#/components/schemas/...``
references resolved; a field the schema does not list fails too (unless the schema leaves its
object open with ``additionalProperties``). A status the operation does not declare, or a body its schema does not
allow, fails the test that made the request. Requests to paths or methods the document does
not list (a 404 or 405 a test provokes on purpose) are not checked.
"""
from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PREFIX = "/api/v1"
DOCUMENT_URI = "urn:procdesk:openapi"


def _document(app: Flask) -> tuple[dict, Registry, tuple]:
    """``app``'s document, a registry that resolves its references, and (regex, path template) for
    each path; built once per app."""
    found = app.extensions.get("tests.openapi_check")
    if found is None:
        from api.openapi import document

        with app.app_context():
            doc = document("http://localhost/")
        registry = Registry().with_resource(DOCUMENT_URI,
                                            Resource.from_contents(doc, default_specification=DRAFT202012))
        # Literal paths before templated ones, so /records/summary is not taken for /records/{id}.
        templates = sorted(doc["paths"], key=lambda p: (p.count("{"), p))
        matchers = tuple((re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), p)
                         for p in templates)
        found = app.extensions["tests.openapi_check"] = (doc, registry, matchers)
    return found


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def declared_response(app: Flask, path: str, method: str, status: int) -> tuple[str, str, dict] | None:
    """(path template, status key, response object) the document declares for this answer; None when
    the document lists no such operation. AssertionError when the operation does not declare the status."""
    doc, _registry, matchers = _document(app)
    template = next((t for regex, t in matchers if regex.match(path)), None)
    operation = doc["paths"].get(template, {}).get(method.lower()) if template else None
    if operation is None:
        return None
    responses = operation.get("responses", {})
    key = str(status) if str(status) in responses else "default"
    assert key in responses, (f"{method.upper()} {PREFIX}{template} answered {status}, which the OpenAPI document "
                              f"does not declare (declared: {', '.join(sorted(responses))})")
    return template, key, responses[key]


def check_response(app: Flask, method: str, url_path: str, response) -> None:
    """Fail when ``response`` to ``method url_path`` is not what the OpenAPI document declares."""
    if not url_path.startswith(PREFIX + "/"):
        return
    found = declared_response(app, url_path[len(PREFIX):], method, response.status_code)
    if found is None:
        return
    template, key, declared = found
    schema_ref = declared.get("content", {}).get("application/json", {}).get("schema")
    if schema_ref is None or response.status_code == 304:
        return
    label = f"{method.upper()} {PREFIX}{template} → {response.status_code}"
    assert response.mimetype == "application/json", f"{label}: declared JSON, got {response.mimetype}"
    body = json.loads(response.get_data(as_text=True))
    doc, registry, _matchers = _document(app)
    pointer = _pointer("paths", template, method.lower(), "responses", key, "content", "application/json", "schema")
    schema = {"$ref": f"{DOCUMENT_URI}#/{pointer}"}
    errors = sorted(Draft202012Validator(schema, registry=registry).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{label}: the body does not match the declared schema:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}" for e in errors[:10])
    extra = undeclared_fields(doc, declared["content"]["application/json"]["schema"], body)
    assert not extra, f"{label}: fields the declared schema does not list: {', '.join(extra[:20])}"


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def _properties(doc: dict, schema: dict) -> dict | None:
    """The properties an object schema declares (``allOf`` parts merged); None when it leaves
    others open (``additionalProperties``, ``oneOf``/``anyOf``, no ``properties`` at all)."""
    schema = _resolve(doc, schema)
    if any(k in schema for k in ("additionalProperties", "patternProperties", "oneOf", "anyOf")):
        return None
    found = dict(schema.get("properties", {}))
    for part in schema.get("allOf", ()):
        more = _properties(doc, part)
        if more is None:
            return None
        found.update(more)
    return found if found or "allOf" in schema else None


def undeclared_fields(doc: dict, schema: dict, body, where: str = "") -> list[str]:
    """Where ``body`` has object fields its schema does not declare (JSON Schema allows them; a
    hand-written schema that omits a field the code returns has drifted)."""
    schema = _resolve(doc, schema)
    if isinstance(body, list) and "items" in schema:
        return [f for i, item in enumerate(body) for f in undeclared_fields(doc, schema["items"], item, f"{where}/{i}")]
    if not isinstance(body, dict):
        return []
    declared = _properties(doc, schema)
    if declared is None:
        return []
    found = [f"{where}/{name}" for name in body if name not in declared]
    for name, value in body.items():
        if name in declared:
            found += undeclared_fields(doc, declared[name], value, f"{where}/{name}")
    return found


class CheckedClient(FlaskClient):
    """Flask's test client, checking every API answer against the OpenAPI document."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        request = response.request
        check_response(self.application, request.method, request.path, response)
        return response

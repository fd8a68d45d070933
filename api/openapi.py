"""The OpenAPI document, built per app from the ``OPENAPI`` sections of the enabled features' blueprint
modules (:class:`ApiSection`: plain data, so importing a module registers nothing anywhere)."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app

from webapp import features
from webapp.pagination import MAX_PAGE


@dataclass(frozen=True)
class ApiSection:
    """A blueprint module's part of the document: path items and component schemas."""

    paths: dict
    schemas: dict = field(default_factory=dict)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "example": "not_found"},
        "message": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "details": {"type": "object"},
    },
}


def _sections(app: Flask) -> tuple[dict, dict]:
    """(paths, schemas) of ``app``: collected once per app from its features' ``OPENAPI`` sections."""
    found = app.extensions.get("procdesk.openapi")
    if found is None:
        paths: dict[str, dict] = {}
        schemas: dict[str, dict] = {}
        for module in features.blueprint_modules(app):
            section = getattr(module, "OPENAPI", None)
            if section is None:
                continue
            for path, item in section.paths.items():
                paths.setdefault(path, {}).update(item)
            schemas.update(section.schemas)
        found = app.extensions["procdesk.openapi"] = (paths, schemas)
    return found


def schema(name: str) -> dict:
    """A component schema of the current app's document (KeyError when no feature declares it)."""
    return _sections(current_app)[1][name]


def property_names(declaration) -> frozenset[str]:
    """The top-level property names a request-body schema declares.

    ``declaration`` is a component name, a schema (``properties``; ``$ref`` to a registered
    component and ``allOf``/``oneOf``/``anyOf`` parts are followed), or an iterable of names.
    """
    if isinstance(declaration, str):
        return property_names(schema(declaration))
    if not isinstance(declaration, dict):
        return frozenset(declaration)
    ref = declaration.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return property_names(schema(ref.rsplit("/", 1)[1]))
    names = set(declaration.get("properties", {}))
    for key in ("allOf", "oneOf", "anyOf"):
        for part in declaration.get(key, ()):
            names |= property_names(part)
    return frozenset(names)


def query_names(parameters) -> frozenset[str]:
    """The query-parameter names of an OpenAPI ``parameters`` list (plain names are taken as they are)."""
    return frozenset(p if isinstance(p, str) else p["name"] for p in parameters
                     if isinstance(p, str) or p.get("in") == "query")


def query_param(name: str, description: str = "", **schema_: object) -> dict:
    """One query parameter object; ``schema_`` defaults to a string."""
    param = {"name": name, "in": "query", "schema": schema_ or {"type": "string"}}
    if description:
        param["description"] = description
    return param


#: Query parameters every endpoint accepts besides its own (``?lang=`` chooses the language of messages).
COMMON_QUERY = [query_param("lang", "language of messages for this and later requests", type="string",
                            enum=["zh_Hans", "en"])]

#: ``?page=`` and ``?per_page=`` of the offset-paginated lists (``webapp.pagination``).
PAGE_PARAMS = [query_param("page", "page number, from 1", type="integer", minimum=1, maximum=MAX_PAGE),
               query_param("per_page", "items per page (capped)", type="integer", minimum=1)]


def error_responses(*codes: int) -> dict:
    """Standard error responses for an operation."""
    return {str(c): {"description": "error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def page_response(description: str, item_schema: dict, *, page_numbers: bool = False) -> dict:
    """A 200 response holding one page of a list: ``items``, ``has_next`` (and ``page``/``per_page``)."""
    properties = {"items": {"type": "array", "items": item_schema}}
    if page_numbers:
        properties |= {"page": {"type": "integer"}, "per_page": {"type": "integer"}}
    properties["has_next"] = {"type": "boolean"}
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties}}}}


def list_and_create(tag: str, item: str, *, list_summary: str, create_summary: str, parameters: list,
                    list_description: str = "a page") -> dict:
    """The path item of a paginated record list (GET) that also creates a record (POST ``<item>Create``)."""
    item_schema = {"$ref": f"#/components/schemas/{item}"}
    return {
        "get": {"summary": list_summary, "tags": [tag], "parameters": parameters,
                "responses": {"200": page_response(list_description, item_schema, page_numbers=True),
                              **error_responses(400, 401, 403)}},
        "post": {"summary": create_summary, "tags": [tag],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "$ref": f"#/components/schemas/{item}Create"}}}},
                 "responses": {"201": {"description": "created", "content": {"application/json": {
                     "schema": item_schema}}}, **error_responses(400, 401, 403, 404)}},
    }


def document(server_url: str = "/") -> dict:
    """The OpenAPI 3.1 document of the current app."""
    paths, schemas = _sections(current_app)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ProcDesk API", "version": "1",
                 "description": "Procedures, reviews and customer-satisfaction records. Authenticate with "
                                "`Authorization: Bearer <token>` (create one on your profile page) or a browser "
                                "session plus an `X-CSRFToken` header for writes. Every operation takes "
                                "`?lang=zh_Hans` or `?lang=en` (the language of messages); any other field or "
                                "query parameter an operation does not list is refused with a 400 naming it."},
        "servers": [{"url": server_url.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "procdesk_session"},
            },
            "schemas": {"Error": ERROR_SCHEMA, **schemas},
        },
        "paths": dict(sorted(paths.items())),
    }


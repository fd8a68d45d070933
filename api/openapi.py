"""The OpenAPI document. Feature packages add their paths with :func:`register_paths`."""
from __future__ import annotations

_paths: dict[str, dict] = {}
_schemas: dict[str, dict] = {}

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


def register_paths(paths: dict, schemas: dict | None = None) -> None:
    """Add path items (and component schemas) to the document; called at import time."""
    for path, item in paths.items():
        _paths.setdefault(path, {}).update(item)
    _schemas.update(schemas or {})


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


def document(server_url: str = "/") -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ProcDesk API", "version": "1",
                 "description": "Procedures, reviews and customer-satisfaction records. Authenticate with "
                                "`Authorization: Bearer <token>` (create one on your profile page) or a browser "
                                "session plus an `X-CSRFToken` header for writes."},
        "servers": [{"url": server_url.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "procdesk_session"},
            },
            "schemas": {"Error": ERROR_SCHEMA, **_schemas},
        },
        "paths": dict(sorted(_paths.items())),
    }


register_paths({
    "/openapi.json": {"get": {"summary": "This document",
                              "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
    "/me": {"get": {"summary": "The authenticated user", "responses": {
        "200": {"description": "user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Me"}}}},
        **error_responses(401)}}},
}, {
    "Me": {"type": "object", "properties": {
        "login": {"type": "string"}, "display_name": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
        "permissions": {"type": "array", "items": {"type": "string"}}, "projects": {"type": "array", "items": {"type": "string"}},
        "locale": {"type": ["string", "null"]}, "participant_category": {"type": ["string", "null"]}}},
})

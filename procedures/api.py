"""JSON API for reading procedures: list, one procedure, its versions, compare, search.

Versions in URLs are written with a hyphen (``A-1`` for ``A/1``) or as a commit sha.
Every response that carries document text names the ``revision`` (commit) it was read
from, which is what an editor sends back as ``base`` when publishing.
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, jsonify, request, url_for

from api.helpers import check_args
from api.openapi import ApiSection, error_responses, query_param
from procedures import catalog, redline_blocks
from procedures import search as search_service
from procedures.permissions import PROCEDURES_READ
from webapp import dates
from webapp.exceptions import ValidationError
from webapp.i18n import _l
from webapp.permissions import permission_required

bp = Blueprint("procedures_api", __name__, url_prefix="/api/v1/procedures")


@bp.before_request
def _sync_catalogue():
    catalog.ensure_synced(commit=True)


def version_json(v: catalog.VersionView) -> dict:
    """The metadata of one version (no text)."""
    return {
        "code": v.code,
        "title": v.title,
        "version": v.version,
        "ref": v.ref,
        "effective": v.effective.isoformat(),
        "status": "withdrawn" if v.is_withdrawn else v.status,
        "state": v.state,
        "departments": list(v.departments),
        "owner": v.owner,
        "review_months": v.review_months,
        "next_review": v.next_review.isoformat(),
        "revision": v.commit,
        "blob": v.blob,
        "author": {"name": v.author, "email": v.author_email},
        "published_at": v.committed_at.isoformat(),
        "approved_by": v.approved_by,
        "summary": v.summary,
        "review_id": v.review_id,
        "withdrawn_reason": v.withdrawn_reason,
        "previous_version": v.previous_version,
        "superseded_by": v.superseded_by,
        "upcoming": ({"version": v.upcoming.version, "effective": v.upcoming.effective.isoformat(),
                      "revision": v.upcoming.commit, "ref": v.upcoming.ref} if v.upcoming else None),
        "url": url_for("procedures.read", code=v.code) if v.is_current or v.state == "upcoming"
        else url_for("procedures.version", code=v.code, ref=v.ref),
    }


def _with_text(v: catalog.VersionView) -> Response:
    """The version with its text; a version whose text cannot be rendered is a 503 for it alone
    (:class:`catalog.DocumentUnreadable`, ``details.problem == "unreadable"``)."""
    etag = hashlib.sha1(f"{v.commit}|{v.blob}|{v.state}|{v.upcoming.commit if v.upcoming else ''}|"
                        f"{dates.local_today()}|{v.next_review}".encode()).hexdigest()
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        body = version_json(v)
        body["markdown"] = v.source()
        body["html"] = str(v.rendered().html)
        body["toc"] = [{"level": t.level, "id": t.id, "text": t.text} for t in v.rendered().toc]
        response = jsonify(body)
    response.set_etag(etag, weak=True)
    return response


#: Query parameters each list accepts (checked by check_args, shown by the OpenAPI document).
LIST_PARAMS = [query_param("department", example="CS", type="string"),
               query_param("status", type="string", enum=list(catalog.LIST_STATUSES)),
               query_param("withdrawn", "1 to include withdrawn procedures", type="string", enum=["0", "1"])]
SEARCH_PARAMS = [{**query_param("q"), "required": True},
                 query_param("all", "1 to search every version", type="string", enum=["0", "1"])]
COMPARE_PARAMS = [query_param("from", example="A-0", type="string"), query_param("to", example="A-1", type="string")]


@bp.get("")
@permission_required(PROCEDURES_READ)
def procedures():
    check_args(LIST_PARAMS)
    status = request.args.get("status") or None
    if status is not None and status not in catalog.LIST_STATUSES:
        raise ValidationError(_l("Unknown status filter."), errors={"status": [
            _l("Use one of: %(values)s.", values=", ".join(catalog.LIST_STATUSES))]})
    items = catalog.list_procedures(department=request.args.get("department") or None, status=status,
                                    include_withdrawn=request.args.get("withdrawn") in ("1", "true"))
    return jsonify(items=[version_json(v) for v in items], count=len(items))


@bp.get("/search")
@permission_required(PROCEDURES_READ)
def search():
    check_args(SEARCH_PARAMS)
    q = (request.args.get("q") or "").strip()
    if not q:
        raise ValidationError(_l("Enter something to search for."), errors={"q": [_l("This field is required.")]})
    results = search_service.search(q, all_versions=request.args.get("all") in ("1", "true"))
    return jsonify(query=results.query, total=results.total, items=[
        {**version_json(h.view), "score": h.score, "snippets": [str(s) for s in h.snippets]} for h in results.hits])


@bp.get("/<code>")
@permission_required(PROCEDURES_READ)
def procedure(code: str):
    check_args()
    return _with_text(catalog.get_current(code))


@bp.get("/<code>/versions")
@permission_required(PROCEDURES_READ)
def versions(code: str):
    check_args()
    items = catalog.list_versions(code)
    return jsonify(code=code, items=[version_json(v) for v in items], count=len(items))


@bp.get("/<code>/versions/<ref>")
@permission_required(PROCEDURES_READ)
def version(code: str, ref: str):
    check_args()
    return _with_text(catalog.get_version(code, ref))


@bp.get("/<code>/compare")
@permission_required(PROCEDURES_READ)
def compare(code: str):
    check_args(COMPARE_PARAMS)
    c = catalog.compare(code, request.args.get("from") or None, request.args.get("to") or None)
    return jsonify(
        code=code,
        **{"from": version_json(c.old), "to": version_json(c.new)},
        inserted_chars=c.inserted,
        deleted_chars=c.deleted,
        redline_html=str(c.redline),
        mode=c.diff.mode,
        blocks=None if c.diff.ops is None else [redline_blocks.op_json(op) for op in c.diff.ops],
        lines=[{"kind": line.kind, "old_no": line.old_no, "new_no": line.new_no,
                "segments": [{"op": s.op, "text": s.text} for s in line.segments]} for line in c.lines],
    )


_code = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "example": "QP-CS-001"}}
_ref = {"name": "version", "in": "path", "required": True, "description": "`A-1` for version A/1, or a commit sha",
        "schema": {"type": "string", "example": "A-1"}}


def _ok(schema: str, description: str) -> dict:
    return {"200": {"description": description,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}}


OPENAPI = ApiSection({
    "/procedures": {"get": {
        "summary": "Procedures in force (one entry per procedure: the version in force today)",
        "tags": ["procedures"],
        "parameters": LIST_PARAMS,
        "responses": {**_ok("ProcedureList", "procedures"), **error_responses(400, 401, 403)}}},
    "/procedures/search": {"get": {
        "summary": "Full-text search (code, title, text; Chinese and English)", "tags": ["procedures"],
        "parameters": SEARCH_PARAMS,
        "responses": {**_ok("SearchResults", "matches, best first"), **error_responses(400, 401, 403)}}},
    "/procedures/{code}": {"get": {
        "summary": "The version in force, with its text (`markdown` as stored, `html` rendered)",
        "tags": ["procedures"], "parameters": [_code],
        "responses": {**_ok("ProcedureText", "the version in force"), "304": {"description": "not modified"},
                      **error_responses(400, 401, 403, 404, 503)}}},
    "/procedures/{code}/versions": {"get": {
        "summary": "Every version, newest first", "tags": ["procedures"], "parameters": [_code],
        "responses": {**_ok("VersionList", "versions"), **error_responses(400, 401, 403, 404)}}},
    "/procedures/{code}/versions/{version}": {"get": {
        "summary": "One version with its text", "tags": ["procedures"], "parameters": [_code, _ref],
        "responses": {**_ok("ProcedureText", "the version"), "304": {"description": "not modified"},
                      **error_responses(400, 401, 403, 404, 503)}}},
    "/procedures/{code}/compare": {"get": {
        "summary": "Redline between two versions (default: the version in force against the one before it)",
        "tags": ["procedures"],
        "parameters": [_code, *COMPARE_PARAMS],
        "responses": {**_ok("Comparison", "the comparison"), **error_responses(400, 401, 403, 404)}}},
}, {
    "ProcedureVersion": {"type": "object", "properties": {
        "code": {"type": "string"}, "title": {"type": "string"}, "version": {"type": "string", "example": "A/1"},
        "ref": {"type": "string", "example": "A-1"}, "effective": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["effective", "withdrawn"]},
        "state": {"type": "string", "enum": ["current", "upcoming", "superseded"]},
        "departments": {"type": "array", "items": {"type": "string"}}, "owner": {"type": ["string", "null"]},
        "review_months": {"type": "integer"}, "next_review": {"type": "string", "format": "date"},
        "revision": {"type": "string", "description": "commit sha"}, "blob": {"type": "string"},
        "author": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}}},
        "published_at": {"type": "string", "format": "date-time"}, "approved_by": {"type": ["string", "null"]},
        "summary": {"type": "string"}, "review_id": {"type": ["integer", "null"]},
        "withdrawn_reason": {"type": ["string", "null"]}, "previous_version": {"type": ["string", "null"]},
        "superseded_by": {"type": ["string", "null"]},
        "upcoming": {"type": ["object", "null"], "properties": {
            "version": {"type": "string"}, "effective": {"type": "string", "format": "date"},
            "revision": {"type": "string"}, "ref": {"type": "string"}}},
        "url": {"type": "string"}}},
    "ProcedureText": {"allOf": [{"$ref": "#/components/schemas/ProcedureVersion"}, {"type": "object", "properties": {
        "markdown": {"type": "string", "description": "the file as stored: front matter and Markdown body"},
        "html": {"type": "string", "description": "the body rendered and sanitised"},
        "toc": {"type": "array", "items": {"type": "object", "properties": {
            "level": {"type": "integer"}, "id": {"type": "string"}, "text": {"type": "string"}}}}}}]},
    "ProcedureList": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/ProcedureVersion"}},
        "count": {"type": "integer"}}},
    "VersionList": {"type": "object", "properties": {
        "code": {"type": "string"}, "count": {"type": "integer"},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/ProcedureVersion"}}}},
    "SearchResults": {"type": "object", "properties": {
        "query": {"type": "string"}, "total": {"type": "integer"},
        "items": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/ProcedureVersion"}, {
            "type": "object", "properties": {"score": {"type": "integer"},
                                             "snippets": {"type": "array", "items": {"type": "string"}}}}]}}}},
    "Comparison": {"type": "object", "properties": {
        "code": {"type": "string"}, "from": {"$ref": "#/components/schemas/ProcedureVersion"},
        "to": {"$ref": "#/components/schemas/ProcedureVersion"}, "inserted_chars": {"type": "integer"},
        "deleted_chars": {"type": "integer"},
        "redline_html": {"type": "string", "description": "the document redline (one column), sanitised HTML"},
        "mode": {"type": "string", "enum": ["blocks", "lines"],
                 "description": "`lines` when the text is beyond the limits of a block comparison"},
        "blocks": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/RedlineBlock"},
                   "description": "the comparison block by block (headings, paragraphs, list items, tables); "
                                  "null in `lines` mode"},
        "lines": {"description": "the comparison of the Markdown source, line by line",
                  "type": "array", "items": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["equal", "insert", "delete", "change"]},
            "old_no": {"type": ["integer", "null"]}, "new_no": {"type": ["integer", "null"]},
            "segments": {"type": "array", "items": {"type": "object", "properties": {
                "op": {"type": "string"}, "text": {"type": "string"}}}}}}}}},
    "RedlineBlock": redline_blocks.OP_SCHEMA,
    "RedlineSegment": redline_blocks.SEGMENT_SCHEMA,
})

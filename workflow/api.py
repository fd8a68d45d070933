"""``/api/v1/reviews``: the review workflow over JSON (documented in the OpenAPI document).

List and open reviews; read one; move, cancel, add people; comment (with anchors placed on the
current draft); read and save drafts; sign; decide; implement. Thin doors onto the workflow
services, which check every rule and permission exactly as for the pages; this module checks
the shape of what is sent (field names and JSON types: a 400 naming the field).
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from accounts import services as accounts
from accounts.permissions import PARTICIPANT_CATEGORIES
from api.helpers import ID_MAX, check_args, check_fields, json_body, page_json
from api.openapi import PAGE_PARAMS, ApiSection, error_responses, list_and_create, query_param
from procedures.permissions import REVIEWS_MANAGE, REVIEWS_PARTICIPATE
from webapp.exceptions import NotFound, PermissionDenied, ValidationError
from webapp.i18n import REQUIRED, _l
from webapp.permissions import permission_required
from workflow import deciding, discussion, drafts, releasing, service, signoffs, states
from workflow.models import DECISIONS, KINDS, MEANINGS, OPEN_STATES, STATES, Review, ReviewItem

bp = Blueprint("reviews_api", __name__, url_prefix="/api/v1/reviews")

# ---------------------------------------------------------------------------------------------
# what is sent: JSON types


_TYPE_MESSAGES = {str: _l("Must be a string."), int: _l("Must be a whole number."), list: _l("Must be a list."),
                  dict: _l("Must be an object.")}


def _value(data: dict, key: str, kind: type, *, required: bool = False, field: str | None = None):
    """``data[key]`` when it has the JSON type ``kind``; None when absent or null (a 400 when
    ``required``); any other type is a 400 naming ``field`` (default ``key``)."""
    field = field or key
    value = data.get(key)
    if value is None:
        if required:
            raise ValidationError(REQUIRED, errors={field: [REQUIRED]})
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        message = _TYPE_MESSAGES[kind]
        raise ValidationError(message, errors={field: [message]})
    return value


def _strings(data: dict, key: str) -> list[str]:
    """A required list of strings."""
    values = _value(data, key, list, required=True)
    if not all(isinstance(v, str) for v in values):
        message = _TYPE_MESSAGES[str]
        raise ValidationError(message, errors={key: [message]})
    return values


def _user(login: str, field: str):
    """The user with ``login``; an unknown login is a 400 at ``field`` (it is part of the body, not the URL)."""
    try:
        return accounts.get_user(login.strip())
    except NotFound as exc:
        raise ValidationError(exc.message, errors={field: [exc.message]}) from None


def _version(data: dict):
    return _value(data, "version", int)


# ---------------------------------------------------------------------------------------------
# what is answered


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _person(user) -> dict | None:
    return {"login": user.login, "display_name": user.display_name} if user is not None else None


def _links(review: Review) -> dict:
    links = {"self": url_for(".get_review", number=review.number),
             "html": url_for("reviews.detail", number=review.number),
             "comments": url_for(".comments", number=review.number),
             "drafts": url_for(".list_drafts", number=review.number),
             "signoffs": url_for(".list_signoffs", number=review.number)}
    if review.record_path and review.result_commit:
        links["record"] = url_for("reviews.record_page", number=review.number)
    return links


def review_json(review: Review, *, detail: bool = False) -> dict:
    """A review as the list shows it; ``detail`` adds its people, items, draft and approval (reads git)."""
    body = {
        "number": review.number, "kind": review.kind, "state": review.state, "title": review.title,
        "chair": review.chair.login, "department": review.department, "codes": review.codes,
        "due_on": _iso(review.due_on), "step_due_on": _iso(review.step_due_on),
        "created_at": _iso(review.created_at), "closed_at": _iso(review.closed_at), "version": review.version,
        "links": _links(review),
    }
    if not detail:
        return body
    head = _settle(review)
    body.update({
        "chair_name": review.chair.display_name,
        "triggers": [{"source_type": t.source_type, "source_id": t.source_id, "label": t.label, "reason": t.reason,
                      "created_at": _iso(t.created_at)} for t in review.triggers],
        "participants": [{**_person(p.user), "category": p.category, "added_at": _iso(p.added_at)}
                         for p in review.participants],
        "items": [{"code": i.code, "title": i.title, "version_before": i.version_before, "decision": i.decision,
                   "decision_reason": i.decision_reason, "version_after": i.version_after} for i in review.items],
        "draft": {"branch": review.branch, "base_commit": review.base_commit, "tip": head},
        "approval": _approval(review, head),
        "decision_summary": review.decision_summary, "cancel_reason": review.cancel_reason or None,
        "effective_on": _iso(review.effective_on), "result_commit": review.result_commit,
        "record_path": review.record_path,
        # Where POST …/move may go from here (closed is reached by implementing, cancelled by cancelling).
        "allowed_transitions": [s for s in states.MOVES.get(review.state, ()) if s != "closed"],
        "can_run": service.can_run(review, current_user),
        "can_take_part": service.can_take_part(review, current_user),
    })
    return body


def _settle(review: Review) -> str | None:
    """The draft's tip. In the decision and implementation steps, sign-offs given on an older commit
    (a push to the branch) are voided and kept first, as the review page does."""
    head = drafts.tip(review)
    if head is not None and review.state in ("decide", "implement") and signoffs.void_stale(review, head):
        service.commit(review)
    return head


def _approval(review: Review, head: str | None) -> dict:
    check = signoffs.evaluate(signoffs.rule_for(review.department), signoffs.valid_signoffs(review), head)
    return {"met": check.met, "approvals": check.approvals, "missing": check.missing,
            "rejections": check.rejections, "commit": check.commit}


def _location(placed) -> dict:
    loc = placed.location
    return {"location": {"clause": loc.clause, "line": loc.line, "end_line": loc.end_line, "excerpt": loc.excerpt}
            if loc is not None else None, "outdated": placed.outdated}


def comment_json(c, placed=None, replies=None) -> dict:
    """A comment; anchored roots also say where their text is on the current draft (``placed``)."""
    body = {"id": c.id, "parent_id": c.parent_id, "author": _person(c.author), "body": c.body,
            "created_at": _iso(c.created_at), "resolved_at": _iso(c.resolved_at),
            "resolved_by": c.resolved_by.login if c.resolved_by else None,
            "anchor": {"code": c.code, "commit": c.commit, "clause": c.clause, "quote": c.quote,
                       "context": c.context} if c.is_anchored else None}
    if placed is not None:
        body.update(_location(placed))
    if replies is not None:
        body["replies"] = [comment_json(r) for r in replies]
    return body


def _placed(review: Review, roots) -> dict:
    """comment id → its placement on the current draft of its procedure."""
    out = {}
    for code in {c.code for c in roots if c.is_anchored}:
        if code in review.codes:
            markdown = drafts.draft_file(review, code).markdown
            out.update({p.comment.id: p for p in discussion.placed(review, code, markdown, roots)})
    return out


def signoff_json(s) -> dict:
    return {"id": s.id, "login": s.user.login, "printed_name": s.printed_name, "category": s.category,
            "meaning": s.meaning, "reason": s.reason or None, "commit": s.commit, "signed_at": _iso(s.signed_at),
            "valid": s.is_valid, "voided_at": _iso(s.voided_at), "voided_reason": s.voided_reason or None,
            "manifestation": signoffs.manifestation(s)}


def _file_json(review: Review, file, *, markdown: bool) -> dict:
    titles = {i.code: i.title for i in review.items}
    body = {"code": file.code, "title": titles.get(file.code, ""), "changed": file.changed}
    if markdown:
        body["markdown"] = file.markdown
    return body


def _review(number: str) -> Review:
    return service.get_review(number, current_user)


def _covered(review: Review, code: str) -> str:
    if code not in review.codes:
        raise NotFound(_l("%(code)s is not covered by %(number)s.", code=code[:40], number=review.number))
    return code


def _one(review: Review, status: int = 200):
    response = jsonify(review_json(review, detail=True))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for(".get_review", number=review.number)
    return response


# ---------------------------------------------------------------------------------------------
# the list, opening a review, one review


LIST_PARAMS = [
    query_param("state", "open = every open step; default all", type="string", enum=["all", "open", *STATES]),
    query_param("kind", type="string", enum=list(KINDS)),
    query_param("procedure", "procedure code: the reviews covering it", type="string"),
    *PAGE_PARAMS,
]
DRAFT_PARAMS = [query_param("code", "a covered procedure: its draft text is included", type="string")]


@bp.get("")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def list_reviews():
    check_args(LIST_PARAMS)
    state, kind = request.args.get("state", "all"), request.args.get("kind", "")
    if state not in ("all", "open", *STATES):
        raise ValidationError(_l("Unknown state."), errors={"state": [_l("Unknown state.")]})
    if kind and kind not in KINDS:
        raise ValidationError(_l("Unknown kind."), errors={"kind": [_l("Unknown kind.")]})
    stmt = select(Review).options(joinedload(Review.chair), selectinload(Review.items)).order_by(Review.id.desc())
    if state != "all":
        stmt = stmt.where(Review.state.in_(OPEN_STATES if state == "open" else (state,)))
    if kind:
        stmt = stmt.where(Review.kind == kind)
    code = request.args.get("procedure", "").strip().upper()
    if code:
        stmt = stmt.where(Review.id.in_(select(ReviewItem.review_id).where(ReviewItem.code == code)))
    return page_json(stmt, review_json, per_page=50, max_per_page=200)


def _chair(data: dict, codes: list[str]):
    """The chair named by login; else the caller when they may chair; else the default chair."""
    login = _value(data, "chair", str)
    if login:
        return _user(login, "chair")
    me = current_user._get_current_object()
    chair = me if service.can_chair(me) else service.default_chair(codes)
    if chair is None:
        raise ValidationError(REQUIRED, errors={"chair": [REQUIRED]})
    return chair


def _participants(data: dict) -> dict:
    """``[{login, category}]`` → {User: category} (the service checks the categories)."""
    people = {}
    for entry in _value(data, "participants", list) or []:
        if not isinstance(entry, dict):
            raise ValidationError(_TYPE_MESSAGES[dict], errors={"participants": [_TYPE_MESSAGES[dict]]})
        check_fields(entry, ("login", "category"))
        user = _user(_value(entry, "login", str, required=True, field="participants"), "participants")
        people[user] = _value(entry, "category", str, required=True, field="participants")
    return people


@bp.post("")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def create_review():
    data = json_body("ReviewCreate")
    kind = _value(data, "kind", str, required=True)
    if kind == "periodic" and not current_user.can(REVIEWS_MANAGE):
        raise PermissionDenied(_l("Periodic reviews are opened by document controllers and managers."))
    codes = _strings(data, "codes")
    review = service.open_review(
        kind=kind, codes=codes, chair=_chair(data, codes), actor=current_user, title=_value(data, "title", str) or "",
        participants=_participants(data),
        trigger=service.TriggerData(source_type="person", reason=_value(data, "reason", str) or "",
                                    label=current_user.display_name))
    return _one(review, 201)


@bp.get("/<number>")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def get_review(number: str):
    check_args()
    return _one(_review(number))


@bp.post("/<number>/move")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def move(number: str):
    data = json_body("ReviewMove")  # the request is checked before the review is looked up (bad input: 400)
    review = _review(number)
    service.move(review, _value(data, "target", str, required=True), actor=current_user, version=_version(data),
                 note=_value(data, "note", str) or "")
    return _one(review)


@bp.post("/<number>/cancel")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def cancel(number: str):
    data = json_body("ReviewCancel")
    review = _review(number)
    service.cancel(review, reason=_value(data, "reason", str) or "", actor=current_user, version=_version(data))
    return _one(review)


@bp.post("/<number>/participants")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def add_participant(number: str):
    data = json_body("ReviewParticipantAdd")
    review = _review(number)
    user = _user(_value(data, "login", str, required=True), "login")
    service.add_participant(review, user, _value(data, "category", str, required=True), actor=current_user,
                            version=_version(data))
    return _one(review)


# ---------------------------------------------------------------------------------------------
# discussion


@bp.route("/<number>/comments", methods=["GET", "POST"])
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def comments(number: str):
    if request.method == "GET":
        check_args()
    else:
        data = json_body("ReviewCommentCreate")
    review = _review(number)
    if request.method == "GET":
        roots = discussion.thread(review)
        placed = _placed(review, [c for c, _replies in roots])
        return jsonify(items=[comment_json(c, placed.get(c.id), replies) for c, replies in roots],
                       commit=drafts.tip(review) or review.base_commit)
    parent_id = _value(data, "parent_id", int)
    if parent_id is not None and not 0 < parent_id <= ID_MAX:
        raise NotFound(_l("There is no such comment in this review."))
    row = discussion.comment(review, _value(data, "body", str) or "", actor=current_user, parent_id=parent_id,
                             **{k: _value(data, k, str) for k in ("code", "commit", "clause", "quote")})
    placed = _placed(review, [row]).get(row.id) if row.parent_id is None else None
    response = jsonify(comment_json(row, placed))
    response.status_code = 201
    return response


# ---------------------------------------------------------------------------------------------
# drafts


@bp.get("/<number>/drafts")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def list_drafts(number: str):
    check_args(DRAFT_PARAMS)
    review = _review(number)
    wanted = request.args.get("code", "").strip()
    if wanted:
        _covered(review, wanted)
    files = [_file_json(review, drafts.draft_file(review, code), markdown=code == wanted) for code in review.codes]
    return jsonify(branch=review.branch, base_commit=review.base_commit, tip=drafts.tip(review), items=files,
                   commits=[{"sha": c.sha, "author": c.author, "at": _iso(c.at), "summary": c.summary,
                             "paths": list(c.paths)} for c in drafts.history(review)])


@bp.put("/<number>/drafts/<code>")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def save_draft(number: str, code: str):
    """Save the draft of ``code``; while the review is being implemented, the chair's merge after a
    release conflict (as in the editor)."""
    data = json_body("ReviewDraftSave")
    review = _review(number)
    _covered(review, code)
    markdown = _value(data, "markdown", str, required=True)
    parent = _value(data, "parent", str)
    summary = _value(data, "summary", str) or ""
    if review.state == "implement":
        tip = releasing.resolve_conflict(review, {code: markdown}, actor=current_user)
    else:
        # No parent: the editor started before anyone saved, i.e. from the draft's start.
        tip = drafts.save(review, code, markdown, actor=current_user, parent=parent or review.base_commit,
                          summary=summary)
    return jsonify(tip=tip, file=_file_json(review, drafts.draft_file(review, code), markdown=True))


# ---------------------------------------------------------------------------------------------
# sign-offs, decision, implementation


@bp.get("/<number>/signoffs")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def list_signoffs(number: str):
    check_args()
    review = _review(number)
    head = _settle(review)
    return jsonify(items=[signoff_json(s) for s in signoffs.signoffs(review)], commit=head,
                   approval=_approval(review, head))


@bp.post("/<number>/signoffs")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def sign(number: str):
    """Sign the draft at ``commit``; the password is asked for again, whatever authenticated the request."""
    data = json_body("ReviewSign")
    review = _review(number)
    signoff = signoffs.sign(review, actor=current_user, meaning=_value(data, "meaning", str, required=True),
                            password=_value(data, "password", str) or "", commit=_value(data, "commit", str) or "",
                            reason=_value(data, "reason", str) or "", remote_addr=request.remote_addr or "",
                            limits=accounts.LoginLimits.from_config(current_app.config))
    response = jsonify(signoff_json(signoff))
    response.status_code = 201
    return response


@bp.post("/<number>/decision")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def decide(number: str):
    data = json_body("ReviewDecision")
    review = _review(number)
    given = _value(data, "decisions", dict, required=True)
    decisions = {}
    for code, entry in given.items():
        field = f"decision_{code}"[:60]
        if code not in review.codes:
            message = _l("%(code)s is not covered by %(number)s.", code=code[:40], number=review.number)
            raise ValidationError(message, errors={field: [message]})
        entry = _value(given, code, dict, required=True, field=field)
        check_fields(entry, ("decision", "reason"))
        decisions[code] = (_value(entry, "decision", str, field=field),
                           _value(entry, "reason", str, field=f"reason_{code}") or "")
    deciding.decide(review, decisions, actor=current_user, summary=_value(data, "summary", str) or "",
                    version=_version(data))
    return _one(review)


@bp.post("/<number>/implementation")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def implement(number: str):
    data = json_body("ReviewImplementation")
    review = _review(number)
    raw = _value(data, "effective", str)
    try:
        effective = date.fromisoformat(raw) if raw else None
    except ValueError:
        message = _l("Enter a date as YYYY-MM-DD.")
        raise ValidationError(message, errors={"effective": [message]}) from None
    releasing.implement(review, effective=effective, actor=current_user, version=_version(data))
    return _one(review)


# ---------------------------------------------------------------------------------------------
# OpenAPI

_TAG = ["reviews"]
_NUMBER = [{"name": "number", "in": "path", "required": True, "schema": {"type": "string", "example": "R-2026-001"}}]
_ERRORS = error_responses(400, 401, 403, 404, 409, 503)
_READ_ERRORS = error_responses(400, 401, 403, 404, 503)
_VERSION = {"type": "integer", "description": "the version you read (optional optimistic lock; 409 when it moved on)"}
_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_WHEN = {"type": ["string", "null"], "format": "date-time"}
_DAY = {"type": ["string", "null"], "format": "date"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name_or_schema, description: str) -> dict:
    schema = _ref(name_or_schema) if isinstance(name_or_schema, str) else name_or_schema
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(name: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _step(summary: str, body: str, description: str = "", *, status: str = "200", answer: str = "Review",
          errors: dict = _ERRORS) -> dict:
    op = {"summary": summary, "tags": _TAG, "parameters": _NUMBER, "requestBody": _body(body),
          "responses": {status: _json(answer, "done"), **errors}}
    if description:
        op["description"] = description
    return op


_CREATE = list_and_create("reviews", "Review", parameters=LIST_PARAMS, list_description="a page of reviews, newest first",
                          list_summary="Reviews", create_summary="Open a review")
_CREATE["post"]["description"] = (
    "Opens an incident review (anyone who takes part in reviews) or a periodic one (document controllers and "
    "managers). `chair` defaults to you when you may chair (a document controller or a manager), else to the "
    "default chair. 409 when a procedure is already under an open review.")
_CREATE["post"]["responses"].update(error_responses(409))
_COMMENT_LIST = {"type": "object", "properties": {
    "items": {"type": "array", "items": _ref("ReviewComment"), "description": "root comments, oldest first"},
    "commit": {**_NSTR, "description": "the draft commit anchored comments are placed on (null: the current "
                                       "version, nobody has edited yet)"}}}
_DRAFTS = {"type": "object", "properties": {
    "branch": _NSTR, "base_commit": _NSTR,
    "tip": {**_NSTR, "description": "the draft's head: send it as `parent` when saving (null: no draft yet)"},
    "items": {"type": "array", "items": _ref("ReviewDraftFile")},
    "commits": {"type": "array", "description": "the draft's commits, newest first", "items": {
        "type": "object", "properties": {"sha": _STR, "author": _STR, "at": {"type": "string", "format": "date-time"},
                                         "summary": _STR, "paths": {"type": "array", "items": _STR}}}}}}
_SAVED = {"type": "object", "properties": {"tip": {"type": "string", "description": "the new draft commit"},
                                           "file": _ref("ReviewDraftFile")}}
_SIGNOFFS = {"type": "object", "properties": {
    "items": {"type": "array", "items": _ref("ReviewSignOff")},
    "commit": {**_NSTR, "description": "the draft commit a signature binds to now"},
    "approval": _ref("ReviewApproval")}}
_DRAFT_CONFLICT = {"409": _json({"allOf": [_ref("Error"), {"type": "object", "properties": {"details": {
    "type": "object", "properties": {
        "code": _STR, "base": _STR, "current": {**_STR, "description": "the draft's tip now: the next `parent`"},
        "theirs": {"type": "object", "properties": {"markdown": _STR, "commit": _STR}},
        "yours": {"type": "object", "properties": {"markdown": _STR}}}}}}]},
    "someone saved the draft after `parent` (both texts in `details`), or the review moved on")}
_RELEASE_CONFLICT = {"409": _json({"allOf": [_ref("Error"), {"type": "object", "properties": {"details": {
    "type": "object", "properties": {
        "paths": {"type": "array", "items": _STR, "description": "the procedures that conflict"},
        "files": {"type": "object", "additionalProperties": {"type": "object"},
                  "description": "per procedure: base_markdown, theirs, yours"},
        "code": _STR, "base": _STR, "current": _STR, "review": _NSTR}}}}]},
    "a covered procedure changed on main where the draft changed it (merge with PUT …/drafts/{code}), "
    "the review moved on, or a step is not allowed")}

OPENAPI = ApiSection({
    "/reviews": _CREATE,
    "/reviews/{number}": {"get": {"summary": "One review", "tags": _TAG, "parameters": _NUMBER,
                                  "responses": {"200": _json("Review", "the review"), **_READ_ERRORS}}},
    "/reviews/{number}/move": {"post": _step(
        "Move the review a step (the chair)", "ReviewMove",
        "propose → discuss → decide → implement, or back one step with a note. Closing is implementing; "
        "cancelling has its own operation. 409 for a move the cycle does not allow.")},
    "/reviews/{number}/cancel": {"post": _step("Cancel the review with a reason (the chair)", "ReviewCancel")},
    "/reviews/{number}/participants": {"post": _step(
        "Add a participant, or change their category (the chair)", "ReviewParticipantAdd")},
    "/reviews/{number}/comments": {
        "get": {"summary": "The discussion", "tags": _TAG, "parameters": _NUMBER,
                "description": "Root comments with their replies. An anchored comment also has `location` on the "
                               "current draft, or `outdated: true` when its text is gone (`anchor.context` "
                               "shows it as it was).",
                "responses": {"200": _json(_COMMENT_LIST, "the comments"), **_READ_ERRORS}},
        "post": _step("Comment (participants)", "ReviewCommentCreate",
                      "A reply with `parent_id`; anchored with `code` and `clause` or `quote` (on `commit`, "
                      "default the draft's tip).", status="201", answer="ReviewComment")},
    "/reviews/{number}/drafts": {"get": {
        "summary": "The draft: its commits and the covered procedures", "tags": _TAG,
        "parameters": _NUMBER + DRAFT_PARAMS,
        "responses": {"200": _json(_DRAFTS, "the draft"), **_READ_ERRORS}}},
    "/reviews/{number}/drafts/{code}": {"put": {
        **_step("Save the draft of a procedure (participants)", "ReviewDraftSave",
                "One commit on the review's branch. `parent` is the `tip` you edited; when someone saved after "
                "it, nothing is written and the 409 carries both texts. While the review is being implemented, "
                "the chair's merged text after a release conflict (the sign-offs are voided and the review goes "
                "back to the decision).", answer=_SAVED, errors={**_ERRORS, **_DRAFT_CONFLICT}),
        "parameters": _NUMBER + [{"name": "code", "in": "path", "required": True,
                                  "schema": {"type": "string", "example": "QP-CS-001"}}]}},
    "/reviews/{number}/signoffs": {
        "get": {"summary": "Sign-offs (valid and voided) and the approval rule", "tags": _TAG,
                "parameters": _NUMBER, "responses": {"200": _json(_SIGNOFFS, "the sign-offs"), **_READ_ERRORS}},
        "post": _step("Sign the draft (participants, in the decision step)", "ReviewSign",
                      "Enter your password again, even with an API token. `commit` is the draft commit you read "
                      "(409 when the draft moved on); a wrong password is a 400.", status="201",
                      answer="ReviewSignOff")},
    "/reviews/{number}/decision": {"post": _step(
        "Record the decision (the chair, in the decision step)", "ReviewDecision",
        "Every covered procedure: revise (adopt the draft), no_change, or withdraw (with a reason).")},
    "/reviews/{number}/implementation": {"post": _step(
        "Implement: release the new versions and the change record, close the review (the chair)",
        "ReviewImplementation", errors={**_ERRORS, **_RELEASE_CONFLICT})},
}, {
    "Review": {"type": "object", "properties": {
        "number": {"type": "string", "example": "R-2026-001"}, "kind": {"type": "string", "enum": list(KINDS)},
        "state": {"type": "string", "enum": list(STATES)}, "title": _STR,
        "chair": {"type": "string", "description": "login"}, "department": _NSTR,
        "codes": {"type": "array", "items": _STR}, "due_on": _DAY, "step_due_on": _DAY,
        "created_at": {"type": "string", "format": "date-time"}, "closed_at": _WHEN, "version": {"type": "integer"},
        "links": {"type": "object", "properties": {name: _STR for name in (
            "self", "html", "comments", "drafts", "signoffs", "record")}},
        # One review (not the list) also has these:
        "chair_name": _STR,
        "triggers": {"type": "array", "items": {"type": "object", "properties": {
            "source_type": _STR, "source_id": {"type": ["integer", "null"]}, "label": _STR, "reason": _STR,
            "created_at": {"type": "string", "format": "date-time"}}}},
        "participants": {"type": "array", "items": {"type": "object", "properties": {
            "login": _STR, "display_name": _STR, "category": {"type": "string", "enum": list(PARTICIPANT_CATEGORIES)},
            "added_at": {"type": "string", "format": "date-time"}}}},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "code": _STR, "title": _STR, "version_before": _NSTR,
            "decision": {"type": ["string", "null"], "enum": [*DECISIONS, None]}, "decision_reason": _STR,
            "version_after": _NSTR}}},
        "draft": {"type": "object", "properties": {"branch": _NSTR, "base_commit": _NSTR, "tip": _NSTR}},
        "approval": _ref("ReviewApproval"), "decision_summary": _STR, "cancel_reason": _NSTR,
        "effective_on": _DAY, "result_commit": _NSTR, "record_path": _NSTR,
        "allowed_transitions": {"type": "array", "items": _STR, "description": "targets of …/move from this step"},
        "can_run": {"type": "boolean", "description": "you may move, decide, implement"},
        "can_take_part": {"type": "boolean", "description": "you may edit, comment, sign"}}},
    "ReviewCreate": {"type": "object", "required": ["kind", "codes"], "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "codes": {"type": "array", "items": _STR, "minItems": 1, "description": "procedure codes"},
        "chair": {"type": "string", "description": "login (default: you, or the default chair)"},
        "reason": {"type": "string", "description": "why the review is needed (required)"},
        "title": {"type": "string", "maxLength": service.MAX_TITLE},
        "participants": {"type": "array", "items": {"type": "object", "required": ["login", "category"],
                                                     "properties": {"login": _STR, "category": {
                                                         "type": "string", "enum": list(PARTICIPANT_CATEGORIES)}}}}}},
    "ReviewApproval": {"type": "object", "description": "the approval rule against the draft's tip", "properties": {
        "met": {"type": "boolean"}, "approvals": {"type": "object", "additionalProperties": {"type": "integer"}},
        "missing": {"type": "object", "additionalProperties": {"type": "integer"}},
        "rejections": {"type": "integer"}, "commit": _NSTR}},
    "ReviewMove": {"type": "object", "required": ["target"], "properties": {
        "target": {"type": "string", "enum": list(STATES)}, "note": _STR, "version": _VERSION}},
    "ReviewCancel": {"type": "object", "required": ["reason"], "properties": {"reason": _STR, "version": _VERSION}},
    "ReviewParticipantAdd": {"type": "object", "required": ["login", "category"], "properties": {
        "login": _STR, "category": {"type": "string", "enum": list(PARTICIPANT_CATEGORIES)}, "version": _VERSION}},
    "ReviewComment": {"type": "object", "properties": {
        "id": {"type": "integer"}, "parent_id": {"type": ["integer", "null"]}, "author": {
            "type": "object", "properties": {"login": _STR, "display_name": _STR}},
        "body": _STR, "created_at": {"type": "string", "format": "date-time"}, "resolved_at": _WHEN,
        "resolved_by": _NSTR,
        "anchor": {"type": ["object", "null"], "properties": {
            "code": _STR, "commit": _STR, "clause": _NSTR, "quote": _NSTR, "context": _NSTR}},
        "location": {"type": ["object", "null"], "description": "anchored: where the text is on the current draft",
                     "properties": {"clause": _NSTR, "line": {"type": "integer"}, "end_line": {"type": "integer"},
                                    "excerpt": _STR}},
        "outdated": {"type": "boolean", "description": "anchored: the text is gone from the current draft"},
        "replies": {"type": "array", "items": _ref("ReviewComment")}}},
    "ReviewCommentCreate": {"type": "object", "required": ["body"], "properties": {
        "body": _STR, "parent_id": {"type": "integer"}, "code": {"type": "string", "description": "anchor: procedure"},
        "commit": {"type": "string", "description": "anchor: a draft commit (default the tip)"},
        "clause": {"type": "string", "example": "4.2.1"}, "quote": {"type": "string", "maxLength": 500}}},
    "ReviewDraftFile": {"type": "object", "properties": {
        "code": _STR, "title": _STR, "changed": {"type": "boolean", "description": "differs from the version reviewed"},
        "markdown": {"type": "string", "description": "only for the requested `code`"}}},
    "ReviewDraftSave": {"type": "object", "required": ["markdown", "parent"], "properties": {
        "markdown": {"type": "string", "description": "the whole file: front matter and body"},
        "parent": {**_NSTR, "description": "the draft `tip` you edited (null: there was no draft yet)"},
        "summary": {"type": "string", "maxLength": drafts.MAX_SUMMARY}}},
    "ReviewSignOff": {"type": "object", "properties": {
        "id": {"type": "integer"}, "login": _STR, "printed_name": _STR,
        "category": {"type": "string", "enum": list(PARTICIPANT_CATEGORIES)},
        "meaning": {"type": "string", "enum": list(MEANINGS)}, "reason": _NSTR, "commit": _STR,
        "signed_at": {"type": "string", "format": "date-time"}, "valid": {"type": "boolean"}, "voided_at": _WHEN,
        "voided_reason": _NSTR, "manifestation": _STR}},
    "ReviewSign": {"type": "object", "required": ["meaning", "password", "commit"], "properties": {
        "meaning": {"type": "string", "enum": list(MEANINGS)},
        "password": {"type": "string", "format": "password", "description": "your password, again"},
        "commit": {"type": "string", "description": "the draft commit you read"},
        "reason": {"type": "string", "description": "required to reject"}}},
    "ReviewDecision": {"type": "object", "required": ["decisions"], "properties": {
        "decisions": {"type": "object", "description": "per covered procedure code", "additionalProperties": {
            "type": "object", "required": ["decision"], "properties": {
                "decision": {"type": "string", "enum": list(DECISIONS)}, "reason": _STR}}},
        "summary": {"type": "string", "description": "the discussion's summary, for the change record"},
        "version": _VERSION}},
    "ReviewImplementation": {"type": "object", "properties": {
        "effective": {"type": "string", "format": "date", "description": "the new versions' effective date "
                                                                          "(today or later; default today)"},
        "version": _VERSION}},
})

"""Helpers for API views: JSON bodies and query strings with clear 400s, projects named by code.

Every endpoint names what it accepts with the declaration the OpenAPI document shows — a
registered request-body schema, a ``parameters`` list — and :func:`json_body` /
:func:`check_args` refuse anything else with a 400 naming it. A misspelt field or filter
is an error the client sees, never silently ignored; and since the check and the document
read the same declaration, they cannot drift apart.

Projects may be named by ``project`` (code) or ``project_id`` in every body and every list
filter (:func:`with_project_id`, :func:`project_filter_arg`). An unknown project is answered
exactly like one the caller does not work on, so no answer tells which codes exist.
"""
from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from accounts.models import Project
from api.openapi import COMMON_QUERY, property_names, query_names, query_param
from webapp.exceptions import ValidationError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.pagination import paginate

#: At most this many unknown names are listed in one answer (a body may carry thousands).
MAX_NAMED = 20
#: Longer names are cut in messages.
NAME_MAX = 60
#: Ids above this cannot exist (32-bit primary keys) and would overflow a database integer.
ID_MAX = 2**31 - 1
#: An id no row has: an unknown project code becomes this, so it is answered like any unseen project.
NO_PROJECT = -1

#: ``?project=`` and ``?project_id=`` of every list that can be filtered by project.
PROJECT_PARAMS = [
    query_param("project", "project code (a number that is no project's code is taken as a project id)"),
    query_param("project_id", "project id", type="integer"),
]

__all__ = ["MAX_NAMED", "PROJECT_PARAMS", "check_args", "check_fields", "json_body", "project_filter_arg", "project_id_for_code",
           "with_project_id"]


def _short(name) -> str:
    name = str(name)
    return name if len(name) <= NAME_MAX else name[:NAME_MAX] + "…"


def _refuse_unknown(given, allowed: frozenset[str], per_name, summary) -> None:
    """Raise one ValidationError naming (up to :data:`MAX_NAMED` of) the names not in ``allowed``."""
    unknown = [name for name in dict.fromkeys(given) if name not in allowed]
    if not unknown:
        return
    shown = [_short(name) for name in unknown[:MAX_NAMED]]
    names = ", ".join(shown) + (" …" if len(unknown) > MAX_NAMED else "")
    raise ValidationError(summary(names=names, allowed=", ".join(sorted(allowed)) or "—"),
                          errors={name: [per_name] for name in shown})


def _unknown_params(names, allowed):
    return _l("Unknown query parameter: %(names)s. This endpoint accepts: %(allowed)s.", names=names,
              allowed=allowed)


def _unknown_fields(names, allowed):
    return _l("Unknown field: %(names)s. This endpoint accepts: %(allowed)s.", names=names, allowed=allowed)


def check_args(allowed=()):
    """The query arguments, when every name is declared in ``allowed`` (an OpenAPI
    ``parameters`` list or plain names) or in :data:`~api.openapi.COMMON_QUERY`; otherwise a
    400 naming the unknown ones."""
    _refuse_unknown(request.args.keys(), query_names(allowed) | query_names(COMMON_QUERY),
                    _l("Unknown query parameter."), _unknown_params)
    _check_values(allowed)
    return request.args


#: How a boolean query parameter may be written.
BOOLEAN_WORDS = frozenset({"true", "false", "1", "0"})


def _value_problem(raw: str, schema_: dict):
    """Why ``raw`` does not fit a declared parameter ``schema_`` (a translated message), or None."""
    kind = schema_.get("type")
    if kind == "integer":
        try:
            number = int(raw.strip())
        except ValueError:
            return _l("Must be a whole number.")
        low, high = schema_.get("minimum"), schema_.get("maximum")
        if (low is not None and number < low) or (high is not None and number > high):
            return _l("Must be between %(low)s and %(high)s.", low="−∞" if low is None else low,
                      high="∞" if high is None else high)
    elif kind == "boolean" and raw.strip().lower() not in BOOLEAN_WORDS:
        return _l("Must be true or false.")
    if "enum" in schema_ and raw not in [str(v) for v in schema_["enum"]]:
        return _l("Must be one of: %(choices)s.", choices=", ".join(str(v) for v in schema_["enum"]))
    return None


def _check_values(allowed) -> None:
    """A 400 naming each query argument whose value breaks its declared schema (type, bounds, choices):
    the API refuses what its document says it does not take, instead of guessing."""
    declared = {p["name"]: p.get("schema", {}) for p in (*allowed, *COMMON_QUERY)
                if isinstance(p, dict) and p.get("in") == "query"}
    errors = {}
    for name, schema_ in declared.items():
        for raw in request.args.getlist(name):
            problem = _value_problem(raw, schema_)
            if problem is not None:
                errors.setdefault(name, []).append(problem)
    if errors:
        raise ValidationError(_l("Some query parameters have values this endpoint does not take."),
                              errors={name: messages[:1] for name, messages in errors.items()})


def json_body(allowed=None, *, args=()) -> dict:
    """The request's JSON object, or a translated 400 when it is missing or malformed.

    With ``allowed`` (a registered schema name, a schema, or plain names) every top-level
    field must be declared there and every query argument in ``args``; anything else is a
    400 naming it.
    """
    if allowed is not None:
        check_args(args)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(_l("Send a JSON object with Content-Type: application/json."))
    if allowed is not None:
        check_fields(data, allowed)
    return data


def check_fields(data: dict, allowed) -> dict:
    """``data`` when each of its keys is declared in ``allowed`` (as for :func:`json_body`);
    otherwise a 400 naming the others. For bodies whose fields depend on one of their values."""
    _refuse_unknown(data.keys(), property_names(allowed), _l("Unknown field."), _unknown_fields)
    return data


def _as_id(raw: str) -> int:
    value = int(raw)
    return value if 0 < value <= ID_MAX else NO_PROJECT


def project_id_for_code(code) -> int | None:
    """The id of the project whose code is ``code``, or None."""
    return db.session.execute(select(Project.id).where(Project.code == str(code))).scalar()


def project_filter_arg() -> int | None:
    """The ``?project=<code>`` / ``?project_id=<id>`` filter as a project id: None when absent,
    :data:`NO_PROJECT` (matches nothing) for an unknown one, so a typo gives an empty list
    rather than every project. Both given and naming different projects match nothing."""
    code = (request.args.get("project") or "").strip()
    raw_id = (request.args.get("project_id") or "").strip()
    found = None
    if code:
        found = project_id_for_code(code)
        if found is None:
            found = _as_id(code) if code.isdecimal() else NO_PROJECT
    if raw_id:
        if not raw_id.isdecimal():
            raise ValidationError(_l("Enter a whole number."), errors={"project_id": [_l("Enter a whole number.")]})
        by_id = _as_id(raw_id)
        found = by_id if found in (None, by_id) else NO_PROJECT
    return found


def with_project_id(data: dict) -> dict:
    """``data`` with ``project_id`` set from a ``project`` code when one is given.

    An unknown code becomes :data:`NO_PROJECT`, so the service answers exactly as it does
    for a project the caller does not work on ("Unknown project."). When both are given they
    must name the same project.
    """
    code = data.get("project")
    if code in (None, ""):
        return data
    pid = project_id_for_code(code)
    pid = NO_PROJECT if pid is None else pid
    given = data.get("project_id")
    if given not in (None, "") and str(given).strip() != str(pid):
        message = _l("project and project_id name different projects; send one of them.")
        raise ValidationError(message, errors={"project": [message]})
    return {**data, "project_id": pid}


def voided_arg() -> str:
    """``?voided=only|all`` of the record lists; anything else means live records only."""
    voided = request.args.get("voided", "")
    return voided if voided in ("only", "all") else ""


def page_json(stmt, serialise, *, per_page: int, max_per_page: int):
    """One page of ``stmt`` (``?page=``, ``?per_page=``) as ``{items, page, per_page, has_next}``."""
    page = paginate(stmt, per_page=per_page, max_per_page=max_per_page)
    return jsonify(items=[serialise(row) for row in page.items], page=page.number, per_page=page.per_page,
                   has_next=page.has_next)

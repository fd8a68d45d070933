"""Procedure pages for readers: list, read, print, history, past versions, compare, search.

Versions appear in URLs with a hyphen instead of the slash: ``A/1`` is
``/procedures/QP-CS-001/versions/A-1``. When a later commit reused a version label (a
correction pushed with plain git), the older commit is addressed by its commit sha
(``/versions/3f2a9c1d0b7e``); ``compare?from=&to=`` takes either form.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from accounts import cache as accounts_cache
from accounts.models import Department
from procedures import catalog
from procedures import health as store_health
from procedures import search as search_service
from procedures.permissions import PROCEDURES_PUBLISH, PROCEDURES_READ
from webapp import dates
from webapp.extensions import db
from webapp.formatting import fmt_date, fmt_datetime
from webapp.frames import render_framed
from webapp.i18n import _
from webapp.pagination import Page
from webapp.permissions import permission_required
from webapp.security import CSRF_FIELD, csrf_token
from webapp.signals import procedure_reviews_wanted, review_page_wanted

bp = Blueprint("procedures", __name__, url_prefix="/procedures")

PER_PAGE = 100


@bp.before_request
def _sync_catalogue():
    # A commit pushed with plain git shows up on the next page view: one ref-file read when nothing moved.
    catalog.ensure_synced(commit=True)


_DEPARTMENT_NAMES = select(Department.__table__.c.code, Department.__table__.c.name, Department.__table__.c.name_en)


def _departments() -> dict[str, str]:
    """Department code -> name in the user's language (kept per process: see accounts.cache)."""
    en = str(get_locale() or "zh_Hans").startswith("en")
    rows = accounts_cache.cached(("department names",), lambda: tuple(
        tuple(row) for row in db.session.connection().execute(_DEPARTMENT_NAMES)))
    return {code: (name_en or name) if en else name for code, name, name_en in rows}


def review_url(review_id: int | None) -> str | None:
    """The page of review ``review_id`` from the feature that runs reviews (:data:`review_page_wanted`),
    or None (the pages then show the bare number)."""
    if review_id is None:
        return None
    return next((url for _receiver, url in review_page_wanted.send(review_id) if url), None)


def reviews_of(code: str):
    """The reviews of ``code`` from the feature that runs reviews (:data:`procedure_reviews_wanted`), or
    None without one. Cheap: the answer is cached until a review changes (its ``stamp``)."""
    return next((found for _receiver, found in procedure_reviews_wanted.send(code) if found), None)


# --------------------------------------------------------------------------
# ETags: a page is the same as long as the version, the day, the language and the
# user (name, permissions) are; a 304 saves the rendering and the transfer.
# --------------------------------------------------------------------------

_template_stamp: str | None = None


def _templates_stamp() -> str:
    """Changes when the templates or translations change (a deploy), so old ETags stop matching."""
    global _template_stamp
    if _template_stamp is None:
        root = Path(current_app.root_path).parent
        parts = []
        for pattern in ("templates/base.html", "templates/procedures/*.html", "procedures/translations/*/*/*.mo",
                        "translations/*/*/*.mo", "static/css/*.css", "static/js/*.js"):
            for path in sorted(root.glob(pattern)):
                st = path.stat()
                parts.append(f"{path.name}:{st.st_mtime_ns}:{st.st_size}")
        _template_stamp = hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]
    return _template_stamp


def _etag(*parts) -> str:
    user = current_user
    if CSRF_FIELD not in session:
        csrf_token()  # the page carries this session's CSRF token: a new session must not get a 304
    base = [_templates_stamp(), str(get_locale()), str(user.get_id()), user.display_name,
            ",".join(sorted(user.permissions)), session[CSRF_FIELD]]
    return hashlib.sha1("\x1f".join(base + [str(p) for p in parts]).encode()).hexdigest()


def _not_modified(etag: str) -> Response | None:
    if "_flashes" in session:  # a message waits to be shown: the cached page would not have it
        return None
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
        response.set_etag(etag, weak=True)
        return response
    return None


def _with_etag(body: str, etag: str) -> Response:
    response = Response(body, mimetype="text/html")
    response.set_etag(etag, weak=True)
    return response


def _fragment(key: tuple, template: str, **context) -> Markup:
    """A rendered page part from the per-process cache; ``key`` must name everything it shows
    (only immutable values: commits, blobs, dates, permissions), language and URL root are added."""
    key = (template, *key, str(get_locale()), request.script_root)
    cache = catalog.fragment_cache()
    html = cache.get(key)
    if html is None:
        html = Markup(render_template(template, **context))
        cache.put(key, html, len(html))
    return html


# --------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------

@bp.get("/")
@permission_required(PROCEDURES_READ)
def index():
    today = dates.local_today()
    department = request.args.get("department") or None
    status = request.args.get("status") or None
    if status not in catalog.LIST_STATUSES:
        status = None
    include_withdrawn = request.args.get("withdrawn") == "1"
    items = catalog.list_procedures(department=department, status=status, include_withdrawn=include_withdrawn,
                                    today=today)
    try:
        number = max(1, int(request.args.get("page", 1)))
    except ValueError:
        number = 1
    start = (number - 1) * PER_PAGE
    page = Page(items[start:start + PER_PAGE], number, PER_PAGE, len(items) > start + PER_PAGE)
    problems = store_health.problem_count() if current_user.can(PROCEDURES_PUBLISH) else 0
    return render_template(
        "procedures/index.html", page=page, total=len(items), today=today, departments=_departments(),
        department=department, status=status, include_withdrawn=include_withdrawn,
        statuses=catalog.LIST_STATUSES, problems=problems)


@bp.get("/health")
@bp.get("/problems")
@permission_required(PROCEDURES_PUBLISH)
def problems():
    """Store health, for document controllers: versions on main the catalogue could not take (invalid, or
    unreadable), files on main or review branches the rules refuse, unexpected refs, the push hook and the
    last maintenance (also at ``/procedures/health``)."""
    return render_template("procedures/problems.html", open_problems=catalog.problems(),
                           resolved=catalog.problems(resolved=True, limit=20),
                           known=catalog.all_versions(dates.local_today()), health=store_health.report())


def _rendered(view: catalog.VersionView):
    """``(rendered, None)``, or ``(None, message)`` when this one version cannot be shown."""
    try:
        return view.rendered(), None
    except catalog.DocumentUnreadable as exc:
        return None, exc.message


@bp.get("/search")
@permission_required(PROCEDURES_READ)
def search():
    q = (request.args.get("q") or "").strip()[:search_service.MAX_QUERY]
    all_versions = request.args.get("all") == "1"
    results = search_service.search(q, all_versions=all_versions, today=dates.local_today())
    return render_template("procedures/search.html", q=q, all_versions=all_versions, results=results)


@bp.get("/<code>")
@permission_required(PROCEDURES_READ)
def read(code: str):
    """The version in force. The hot path: a 304 when the browser has it, else the content
    block comes from a per-process cache keyed by immutable values (commit, blob, day,
    language, what the user may do), so only the page frame is rendered per request."""
    today = dates.local_today()
    view = catalog.get_current(code, today)
    departments = _departments()
    reviews = reviews_of(view.code)
    identity = (view.commit, view.blob, view.state, view.removed, view.upcoming.commit if view.upcoming else "",
                today, tuple(departments.get(d, d) for d in view.departments), view.next_review,
                reviews.stamp if reviews else "")
    etag = _etag("read", *identity)
    cached = _not_modified(etag)
    if cached is not None:
        return cached
    can_publish = current_user.can(PROCEDURES_PUBLISH)
    rendered, unreadable = _rendered(view)
    context = dict(v=view, rendered=rendered, unreadable=unreadable, today=today, departments=departments,
                   can_publish=can_publish, review_url=review_url(view.review_id), reviews=reviews)
    if unreadable is not None:
        # Shown with the version's header and links, never cached, no ETag: once fixed it renders.
        content = Markup(render_template("procedures/_read_body.html", **context))
        return render_framed("procedures/read.html", {"page_title": f"{view.code} {view.title}",
                                                      "content": content})
    content = _fragment(("read", *identity, can_publish), "procedures/_read_body.html", **context)
    body = render_framed("procedures/read.html", {"page_title": f"{view.code} {view.title}", "content": content})
    return _with_etag(body, etag)


@bp.get("/<code>/history")
@permission_required(PROCEDURES_READ)
def history(code: str):
    today = dates.local_today()
    versions = catalog.list_versions(code, today)
    current = catalog.get_current(code, today)
    # The newest commit and the number of versions identify the whole list (a sha names its ancestors).
    # One commit can change several procedures: the code is part of what the page shows.
    identity = (code, versions[0].commit, len(versions), today)
    etag = _etag("history", *identity)
    cached = _not_modified(etag)
    if cached is not None:
        return cached
    content = _fragment(identity, "procedures/_history_body.html", versions=versions, current=current, today=today,
                        version_base=url_for("procedures.versions_root", code=code),
                        compare_base=url_for("procedures.compare", code=code),
                        reviews={v.review_id: review_url(v.review_id) for v in versions if v.review_id is not None})
    return _with_etag(render_framed("procedures/history.html", {"page_title": f"{_('History')} · {code}",
                                                                 "content": content}), etag)


@bp.get("/<code>/versions/")
@permission_required(PROCEDURES_READ)
def versions_root(code: str):
    """The folder of versions is the history page."""
    catalog.get_current(code)  # 404 for unknown codes
    return redirect(url_for("procedures.history", code=code))


@bp.get("/<code>/versions/<ref>")
@permission_required(PROCEDURES_READ)
def version(code: str, ref: str):
    today = dates.local_today()
    view = catalog.get_version(code, ref, today)
    current = catalog.get_current(code, today)
    departments = _departments()
    etag = _etag("version", view.commit, view.blob, view.state, current.commit, today,
                 tuple(departments.get(d, d) for d in view.departments), view.next_review)
    cached = _not_modified(etag)
    if cached is not None:
        return cached
    rendered, unreadable = _rendered(view)
    body = render_template("procedures/version.html", v=view, current=current, rendered=rendered,
                           unreadable=unreadable, today=today, departments=departments,
                           review_url=review_url(view.review_id), can_publish=current_user.can(PROCEDURES_PUBLISH))
    return body if unreadable is not None else _with_etag(body, etag)


@bp.get("/<code>/compare")
@permission_required(PROCEDURES_READ)
def compare(code: str):
    today = dates.local_today()
    from_ref = (request.args.get("from") or "").strip() or None
    to_ref = (request.args.get("to") or "").strip() or None
    versions = catalog.list_versions(code, today)
    result = catalog.compare(code, from_ref, to_ref, today)
    identity = (code, result.old.commit, result.new.commit, versions[0].commit, len(versions), today)
    etag = _etag("compare", *identity)
    cached = _not_modified(etag)
    if cached is not None:
        return cached
    content = _fragment(identity, "procedures/_compare_body.html", c=result, versions=versions, today=today,
                        version_base=url_for("procedures.versions_root", code=code))
    return _with_etag(render_framed("procedures/compare.html", {"page_title": f"{_('Compare')} · {code}",
                                                                 "content": content}), etag)


def _print_target(code: str):
    """What ``?version=`` asks to print (the current version by default), today, and whether the
    copy is controlled (the version in force)."""
    today = dates.local_today()
    ref = (request.args.get("version") or "").strip()
    view = catalog.get_version(code, ref, today) if ref else catalog.get_current(code, today)
    return view, today, view.is_current and not view.is_withdrawn


def _printed_at() -> datetime:
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"]))


@bp.get("/<code>/print")
@permission_required(PROCEDURES_READ)
def print_view(code: str):
    view, today, controlled = _print_target(code)
    css_args = {"code": code}
    if request.args.get("version"):
        css_args["version"] = request.args["version"]
    rendered, unreadable = _rendered(view)
    return render_template("procedures/print.html", v=view, rendered=rendered, unreadable=unreadable, today=today,
                           departments=_departments(), controlled=controlled and unreadable is None,
                           printed_at=_printed_at(), print_css=url_for("procedures.print_css", **css_args))


def _css_string(value: str) -> str:
    """A CSS string literal: quotes, backslashes and line breaks escaped (no way out of the string)."""
    out = []
    for ch in str(value):
        if ch in '"\\' or ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@bp.get("/<code>/print.css")
@permission_required(PROCEDURES_READ)
def print_css(code: str):
    """The @page header and footer of a printed procedure (CSP allows stylesheets only from here)."""
    view, _today, controlled = _print_target(code)
    copy = _("Controlled copy") if controlled else _("Uncontrolled copy")
    printed = _("Printed by %(name)s, %(when)s", name=current_user.display_name,
                when=fmt_datetime(_printed_at()))
    top_left = f"{view.code} {view.title}"
    top_right = _("Version %(version)s · effective %(date)s", version=view.version, date=fmt_date(view.effective))
    page_of = _("Page %(page)s of %(pages)s", page="\x00", pages="\x01")
    before, _sep, rest = page_of.partition("\x00")
    middle, _sep, after = rest.partition("\x01")
    counter = f"{_css_string(before)} counter(page) {_css_string(middle)} counter(pages) {_css_string(after)}"
    css = (
        "@page {\n"
        "  size: A4;\n  margin: 20mm 16mm 22mm 16mm;\n"
        f"  @top-left {{ content: {_css_string(top_left)}; }}\n"
        f"  @top-right {{ content: {_css_string(top_right)}; }}\n"
        f"  @bottom-left {{ content: {_css_string(copy + ' · ' + printed)}; }}\n"
        f"  @bottom-right {{ content: {counter}; }}\n"
        "}\n"
    )
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = "private, no-store"
    return response

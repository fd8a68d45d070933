"""Read the audit log: browse and filter it, open one entry's before/after, export it, check the chain."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from audit import browse, display, labels
from audit.models import AuditEntry
from audit.permissions import AUDIT_READ
from audit.service import seal_of, verify
from webapp.dates import local_today
from webapp.exceptions import NotFound
from webapp.export import csv_response, xlsx_response
from webapp.extensions import db
from webapp.formatting import fmt_number
from webapp.i18n import _, _l
from webapp.pagination import paginate
from webapp.permissions import permission_required

bp = Blueprint("audit", __name__, url_prefix="/audit")

PER_PAGE = 50
#: An export holds at most this many entries; more is refused with a message (narrow the filters).
EXPORT_LIMIT = 20_000
#: Characters of one change in an export cell (XLSX cells hold 32,767).
CELL_LIMIT = 30_000
_BATCH = 500
_MAX_ID = 2**31 - 1  # an INTEGER column: a larger id is no entry (and must not reach PostgreSQL)


def _list_page(filters: browse.Filters, status: int = 200):
    """The log page for ``filters``; with errors in them, the form and its messages (no entries)."""
    page, total = None, 0
    if filters.ok:
        page = paginate(browse.entries_query(filters), per_page=PER_PAGE)
        total = browse.count(filters)
    items = page.items if page else []
    pages = max(1, -(-total // page.per_page)) if page else 1
    return render_template(
        "audit/index.html", page=page, total=total, pages=pages, filters=filters, entries=items,
        refs=display.references(items), object_types=browse.object_types(), actors=browse.actors(),
        action_groups=labels.action_choices(), audit_labels=labels, audit_display=display,
    ), status


@bp.get("/")
@permission_required(AUDIT_READ)
def index():
    filters = browse.parse_filters(request.args)
    return _list_page(filters, 200 if filters.ok else 400)


@bp.get("/<int:entry_id>")
@permission_required(AUDIT_READ)
def detail(entry_id: int):
    entry = db.session.get(AuditEntry, entry_id) if entry_id <= _MAX_ID else None
    if entry is None:
        raise NotFound(_l("There is no audit entry %(id)s.", id=entry_id))
    filters = browse.parse_filters(request.args)
    return render_template(
        "audit/detail.html", e=entry, seal=seal_of(entry), rows=display.changes(entry),
        ref=display.references([entry]).get((entry.object_type, entry.object_id), ""),
        back=filters.args() if filters.ok else {}, audit_labels=labels, audit_display=display)


def _described(filters: browse.Filters) -> str:
    """The filters in words, for an export's subtitle."""
    parts = []
    if filters.actor_login:
        parts.append(f"{_('User')}: {filters.actor_login}")
    if filters.object_type:
        parts.append(f"{_('Object type')}: {labels.object_label(filters.object_type).text}")
    if filters.object_id:
        parts.append(f"{_('Object ID')}: {filters.object_id}")
    if filters.action:
        action = filters.action
        text = labels.family_label(action[:-1]).text if action.endswith(".") else labels.action_label(action).text
        parts.append(f"{_('Action')}: {text}")
    if filters.q:
        parts.append(f"{_('Text')}: {filters.q}")
    if filters.start or filters.end:
        parts.append(f"{_('Date')}: {filters.start.isoformat() if filters.start else '…'} – "
                     f"{filters.end.isoformat() if filters.end else '…'}")
    return "; ".join(parts) or _("All entries")


def _export_rows(filters: browse.Filters):
    """The export's rows, newest first, read in batches (a batch's entries leave the session once written)."""
    last_id = None
    while True:
        stmt = browse.entries_query(filters).limit(_BATCH)
        if last_id is not None:
            stmt = stmt.where(AuditEntry.id < last_id)
        batch = list(db.session.execute(stmt).scalars())
        if not batch:
            return
        refs = display.references(batch)
        for e in batch:
            change = display.changes_text(e)
            if len(change) > CELL_LIMIT:
                change = change[:CELL_LIMIT - 1] + "…"
            yield [e.id, e.at, display.actor_name(e), e.actor_login, labels.action_label(e.action).text, e.action,
                   labels.object_label(e.object_type).text, e.object_id, refs.get((e.object_type, e.object_id), ""),
                   change, e.reason, e.git_commit or "", e.prev_hash, e.hash]
            db.session.expunge(e)
        last_id = batch[-1].id


@bp.get("/export.<any(csv, xlsx):fmt>")
@permission_required(AUDIT_READ)
def export(fmt: str):
    """The filtered log for auditors: every entry with its change in words and its chain hashes."""
    filters = browse.parse_filters(request.args)
    if not filters.ok:
        return _list_page(filters, 400)
    total = browse.count(filters)
    if total > EXPORT_LIMIT:
        flash(_("%(n)s entries match these filters; an export holds at most %(limit)s. Narrow the filters "
                "(a date range, a person or an object) and export again.", n=fmt_number(total), limit=fmt_number(EXPORT_LIMIT)),
              "error")
        return redirect(url_for("audit.index", **filters.args()), 303)
    headers = [_("Entry"), _("Time"), _("User"), _("Login"), _("Action"), _("Action code"), _("Object type"),
               _("Object ID"), _("Object"), _("Change"), _("Reason"), _("Git commit"), _("Previous hash"),
               _("Hash")]
    name = f"{_('Audit log')} {local_today().isoformat()}"
    rows = _export_rows(filters)
    if fmt == "csv":
        return csv_response(f"{name}.csv", headers, rows)
    subtitle = _("%(filters)s · %(n)s entries · exported %(when)s", filters=_described(filters), n=total,
                 when=local_today().isoformat())
    return xlsx_response(f"{name}.xlsx", _("Audit log"), headers, rows, subtitle=subtitle)


@bp.post("/verify")
@permission_required(AUDIT_READ)
def check():
    return render_template("audit/verify.html", result=verify())

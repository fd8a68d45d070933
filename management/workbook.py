"""The management review as an XLSX workbook: one sheet per review input, the record last."""
from __future__ import annotations

from openpyxl import Workbook

from management import report as figures
from management.models import ManagementReview
from management.service import FOLLOW_UP_LABELS, ITEM_KIND_LABELS, STATE_LABELS
from records.export import Percent, write_sheet
from records.stats import Rate
from satisfaction.complaints.summary import Figures
from webapp.i18n import _
from workflow.deciding import DECISION_LABELS
from workflow.service import KIND_LABELS as REVIEW_KIND_LABELS


def _pct(value: float | None):
    return None if value is None else Percent(value)


def _label(r: Rate) -> str:
    text = str(figures.LABEL_TEXTS[r.label]) if r.label else ""
    if r.n and r.small_sample:
        text = f"{text} ({figures.SMALL_SAMPLE_TEXT})"
    return text


def _rate_cells(r: Rate) -> list:
    return [_pct(r.value), _pct(r.low), _pct(r.high), _label(r)]


def _rate_heads(name: str) -> list[str]:
    return [name, _("Interval low"), _("Interval high"), _("Label")]


def _satisfaction_rows(rows) -> list[list]:
    return [[row.label, row.counts.households, row.counts.distributed, *_rate_cells(row.distribution),
             row.counts.returned, *_rate_cells(row.returned), row.counts.satisfied, *_rate_cells(row.satisfaction)]
            for row in rows]


def _share_cells(share: figures.Share) -> list:
    low, high = share.interval
    return [share.successes, share.n, _pct(share.value), _pct(low), _pct(high)]


def build(rep: figures.Report, record: ManagementReview | None) -> Workbook:
    """Every table of the page, each on its own sheet with its definitions below it."""
    wb = Workbook()
    year = rep.year
    sub = _("Management review %(year)d, figures as of %(day)s", year=year, day=rep.today.isoformat())

    # (a) the previous review's decisions
    prev = rep.previous
    write_sheet(wb.active, _("(a) Decisions of the %(year)d review", year=prev.year),
                [_("About"), _("Decision or action"), _("Responsible"), _("Due"), _("Action number"), _("Action state now"),
                 _("State now"), _("Note")],
                [[str(ITEM_KIND_LABELS.get(p.item.kind, p.item.kind)), p.item.text, p.item.responsible, p.item.due_on,
                  p.action.number if p.action else "",
                  str(rep.actions.statuses.get(p.action.status, p.action.status)) if p.action else "",
                  str(FOLLOW_UP_LABELS.get(p.state, "")), p.note] for p in prev.items],
                subtitle=sub, sheet_name=_("(a) Previous decisions"),
                notes=[] if prev.record else [_("No management review was recorded for %(year)d.", year=prev.year)])

    # (b) satisfaction: company and projects, categories, trend
    s = rep.satisfaction
    heads = [_("Project"), _("Households"), _("Distributed"), *_rate_heads(_("Distribution rate")), _("Returned"),
             *_rate_heads(_("Return rate")), _("Satisfied"), *_rate_heads(_("Satisfaction rate"))]
    notes = [s.definition, _("Targets: distribution %(d)s, return %(r)s, satisfaction %(s)s.",
                             d=f"{s.targets.distribution:.0%}", r=f"{s.targets.returned:.0%}",
                             s=f"{s.targets.satisfaction:.0%}"), str(figures.DEFINITIONS["labels"])]
    write_sheet(wb.create_sheet(), _("(b) Customer satisfaction %(year)d", year=year), heads,
                _satisfaction_rows(s.projects), totals=_satisfaction_rows([s.company])[0], subtitle=sub,
                sheet_name=_("(b) Satisfaction"), notes=notes)
    write_sheet(wb.create_sheet(), _("(b) Satisfaction by service category %(year)d", year=year),
                [_("Service category"), _("Answered"), _("Satisfied"), *_rate_heads(_("Satisfaction rate"))],
                [[label, r.n, r.successes, *_rate_cells(r)] for label, r in s.categories], subtitle=sub,
                sheet_name=_("(b) Categories"))
    heads[0] = _("Year")
    write_sheet(wb.create_sheet(), _("(b) Satisfaction trend"), heads,
                _satisfaction_rows(row for _y, row in s.trend), subtitle=sub, sheet_name=_("(b) Trend"))

    # (b) complaints by month
    c = rep.complaints
    cats = c.categories

    def month_row(label, f: Figures) -> list:
        return [label, f.complaints, *(f.by_category.get(cat.id, 0) for cat in cats), f.praise, f.suggestions,
                _pct(f.on_time_response_rate), _pct(f.on_time_resolution_rate), _pct(f.handling_satisfaction_rate)]

    write_sheet(wb.create_sheet(), _("(b) Complaints %(year)d", year=year),
                [_("Month"), _("Complaints"), *(cat.label for cat in cats), _("Praise"), _("Suggestions"),
                 _("On-time response rate"), _("On-time resolution rate"), _("Handling-satisfaction rate")],
                [month_row(m.strftime("%Y-%m"), f) for m, f in c.months], totals=month_row(_("Year"), c.totals),
                subtitle=sub, sheet_name=_("(b) Complaints"),
                notes=[str(c.definitions[k]) for k in ("on_time_response_rate", "on_time_resolution_rate",
                                                         "handling_satisfaction_rate", "scope")])
    write_sheet(wb.create_sheet(), _("(b) Complaint handling %(year)d", year=year),
                [_("Measure"), _("Meeting the standard"), _("Of"), _("Rate"), _("Interval low"), _("Interval high")],
                [[_("On-time response rate"), *_share_cells(c.on_time_response)],
                 [_("On-time resolution rate"), *_share_cells(c.on_time_resolution)],
                 [_("Handling-satisfaction rate"), *_share_cells(c.handling_satisfaction)]],
                subtitle=sub, sheet_name=_("(b) Complaint handling"))

    # (c) actions per department
    a = rep.actions

    def action_row(label, n: figures.ActionCounts) -> list:
        return [label, n.opened, n.closed, n.effective, n.not_effective, _pct(n.effectiveness.value), n.overdue]

    write_sheet(wb.create_sheet(), _("(c) Corrective and preventive actions %(year)d", year=year),
                [_("Department"), _("Opened"), _("Closed"), _("Verified effective"), _("Verified not effective"),
                 _("Effectiveness"), _("Overdue")],
                [action_row(label, n) for label, n in a.departments], totals=action_row(_("Total"), a.totals),
                subtitle=sub, sheet_name=_("(c) Actions"), notes=[str(figures.DEFINITIONS["actions"])])

    # (d) procedure reviews
    r = rep.reviews
    write_sheet(wb.create_sheet(), _("(d) Procedure reviews closed in %(year)d", year=year),
                [_("Number"), _("Kind"), _("Title"), _("Department"), _("Closed"), _("Procedures and decisions"),
                 _("Version before → after")],
                [[x.review.number, str(REVIEW_KIND_LABELS.get(x.review.kind, x.review.kind)), x.review.title,
                  x.department, x.review.closed_at,
                  "\n".join(f"{i.code}: {DECISION_LABELS.get(i.decision, i.decision or '—')}" for i in x.review.items),
                  "\n".join(f"{i.code} {i.version_before or ''} → {i.version_after}" for i in x.review.items
                            if i.version_after)] for x in r.closed],
                subtitle=sub, sheet_name=_("(d) Reviews"), notes=[str(figures.DEFINITIONS["reviews"])])
    write_sheet(wb.create_sheet(), _("(d) Procedures past their next review"),
                [_("Code"), _("Title"), _("Department"), _("Next review")], [list(row) for row in r.overdue],
                subtitle=_("%(n)d procedures overdue, %(late)d open reviews past their due date, as of %(day)s",
                           n=r.overdue_total, late=r.late_reviews, day=r.as_of.isoformat()),
                sheet_name=_("(d) Overdue"))

    # (e) the meeting's record
    rows = [[_("State"), str(STATE_LABELS[record.state]) if record else _("Not recorded yet")]]
    if record is not None:
        rows += [[_("Date of the meeting"), record.held_on], [_("Attendees"), "\n".join(record.attendee_list)],
                 [_("Conclusions"), record.conclusions]]
        if record.approved:
            rows += [[_("Approved by"), record.approved_name], [_("Approved on"), record.approved_at]]
        rows += [[str(ITEM_KIND_LABELS.get(i.kind, i.kind)),
                  "; ".join(x for x in (i.text, i.responsible, i.due_on.isoformat() if i.due_on else "",
                                        i.action.number if i.action else "") if x)] for i in record.items]
    write_sheet(wb.create_sheet(), _("(e) Decisions and outputs of the %(year)d review", year=year),
                [_("Item"), _("Content")], rows, subtitle=sub, sheet_name=_("(e) Record"))
    return wb

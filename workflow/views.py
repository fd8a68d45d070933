"""Review pages: dashboard, open a review, the review (every step), the draft editor, the change record."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from accounts.models import User
from accounts.permissions import PARTICIPANT_CATEGORIES
from accounts.services import LoginLimits
from procedures import rendering
from procedures.models import Procedure
from procedures.permissions import REVIEWS_MANAGE, REVIEWS_PARTICIPATE
from procedures.publishing import service as publishing
from webapp import dates
from webapp.exceptions import Conflict, InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
from webapp.forms import choices, place_errors, submit_form
from webapp.i18n import _
from webapp.permissions import permission_required
from workflow import (
    anchors,
    dashboard,
    deciding,
    discussion,
    drafts,
    record,
    releasing,
    service,
    signoffs,
    states,
)
from workflow.forms import (
    CancelForm,
    CommentForm,
    DecideForm,
    DraftForm,
    ImplementForm,
    MeetingForm,
    MoveForm,
    OpenForm,
    ParticipantForm,
    ProposalForm,
    SignForm,
)
from workflow.models import DECISIONS

bp = Blueprint("reviews", __name__, url_prefix="/reviews")

#: The moves the chair's buttons offer from each state: on, and back a step (with a note).
FORWARD = {"propose": "discuss", "discuss": "decide", "decide": "implement"}
BACKWARD = {"discuss": "propose", "decide": "discuss"}


def _review(number: str):
    return service.get_review(number, current_user)


def _detail_url(review, anchor: str = "") -> str:
    return url_for("reviews.detail", number=review.number) + anchor


@bp.get("/", endpoint="dashboard")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def dashboard_page():
    return render_template("workflow/dashboard.html", **dashboard.overview(dates.local_today(), current_user))


def _chair_choices():
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name)).all()
    return choices([(str(u.id), u.display_name) for u in users if service.can_chair(u)])


def _procedure_choices():
    rows = db.session.execute(select(Procedure.code, Procedure.title).where(
        Procedure.removed.is_(False), Procedure.status != "withdrawn").order_by(Procedure.code)).all()
    return choices([(c, f"{c} {t}") for c, t in rows])


@bp.route("/new", methods=["GET", "POST"])
@permission_required(REVIEWS_MANAGE)
def new():
    form = OpenForm()
    form.codes.choices = _procedure_choices()
    form.chair.choices = _chair_choices()
    if not form.is_submitted():
        form.kind.data = "incident"
        form.chair.data = str(current_user.id)
        if request.args.get("procedure"):
            form.codes.data = [request.args["procedure"]]

    def step():
        chair = db.session.get(User, int(form.chair.data))
        return service.open_review(kind=form.kind.data, codes=form.codes.data, chair=chair, actor=current_user,
                                   title=form.title.data or "",
                                   trigger=service.TriggerData(source_type="person", reason=form.reason.data or "",
                                                               label=current_user.display_name))

    review, page = submit_form(form, step, lambda form, status: (
        render_template("workflow/new.html", form=form), status), flashed=Conflict)
    if page is not None:
        return page
    flash(_("Review %(number)s opened.", number=review.number), "success")
    return redirect(_detail_url(review))


# ---------------------------------------------------------------------------
# the review page
# ---------------------------------------------------------------------------


def _participant_form(review, form=None):
    form = form or ParticipantForm(formdata=None, version=str(review.version))
    taken = {p.user_id for p in review.participants}
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name)).all()
    form.user.choices = choices([(str(u.id), u.display_name) for u in users if u.id not in taken
                                 and (u.can(REVIEWS_PARTICIPATE) or u.can(REVIEWS_MANAGE))])
    return form


def _meeting_form(review, form=None):
    form = form or MeetingForm(formdata=None)
    form.attendees.choices = [(p.user_id, f"{p.user.display_name} ({PARTICIPANT_CATEGORIES[p.category]})")
                              for p in review.participants]
    return form


def _proposal_form(review, form=None):
    form = form or ProposalForm(formdata=None)
    form.code.choices = choices([("", _("The review as a whole"))] + [(c, c) for c in review.codes])
    return form


def _detail(review, status: int = 200, **posted):
    """The review page; ``posted`` holds a submitted form (with its errors) in place of the empty one."""
    tip = drafts.tip(review)
    if tip is not None and review.state in ("decide", "implement"):
        if signoffs.void_stale(review, tip):
            service.commit(review)
    files = [drafts.draft_file(review, code) for code in review.codes]
    roots = discussion.thread(review)
    # Stale sign-offs were voided just above: evaluate the rule without voiding again.
    rule = (signoffs.evaluate(signoffs.rule_for(review.department), signoffs.valid_signoffs(review), tip)
            if review.state in ("decide", "implement") else None)
    record_html = None
    if review.record_path and review.result_commit:
        record_html = record_page_html(review)
    forms = {
        "participant": _participant_form(review, posted.get("participant")),
        "move": posted.get("move") or MoveForm(formdata=None, version=str(review.version)),
        "cancel": posted.get("cancel") or CancelForm(formdata=None, version=str(review.version)),
        "proposal": _proposal_form(review, posted.get("proposal")),
        "comment": posted.get("comment") or CommentForm(formdata=None),
        "meeting": _meeting_form(review, posted.get("meeting")),
        "sign": posted.get("sign") or SignForm(formdata=None, commit=tip or ""),
        "decide": posted.get("decide") or DecideForm(formdata=None, version=str(review.version),
                                                     summary=review.decision_summary),
        "implement": posted.get("implement") or ImplementForm(formdata=None, version=str(review.version),
                                                              effective=dates.local_today().isoformat()),
    }
    if posted.get("sign") is not None:
        forms["sign"].password.data = ""
    return render_template(
        "workflow/detail.html", review=review, tip=tip, files=files, roots=roots, rule=rule, forms=forms,
        history=drafts.history(review), proposals=drafts.proposals(review), meetings=discussion.meetings(review),
        signoffs=signoffs.signoffs(review), timeline=_timeline(review), record_html=record_html,
        can_run=service.can_run(review, current_user), can_take_part=service.can_take_part(review, current_user),
        allows=lambda step: states.allows(review.state, step), forward=FORWARD.get(review.state),
        backward=BACKWARD.get(review.state),
        state_labels=states.STATE_LABELS, kind_labels=service.KIND_LABELS, trigger_labels=service.TRIGGER_LABELS,
        categories=PARTICIPANT_CATEGORIES, meanings=signoffs.MEANING_LABELS, decisions=deciding.DECISION_LABELS,
        decision_codes=DECISIONS, trigger_url=trigger_url, event_labels=service.EVENT_LABELS, posted_decisions=posted.get("decisions") or {},
        rule_def=signoffs.rule_for(review.department), today=dates.local_today()), status


#: Where a trigger's record is shown: source type → (endpoint, its id argument).
TRIGGER_PAGES = {"complaint": ("complaints.detail", "entry_id"), "action": ("actions.detail", "action_id"),
                 "meeting_issue": ("meetings.issue", "issue_id")}


def trigger_url(trigger) -> str | None:
    """The page of the record that triggered the review (None for the schedule, a person, or a feature
    that is not enabled)."""
    page = TRIGGER_PAGES.get(trigger.source_type)
    if page is None or trigger.source_id is None:
        return None
    try:
        return url_for(page[0], **{page[1]: trigger.source_id})
    except BuildError:
        return None


def _timeline(review):
    from workflow.models import ReviewEvent
    return db.session.scalars(select(ReviewEvent).where(ReviewEvent.review_id == review.id)
                              .options(selectinload(ReviewEvent.actor)).order_by(ReviewEvent.id)).all()


def record_page_html(review):
    """The change record as committed to the store, rendered (what git keeps is what the page shows)."""
    from webapp.store import get_store
    text = get_store().read(review.record_path, review.result_commit).data.decode("utf-8", "replace")
    try:
        return rendering.render(text).html
    except rendering.Unrenderable:
        return Markup("<pre>") + text + Markup("</pre>")


@bp.get("/<number>")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def detail(number: str):
    return _detail(_review(number))


def _date_of(field) -> date:
    """The ISO date typed into ``field`` (a field error when it is not one)."""
    try:
        return date.fromisoformat(field.data or "")
    except ValueError:
        raise ValidationError(_("Give a date."), errors={field.name: [_("Give a date.")]}) from None


def _may(review, who: str, step: str | None = None) -> None:
    """Refuse before reading a form that the page would not show to this user or in this state (403/409),
    so a refused form's errors never go unseen."""
    (service.check_run if who == "run" else service.check_take_part)(review, current_user)
    if step is not None:
        states.check_step(review.state, step)


def _posted(review, key: str, form, step, done: str, anchor: str = "", **shown):
    """Run ``step`` for the posted ``form`` of the review page: back to the page (with ``done`` flashed),
    or the page again with the form's errors (4xx) and ``shown`` (what was typed beside the form);
    conflicts and refused steps are flashed."""
    _result, page = submit_form(form, step, lambda form, status: _detail(_review(review.number), status,
                                                                        **{key: form}, **shown),
                                flashed=(Conflict, InvalidTransition))
    if page is not None:
        return page
    flash(done, "success")
    return redirect(_detail_url(review, anchor))


@bp.post("/<number>/participants")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def add_participant(number: str):
    review = _review(number)
    _may(review, "run", "participants")
    form = _participant_form(review, ParticipantForm())
    return _posted(review, "participant", form, lambda: service.add_participant(
        review, db.session.get(User, int(form.user.data)), form.category.data, actor=current_user,
        version=form.version.data), _("Participant added."), "#participants")


@bp.post("/<number>/participants/<int:user_id>/remove")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def remove_participant(number: str, user_id: int):
    review = _review(number)  # CSRF is checked for every POST (webapp.security)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("There is no such user."))
    service.remove_participant(review, user, actor=current_user, version=request.form.get("version"))
    flash(_("Participant removed."), "success")
    return redirect(_detail_url(review, "#participants"))


@bp.post("/<number>/move")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def move(number: str):
    review = _review(number)
    _may(review, "run")
    form = MoveForm()
    return _posted(review, "move", form, lambda: service.move(review, form.target.data, actor=current_user,
                                                              version=form.version.data, note=form.note.data or ""),
                   _("Review %(number)s moved on.", number=review.number))


@bp.post("/<number>/cancel")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def cancel(number: str):
    review = _review(number)
    _may(review, "run")
    form = CancelForm()
    return _posted(review, "cancel", form, lambda: service.cancel(review, reason=form.reason.data,
                                                                  actor=current_user, version=form.version.data),
                   _("Review %(number)s cancelled.", number=review.number))


@bp.post("/<number>/proposals")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def propose(number: str):
    review = _review(number)
    _may(review, "take_part", "propose")
    form = _proposal_form(review, ProposalForm())
    return _posted(review, "proposal", form, lambda: drafts.propose(review, form.text.data, actor=current_user,
                                                                    code=form.code.data or None),
                   _("Proposal filed."), "#proposals")


@bp.post("/<number>/comments")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def comment(number: str):
    review = _review(number)
    _may(review, "take_part", "comment")
    form = CommentForm()
    parent = form.parent_id.data
    return _posted(review, "comment", form, lambda: discussion.comment(
        review, form.body.data, actor=current_user, parent_id=int(parent) if parent and parent.isdigit() else None,
        code=form.code.data or None, commit=form.commit.data or None, clause=form.clause.data or None,
        quote=form.quote.data or None), _("Comment posted."), "#discussion")


@bp.post("/<number>/comments/<int:comment_id>/<any(resolve, reopen):what>")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def resolve(number: str, comment_id: int, what: str):
    review = _review(number)  # CSRF is checked for every POST (webapp.security)
    try:
        discussion.set_resolved(review, comment_id, what == "resolve", actor=current_user)
    except InvalidTransition as exc:
        flash(str(exc), "error")
    return redirect(_detail_url(review, f"#comment-{comment_id}"))


@bp.post("/<number>/meetings")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def meeting(number: str):
    review = _review(number)
    _may(review, "run", "meeting")
    form = _meeting_form(review, MeetingForm())

    def step():
        return discussion.record_meeting(review, held_on=_date_of(form.held_on), attendee_ids=form.attendees.data,
                                         minutes=form.minutes.data, actor=current_user)

    return _posted(review, "meeting", form, step, _("Meeting recorded."), "#meetings")


@bp.post("/<number>/sign")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def sign(number: str):
    review = _review(number)
    _may(review, "take_part", "sign")
    form = SignForm()
    return _posted(review, "sign", form, lambda: signoffs.sign(
        review, actor=current_user, meaning=form.meaning.data, password=form.password.data,
        commit=form.commit.data, reason=form.reason.data or "", remote_addr=request.remote_addr or "",
        limits=LoginLimits.from_config(current_app.config)), _("Your signature was recorded."), "#signoffs")


@bp.post("/<number>/decide")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def decide(number: str):
    review = _review(number)
    _may(review, "run", "decide")
    form = DecideForm()
    decisions = {code: (request.form.get(f"decision_{code}"), request.form.get(f"reason_{code}", ""))
                 for code in review.codes}
    return _posted(review, "decide", form, lambda: deciding.decide(
        review, decisions, actor=current_user, summary=form.summary.data or "", version=form.version.data),
        _("Decision recorded."), "#decision", decisions=decisions)


@bp.post("/<number>/implement")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def implement(number: str):
    review = _review(number)
    _may(review, "run", "implement")
    form = ImplementForm()

    return _posted(review, "implement", form, lambda: releasing.implement(
        review, effective=_date_of(form.effective), actor=current_user, version=form.version.data),
        _("Review %(number)s implemented and closed.", number=review.number), "#record")


# ---------------------------------------------------------------------------
# the draft editor and the draft with its anchored comments
# ---------------------------------------------------------------------------


def _editor(review, code, form, status=200, conflict=None):
    file = drafts.draft_file(review, code)
    try:
        preview_html = publishing.preview(form.markdown.data or "")
    except ValidationError:
        preview_html = ""
    return render_template("workflow/draft_edit.html", review=review, code=code, form=form, file=file,
                           preview_html=preview_html, preview_errors={}, conflict=conflict,
                           resolving=review.state == "implement",
                           max_kb=publishing.MAX_DOCUMENT_BYTES // 1024), status


@bp.route("/<number>/drafts/<code>/edit", methods=["GET", "POST"])
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def edit_draft(number: str, code: str):
    review = _review(number)
    resolving = review.state == "implement"
    if resolving:
        service.check_run(review, current_user)
    else:
        service.check_take_part(review, current_user)
        states.check_step(review.state, "edit_draft")
    form = DraftForm()
    if not form.is_submitted():
        file = drafts.draft_file(review, code)
        form.markdown.data, form.parent.data = file.markdown, drafts.tip(review) or ""
        return _editor(review, code, form)
    if not form.validate():
        return _editor(review, code, form, 400)
    try:
        upload = form.file.data
        if upload is not None and getattr(upload, "filename", ""):
            form.markdown.data = publishing.read_upload(upload.filename, upload.read())
        if resolving:
            releasing.resolve_conflict(review, {code: form.markdown.data or ""}, actor=current_user)
        else:
            drafts.save(review, code, form.markdown.data or "", actor=current_user, parent=form.parent.data or None,
                        summary=form.summary.data or "")
    except ValidationError as exc:
        db.session.rollback()
        place_errors(form, exc)
        return _editor(review, code, form, exc.status_code)
    except Conflict as exc:
        db.session.rollback()
        form.parent.data = exc.details.get("current") or ""
        return _editor(review, code, form, 409, conflict=exc)
    flash(_("Draft of %(code)s saved.", code=code), "success")
    return redirect(url_for("reviews.draft", number=review.number, code=code))


@bp.get("/<number>/drafts/<code>")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def draft(number: str, code: str):
    """The draft of one procedure: redline against the current version, its clauses and the comments
    anchored to them (moved to the new draft, or outdated with their original context)."""
    review = _review(number)
    file = drafts.draft_file(review, code)
    roots = discussion.thread(review)
    placed = discussion.placed(review, code, file.markdown, [c for c, _r in roots])
    replies = {c.id: r for c, r in roots}
    return render_template(
        "workflow/draft.html", review=review, code=code, file=file, redline_html=drafts.draft_redline(review, code),
        clauses=[c for c in anchors.clauses(file.markdown) if c.number], placed=placed, replies=replies,
        tip=drafts.tip(review) or review.base_commit or "",
        comment_form=CommentForm(formdata=None, code=code, commit=drafts.tip(review) or review.base_commit or ""),
        can_take_part=service.can_take_part(review, current_user),
        allows=lambda step: states.allows(review.state, step))


@bp.get("/<number>/record")
@permission_required(REVIEWS_PARTICIPATE, REVIEWS_MANAGE)
def record_page(number: str):
    review = _review(number)
    if not review.record_path or not review.result_commit:
        raise NotFound(_("The change record is written when the review is implemented."))
    return render_template("workflow/record.html", review=review, record_html=record_page_html(review),
                           path=record.path_for(review))

"""Demo reviews (``flask demo load``), so ``make run`` shows the whole cycle.

* the incident review of QP-CS-001 is opened by the complaint demo (its major complaint asks for it);
  here it gets its participants;
* a periodic review of QP-ENV-001 in discussion, with a draft, a written proposal and comments (one
  anchored to a clause);
* a closed periodic review of QP-CS-002 whose new version A/1 is the current one, signed by management
  and the customer-service department head.
"""
from __future__ import annotations

from sqlalchemy import select

from accounts.models import User
from procedures.models import Procedure
from webapp.dates import local_today
from webapp.demo import DEMO_PASSWORD
from webapp.extensions import db
from webapp.store import get_store
from workflow import deciding, discussion, drafts, releasing, service, signoffs
from workflow.models import Review

#: login → category of the demo's participants (accounts.demo's users).
PEOPLE = {"manager": "management", "depthead": "dept_head", "frontline": "frontline", "custrep": "customer_rep"}


def _user(login: str) -> User | None:
    return db.session.execute(select(User).where(User.login == login)).scalar_one_or_none()


def _present(*codes: str) -> bool:
    found = set(db.session.scalars(select(Procedure.code).where(Procedure.code.in_(codes))))
    return found == set(codes)


def _text(code: str) -> str:
    return get_store().read(f"{code}.md", "main").text


def load_demo() -> list[str]:
    if db.session.scalar(select(Review.id).where(Review.kind == "periodic").limit(1)) is not None:
        return []  # loaded before
    chair = _user("controller")
    people = {u: c for login, c in PEOPLE.items() if (u := _user(login)) is not None}
    if chair is None or len(people) < len(PEOPLE) or not _present("QP-CS-002", "QP-ENV-001"):
        return []
    lines = []
    _join_incident_review(chair, people)
    lines.append(_closed_review(chair, people))
    lines.append(_review_in_discussion(chair, people))
    return [line for line in lines if line]


def _join_incident_review(chair, people) -> None:
    review = service.open_review_for("QP-CS-001")
    if review is None:
        return
    for user, category in people.items():
        if service.participant_of(review, user) is None:
            service.add_participant(review, user, category, actor=chair)


def _closed_review(chair, people) -> str:
    """QP-CS-002: propose (draft) → discuss → decide (signed) → implement: A/1 is current."""
    review = service.open_review(kind="periodic", codes=["QP-CS-002"], chair=chair, actor=chair, participants=people,
                                 trigger=service.TriggerData(source_type="schedule", label="半年复审",
                                                             reason="按复审周期进行的半年度全面复审"))
    by = {c: u for u, c in people.items()}
    text = _text("QP-CS-002").replace(
        "4.2.5 回访：客服人员在解决后 3 个工作日内回访投诉人",
        "4.2.5 回访：客服人员在解决后 2 个工作日内回访投诉人")
    drafts.save(review, "QP-CS-002", text, actor=by["frontline"], parent=None, summary="回访时限由 3 个工作日缩短为 2 个工作日")
    drafts.propose(review, "业主反映回访太慢，建议缩短回访时限。", actor=by["customer_rep"], code="QP-CS-002")
    service.move(review, "discuss", actor=chair)
    discussion.comment(review, "2 个工作日可行，客服人手足够。", actor=by["dept_head"], code="QP-CS-002",
                       clause="4.2.5")
    service.move(review, "decide", actor=chair)
    head = drafts.tip(review)
    for category in ("management", "dept_head"):
        signoffs.sign(review, actor=by[category], meaning="approved", password=DEMO_PASSWORD, commit=head)
    signoffs.sign(review, actor=by["customer_rep"], meaning="reviewed", password=DEMO_PASSWORD, commit=head)
    deciding.decide(review, {"QP-CS-002": ("revise", "回访时限缩短")}, actor=chair,
                    summary="评审一致同意将回访时限缩短为 2 个工作日。")
    service.move(review, "implement", actor=chair)
    releasing.implement(review, effective=local_today(), actor=chair)
    return f"reviews: {review.number} closed, QP-CS-002 {review.items[0].version_after} current"


def _review_in_discussion(chair, people) -> str:
    """QP-ENV-001: a periodic review in discussion with a draft, a proposal and comments."""
    review = service.open_review(kind="periodic", codes=["QP-ENV-001"], chair=chair, actor=chair, participants=people,
                                 trigger=service.TriggerData(source_type="schedule", label="半年复审",
                                                             reason="按复审周期进行的半年度全面复审"))
    by = {c: u for u, c in people.items()}
    text = _text("QP-ENV-001").replace("4.2.2 作业尽量避开早晚出行高峰，不得堵塞消防通道。",
                                       "4.2.2 作业避开 7:00–9:00 和 17:00–19:00 出行高峰，不得堵塞消防通道。")
    drafts.save(review, "QP-ENV-001", text, actor=by["frontline"], parent=None, summary="明确高峰时段")
    service.move(review, "discuss", actor=chair)
    drafts.propose(review, "建议增加雨天大堂防滑措施的要求。", actor=by["customer_rep"], code="QP-ENV-001")
    discussion.comment(review, "高峰时段各项目不同，是否由项目自定？", actor=by["dept_head"], code="QP-ENV-001",
                       clause="4.2.2")
    discussion.comment(review, "@custrep 防滑垫的费用由谁承担？", actor=by["management"])
    return f"reviews: {review.number} in discussion (QP-ENV-001)"

"""Helpers for the review-workflow tests: the four participant categories, a seeded procedure, a review."""
from __future__ import annotations

from sqlalchemy import select

from tests.factories_publishing import seed_procedure, user
from webapp.extensions import db

#: login → (role, participant category): one person per category, plus the document controller who chairs.
PEOPLE = {
    "controller": ("controller", "management"),
    "manager": ("manager", "management"),
    "head": ("participant", "dept_head"),
    "front": ("participant", "frontline"),
    "owner": ("participant", "customer_rep"),
}


def make_people(make_user, people=PEOPLE) -> None:
    for login, (role, category) in people.items():
        make_user(login, roles=(role,), category=category, display_name={
            "controller": "文控 周敏", "manager": "总经理 陈志远", "head": "客服部经理 李红",
            "front": "客服专员 王芳", "owner": "业主代表 赵强"}.get(login, login))


def as_user(app, login):
    """A client logged in as ``login`` through the real login form."""
    from tests.conftest import Client

    c = Client(app)
    response = c.login(login)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    c.get("/")
    return c


def seed_people(app, make_user, make_department):
    """The usual review world: department CS, the five people, and QP-CS-001 published."""
    make_department("CS")
    make_people(make_user)
    seed_procedure(app)
    return app


def open_review(app, codes=("QP-CS-001",), *, kind="incident", chair="controller",
                participants=(("manager", "management"), ("head", "dept_head"), ("front", "frontline"),
                              ("owner", "customer_rep")), reason="投诉反映回访不及时") -> str:
    """Open a review through the service with the usual participants; returns its number."""
    from workflow import service

    with app.app_context():
        people = {user(login): category for login, category in participants}
        review = service.open_review(kind=kind, codes=list(codes), chair=user(chair), actor=user(chair),
                                     participants=people,
                                     trigger=service.TriggerData(source_type="person", reason=reason, label="test"))
        return review.number


def review_row(app, number):
    from workflow.models import Review

    with app.app_context():
        review = db.session.execute(select(Review).where(Review.number == number)).scalar_one()
        db.session.expunge(review)
        return review


__all__ = ["PEOPLE", "as_user", "seed_people", "make_people", "open_review", "review_row", "seed_procedure", "user"]

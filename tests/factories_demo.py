"""The demo data plus a user who holds every role: an app on which every form and API operation has
something to act on (the bad-input corpus and the contract fuzzing share it)."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from tests.conftest import PASSWORD, built_app, close_app, copy_demo, fresh_database
from webapp.extensions import db

EVERY_PROJECT = ("P-LJY", "P-JHC", "P-YSW")


@contextmanager
def demo_with_superuser(tmp, demo_template, login: str):
    """Yield (app, API token of ``login``): the demo data and ``login``, a user with every role and project."""
    with fresh_database(tmp) as url:
        copied = copy_demo(demo_template, tmp)
        app = built_app(tmp, url)
        with app.app_context():
            from accounts.models import Role
            from accounts.services import UserData, create_token, create_user
            from webapp import demo

            if not copied:
                demo.load()
            roles = tuple(db.session.execute(select(Role.code)).scalars())
            user = create_user(UserData(login=login, display_name=login.title(), password=PASSWORD,
                                        role_codes=roles, project_codes=EVERY_PROJECT,
                                        participant_category="management", department_code="CS"))
            token = create_token(user, login)
            db.session.commit()
        try:
            yield app, token
        finally:
            close_app(app)

"""The inbox and its e-mail copies: notify in the caller's transaction, once per dedupe key, mail after commit
(to a real SMTP server on localhost), the badge, marking read, no open redirect."""
from __future__ import annotations

import logging
import socket
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from accounts.models import User
from accounts.services import UserData, create_user
from notifications import mail
from notifications import service as notifications
from notifications.models import Notification
from tests.conftest import PASSWORD, Client, built_app, close_app, copy_database, make_app
from tests.sql_count import counting_statements
from webapp.extensions import db
from webapp.i18n import REQUIRED


def _user(app, login, *, email=None, active=True, locale=None) -> int:
    with app.app_context():
        user = create_user(UserData(login=login, display_name=login.title(), password=PASSWORD, locale=locale,
                                    email=f"{login}@example.com" if email is None else email, active=active,
                                    role_codes=("reader",)))
        return user.id


def _notify(app, user_ids, *, commit=True, **kw) -> int:
    kw = {"kind": "test.hello", "subject": "Review QP-001 is waiting", "body": "Line one\nLine two",
          "url": "/procedures/QP-001", **kw}
    with app.app_context():
        users = db.session.execute(sa.select(User).where(User.id.in_(user_ids)).order_by(User.id)).scalars().all()
        added = notifications.notify(users, **kw)
        if commit:
            db.session.commit()
        else:
            db.session.rollback()
        return added


def _rows(app) -> list[Notification]:
    with app.app_context():
        rows = db.session.execute(sa.select(Notification).order_by(Notification.id)).scalars().all()
        db.session.expunge_all()
        return rows


def _login(app, login) -> Client:
    client = Client(app)
    assert client.login(login).status_code == 302
    return client


# ---------------------------------------------------------------------------
# a real SMTP server on localhost
# ---------------------------------------------------------------------------


class _Collect:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _app_with(tmp_path, database_url, schema_template, **config):
    if schema_template is None:
        return built_app(tmp_path, database_url, **config)
    copy_database(schema_template, tmp_path)
    return make_app(tmp_path, database_url, **config)


@pytest.fixture
def mail_app(tmp_path, database_url, schema_template, smtp):
    controller, _handler = smtp
    app = _app_with(tmp_path, database_url, schema_template, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                    MAIL_DEFAULT_SENDER="ProcDesk <procdesk@example.com>", MAIL_BASE_URL="https://procdesk.example.com/",
                    MAIL_TIMEOUT=5)
    yield app
    close_app(app)


# ---------------------------------------------------------------------------
# the inbox
# ---------------------------------------------------------------------------


def test_notify_shows_in_the_inbox_with_the_badge(app):
    alice, bob = _user(app, "alice"), _user(app, "bob")
    assert _notify(app, [alice, bob]) == 2
    assert _notify(app, [alice], subject="Second <b>thing</b>", url="/actions/3") == 1
    client = _login(app, "alice")
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="unread-count"' in home and ">2</span>" in home
    page = client.get("/inbox").get_data(as_text=True)
    assert page.count('data-testid="inbox-entry"') == 2
    assert "Second &lt;b&gt;thing&lt;/b&gt;" in page  # escaped
    assert page.index("Second") < page.index("Review QP-001")  # newest first
    assert "Line one<br>Line two" in page
    _user(app, "carol")
    carol = _login(app, "carol").get("/").get_data(as_text=True)
    assert 'data-testid="inbox-link"' in carol and 'data-testid="unread-count"' not in carol  # nothing unread


def test_unread_first_and_unread_filter_and_pages(app):
    alice = _user(app, "alice")
    for i in range(notifications.PER_PAGE + 2):
        _notify(app, [alice], subject=f"Message {i}")
    first = _rows(app)[0]
    client = _login(app, "alice")
    client.get(f"/inbox/{first.id}")  # the oldest one is read now: it goes last
    page2 = client.get("/inbox?page=2").get_data(as_text=True)
    assert page2.count('data-testid="inbox-entry"') == 2
    assert f'data-id="{first.id}" data-read="yes"' in page2
    unread = client.get("/inbox?unread=1&page=2").get_data(as_text=True)
    assert unread.count('data-testid="inbox-entry"') == 1 and f'data-id="{first.id}"' not in unread
    assert client.get("/inbox?page=zzz").status_code == 200
    assert client.get("/inbox?page=-5").status_code == 200


def test_badge_is_one_query_and_none_for_anonymous_pages(app):
    alice = _user(app, "alice")
    _notify(app, [alice])
    anonymous = Client(app)
    anonymous.get("/login")
    with counting_statements(app) as statements:
        page = anonymous.get("/login").get_data(as_text=True)
    assert not [s for s in statements if "notifications" in s]
    assert "inbox-link" not in page
    client = _login(app, "alice")
    client.get("/inbox")
    with counting_statements(app) as statements:
        client.get("/inbox")
    assert len([s for s in statements if "count(" in s.lower() and "notifications" in s]) == 1


def test_cached_page_frames_carry_no_ones_count(app):
    """Procedure pages join a frame cached for everyone with the same permissions (webapp/frames.py): they show
    the inbox link but no count, so one user's count never reaches another's page."""
    from tests.factories_procedures import commit_version

    commit_version(app, "QP-001", title="Test")
    alice, _bob = _user(app, "alice", locale="en"), _user(app, "bob", locale="en")
    _notify(app, [alice])
    for login in ("alice", "bob"):
        page = _login(app, login).get("/procedures/QP-001").get_data(as_text=True)
        assert 'data-testid="inbox-link"' in page and 'data-testid="unread-count"' not in page


def test_mark_read_one_and_all_needs_csrf_and_touches_only_own(app):
    alice, bob = _user(app, "alice"), _user(app, "bob")
    _notify(app, [alice, bob])
    _notify(app, [alice, bob], subject="Two")
    a1, b1, a2, _b2 = (n.id for n in _rows(app))
    client = _login(app, "alice")
    assert client.post("/inbox/read", {"id": a1}, csrf=False).status_code == 400
    r = client.post("/inbox/read", {"id": [a1, b1]})  # bob's id is ignored
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    read = {n.id: n.read_at is not None for n in _rows(app)}
    assert read[a1] and not read[b1] and not read[a2]
    assert ">1</span>" in client.get("/").get_data(as_text=True)
    r = client.post("/inbox/read", {"all": "1", "unread": "1"})
    assert r.headers["Location"].endswith("/inbox?unread=1")
    assert [n.read_at is not None for n in _rows(app)] == [True, False, True, False]
    assert 'data-testid="unread-count"' not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert notifications.unread_count(db.session.get(User, bob)) == 2


def test_opening_marks_read_and_redirects_only_to_local_paths(app):
    alice, bob = _user(app, "alice"), _user(app, "bob")
    _notify(app, [alice], url="/actions/7?tab=steps")
    (mine,) = _rows(app)
    client = _login(app, "alice")
    r = client.get(f"/inbox/{mine.id}")
    assert r.status_code == 302 and r.headers["Location"] == "/actions/7?tab=steps"
    assert _rows(app)[0].read_at is not None
    with app.app_context():
        for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", "x/y"):
            with pytest.raises(ValueError):
                notifications.notify([db.session.get(User, alice)], kind="k", subject="s", body="", url=bad)
        # A row written around the service (by hand, an old version): still no redirect off the site.
        db.session.execute(sa.insert(Notification).values(user_id=alice, kind="k", subject="s", body="",
                                                          url="//evil.example/", created_at=mine.created_at))
        db.session.commit()
    evil = _rows(app)[-1]
    assert client.get(f"/inbox/{evil.id}").headers["Location"] == "/inbox"
    _notify(app, [bob])
    assert client.get(f"/inbox/{_rows(app)[-1].id}").status_code == 404  # bob's
    assert client.get("/inbox/999999").status_code == 404


def test_dedupe_key_stores_once(app, second_app):
    alice, bob = _user(app, "alice"), _user(app, "bob")
    assert _notify(app, [alice, alice], dedupe_key="review:1:reminder:2024-05-01") == 1  # listed twice: once
    assert _notify(app, [alice, bob], dedupe_key="review:1:reminder:2024-05-01") == 1  # bob's is new
    assert _notify(second_app, [alice, bob], dedupe_key="review:1:reminder:2024-05-01") == 0  # another host
    assert _notify(app, [alice], dedupe_key="review:1:reminder:2024-05-02") == 1
    assert _notify(app, [alice]) == 1 and _notify(app, [alice]) == 1  # no key: every time
    assert len(_rows(app)) == 5


def test_dedupe_holds_when_two_processes_race(app, second_app):
    """The second insert waits for the first transaction and then adds nothing (no error, no duplicate)."""
    alice = _user(app, "alice")
    first_done, results, errors = threading.Event(), {}, []

    def other():
        try:
            with second_app.app_context():
                first_done.wait(10)
                user = db.session.get(User, alice)
                results["second"] = notifications.notify([user], kind="k", subject="s", body="", url="/",
                                                         dedupe_key="race")
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    with app.app_context():
        user = db.session.get(User, alice)
        results["first"] = notifications.notify([user], kind="k", subject="s", body="", url="/", dedupe_key="race")
        thread = threading.Thread(target=other)
        thread.start()
        first_done.set()
        thread.join(0.5)  # the other one is blocked on our uncommitted row (or the database lock)
        db.session.commit()
    thread.join(15)
    assert not errors and results == {"first": 1, "second": 0}
    assert len(_rows(app)) == 1


def test_inactive_users_are_skipped_and_lazy_texts_follow_the_recipients_language(app):
    zh, en = _user(app, "zhang", locale="zh_Hans"), _user(app, "emma", locale="en")
    gone = _user(app, "gone", active=False)
    assert _notify(app, [zh, en, gone], subject=REQUIRED, body=REQUIRED) == 2
    by_user = {n.user_id: n.subject for n in _rows(app)}
    assert by_user == {zh: "此项为必填项。", en: "This field is required."}


# ---------------------------------------------------------------------------
# e-mail
# ---------------------------------------------------------------------------


def test_committed_notify_sends_one_mail_per_addressed_user(mail_app, smtp):
    _controller, handler = smtp
    alice = _user(mail_app, "alice", locale="en")
    silent = _user(mail_app, "silent", email="")
    assert _notify(mail_app, [alice, silent], subject="Review QP-001 is waiting for you") == 2
    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.rcpt_tos == ["alice@example.com"] and envelope.mail_from == "procdesk@example.com"
    text = envelope.content.decode()
    assert "Subject: Review QP-001 is waiting for you" in text
    first = _rows(mail_app)[0]
    assert f"https://procdesk.example.com/inbox/{first.id}" in text and "Line one" in text
    emailed = {n.user_id: n.emailed_at for n in _rows(mail_app)}
    assert emailed[alice] is not None and emailed[silent] is None
    with mail_app.app_context():
        assert mail.send([first.id]) == 0  # never twice


def test_rolled_back_transaction_sends_no_mail(mail_app, smtp):
    _controller, handler = smtp
    alice = _user(mail_app, "alice")
    assert _notify(mail_app, [alice], commit=False) == 1
    assert _rows(mail_app) == [] and handler.envelopes == []
    with mail_app.app_context():  # a savepoint rolled back: its notification is not mailed with the rest
        user = db.session.get(User, alice)
        with db.session.begin_nested() as savepoint:
            notifications.notify([user], kind="k", subject="Dropped", body="", url="/")
            savepoint.rollback()
        with db.session.begin_nested():
            notifications.notify([user], kind="k", subject="Kept", body="", url="/")
        assert handler.envelopes == []  # released savepoint: still nothing before the commit
        db.session.commit()
    assert [n.subject for n in _rows(mail_app)] == ["Kept"]
    assert len(handler.envelopes) == 1 and b"Subject: Kept" in handler.envelopes[0].content
    # The next transaction of the same session starts clean.
    with mail_app.app_context():
        db.session.commit()
    assert len(handler.envelopes) == 1


def test_no_mail_server_configured_sends_nothing(app, smtp):
    _controller, handler = smtp
    alice = _user(app, "alice")
    assert app.config["MAIL_SERVER"] is None
    assert _notify(app, [alice]) == 1
    assert handler.envelopes == [] and _rows(app)[0].emailed_at is None


def test_unreachable_mail_server_is_logged_not_raised(tmp_path, database_url, schema_template, caplog):
    app = _app_with(tmp_path, database_url, schema_template, MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port(),
                    MAIL_DEFAULT_SENDER="procdesk@example.com")
    try:
        alice = _user(app, "alice")
        with caplog.at_level(logging.WARNING, logger="notifications.mail"):
            assert _notify(app, [alice]) == 1
        assert "cannot talk to the mail server" in caplog.text
        assert _rows(app)[0].emailed_at is None  # the claim is given back
        client = _login(app, "alice")
        assert ">1</span>" in client.get("/").get_data(as_text=True)
    finally:
        close_app(app)


def test_mail_server_needs_a_sender(tmp_path, database_url):
    with pytest.raises(ValueError, match="MAIL_DEFAULT_SENDER"):
        make_app(tmp_path, database_url, MAIL_SERVER="127.0.0.1")


def test_mail_settings_from_the_environment():
    from webapp.config import from_environment

    found = from_environment({"MAIL_SERVER": "smtp.example.com", "MAIL_PORT": "587", "MAIL_USE_TLS": "true",
                              "MAIL_TIMEOUT": "3", "MAIL_DEFAULT_SENDER": "a@example.com"})
    assert found == {"MAIL_SERVER": "smtp.example.com", "MAIL_PORT": 587, "MAIL_USE_TLS": True, "MAIL_TIMEOUT": 3,
                     "MAIL_DEFAULT_SENDER": "a@example.com"}

"""Login throttling (issue 8, item 10): per (login name, address) and per address, with growing delays,
so an attacker's failures slow down only the place they come from; X-Forwarded-For counts only
behind PROXY_FIX trusted proxies. Attempts live in the database (every worker and host sees them).

Time is never slept away: attempts are inserted with past timestamps where a test needs history."""
from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import LoginAttempt
from accounts.services import LoginLimits
from tests.conftest import PASSWORD, Client, make_app
from webapp.db import utcnow
from webapp.extensions import db

ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.7"


def _from(app, address: str | None = None, *, forwarded: str | None = None) -> Client:
    client = Client(app)
    if address:
        client.http.environ_base["REMOTE_ADDR"] = address
    if forwarded:
        client.http.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return client


def _try(client: Client, login: str, password: str = PASSWORD):
    client.get("/login")
    return client.post("/login", {"login": login, "password": password})


def _history(app, login: str, address: str, failures: int, *, seconds_ago: float, success_at: float | None = None):
    """``failures`` failed attempts, the last one ``seconds_ago`` (the others a second apart before it)."""
    now = utcnow()
    with app.app_context():
        for i in range(failures):
            db.session.add(LoginAttempt(login=login, remote_addr=address, success=False,
                                        at=now - timedelta(seconds=seconds_ago + i)))
        if success_at is not None:
            db.session.add(LoginAttempt(login=login, remote_addr=address, success=True,
                                        at=now - timedelta(seconds=success_at)))
        db.session.commit()


def _addresses(app) -> set[str]:
    with app.app_context():
        return set(db.session.execute(select(LoginAttempt.remote_addr)).scalars())


def test_an_attackers_failures_do_not_lock_the_user_out_elsewhere(app, make_user):
    make_user("alice")
    attacker = _from(app, ATTACKER)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert _try(attacker, "alice", "guess-guess-guess").status_code == 401
    assert _try(attacker, "alice", "guess-guess-guess").status_code == 429  # the attacker is slowed down
    _history(app, "alice", ATTACKER, 200, seconds_ago=1)  # and keeps going for hours
    assert _try(attacker, "alice", PASSWORD).status_code == 429  # even a right guess waits: no oracle
    alice = _from(app, OFFICE)
    r = _try(alice, "alice", PASSWORD)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]  # the real user gets in from her office


def test_made_up_logins_from_one_address_do_not_lock_the_administrator_elsewhere(app, make_user):
    make_user("admin", roles=("admin",))
    attacker = _from(app, ATTACKER)
    for i in range(app.config["LOGIN_ADDRESS_MAX_FAILURES"]):
        assert _try(attacker, f"nobody{i}", "guess-guess-guess").status_code == 401
    r = _try(attacker, "someone-new", "guess-guess-guess")
    assert r.status_code == 429  # the address is throttled, whatever login it tries next
    assert _try(_from(app, OFFICE), "admin", PASSWORD).status_code == 302


def test_a_valid_account_does_not_reset_the_address_throttle(app, make_user):
    make_user("mallory")
    _history(app, "victim", ATTACKER, app.config["LOGIN_ADDRESS_MAX_FAILURES"] + 3, seconds_ago=1)
    _history(app, "mallory", ATTACKER, 0, seconds_ago=0, success_at=0.5)
    assert _try(_from(app, ATTACKER), "other", "guess-guess-guess").status_code == 429


@pytest.mark.parametrize("failures,seconds_ago,waits", [
    (4, 0.5, False),    # below the free failures: no wait
    (5, 0.5, True),     # 5 free failures, then 2 s
    (5, 2.5, False),
    (6, 2.5, True),     # 4 s
    (6, 4.5, False),
    (8, 15, True),      # 16 s
    (8, 17, False),
    (12, 250, True),    # 256 s
    (12, 260, False),
])
def test_the_delay_doubles_with_every_failure(app, make_user, failures, seconds_ago, waits):
    make_user("alice")
    _history(app, "alice", ATTACKER, failures, seconds_ago=seconds_ago)
    r = _try(_from(app, ATTACKER), "alice", "wrong-password")
    assert r.status_code == (429 if waits else 401)


def test_a_pairs_failures_are_remembered_longer_than_the_window(app, make_user):
    """Once at the cap, one address gets one guess per window at a login name, not a fresh start."""
    make_user("alice")
    window = app.config["LOGIN_WINDOW_SECONDS"]
    _history(app, "alice", ATTACKER, 14, seconds_ago=window + 100)  # 2 s × 2^9 > the window: capped
    attacker = _from(app, ATTACKER)
    assert _try(attacker, "alice", "guess-guess-guess").status_code == 401  # the window has passed
    r = _try(attacker, "alice", "guess-guess-guess")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= window - 5
    # The address alone forgets after the window: another login name from there is not slowed down.
    assert _try(attacker, "bob", "guess-guess-guess").status_code == 401


def test_the_delay_is_capped_at_the_window_and_says_how_long(app, make_user):
    make_user("alice")
    window = app.config["LOGIN_WINDOW_SECONDS"]
    _history(app, "alice", ATTACKER, 30, seconds_ago=600)  # 2 s × 2^25 would be a year
    r = _try(_from(app, ATTACKER), "alice", PASSWORD)
    assert r.status_code == 429
    retry = int(r.headers["Retry-After"])
    assert window - 600 - 5 <= retry <= window - 600 + 1
    assert f"请等待 {math.ceil(retry / 60)} 分钟后再试" in r.get_data(as_text=True)
    with app.app_context():  # a throttled attempt is neither checked nor counted
        assert db.session.execute(select(LoginAttempt).where(LoginAttempt.success.is_(True))).first() is None


def test_a_short_wait_is_given_in_seconds_in_the_users_language(app, make_user):
    make_user("alice")
    _history(app, "alice", ATTACKER, app.config["LOGIN_MAX_FAILURES"] + 3, seconds_ago=1)  # 16 s, 15 to go
    client = _from(app, ATTACKER)
    r = _try(client, "alice", PASSWORD)
    assert r.status_code == 429 and r.headers["Retry-After"] in ("15", "16")
    assert "请等待 15 秒后再试" in r.get_data(as_text=True) or "请等待 16 秒后再试" in r.get_data(as_text=True)
    client.get("/login?lang=en")  # the login page's language choice, kept in the session
    r = client.post("/login", {"login": "alice", "password": PASSWORD})
    assert r.status_code == 429
    assert "Please wait 1" in r.get_data(as_text=True) and "seconds and try again" in r.get_data(as_text=True)


def test_failures_before_a_success_no_longer_count(app, make_user):
    make_user("alice")
    _history(app, "alice", ATTACKER, 9, seconds_ago=3, success_at=2)
    assert _try(_from(app, ATTACKER), "alice", PASSWORD).status_code == 302


def test_limits_are_settings(tmp_path, database_url, make_user, app):
    fast = make_app(tmp_path, database_url, LOGIN_MAX_FAILURES=2, LOGIN_DELAY_SECONDS=60, LOGIN_MEMORY_SECONDS=3600)
    try:
        make_user("alice")
        client = _from(fast, ATTACKER)
        for _ in range(2):
            assert _try(client, "alice", "wrong-password").status_code == 401
        r = _try(client, "alice", PASSWORD)
        assert r.status_code == 429 and 58 <= int(r.headers["Retry-After"]) <= 60
    finally:
        with fast.app_context():
            db.session.remove()
            db.engine.dispose()


def test_limits_delay_arithmetic_cannot_overflow():
    limits = LoginLimits(max_failures=5, delay_seconds=2, window_seconds=900)
    assert [limits.delay(n, 5) for n in (0, 4, 5, 6, 7)] == [0, 0, 2, 4, 8]
    assert limits.delay(10**9, 5) == 900


# --- behind a reverse proxy ------------------------------------------------------------------------

@pytest.fixture
def proxied(tmp_path, database_url, app):
    """The app behind one trusted reverse proxy (PROXY_FIX=1), on the same database."""
    behind = make_app(tmp_path, database_url, PROXY_FIX=1)
    yield behind
    with behind.app_context():
        db.session.remove()
        db.engine.dispose()


def test_behind_a_trusted_proxy_clients_are_throttled_by_their_own_address(proxied, make_user):
    make_user("alice")
    proxy = "10.0.0.1"  # every request reaches the app from the proxy
    attacker = _from(proxied, proxy, forwarded=ATTACKER)
    for _ in range(proxied.config["LOGIN_MAX_FAILURES"]):
        assert _try(attacker, "alice", "guess-guess-guess").status_code == 401
    assert _try(attacker, "alice", PASSWORD).status_code == 429
    alice = _from(proxied, proxy, forwarded=OFFICE)
    assert _try(alice, "alice", PASSWORD).status_code == 302
    assert _addresses(proxied) == {ATTACKER, OFFICE}


def test_behind_a_trusted_proxy_only_the_address_it_appended_counts(proxied, make_user):
    make_user("alice")
    # The client forges a first X-Forwarded-For value; the proxy appends the address it saw.
    sneaky = _from(proxied, "10.0.0.1", forwarded=f"1.2.3.4, {ATTACKER}")
    _try(sneaky, "alice", "guess-guess-guess")
    assert _addresses(proxied) == {ATTACKER}


def test_without_proxy_fix_x_forwarded_for_is_ignored(app, make_user):
    assert app.config["PROXY_FIX"] == 0
    make_user("alice")
    for i in range(app.config["LOGIN_MAX_FAILURES"]):
        # A new made-up address on every try would dodge any throttle if the header were believed.
        r = _try(_from(app, ATTACKER, forwarded=f"192.0.2.{i}"), "alice", "guess-guess-guess")
        assert r.status_code == 401
    assert _try(_from(app, ATTACKER, forwarded="192.0.2.200"), "alice", PASSWORD).status_code == 429
    assert _addresses(app) == {ATTACKER}

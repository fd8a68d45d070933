"""Per-process copies of account data, valid until the accounts change stamp moves.

Every page needs the user's permissions, and procedure pages show department names.
Reading them from the database costs a connection check-out and a transaction per
request — on a procedure page, as much as everything else together. So each process
keeps copies, keyed by the *accounts stamp*: a change stamp in the shared git store
(:meth:`repo_store.GitStore.stamp`) that gets a new value after every commit that
changes users, roles, departments or projects (the ORM hooks below notice them).
Every worker on every host that shares the store sees the new value on its next
request, so disabling a user or changing a role still takes effect at once.

Copies older than ``MAX_AGE`` seconds are read again anyway: a safety net for changes
made outside the app (SQL by hand) and for network file systems that cache file
contents for a few seconds.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from itertools import chain

from flask import g, has_app_context
from sqlalchemy import event, inspect

from accounts.models import Department, Project, Role, User
from repo_store import StoreError
from support.caching import LockedLRU
from webapp.extensions import app_state
from webapp.store import get_store

log = logging.getLogger(__name__)

STAMP = "accounts"
MAX_AGE = 30.0
#: Changing only these on a user does not change what other requests see of them.
_UNWATCHED_USER_FIELDS = frozenset({"last_login_at"})
_WATCHED = (User, Role, Department, Project)
_MISSING = object()


class _Copies:
    def __init__(self):
        self.stamp: str | None = None
        self.entries = LockedLRU(4096)
        self.lock = threading.Lock()


def _copies() -> _Copies:
    return app_state("accounts.cache", _Copies)


def _current_stamp() -> str | None:
    """The accounts stamp, read once per request (every copy a request uses is from one moment);
    None when it cannot be read — then nothing is cached."""
    stamp = g.get("_accounts_stamp", _MISSING)
    if stamp is _MISSING:
        try:
            stamp = get_store().stamp(STAMP)
        except StoreError:
            log.exception("cannot read the accounts stamp; account data is read from the database")
            stamp = None
        g._accounts_stamp = stamp
    return stamp


def cached(key: tuple, load: Callable[[], object]):
    """The value of ``load()`` for ``key`` (immutable data only), from this process's copy
    while the accounts stamp has not moved and the copy is younger than ``MAX_AGE``."""
    stamp = _current_stamp()
    if stamp is None:
        return load()
    copies = _copies()
    now = time.monotonic()
    with copies.lock:
        if copies.stamp != stamp:
            copies.entries.clear()
            copies.stamp = stamp
    hit = copies.entries.get(key, _MISSING)
    if hit is not _MISSING and now - hit[1] < MAX_AGE:
        return hit[0]
    value = load()
    with copies.lock:
        if copies.stamp == stamp:
            copies.entries.put(key, (value, now))
    return value


def accounts_changed() -> None:
    """Tell every process that account data changed (the ORM hooks call it after a commit).

    The change is committed already: when the stamp cannot be written it is logged, not
    raised, and other processes see the change within ``MAX_AGE`` seconds.
    """
    g.pop("_accounts_stamp", None)
    try:
        get_store().bump_stamp(STAMP)
    except StoreError:
        log.exception("cannot move the accounts stamp; other processes see the change within %s s", MAX_AGE)


# --------------------------------------------------------------------------
# ORM hooks: a commit that changed account data moves the stamp
# --------------------------------------------------------------------------

def _changes_accounts(obj) -> bool:
    if not isinstance(obj, _WATCHED):
        return False
    if not isinstance(obj, User):
        return True
    state = inspect(obj)
    if state.pending or state.deleted or state.was_deleted:
        return True
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    return bool(changed - _UNWATCHED_USER_FIELDS)


def listen(session) -> None:
    """Watch ``session`` (the app's scoped session) for account changes; called once per app by the
    accounts feature's setup. Idempotent, so several apps in one process register the hooks once."""
    for name, hook in (("before_flush", _note_account_changes), ("after_commit", _announce_account_changes)):
        if not event.contains(session, name, hook):
            event.listen(session, name, hook)


def _note_account_changes(session, _flush_context, _instances):
    if session.info.get("accounts_changed"):
        return
    if any(_changes_accounts(obj) for obj in chain(session.new, session.dirty, session.deleted)):
        # Kept through a rolled-back savepoint: telling others too often is harmless.
        session.info["accounts_changed"] = True


def _announce_account_changes(session):
    if session.info.pop("accounts_changed", False) and has_app_context():
        accounts_changed()

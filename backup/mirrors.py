"""Mirror remotes: every published version pushed to other git servers (``STORE_MIRRORS``) at once, so the
documents live in two places the moment they are published.

After :data:`webapp.signals.version_published` a background thread of this process pushes every ref of the
store (``git push --mirror``: main, review branches, the audit anchor) to each mirror. Requests that come
while a push runs are folded into one more push. A publish never waits for it and never fails because of
it: a failure is logged and kept in ``procdesk-mirrors.json`` beside the store, which ``flask backup
mirror --status`` shows; ``flask backup mirror`` pushes now (cron, e.g. after withdrawals or plain pushes,
which send no signal).
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app

from backup.gitbundle import GitFailed, git
from webapp import features, signals
from webapp.extensions import app_state
from webapp.store import get_store

log = logging.getLogger(__name__)

STATUS_FILE = "procdesk-mirrors.json"
#: Seconds a push waits after it was asked for, so the audit anchor written just after a publish goes too.
PUSH_DELAY = 1.0
PUSH_TIMEOUT = 300
_USERINFO_RE = re.compile(r"(?<=://)[^/@]*@")


def shown(url: str) -> str:
    """``url`` without a user name or password in it (for logs and status)."""
    return _USERINFO_RE.sub("***@", url)


@dataclass(frozen=True)
class PushResult:
    """One push to one mirror: when (UTC, ISO), whether it worked, and git's message when not."""

    url: str
    at: str
    ok: bool
    error: str = ""


def push_all(git_dir: str, urls) -> list[PushResult]:
    """Push every ref of the store at ``git_dir`` to each of ``urls`` (``git push --mirror``); records the
    outcome beside the store and logs failures. Never raises for a failing mirror."""
    results = []
    for url in urls:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            git("push", "--mirror", "--quiet", url, cwd=git_dir, timeout=PUSH_TIMEOUT)
        except GitFailed as exc:
            error = str(exc).replace(url, shown(url))[-500:]
            log.warning("store mirror %s: push failed: %s", shown(url), error)
            results.append(PushResult(shown(url), at, False, error))
        else:
            results.append(PushResult(shown(url), at, True))
    _save_status(git_dir, results)
    return results


def status(git_dir: str) -> list[PushResult]:
    """The last push to each mirror, as recorded beside the store (empty before the first)."""
    try:
        data = json.loads((Path(git_dir) / STATUS_FILE).read_text(encoding="utf-8"))
        return [PushResult(**item) for item in data]
    except (OSError, ValueError, TypeError):
        return []


def _save_status(git_dir: str, results: list[PushResult]) -> None:
    path = Path(git_dir) / STATUS_FILE
    partial = path.with_name(f".{STATUS_FILE}.{os.getpid()}.{threading.get_ident()}")
    try:
        partial.write_text(json.dumps([asdict(r) for r in results], indent=1), encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        log.warning("store mirrors: cannot record the push results in %s: %s", path, exc)


class Pusher:
    """This process's background pusher for one store: one thread, started on the first request."""

    def __init__(self, git_dir: str, urls, delay: float = PUSH_DELAY):
        self.git_dir, self.urls, self.delay = git_dir, tuple(urls), delay
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        """Ask for a push soon; returns at once."""
        with self._lock:
            self._idle.clear()
            self._wanted.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="procdesk-mirrors", daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no push is asked for or running (tests, shutdown); False on timeout."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            time.sleep(self.delay)
            self._wanted.clear()
            try:
                push_all(self.git_dir, self.urls)
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("store mirrors: push failed")
            with self._lock:
                if not self._wanted.is_set():
                    self._idle.set()


def pusher() -> Pusher:
    """The current app's :class:`Pusher`."""
    return app_state("procdesk.mirrors", lambda: Pusher(get_store().git_dir, current_app.config["STORE_MIRRORS"]))


@signals.version_published.connect
def push_after_publish(_code, **_extra):
    """A new version is on main: push it to the mirrors in the background."""
    if features.is_enabled("backup") and current_app.config.get("STORE_MIRRORS"):
        pusher().request()


def init_app(app: Flask) -> None:
    """``STORE_MIRRORS``: a list in ``instance/config.py``, or URLs separated by spaces in the environment."""
    app.config.setdefault("STORE_MIRRORS", os.environ.get("STORE_MIRRORS", ""))
    if isinstance(app.config["STORE_MIRRORS"], str):  # one URL, or several separated by spaces
        app.config["STORE_MIRRORS"] = tuple(app.config["STORE_MIRRORS"].split())

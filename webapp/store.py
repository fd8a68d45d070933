"""The app's handle on the git store (one ``GitStore`` per app, safe to share: it opens
a ``git.Repo`` per operation)."""
from __future__ import annotations

from flask import Flask, current_app

from repo_store import GitStore


def init_store(app: Flask) -> None:
    app.extensions["procdesk_store"] = GitStore.open_or_init(app.config["REPO_STORE_PATH"])


def get_store():
    """The current app's :class:`repo_store.GitStore`."""
    return current_app.extensions["procdesk_store"]

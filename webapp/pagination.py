"""Keyset-free, simple offset pagination with a page size cap and a cheap 'has next'."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from webapp.extensions import db

MAX_PAGE = 100_000  # far past any real list; keeps ?page=10**20 from overflowing the OFFSET


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def paginate(stmt, *, per_page: int = 50, max_per_page: int = 200) -> Page:
    """Run ``stmt`` for the page in ``?page=`` (fetches one extra row to know if there is a next page)."""
    try:
        number = min(max(1, int(request.args.get("page", 1))), MAX_PAGE)
    except ValueError:
        number = 1
    try:
        per_page = min(max_per_page, max(1, int(request.args.get("per_page", per_page))))
    except ValueError:
        pass
    rows = list(db.session.execute(stmt.limit(per_page + 1).offset((number - 1) * per_page)).scalars())
    return Page(rows[:per_page], number, per_page, len(rows) > per_page)

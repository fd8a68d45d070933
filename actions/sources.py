"""Where actions come from: the features that own the source records describe them here.

An action stores only ``(source_type, source_id)``. The feature whose records open actions (a survey
below target, a complaint, a meeting issue) registers, from its ``setup(app)``, how to load such records
and how to name and link one; this package never imports those features. The registry belongs to the
app (``app.extensions``), so an app built without that feature knows none of its sources. A source type
nobody registered is shown as "label #id", without a link.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class Source:
    """How to load and show the records of one source type."""

    model: type                                        #: the SQLAlchemy model (with an ``id`` column)
    options: tuple                                     #: loader options for the query (``joinedload`` …)
    describe: Callable[[object], tuple[str, str | None]]  #: record -> (what to show after the label, URL)


_KEY = "actions.sources"


def register_source(app: Flask, kind: str, model: type, *options,
                    describe: Callable[[object], tuple[str, str | None]]) -> None:
    """Tell ``app``'s actions how to load records of ``kind`` and describe one (idempotent)."""
    app.extensions.setdefault(_KEY, {})[kind] = Source(model, options, describe)


def source_for(kind: str) -> Source | None:
    """The current app's description of ``kind``, or None when no enabled feature provides it."""
    return current_app.extensions.get(_KEY, {}).get(kind)

"""Where actions come from: the features that own the source records describe them here.

An action stores only ``(source_type, source_id)``. The feature whose records open actions (a survey
below target, a complaint, a meeting issue) registers, from its ``listeners`` module, how to load such
records and how to name and link one; this package never imports those features. A source type nobody
registered is shown as "label #id", without a link.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """How to load and show the records of one source type."""

    model: type                                        #: the SQLAlchemy model (with an ``id`` column)
    options: tuple                                     #: loader options for the query (``joinedload`` …)
    describe: Callable[[object], tuple[str, str | None]]  #: record -> (what to show after the label, URL)


_SOURCES: dict[str, Source] = {}


def register_source(kind: str, model: type, *options, describe: Callable[[object], tuple[str, str | None]]) -> None:
    """Tell actions how to load records of ``kind`` and describe one (called at import; idempotent)."""
    _SOURCES[kind] = Source(model, options, describe)


def source_for(kind: str) -> Source | None:
    """The registered description of ``kind``, or None when no enabled feature provides it."""
    return _SOURCES.get(kind)

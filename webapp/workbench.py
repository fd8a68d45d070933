"""The workbench (工作台) on the home page: what waits for each person, as boxes with counts.

Features answer :data:`webapp.signals.work_items_wanted` with :class:`WorkItem` records — a label, a count and
the URL of a list filtered to exactly the counted rows — and the core renders them the same way for every
feature, grouped into "my to-do", "keep an eye on" and "key figures". The core never learns what a feature
counts; a feature never renders the home page. HTML panels (:data:`webapp.signals.home_panels_wanted`) join
the key figures.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func

from webapp.i18n import _l
from webapp.signals import home_panels_wanted, work_items_wanted

TODO = "todo"
WATCH = "watch"
FIGURES = "figures"
#: The groups, in page order, with their headings.
GROUPS = {TODO: _l("My to-do"), WATCH: _l("Keep an eye on"), FIGURES: _l("Key figures")}
#: How a box with a count above zero is marked: plain, something to do, something late.
TONES = ("normal", "warn", "bad")


@dataclass(frozen=True)
class WorkItem:
    """One box: ``count`` rows wait behind ``url``, a list filtered to exactly those rows.

    ``key`` names the box for tests and styles (``"complaints.assigned"``); ``order`` sorts boxes inside
    their group (low first; features are free to interleave); ``hint`` is one short line under the label."""

    key: str
    label: object
    count: int
    url: str
    group: str = TODO
    tone: str = "warn"
    hint: object = ""
    order: int = 100

    def __post_init__(self):
        if self.group not in GROUPS or self.tone not in TONES:
            raise ValueError(f"work item {self.key}: unknown group {self.group!r} or tone {self.tone!r}")


@dataclass
class Group:
    """One group of the page: the boxes with something behind them, and the ones with nothing (a line)."""

    key: str
    label: object
    items: list[WorkItem] = field(default_factory=list)
    panels: list = field(default_factory=list)

    @property
    def waiting(self) -> list[WorkItem]:
        return [i for i in self.items if i.count]

    @property
    def empty(self) -> list[WorkItem]:
        return [i for i in self.items if not i.count]


def counted(condition):
    """A column counting the rows that meet ``condition`` (0 when none): several boxes' counts from one query."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _flatten(answers):
    for _receiver, value in answers:
        if value is None:
            continue
        if isinstance(value, WorkItem):
            yield value
        else:
            yield from (v for v in value if v is not None)


def collect(user) -> list[Group]:
    """The groups of ``user``'s workbench that have anything in them, in page order."""
    groups = {key: Group(key, label) for key, label in GROUPS.items()}
    for item in sorted(_flatten(work_items_wanted.send(user)), key=lambda i: (i.order, i.key)):
        groups[item.group].items.append(item)
    groups[FIGURES].panels = [html for _receiver, html in home_panels_wanted.send(user) if html]
    return [g for g in groups.values() if g.items or g.panels]

"""The owner survey's rating scale: its levels, their labels, and which of them count as satisfied.

The scale is the company's (procedure QP-CS-001 4.1.2 and 2.2.3: 非常满意, 满意, 基本满意, 不满意, the
first two satisfied), kept as the ``rating_scale`` setting. Every campaign stores a copy of the scale it
was created with (``SurveyCampaign.rating_scale``), so a later change of the setting never rewrites the
forms already entered or their rates. A level is a small whole number (what is typed and stored) with a
Chinese and an English label (either is accepted on import); levels are listed best first.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from accounts.models import LocalizedName
from webapp.exceptions import ValidationError
from webapp.i18n import _, _l
from webapp.textguard import bad_text_message

MIN_LEVELS, MAX_LEVELS = 2, 10
VALUE_MAX = 99
NAME_MAX, NAME_EN_MAX = 12, 30
#: Characters a label may not hold: they would break the XLSX template's drop-down list.
FORBIDDEN_IN_LABELS = ',"'


@dataclass(frozen=True)
class Level(LocalizedName):
    value: int
    name: str
    name_en: str
    satisfied: bool

    def as_json(self) -> dict:
        return {"value": self.value, "name": self.name, "name_en": self.name_en, "satisfied": self.satisfied}


@dataclass(frozen=True)
class Scale:
    """Levels best first; read from stored JSON with :meth:`from_json`, checked with :func:`clean_scale`."""

    levels: tuple[Level, ...]

    @classmethod
    def from_json(cls, data) -> Scale:
        return cls(tuple(Level(int(x["value"]), str(x["name"]), str(x.get("name_en") or ""), bool(x["satisfied"]))
                         for x in data))

    def as_json(self) -> list[dict]:
        return [level.as_json() for level in self.levels]

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(level.value for level in self.levels)

    @property
    def satisfied_values(self) -> frozenset[int]:
        return frozenset(level.value for level in self.levels if level.satisfied)

    def level(self, value) -> Level | None:
        return next((level for level in self.levels if level.value == value), None)

    def label(self, value) -> str:
        """The level's label in the current language; the bare value when it is not on the scale."""
        level = self.level(value)
        return "" if value is None else (level.label if level is not None else str(value))

    def words(self) -> dict[str, int]:
        """Every label accepted for a level (Chinese and English, compared without spaces or case) -> value."""
        found: dict[str, int] = {}
        for level in self.levels:
            for name in (level.name, level.name_en):
                if name:
                    found.setdefault(_key(name), level.value)
        return found

    def parse(self, value) -> int | None:
        """A value of the scale from a number, its digits or one of its labels; None when blank.

        Raises ValueError for anything else (a value off the scale, 4.5, an unknown word…).
        """
        if value is None:
            return None
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(value)
            value = int(value)
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            word = self.words().get(_key(text))
            if word is not None:
                return word
            if text.endswith(".0"):
                text = text[:-2]
            if not text.isdecimal() or not text.isascii():
                raise ValueError(value)
            value = int(text)
        if not isinstance(value, int) or value not in self.values:
            raise ValueError(value)
        return value

    def value_list(self) -> str:
        """``4/3/2/1``: the values, best first."""
        return "/".join(str(v) for v in self.values)

    def label_list(self) -> str:
        """``非常满意/满意/基本满意/不满意``: the Chinese labels, best first (as printed on the form)."""
        return "/".join(level.name for level in self.levels)

    def legend(self) -> str:
        """``4 非常满意, 3 满意, …`` in the current language."""
        return ", ".join(f"{level.value} {level.label}" for level in self.levels)

    def range_message(self):
        """The message for a rating that is not on this scale."""
        return _l("The rating must be %(values)s or %(words)s.", values=self.value_list(), words=self.label_list())


def _key(text: str) -> str:
    return "".join(str(text).split()).casefold()


def satisfied_definition(scales) -> str:
    """What "satisfied" means for one scale, or for several campaigns' scales (named when they agree)."""
    if isinstance(scales, Scale):
        scales = [scales]
    distinct = {tuple((lv.value, lv.name, lv.name_en) for lv in s.levels if lv.satisfied): s for s in scales}
    if len(distinct) != 1:
        return _("Satisfied = an overall rating its survey's own scale counts as satisfied")
    scale = next(iter(distinct.values()))
    return _("Satisfied = overall rating %(levels)s",
             levels=" / ".join(f"{lv.value} {lv.label}" for lv in scale.levels if lv.satisfied))


#: ProcDesk's default: the company's own four levels (QP-CS-001 4.1.2), the first two satisfied (2.2.3).
DEFAULT_LEVELS = [
    {"value": 4, "name": "非常满意", "name_en": "Very satisfied", "satisfied": True},
    {"value": 3, "name": "满意", "name_en": "Satisfied", "satisfied": True},
    {"value": 2, "name": "基本满意", "name_en": "Fairly satisfied", "satisfied": False},
    {"value": 1, "name": "不满意", "name_en": "Dissatisfied", "satisfied": False},
]


def legacy_levels(satisfied_min_rating: int = 4) -> list[dict]:
    """The fixed 1–5 scale ProcDesk used before the scale became a setting (revision 0015): satisfied
    from ``satisfied_min_rating`` up. Campaigns created before then keep it."""
    words = [(5, "非常满意", "Very satisfied"), (4, "满意", "Satisfied"), (3, "一般", "Neutral"),
             (2, "不满意", "Dissatisfied"), (1, "非常不满意", "Very dissatisfied")]
    return [{"value": v, "name": n, "name_en": e, "satisfied": v >= satisfied_min_rating} for v, n, e in words]


#: The column default: rows written without a scale (bulk loaders) get the pre-0015 scale, never a moving one.
LEGACY_JSON = json.dumps(legacy_levels())


def clean_scale(data) -> Scale:
    """Check a scale from the settings page (or JSON) → Scale; ValidationError lists every problem.

    Rules: 2–10 levels, best first; whole-number values 0–99 (unique); a Chinese label on every level,
    an optional English one, all labels unique and none a bare number; at least one level satisfied and
    one not, the satisfied ones at the top.
    """
    problems: list = []
    if not isinstance(data, list | tuple) or not MIN_LEVELS <= len(data) <= MAX_LEVELS:
        _fail([_l("A rating scale has %(min)d to %(max)d levels.", min=MIN_LEVELS, max=MAX_LEVELS)])
    levels: list[Level] = []
    for position, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append(_l("Level %(n)d: not a level.", n=position))
            continue
        value = item.get("value")
        if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= VALUE_MAX:
            problems.append(_l("Level %(n)d: the value must be a whole number from 0 to %(max)d.", n=position,
                               max=VALUE_MAX))
            value = None
        names = []
        for key, limit, required in (("name", NAME_MAX, True), ("name_en", NAME_EN_MAX, False)):
            text = str(item.get(key) or "").strip()
            problem = _label_problem(text, limit, required)
            if problem is not None:
                problems.append(_l("Level %(n)d: %(problem)s", n=position, problem=problem))
            names.append(text)
        satisfied = item.get("satisfied")
        if not isinstance(satisfied, bool):
            problems.append(_l("Level %(n)d: say whether it counts as satisfied.", n=position))
        levels.append(Level(value, names[0], names[1], bool(satisfied)))
    if problems:
        _fail(problems)
    _check_levels(levels, problems)
    if problems:
        _fail(problems)
    return Scale(tuple(levels))


def _label_problem(text: str, limit: int, required: bool):
    if not text:
        return _l("the Chinese label is required.") if required else None
    if len(text) > limit:
        return _l("a label has at most %(n)d characters.", n=limit)
    if bad_text_message(text) is not None or any(ch in text for ch in FORBIDDEN_IN_LABELS):
        return _l("a label may not hold commas, double quotes or control characters.")
    if _key(text).isdecimal():
        return _l("a label cannot be a bare number (numbers are the values).")
    return None


def _check_levels(levels: list[Level], problems: list) -> None:
    values = [level.value for level in levels]
    if len(set(values)) != len(values):
        problems.append(_l("Each level needs its own value."))
    seen: dict[str, int] = {}
    for position, level in enumerate(levels, start=1):
        for name in {_key(level.name), _key(level.name_en)} - {""}:
            if name in seen:
                problems.append(_l("Levels %(a)d and %(b)d have the same label.", a=seen[name], b=position))
            seen.setdefault(name, position)
    flags = [level.satisfied for level in levels]
    if all(flags) or not any(flags):
        problems.append(_l("At least one level must count as satisfied and at least one must not."))
    elif flags != sorted(flags, reverse=True):
        problems.append(_l("The levels that count as satisfied must be the top ones (list the levels best first)."))


def _fail(problems: list) -> None:
    raise ValidationError(problems[0], errors={"rating_scale": problems})

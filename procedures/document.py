"""The procedure file format: ``<CODE>.md`` with YAML front matter.

A procedure lives in the git store as one Markdown file at the root of the
repository::

    ---
    code: QP-CS-001
    title: 顾客满意控制作业规程
    departments: [CS]
    version: A/0
    effective: 2026-01-01
    review_months: 6
    status: effective
    owner: controller
    ---
    # body markdown…

This module only knows the *shape* of a procedure (parse, validate, serialize,
version arithmetic). It needs neither a Flask app nor a database: whether a
department code or an owner login really exists is checked by the service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from webapp.dates import add_months, out_of_range_message
from webapp.exceptions import ValidationError
from webapp.i18n import _l
from webapp.textguard import bad_text_message

__all__ = [
    "CODE_RE",
    "VERSION_RE",
    "DEPARTMENT_RE",
    "STATUSES",
    "STATUS_EFFECTIVE",
    "STATUS_WITHDRAWN",
    "DEFAULT_REVIEW_MONTHS",
    "MIN_REVIEW_MONTHS",
    "MAX_REVIEW_MONTHS",
    "MAX_FILE_BYTES",
    "MAX_FRONT_MATTER_CHARS",
    "MAX_FRONT_MATTER_DEPTH",
    "MAX_DEPARTMENTS",
    "MAX_MESSAGES_PER_FIELD",
    "ProcedureDoc",
    "parse",
    "read_front_matter",
    "effective_problems",
    "unclean_values",
    "compose",
    "serialize",
    "path_for",
    "code_from_path",
    "next_revision",
    "next_edition",
    "version_key",
    "next_review_date",
]

CODE_RE = re.compile(r"^[A-Z][A-Z0-9]{1,5}(?:-[A-Z0-9]{1,6}){1,3}$")
VERSION_RE = re.compile(r"^([A-Z])/(\d{1,3})$")
DEPARTMENT_RE = re.compile(r"^[A-Z]{2,6}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

STATUS_EFFECTIVE = "effective"
STATUS_WITHDRAWN = "withdrawn"
STATUSES = (STATUS_EFFECTIVE, STATUS_WITHDRAWN)

DEFAULT_REVIEW_MONTHS = 6
MIN_REVIEW_MONTHS = 1
MAX_REVIEW_MONTHS = 36
MAX_REVISION = 999
MAX_TITLE_LENGTH = 200
MAX_OWNER_LENGTH = 64
#: A procedure file is a few to a few dozen KB; what is *stored* (not only what is sent) stays under this.
MAX_FILE_BYTES = 512 * 1024
#: The front matter is a handful of short fields.
MAX_FRONT_MATTER_CHARS = 32 * 1024
#: Nesting of lists/mappings in the front matter (the known fields need 2).
MAX_FRONT_MATTER_DEPTH = 20
MAX_DEPARTMENTS = 50
#: A field never gets more messages than this (then one "and N more").
MAX_MESSAGES_PER_FIELD = 10
#: A value quoted in a message is cut to this many characters.
_QUOTE_MAX = 40

FILE_SUFFIX = ".md"

# Key order used by serialize(); also the set of fields that are not "extra".
_KNOWN_KEYS = (
    "code",
    "title",
    "departments",
    "version",
    "effective",
    "review_months",
    "status",
    "owner",
)
_REQUIRED_KEYS = ("code", "title", "departments", "version", "effective")

_OPEN_DELIMITER = "---"
_CLOSE_DELIMITERS = ("---", "...")


@dataclass(frozen=True)
class ProcedureDoc:
    """One procedure file, validated. ``extra`` keeps unknown front-matter keys."""

    code: str
    title: str
    departments: tuple[str, ...]
    version: str
    effective: date
    review_months: int = DEFAULT_REVIEW_MONTHS
    status: str = STATUS_EFFECTIVE
    owner: str | None = None
    body: str = ""
    # A dict cannot be hashed; compare it but leave it out of __hash__.
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def path(self) -> str:
        return path_for(self.code)

    @property
    def next_review(self) -> date:
        return next_review_date(self.effective, self.review_months)


# --------------------------------------------------------------------------
# YAML loader/dumper
# --------------------------------------------------------------------------

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _AnchorRefused(Exception):
    """An anchor (``&a``) or alias (``*a``): refused before anything is expanded."""

    def __init__(self, mark):
        super().__init__("anchor or alias")
        self.mark = mark


class _TooDeep(Exception):
    def __init__(self, mark):
        super().__init__("nested too deeply")
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style booleans and duplicate-key detection.

    YAML 1.1 reads ``NO``, ``ON``, ``Y``… as booleans, which would turn a
    department or owner called ``NO`` into ``False``. Only true/false are
    booleans here. Impossible dates (``2026-02-30``) come back as the plain
    string so that field validation can report them.

    Anchors and aliases are refused while composing, before any node is shared:
    a kilobyte of nested aliases ("billion laughs") expands to gigabytes. Nesting
    deeper than :data:`MAX_FRONT_MATTER_DEPTH` is refused the same way.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AnchorRefused(event.start_mark)
        if self._depth >= MAX_FRONT_MATTER_DEPTH:
            raise _TooDeep(event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG,
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_timestamp(loader, node):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # unhashable key; construct_mapping reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(_TIMESTAMP_TAG, _construct_timestamp)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _FlowList(list):
    """A list that is written in flow style: ``[CS, ENG]``."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # never write &id001 anchors
        return True


def _represent_flow_list(dumper, data):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_FlowList, _represent_flow_list)
_Dumper.add_representer(tuple, yaml.SafeDumper.represent_list)


# --------------------------------------------------------------------------
# parse
# --------------------------------------------------------------------------


def _structure_error(message) -> ValidationError:
    return ValidationError(message, errors={"front_matter": [message]})


def _split_front_matter(text: str) -> tuple[str, str]:
    """Return (yaml_text, body). The body is everything after the closing line."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != _OPEN_DELIMITER:
        raise _structure_error(
            _l("The procedure file must start with a front matter block opened by a '---' line.")
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() in _CLOSE_DELIMITERS:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise _structure_error(_l("The front matter block is not closed: add a '---' line after the last field."))


def _line_of(mark) -> int:
    # +1 for 1-based numbering, +1 for the opening '---' line.
    return (mark.line if mark is not None else 0) + 2


def _load_yaml(yaml_text: str) -> Any:
    if len(yaml_text) > MAX_FRONT_MATTER_CHARS:
        raise _structure_error(_l("The front matter is longer than %(max)d characters; keep it to the fields "
                                  "of the procedure.", max=MAX_FRONT_MATTER_CHARS))
    try:
        return yaml.load(yaml_text, Loader=_Loader)  # _Loader derives from SafeLoader
    except _AnchorRefused as exc:
        raise _structure_error(_l("Front matter line %(line)d: anchors and aliases (& and *) are not allowed; "
                                  "write each value out.", line=_line_of(exc.mark))) from None
    except _TooDeep as exc:
        raise _structure_error(_l("Front matter line %(line)d: values are nested more than %(max)d levels deep.",
                                  line=_line_of(exc.mark), max=MAX_FRONT_MATTER_DEPTH)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or str(exc)
        if mark is not None:
            # +1 for 1-based numbering, +1 for the opening '---' line.
            message = _l(
                "Front matter YAML error on line %(line)d: %(problem)s",
                line=mark.line + 2,
                problem=problem,
            )
        else:
            message = _l("Front matter YAML error: %(problem)s", problem=problem)
        raise _structure_error(message) from exc
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise _structure_error(_l("Front matter YAML error: %(problem)s", problem=str(exc))) from exc


def _check_code(value, errors) -> str | None:
    if not isinstance(value, str) or not CODE_RE.match(value):
        errors.setdefault("code", []).append(
            _l("The code must look like QP-CS-001 (capital letters, digits and hyphens).")
        )
        return None
    return value


def _check_title(value, errors) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.setdefault("title", []).append(_l("The title must be a non-empty text."))
        return None
    value = value.strip()
    if len(value) > MAX_TITLE_LENGTH:
        errors.setdefault("title", []).append(
            _l("The title must be at most %(max)d characters long.", max=MAX_TITLE_LENGTH)
        )
        return None
    if any(ch in value for ch in "\r\n"):
        errors.setdefault("title", []).append(_l("The title must be a single line."))
        return None
    return value


def _quote(value) -> str:
    text = str(value)
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 1] + "…"


def _check_departments(value, errors) -> tuple[str, ...] | None:
    if not isinstance(value, (list, tuple)) or not value:
        errors.setdefault("departments", []).append(
            _l("Departments must be a list with at least one department code, e.g. [CS].")
        )
        return None
    if len(value) > MAX_DEPARTMENTS:
        errors.setdefault("departments", []).append(
            _l("List at most %(max)d departments.", max=MAX_DEPARTMENTS))
        return None
    problems = []
    seen: list[str] = []
    twice: list[str] = []
    for item in value:
        if not isinstance(item, str) or not DEPARTMENT_RE.match(item):
            problems.append(
                _l(
                    "%(value)s is not a valid department code (2 to 6 capital letters).",
                    value=_quote(item),
                )
            )
        elif item in seen:
            if item not in twice:
                twice.append(item)
        else:
            seen.append(item)
    if twice:
        problems.append(_l("Departments listed twice: %(codes)s.", codes=", ".join(twice)))
    if problems:
        errors.setdefault("departments", []).extend(problems)
        return None
    return tuple(seen)


def _check_version(value, errors) -> str | None:
    if not isinstance(value, str) or not VERSION_RE.match(value):
        errors.setdefault("version", []).append(
            _l("The version must look like A/0 (edition letter, slash, revision number).")
        )
        return None
    return value


def _check_effective(value, errors, bounds: tuple[date, date] | None = None) -> date | None:
    result = None
    if isinstance(value, date) and not isinstance(value, datetime):
        result = value
    elif isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            result = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if result is None:
        errors.setdefault("effective", []).append(
            _l("The effective date must be a valid date written as YYYY-MM-DD.")
        )
        return None
    if bounds is not None and not bounds[0] <= result <= bounds[1]:
        errors.setdefault("effective", []).append(out_of_range_message(bounds))
        return None
    return result


def _check_review_months(value, errors) -> int | None:
    if value is None:
        return DEFAULT_REVIEW_MONTHS
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not MIN_REVIEW_MONTHS <= value <= MAX_REVIEW_MONTHS
    ):
        errors.setdefault("review_months", []).append(
            _l(
                "The review period must be a whole number of months between %(min)d and %(max)d.",
                min=MIN_REVIEW_MONTHS,
                max=MAX_REVIEW_MONTHS,
            )
        )
        return None
    return value


def _check_status(value, errors) -> str | None:
    if value is None:
        return STATUS_EFFECTIVE
    if value not in STATUSES:
        errors.setdefault("status", []).append(_l("The status must be 'effective' or 'withdrawn'."))
        return None
    return value


def _check_owner(value, errors) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value.strip()) > MAX_OWNER_LENGTH
        or any(ch.isspace() for ch in value.strip())
    ):
        errors.setdefault("owner", []).append(_l("The owner must be a login name without spaces."))
        return None
    return value.strip()


def _decode(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                _l("The procedure file is not valid UTF-8 text."),
                errors={"file": [_l("The procedure file is not valid UTF-8 text.")]},
            ) from exc
    if not isinstance(text, str):
        raise TypeError("parse() expects str or bytes")
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Lone surrogates cannot be stored (git, audit log, database): one check here covers the
    # editor, the API, uploads, imports and files pushed with plain git.
    message = bad_text_message(text)
    if message is not None:
        raise ValidationError(message, errors={"file": [message]})
    return text


def _check_values(data: dict, errors) -> None:
    """Refuse values that are not clean text once YAML escapes are decoded (``"\\ud800"``, ``"\\x00"``)."""

    def walk(value, name: str) -> bool:
        if isinstance(value, str):
            message = bad_text_message(value)
            if message is not None:
                errors.setdefault(name, []).append(message)
                return False
        elif isinstance(value, dict):
            return all(walk(k, name) and walk(v, name) for k, v in value.items())
        elif isinstance(value, (list, tuple, set)):
            return all(walk(item, name) for item in value)
        return True

    for key, value in data.items():
        if walk(key, "front_matter"):
            walk(value, key if isinstance(key, str) else "front_matter")


def _cap_messages(errors: dict[str, list]) -> dict[str, list]:
    """At most :data:`MAX_MESSAGES_PER_FIELD` messages per field (a list of 100,000 bad items is one problem)."""
    for key, messages in errors.items():
        if len(messages) > MAX_MESSAGES_PER_FIELD:
            rest = len(messages) - (MAX_MESSAGES_PER_FIELD - 1)
            errors[key] = messages[: MAX_MESSAGES_PER_FIELD - 1] + [
                _l("… and %(count)d more problems in this field.", count=rest)]
    return errors


def parse(text: str | bytes, *, expected_code: str | None = None,
          date_bounds: tuple[date, date] | None = None, max_bytes: int | None = None) -> ProcedureDoc:
    """Parse and validate a procedure file.

    Raises :class:`ValidationError`. Structural problems (no/unterminated front
    matter, YAML syntax, anchors/aliases, not a mapping) are reported under
    ``front_matter``; text that is not clean Unicode, or a file larger than
    ``max_bytes``, under ``file``; field problems are all collected, keyed by field
    name. ``date_bounds`` (``(earliest, latest)``, see :func:`webapp.dates.date_bounds`)
    is the range the effective date must lie in; this module needs no app, so the
    caller passes it.
    """
    if max_bytes is not None:
        size = len(text) if isinstance(text, (bytes, bytearray)) else len(text.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            message = _l("The procedure file is larger than %(kb)d KB.", kb=max_bytes // 1024)
            raise ValidationError(message, errors={"file": [message]})
    data, body = read_front_matter(text)

    errors: dict[str, list] = {}
    for key in data:
        if not isinstance(key, str):
            errors.setdefault("front_matter", []).append(
                _l("Field name %(key)s must be text.", key=_quote(key)))
    _check_values(data, errors)
    if errors:
        raise ValidationError(
            _l("The procedure file has errors; please correct the fields listed."),
            errors=_cap_messages(errors),
        )
    for key in _REQUIRED_KEYS:
        if data.get(key) is None:
            errors.setdefault(key, []).append(_l("The field '%(field)s' is required.", field=key))

    values: dict[str, Any] = {}
    checks = {
        "code": _check_code,
        "title": _check_title,
        "departments": _check_departments,
        "version": _check_version,
        "effective": lambda value, errs: _check_effective(value, errs, date_bounds),
    }
    for key, check in checks.items():
        if data.get(key) is not None:
            values[key] = check(data[key], errors)
    values["review_months"] = _check_review_months(data.get("review_months"), errors)
    values["status"] = _check_status(data.get("status"), errors)
    values["owner"] = _check_owner(data.get("owner"), errors)

    code = values.get("code")
    if expected_code is not None and code is not None and code != expected_code:
        errors.setdefault("code", []).append(
            _l(
                "The code %(code)s does not match the file name %(path)s.",
                code=code,
                path=_path_for_unchecked(expected_code),
            )
        )

    if errors:
        raise ValidationError(
            _l("The procedure file has errors; please correct the fields listed."),
            errors=_cap_messages(errors),
        )

    extra = {key: value for key, value in data.items() if key not in _KNOWN_KEYS}
    return ProcedureDoc(
        code=values["code"],
        title=values["title"],
        departments=values["departments"],
        version=values["version"],
        effective=values["effective"],
        review_months=values["review_months"],
        status=values["status"],
        owner=values["owner"],
        body=body,
        extra=extra,
    )


def read_front_matter(text: str | bytes) -> tuple[dict, str]:
    """The front matter as a mapping and the body, with no field checked (the editor's switch from the
    source text to its form fields). Raises :class:`ValidationError` for the problems :func:`parse`
    reports under ``front_matter`` and ``file`` (no or unclosed block, YAML errors, not a mapping)."""
    text = _decode(text)
    yaml_text, body = _split_front_matter(text)
    data = _load_yaml(yaml_text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _structure_error(_l("The front matter must be a set of 'field: value' lines."))
    return data, body


def unclean_values(data: dict) -> dict[str, list]:
    """The messages :func:`parse` gives for front-matter values that are not clean text once YAML escapes
    are decoded (``"\\ud800"``), by field; empty when all are clean."""
    errors: dict[str, list] = {}
    _check_values(data, errors)
    return errors


def effective_problems(value, date_bounds: tuple[date, date] | None = None) -> list:
    """The messages :func:`parse` gives for ``value`` as the effective date (none: a valid date in range)."""
    errors: dict[str, list] = {}
    _check_effective(value, errors, date_bounds)
    return errors.get("effective", [])


def _typed(key: str, value):
    """A value typed into a form field as the file format writes it: a whole number of months as a
    number, a date written as YYYY-MM-DD as a date; anything else as given (``parse`` reports it)."""
    if isinstance(value, str):
        value = value.strip()
        if key == "review_months" and value.isdecimal() and len(value) < 6:
            return int(value)
        if key == "effective" and _DATE_RE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                return value
    return value


def compose(values: dict[str, Any], body: str, extra: dict[str, Any] | None = None) -> str:
    """A procedure file from front-matter ``values`` as a form gives them (text), the Markdown ``body``
    and the ``extra`` keys of the file they came from; :func:`parse` then checks it like any file.

    Known keys are written in :func:`serialize`'s order; an empty optional value (``owner``,
    ``review_months``, ``status``) is left out, so the format's default applies. Extra keys that
    name a known field are ignored (the form's value wins)."""
    data: dict[str, Any] = {}
    for key in _KNOWN_KEYS:
        value = values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()
                             and key in ("owner", "review_months", "status")):
            continue
        if key == "departments":
            value = _FlowList(value if isinstance(value, (list, tuple)) else [value])
        data[key] = _typed(key, value)
    for key in sorted(k for k in (extra or {}) if isinstance(k, str) and k not in _KNOWN_KEYS):
        data[key] = extra[key]
    front = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False,
                      width=10_000)
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    return f"{_OPEN_DELIMITER}\n{front}{_OPEN_DELIMITER}\n{body}"


# --------------------------------------------------------------------------
# serialize
# --------------------------------------------------------------------------


def serialize(doc: ProcedureDoc) -> str:
    """Write a procedure file. Known keys come first in a fixed order, then
    extra keys sorted by name; UTF-8 text is written as is (not escaped)."""
    data: dict[str, Any] = {
        "code": doc.code,
        "title": doc.title,
        "departments": _FlowList(doc.departments),
        "version": doc.version,
        "effective": doc.effective,
        "review_months": doc.review_months,
        "status": doc.status,
    }
    if doc.owner is not None:
        data["owner"] = doc.owner
    for key in sorted(k for k in doc.extra if k not in _KNOWN_KEYS):
        data[key] = doc.extra[key]
    front = yaml.dump(
        data,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=10_000,
    )
    return f"{_OPEN_DELIMITER}\n{front}{_OPEN_DELIMITER}\n{doc.body}"


# --------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------


def _path_for_unchecked(code: str) -> str:
    return f"{code}{FILE_SUFFIX}"


def path_for(code: str) -> str:
    """``"QP-CS-001"`` -> ``"QP-CS-001.md"``. Rejects codes that are not valid
    (which also keeps path separators and ``..`` out of store paths)."""
    if not isinstance(code, str) or not CODE_RE.match(code):
        message = _l("The code must look like QP-CS-001 (capital letters, digits and hyphens).")
        raise ValidationError(message, errors={"code": [message]})
    return _path_for_unchecked(code)


def code_from_path(path: str) -> str | None:
    """The procedure code for a store path, or None if the path is not a
    procedure file (not ``<CODE>.md`` at the repository root)."""
    if not isinstance(path, str) or not path.endswith(FILE_SUFFIX):
        return None
    code = path[: -len(FILE_SUFFIX)]
    return code if CODE_RE.match(code) else None


# --------------------------------------------------------------------------
# versions and dates
# --------------------------------------------------------------------------


def _split_version(version: str) -> tuple[str, int]:
    match = VERSION_RE.match(version) if isinstance(version, str) else None
    if not match:
        message = _l("The version must look like A/0 (edition letter, slash, revision number).")
        raise ValidationError(message, errors={"version": [message]})
    return match.group(1), int(match.group(2))


def version_key(version: str) -> tuple[str, int]:
    """Sort key: ``"B/2"`` -> ``("B", 2)``, so ``A/10`` sorts after ``A/9``."""
    return _split_version(version)


def next_revision(version: str) -> str:
    """``"A/3"`` -> ``"A/4"``."""
    edition, revision = _split_version(version)
    if revision >= MAX_REVISION:
        message = _l(
            "Revision %(max)d is the last one of an edition; start a new edition instead.",
            max=MAX_REVISION,
        )
        raise ValidationError(message, errors={"version": [message]})
    return f"{edition}/{revision + 1}"


def next_edition(version: str) -> str:
    """``"A/3"`` -> ``"B/0"``."""
    edition, _revision = _split_version(version)
    if edition == "Z":
        message = _l("Edition Z is the last edition letter.")
        raise ValidationError(message, errors={"version": [message]})
    return f"{chr(ord(edition) + 1)}/0"


def next_review_date(effective: date, review_months: int) -> date:
    """``effective`` plus ``review_months`` calendar months; the day is clamped
    to the end of the target month (2026-08-31 + 6 months -> 2027-02-28).

    Saturates at ``date.max`` instead of overflowing: a far-future date that got into
    the store must never make every list that shows review dates fail."""
    return add_months(effective, review_months)

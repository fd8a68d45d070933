"""procedures.document: the procedure file format (no app needed)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from flask import has_app_context

from procedures import document
from procedures.document import (
    CODE_RE,
    VERSION_RE,
    ProcedureDoc,
    code_from_path,
    next_edition,
    next_review_date,
    next_revision,
    parse,
    path_for,
    serialize,
    version_key,
)
from webapp.exceptions import ValidationError

DEMO_DIR = Path(__file__).resolve().parent.parent / "procedures" / "demo_content"

BODY = "\n## 1.0 目的\n\n1.1 规定顾客满意信息的收集方法。\n\n4.2.1 问卷调查：每年一次。\n"

FULL = (
    "---\n"
    "code: QP-CS-001\n"
    "title: 顾客满意控制作业规程\n"
    "departments: [CS, ENG]\n"
    "version: A/0\n"
    "effective: 2026-01-01\n"
    "review_months: 12\n"
    "status: effective\n"
    "owner: controller\n"
    "---\n" + BODY
)

MINIMAL = "---\ncode: QP-ENV-001\ntitle: 公共区域保洁作业规程\ndepartments: [ENV]\nversion: B/3\neffective: 2026-04-01\n---\n# 正文\n"


def front(**fields) -> str:
    """A file whose front matter has the valid minimal fields, overridden by ``fields``
    (a value of None drops the line; values are written verbatim)."""
    values = {
        "code": "QP-CS-001",
        "title": "顾客满意控制作业规程",
        "departments": "[CS]",
        "version": "A/0",
        "effective": "2026-01-01",
    }
    values.update(fields)
    lines = [f"{key}: {value}" for key, value in values.items() if value is not None]
    return "---\n" + "\n".join(lines) + "\n---\nbody\n"


def errors_of(text, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        parse(text, **kwargs)
    exc = info.value
    assert str(exc.message)  # the lazy message renders without an app
    return {field: [str(m) for m in messages] for field, messages in exc.errors.items()}


# ---------------------------------------------------------------- parse


def test_parse_full_file():
    doc = parse(FULL, expected_code="QP-CS-001")
    assert doc == ProcedureDoc(
        code="QP-CS-001",
        title="顾客满意控制作业规程",
        departments=("CS", "ENG"),
        version="A/0",
        effective=date(2026, 1, 1),
        review_months=12,
        status="effective",
        owner="controller",
        body=BODY,
        extra={},
    )


def test_parse_applies_defaults():
    doc = parse(MINIMAL)
    assert doc.review_months == 6
    assert doc.status == "effective"
    assert doc.owner is None
    assert doc.extra == {}
    assert doc.body == "# 正文\n"


def test_parse_accepts_bytes_bom_and_crlf():
    raw = ("\ufeff" + FULL).replace("\n", "\r\n").encode("utf-8")
    assert parse(raw) == parse(FULL)


def test_parse_withdrawn_status_and_quoted_date():
    doc = parse(front(status="withdrawn", effective="'2026-02-28'"))
    assert doc.status == "withdrawn"
    assert doc.effective == date(2026, 2, 28)


def test_yes_no_words_are_not_booleans():
    # YAML 1.1 would read NO / ON as booleans; department and owner names must survive.
    doc = parse(front(departments="[NO, ON]", owner="yes"))
    assert doc.departments == ("NO", "ON")
    assert doc.owner == "yes"


def test_unknown_keys_are_kept_in_extra():
    doc = parse(front(supersedes="QP-CS-000", tags="[客服, 满意度]"))
    assert doc.extra == {"supersedes": "QP-CS-000", "tags": ["客服", "满意度"]}


def test_works_without_app_context():
    assert not has_app_context()
    errors = errors_of(front(code="bad"))
    assert "QP-CS-001" in errors["code"][0]


def test_doc_is_hashable_and_frozen():
    doc = parse(FULL)
    hash(doc)
    with pytest.raises(AttributeError):
        doc.title = "x"  # type: ignore[misc]


def test_doc_properties():
    doc = parse(FULL)
    assert doc.path == "QP-CS-001.md"
    assert doc.next_review == date(2027, 1, 1)


# ---------------------------------------------------------------- structural errors


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# no front matter\n",
        "code: QP-CS-001\n---\n",
        "\n---\ncode: QP-CS-001\n---\n",  # must be the very first line
    ],
)
def test_missing_front_matter(text):
    errors = errors_of(text)
    assert list(errors) == ["front_matter"]
    assert "---" in errors["front_matter"][0]


def test_unterminated_front_matter():
    errors = errors_of("---\ncode: QP-CS-001\ntitle: x\n# body\n")
    assert list(errors) == ["front_matter"]
    assert "not closed" in errors["front_matter"][0]


def test_yaml_syntax_error_reports_file_line():
    text = "---\ncode: QP-CS-001\ntitle: [unclosed\nversion: A/0\n---\n"
    errors = errors_of(text)
    message = errors["front_matter"][0]
    assert "YAML" in message
    # line 1 is '---'; the broken flow sequence starts on line 3 and fails by line 4/5.
    assert any(f"line {n}" in message for n in (3, 4, 5)), message


def test_yaml_error_line_number_is_exact_for_bad_indentation():
    text = "---\ncode: QP-CS-001\ntitle: x\n  - nested: wrong\n---\n"
    message = errors_of(text)["front_matter"][0]
    assert "line 4" in message, message


def test_duplicate_key_is_an_error():
    message = errors_of("---\ncode: QP-CS-001\ncode: QP-CS-002\n---\n")["front_matter"][0]
    assert "duplicate key" in message
    assert "line 3" in message


@pytest.mark.parametrize("yaml_text", ["- a\n- b", "just text", "42"])
def test_front_matter_not_a_mapping(yaml_text):
    errors = errors_of(f"---\n{yaml_text}\n---\nbody")
    assert list(errors) == ["front_matter"]
    assert "field: value" in errors["front_matter"][0]


def test_empty_front_matter_reports_required_fields():
    errors = errors_of("---\n---\nbody")
    assert set(errors) == {"code", "title", "departments", "version", "effective"}


def test_invalid_utf8():
    with pytest.raises(ValidationError) as info:
        parse(b"---\ncode: \xff\xfe\n---\n")
    assert "UTF-8" in str(info.value.message)
    assert "file" in info.value.errors


# ---------------------------------------------------------------- field errors


@pytest.mark.parametrize("field", ["code", "title", "departments", "version", "effective"])
def test_missing_required_field(field):
    errors = errors_of(front(**{field: None}))
    assert list(errors) == [field]
    assert field in errors[field][0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "qp-cs-001"),
        ("code", "QP"),
        ("code", "QP-CS-001/../x"),
        ("code", "QPABCDEFG-1"),
        ("code", "123"),
        ("title", "''"),
        ("title", "'   '"),
        ("title", "[a, b]"),
        ("title", "x" * 201),
        ("title", '"two\\nlines"'),
        ("departments", "[]"),
        ("departments", "CS"),
        ("departments", "[cs]"),
        ("departments", "[C]"),
        ("departments", "[CS, CS]"),
        ("departments", "[CS, 12]"),
        ("departments", "{CS: 1}"),
        ("version", "A0"),
        ("version", "a/0"),
        ("version", "A/1000"),
        ("version", "AB/1"),
        ("version", "1"),
        ("effective", "2026-13-01"),
        ("effective", "2026-02-30"),
        ("effective", "2026-1-1"),
        ("effective", "'next week'"),
        ("effective", "2026-01-01 10:00:00"),
        ("effective", "20260101"),
        ("review_months", "0"),
        ("review_months", "37"),
        ("review_months", "'6'"),
        ("review_months", "true"),
        ("review_months", "1.5"),
        ("review_months", "-1"),
        ("status", "draft"),
        ("status", "Effective"),
        ("status", "[effective]"),
        ("owner", "'two words'"),
        ("owner", "''"),
        ("owner", "[a]"),
        ("owner", "x" * 65),
    ],
)
def test_invalid_field_is_named(field, value):
    errors = errors_of(front(**{field: value}))
    assert list(errors) == [field], errors
    assert errors[field] and all(errors[field])


def test_all_field_errors_are_collected():
    text = front(
        code="bad",
        title="''",
        departments="[x]",
        version="v1",
        effective="soon",
        review_months="99",
        status="draft",
        owner="'a b'",
    )
    errors = errors_of(text)
    assert set(errors) == {
        "code",
        "title",
        "departments",
        "version",
        "effective",
        "review_months",
        "status",
        "owner",
    }


def test_each_bad_department_is_reported():
    messages = errors_of(front(departments="[CS, x, CS, 42]"))["departments"]
    assert len(messages) == 3
    assert any("x" in m for m in messages)
    assert any("42" in m for m in messages)
    assert any("CS" in m and "twice" in m for m in messages)


def test_expected_code_must_match_file_name():
    errors = errors_of(FULL, expected_code="QP-CS-002")
    assert list(errors) == ["code"]
    assert "QP-CS-002.md" in errors["code"][0]
    assert "QP-CS-001" in errors["code"][0]


def test_title_is_stripped():
    assert parse(front(title="'  规程  '")).title == "规程"


# ---------------------------------------------------------------- serialize


def test_round_trip_full():
    doc = parse(FULL)
    assert parse(serialize(doc)) == doc


def test_round_trip_of_constructed_doc_with_extras():
    doc = ProcedureDoc(
        code="QP-SEC-010",
        title='消防: 安全"检查" 规程 #1',  # characters that need YAML quoting
        departments=("SEC", "NO"),
        version="C/12",
        effective=date(2024, 2, 29),
        review_months=36,
        status="withdrawn",
        owner="no",
        body="---\n正文里的分隔线\n...\n",
        extra={"zeta": [1, 2], "alpha": {"说明": "中文", "on": True}, "when": date(2026, 1, 2)},
    )
    text = serialize(doc)
    assert parse(text) == doc
    assert serialize(parse(text)) == text


def test_serialize_layout_is_stable_and_readable():
    doc = replace(parse(FULL), extra={"zeta": 1, "alpha": "a"})
    text = serialize(doc)
    assert text.startswith("---\ncode: QP-CS-001\ntitle: 顾客满意控制作业规程\n")
    keys = [line.split(":")[0] for line in text.split("---\n")[1].splitlines()]
    assert keys == [
        "code",
        "title",
        "departments",
        "version",
        "effective",
        "review_months",
        "status",
        "owner",
        "alpha",
        "zeta",
    ]
    assert "departments: [CS, ENG]\n" in text
    assert "effective: 2026-01-01\n" in text
    assert "\\u" not in text  # Chinese written as UTF-8, not escaped
    assert text.endswith("---\n" + BODY)


def test_serialize_omits_missing_owner():
    text = serialize(parse(MINIMAL))
    assert "owner" not in text
    assert "review_months: 6" in text
    assert "status: effective" in text


def test_round_trip_of_long_title_does_not_wrap():
    doc = replace(parse(FULL), title="很长的标题" * 30)
    text = serialize(doc)
    assert f"title: {'很长的标题' * 30}\n" in text
    assert parse(text) == doc


@pytest.mark.skipif(not DEMO_DIR.is_dir(), reason="demo content not present")
def test_demo_procedures_parse_and_round_trip():
    files = sorted(p for p in DEMO_DIR.glob("QP-*.md"))
    assert files
    for path in files:
        doc = parse(path.read_bytes())
        assert path.name.startswith(doc.code)
        assert parse(serialize(doc)) == doc


# ---------------------------------------------------------------- paths


def test_path_for():
    assert path_for("QP-CS-001") == "QP-CS-001.md"


@pytest.mark.parametrize("code", ["../etc/passwd", "qp-cs-001", "QP-CS-001.md", "", "QP/CS-001"])
def test_path_for_rejects_invalid_codes(code):
    with pytest.raises(ValidationError) as info:
        path_for(code)
    assert "code" in info.value.errors


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("QP-CS-001.md", "QP-CS-001"),
        ("QP-ENV-001.md", "QP-ENV-001"),
        ("WI-ENG-01-02.md", "WI-ENG-01-02"),
        ("README.md", None),
        ("QP-CS-001.A0.md", None),
        ("QP-CS-001.txt", None),
        ("QP-CS-001", None),
        ("docs/QP-CS-001.md", None),
        ("attachments/QP-CS-001.md", None),
        ("qp-cs-001.md", None),
        (".md", None),
    ],
)
def test_code_from_path(path, code):
    assert code_from_path(path) == code


# ---------------------------------------------------------------- versions and dates


def test_regexes():
    assert CODE_RE.match("QP-CS-001")
    assert CODE_RE.match("QP-CS-001-02")
    assert not CODE_RE.match("QP-CS-001-02-03")
    assert VERSION_RE.match("A/0")
    assert VERSION_RE.match("Z/999")
    assert not VERSION_RE.match("A/1000")


def test_next_revision_and_edition():
    assert next_revision("A/3") == "A/4"
    assert next_revision("A/9") == "A/10"
    assert next_edition("A/3") == "B/0"
    assert next_edition("B/0") == "C/0"


def test_version_limits():
    with pytest.raises(ValidationError) as info:
        next_revision("A/999")
    assert "version" in info.value.errors
    with pytest.raises(ValidationError):
        next_edition("Z/4")


@pytest.mark.parametrize("func", [next_revision, next_edition, version_key])
def test_version_functions_reject_bad_versions(func):
    with pytest.raises(ValidationError) as info:
        func("A-3")
    assert "version" in info.value.errors


def test_version_key_sorts_numerically():
    versions = ["B/0", "A/10", "A/2", "A/9", "C/1", "B/11"]
    assert sorted(versions, key=version_key) == ["A/2", "A/9", "A/10", "B/0", "B/11", "C/1"]
    assert version_key("B/2") == ("B", 2)


@pytest.mark.parametrize(
    ("effective", "months", "expected"),
    [
        (date(2026, 1, 1), 6, date(2026, 7, 1)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 7, 15), 36, date(2029, 7, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_next_review_date(effective, months, expected):
    assert next_review_date(effective, months) == expected


def test_module_exports_exist():
    for name in document.__all__:
        assert hasattr(document, name), name


# ---------------------------------------------------------------- issue 8: what may enter

BOUNDS = (date(2000, 1, 1), date(2031, 12, 31))


def test_far_dates_never_overflow_the_review_date():
    assert next_review_date(date(9999, 12, 31), 6) == date.max
    assert next_review_date(date(9999, 7, 1), 36) == date.max
    assert parse(front(effective="9999-12-31")).next_review == date.max  # no bounds: stored files still parse


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "1999-12-31", "2032-01-01"])
def test_effective_date_outside_the_bounds_is_refused(value):
    errors = errors_of(front(effective=value), date_bounds=BOUNDS)
    assert errors == {"effective": ["Enter a date between 2000-01-01 and 2031-12-31."]}


def test_effective_date_on_the_bounds_is_accepted():
    for value in BOUNDS:
        assert parse(front(effective=value.isoformat()), date_bounds=BOUNDS).effective == value


@pytest.mark.parametrize(("yaml_value", "field"), [
    ('"\\ud800"', "title"), ('"a\\x00b"', "title"), ('"a\\x1bb"', "title"), ('"\\uFFFD"', "title"),
    ('["\\ud800"]', "departments"), ('{"\\ud800": 1}', "note"),
])
def test_text_that_is_not_clean_is_refused_after_yaml_escapes(yaml_value, field):
    key = "note" if field == "note" else field
    errors = errors_of(front(**{key: yaml_value}))
    assert set(errors) == {field}


@pytest.mark.parametrize("text", [
    front().replace("body", "bo\x07dy"), front().replace("body", "bo\ud800dy"),
    front().encode().replace(b"body", b"bo\xed\xa0\x80dy"),
])
def test_raw_text_that_is_not_clean_is_refused(text):
    assert set(errors_of(text)) == {"file"}


def _bomb(levels):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines)


@pytest.mark.parametrize("extra", [_bomb(4), _bomb(9), "n: &n 1", "n: *n", "<<: {a: 1}\nb: &b 2"])
def test_anchors_and_aliases_are_refused_before_anything_expands(extra):
    text = front().replace("---\nbody", extra + "\n---\nbody")
    errors = errors_of(text)
    assert list(errors) == ["front_matter"]
    assert "anchors and aliases" in errors["front_matter"][0] or "YAML" in errors["front_matter"][0]


def test_front_matter_is_bounded_in_size_and_depth():
    deep = front(note="[" * (document.MAX_FRONT_MATTER_DEPTH + 1) + "]" * (document.MAX_FRONT_MATTER_DEPTH + 1))
    assert "nested" in errors_of(deep)["front_matter"][0]
    big = front(note="x" * document.MAX_FRONT_MATTER_CHARS)
    assert "longer than" in errors_of(big)["front_matter"][0]
    ok = front(note="[" * 10 + "]" * 10)
    assert parse(ok).extra["note"] == [[[[[[[[[[]]]]]]]]]]


def test_file_size_is_bounded_when_asked():
    text = front().replace("body", "x" * 2048)
    assert parse(text, max_bytes=4096).body.startswith("x")
    assert errors_of(text, max_bytes=1024) == {"file": ["The procedure file is larger than 1 KB."]}


def test_departments_are_bounded_and_duplicates_are_one_message():
    errors = errors_of(front(departments="[" + ", ".join(["CS"] * 30) + "]"))
    assert errors == {"departments": ["Departments listed twice: CS."]}
    many = ", ".join("D" + chr(65 + i // 26) + chr(65 + i % 26) for i in range(document.MAX_DEPARTMENTS + 1))
    assert errors_of(front(departments=f"[{many}]")) == {"departments": ["List at most 50 departments."]}
    fifty = ", ".join("D" + chr(65 + i // 26) + chr(65 + i % 26) for i in range(document.MAX_DEPARTMENTS))
    assert len(parse(front(departments=f"[{fifty}]")).departments) == 50


def test_messages_per_field_are_capped():
    bad = ", ".join(f"x{i}" for i in range(40))
    messages = errors_of(front(departments=f"[{bad}]"))["departments"]
    assert len(messages) == document.MAX_MESSAGES_PER_FIELD
    assert messages[-1] == "… and 31 more problems in this field."
    long_value = "y" * 500
    messages = errors_of(front(departments=f"[{long_value}]"))["departments"]
    assert len(messages[0]) < 120  # a value is quoted, cut short

"""Property tests (hypothesis) of the procedure file format and the version numbering (issue 13, §3).

The examples in ``test_procedure_document.py`` pin known cases; these say what must hold for
every input: a valid document survives serialize → parse unchanged, any text parses to a
document or a field-keyed :class:`ValidationError` (never another exception, never unbounded
time), and versions always move forward in the order the history sorts them.
"""
from __future__ import annotations

import time
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procedures import document
from webapp.exceptions import ValidationError

SETTINGS = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

codes = st.from_regex(r"\A[A-Z][A-Z0-9]{1,5}(-[A-Z0-9]{1,6}){1,3}\Z")
departments = st.lists(st.from_regex(r"\A[A-Z]{2,6}\Z"), min_size=1, max_size=5, unique=True).map(tuple)
# Printable text without the characters the format refuses in a title (line breaks, controls).
plain_text = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "S"), exclude_characters="\u2028\u2029"),
                     min_size=1, max_size=60).map(str.strip).filter(bool)
versions = st.builds(lambda letter, revision: f"{letter}/{revision}",
                     st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), st.integers(0, document.MAX_REVISION))
bodies = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "S"), include_characters="\n#|-*"),
                 max_size=400)
effective_dates = st.dates(date(2000, 1, 1), date(2099, 12, 31))


def _doc(**given) -> document.ProcedureDoc:
    return document.ProcedureDoc(**given)


valid_docs = st.builds(
    _doc, code=codes, title=plain_text, departments=departments, version=versions, effective=effective_dates,
    review_months=st.integers(document.MIN_REVIEW_MONTHS, document.MAX_REVIEW_MONTHS),
    status=st.sampled_from(document.STATUSES), owner=st.none() | plain_text.map(lambda s: s[:document.MAX_OWNER_LENGTH]),
    body=bodies.map(lambda b: "\n" + b if b and not b.startswith("\n") else b))

BOUNDS = (date(1990, 1, 1), date(2100, 12, 31))


@SETTINGS
@given(valid_docs)
def test_a_valid_document_survives_serialize_then_parse(doc):
    parsed = document.parse(document.serialize(doc), date_bounds=BOUNDS)
    assert parsed == doc
    # …and writing it again gives the same bytes: the format has one spelling per document.
    assert document.serialize(parsed) == document.serialize(doc)


front_matter_noise = st.lists(st.sampled_from([
    "code: QP-CS-001", "title: 标题", "departments: [CS]", "version: A/0", "effective: 2026-01-01",
    "review_months: 6", "status: effective", "owner: 张三", "&a [1]", "*a", "!!python/object:os.system", "? x",
    "- a", "{", "}", "[", "]", ":", "'", '"', "departments: CS", "version: A0", "effective: 2026-02-30",
    "review_months: 0", "status: nope", "code: ../etc", "title:", "\t", "---", "...", "key: value",
]), max_size=15).map("\n".join)


@SETTINGS
@given(st.one_of(
    st.text(max_size=500),
    st.builds(lambda front, body: f"---\n{front}\n---\n{body}", front_matter_noise, st.text(max_size=100)),
    st.binary(max_size=300),
))
def test_any_text_is_a_document_or_a_field_keyed_refusal(text):
    started = time.perf_counter()
    try:
        doc = document.parse(text, date_bounds=BOUNDS)
    except ValidationError as exc:
        assert exc.errors, "a refusal names the field (or front_matter/file) it is about"
        assert all(messages for messages in exc.errors.values())
    else:
        assert document.CODE_RE.match(doc.code) and document.VERSION_RE.match(doc.version)
    assert time.perf_counter() - started < 1.0


@SETTINGS
@given(versions)
def test_versions_move_forward(version):
    key = document.version_key(version)
    assert f"{key[0]}/{key[1]}" == version
    if key[1] < document.MAX_REVISION:
        assert document.version_key(document.next_revision(version)) > key
    else:
        with pytest.raises(ValidationError):
            document.next_revision(version)
    if key[0] < "Z":
        following = document.next_edition(version)
        assert document.version_key(following) > key and following.endswith("/0")
    else:
        with pytest.raises(ValidationError):
            document.next_edition(version)


@SETTINGS
@given(st.lists(versions, min_size=2, max_size=30, unique=True))
def test_history_order_is_edition_then_revision_as_numbers(found):
    ordered = sorted(found, key=document.version_key)
    as_numbers = sorted(found, key=lambda v: (v.split("/")[0], int(v.split("/")[1])))
    assert ordered == as_numbers


@SETTINGS
@given(effective_dates, st.integers(document.MIN_REVIEW_MONTHS, document.MAX_REVIEW_MONTHS))
def test_the_next_review_falls_in_the_right_month(effective, months):
    due = document.next_review_date(effective, months)
    assert due > effective
    month_index = effective.year * 12 + effective.month - 1 + months
    assert (due.year, due.month) == (month_index // 12, month_index % 12 + 1)
    assert due.day <= effective.day  # the same day, or clamped at the end of a shorter month

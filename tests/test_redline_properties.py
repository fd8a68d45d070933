"""Property tests (hypothesis) of the document redline (issue 13 §3; procedures.redline_blocks).

For any Markdown-ish pair of texts: comparing a text with itself shows no change; the block
operations of a → b rebuild b from a (and a from b) block by block, cell by cell; the HTML is
made of the redline's own tags only (every character of the input escaped); and nothing raises or
runs long, including the shapes that make Markdown parsers quadratic.
"""
from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procedures import redline_blocks as rb
from procedures.redline import EQUAL

SETTINGS = settings(max_examples=200, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Pieces of Markdown lines: block openers, inline marks, CJK and Latin text, things to escape.
_STARTS = ["", "", "", "# ", "## ", "### ", "####### ", "- ", "* ", "+ ", "1. ", "12. ", "  - ", "    - ", "   ",
           "    ", "> ", "> > ", ">", "```", "~~~", "```py", "| ", "|", "4.2.1 ", "（1）", "一、", "\t"]
_PARTS = ["顾客满意", "第四季度", "三", "四", "表", "，", "。", " ", "  ", "word", "85%", "1,760", "**", "*", "_",
          "__", "`", "``", "[", "]", "](", "(http://x/y)", ")", "![", "\\", "\\*", "&amp;", "&", "<b>", "<script>",
          "\"", "'", " | ", "|", "---", "===", ":-:", "#", "~~~", "\u3000", "😀", "𠀀"]
lines = st.builds(lambda start, parts: start + "".join(parts), st.sampled_from(_STARTS),
                  st.lists(st.sampled_from(_PARTS), max_size=8))
texts = st.lists(lines, max_size=30).map("\n".join)


@st.composite
def text_pairs(draw):
    """Two versions: unrelated texts, or the second an edit of the first (lines changed, added, removed)."""
    old = draw(texts)
    if draw(st.booleans()):
        return old, draw(texts)
    new_lines = old.split("\n")
    for _ in range(draw(st.integers(1, 5))):
        position = draw(st.integers(0, len(new_lines)))
        action = draw(st.sampled_from(["insert", "delete", "edit"]))
        if action == "insert" or not new_lines:
            new_lines.insert(position, draw(lines))
        elif action == "delete":
            del new_lines[min(position, len(new_lines) - 1)]
        else:
            k = min(position, len(new_lines) - 1)
            cut = draw(st.integers(0, len(new_lines[k])))
            new_lines[k] = new_lines[k][:cut] + draw(st.sampled_from(_PARTS)) + new_lines[k][cut:]
    return old, "\n".join(new_lines)


_TAGS = {"div", "p", "span", "ins", "del", "strong", "em", "code", "pre", "hr", "table", "thead", "tbody", "tr",
         "th", "td"}
_ATTRIBUTES = {"class", "title", "data-old", "data-new", "data-label", "data-lines"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in _TAGS:
            self.bad.append(tag)
        self.bad += [f"{tag}[{name}]" for name, _value in attrs if name not in _ATTRIBUTES]


def _only_own_tags(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.bad


def _contents(text: str) -> list[tuple]:
    return [rb.block_content(block) for block in rb.parse_blocks(text)]


@SETTINGS
@given(texts)
def test_a_text_compared_with_itself_has_no_change(text):
    diff = rb.compare(text, text)
    assert diff.ops is not None
    assert all(op.op == EQUAL for op in diff.ops)
    assert (diff.inserted, diff.deleted) == (0, 0) and not diff.changed
    for html in (diff.inline_html(), diff.side_by_side_html("A/1", "A/2")):
        assert "<ins" not in html and "<del" not in html


@SETTINGS
@given(text_pairs())
def test_the_operations_rebuild_both_versions(pair):
    old, new = pair
    old_blocks, new_blocks = rb.parse_blocks(old), rb.parse_blocks(new)
    ops = rb.diff_blocks(old_blocks, new_blocks)
    # a -> b: equal blocks from a, inserted blocks and the new side of every redline give b exactly
    assert rb.apply_ops(ops, old_blocks) == _contents(new)
    # and back: the old side of every redline gives a
    assert rb.apply_ops(ops, new_blocks, reverse=True) == _contents(old)
    # every block of both versions appears once, in order
    assert [op.old_no for op in ops if op.old_no is not None] == list(range(len(old_blocks)))
    assert [op.new_no for op in ops if op.new_no is not None] == list(range(len(new_blocks)))


@SETTINGS
@given(text_pairs())
def test_the_html_is_the_redlines_own_and_quick(pair):
    old, new = pair
    started = time.thread_time()
    diff = rb.compare(old, new)
    inline = diff.inline_html()
    side = diff.side_by_side_html("<A/1>", "A/2\"")
    assert time.thread_time() - started < 2.0
    assert _only_own_tags(inline) == [] and _only_own_tags(side) == []
    assert "<script" not in inline and "<b>" not in inline and "<script" not in side
    if diff.ops is not None and diff.changed:
        assert "rl-insert" in inline or "rl-delete" in inline or "rl-change" in inline


# Shapes that are quadratic (or worse) for naive parsers, at the size limits of a procedure.
_HARD = {
    "unclosed strong": "**a " * 40_000,
    "unclosed code": "`a " * 40_000,
    "brackets": "[" * 60_000 + "](" * 30_000,
    "link targets": "[a](" * 40_000,
    "headings packed": "\n".join("# h" for _ in range(4_000)),
    "fences unclosed": "\n".join("```" + str(k) for k in range(4_000)),
    "deep quotes": "\n".join(">" * 200 + " x" for _ in range(2_000)),
    "deep lists": "\n".join(" " * k + "- x" for k in range(0, 4_000, 2)),
    "wide table": "|" + "a|" * 3_000 + "\n|" + "-|" * 3_000 + "\n" + ("|" + "b|" * 3_000 + "\n") * 30,
    "long line": "字" * 500_000,
    "too many lines": "\n".join(f"第{k}行" for k in range(6_000)),
    "marks in every paragraph": "\n\n".join(f"{k} " + "**a [b](`c " * 1_800 for k in range(25)),
}


@pytest.mark.parametrize("name", sorted(_HARD))
def test_pathological_texts_compare_in_bounded_time(name):
    text = _HARD[name]
    edited = text[: len(text) // 2] + "改" + text[len(text) // 2:]
    started = time.thread_time()
    diff = rb.compare(text, edited)
    diff.inline_html()
    diff.side_by_side_html("A/1", "A/2")
    assert time.thread_time() - started < 5.0, name
    assert diff.inserted >= 1

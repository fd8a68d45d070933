"""procedures.redline: comparing two versions (no app needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import Markup

from procedures.redline import (
    CHANGE,
    DELETE,
    EQUAL,
    INSERT,
    DiffLine,
    Row,
    Segment,
    count_chars,
    redline,
    redline_html,
    render_lines,
    side_by_side,
    stats,
    tokenize,
)

DEMO_DIR = Path(__file__).resolve().parent.parent / "procedures" / "demo_content"


def changed(lines: list[DiffLine]) -> list[DiffLine]:
    return [line for line in lines if line.kind != EQUAL]


def ops(line: DiffLine) -> list[tuple[str, str]]:
    return [(s.op, s.text) for s in line.segments]


def numbered(count: int, prefix: str = "第") -> list[str]:
    return [f"{prefix}{n}行：内容保持不变。" for n in range(1, count + 1)]


# ---------------------------------------------------------------- tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("顾客满意", ["顾", "客", "满", "意"]),
        ("4.2.1 问卷", ["4.2.1", " ", "问", "卷"]),
        ("录入 ProcDesk。", ["录", "入", " ", "ProcDesk", "。"]),
        ("It's 1,760 items!", ["It's", " ", "1,760", " ", "items", "!"]),
        ("ISO9001质量", ["ISO", "9001", "质", "量"]),
        ("a  \tb", ["a", "  \t", "b"]),
        ("（1）《表》", ["（", "1", "）", "《", "表", "》"]),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


@pytest.mark.parametrize("text", ["", "混合 text 123, 4.5.6「引号」\n第二行 🙂 𠀀", "<b>&amp;</b>"])
def test_tokenize_round_trips(text):
    assert "".join(tokenize(text)) == text


# ---------------------------------------------------------------- redline: inline changes


def test_chinese_phrase_change_marks_only_that_phrase():
    old = "4.2.1 问卷调查：各项目每年组织一次，一般安排在第四季度进行。全年发放户数不得少于项目总户数的 90%。"
    new = "4.2.1 问卷调查：各项目每年组织一次，一般安排在第三季度进行。全年发放户数不得少于项目总户数的 90%。"
    (line,) = redline(old, new)
    assert line.kind == CHANGE
    assert (line.old_no, line.new_no) == (1, 1)
    assert ops(line) == [
        (EQUAL, "4.2.1 问卷调查：各项目每年组织一次，一般安排在第"),
        (DELETE, "四"),
        (INSERT, "三"),
        (EQUAL, "季度进行。全年发放户数不得少于项目总户数的 90%。"),
    ]


def test_adjacent_changed_characters_merge_into_phrases():
    old = "本规程由客户服务部负责解释。"
    new = "本规程由综合管理部负责解释。"
    (line,) = redline(old, new)
    # "部" is shared, but "客户服务" -> "综合管理" is one phrase, not four characters.
    assert ops(line) == [
        (EQUAL, "本规程由"),
        (DELETE, "客户服务"),
        (INSERT, "综合管理"),
        (EQUAL, "部负责解释。"),
    ]


def test_coincidental_single_character_match_is_folded():
    old = "发放和回收情况逐户登记。每月末汇总为月报表，于次月报送。"
    new = "发放和回收情况逐户登记。系统每月末生成月报表，由经理审核后提交。"
    (line,) = redline(old, new)
    deleted = [t for op, t in ops(line) if op == DELETE]
    inserted = [t for op, t in ops(line) if op == INSERT]
    assert "于次月报送" in "".join(deleted)
    assert "由经理审核后提交" in "".join(inserted)
    # The phrase replaced at the end is one deletion and one insertion.
    assert ops(line)[-3:] == [(DELETE, "于次月报送"), (INSERT, "由经理审核后提交"), (EQUAL, "。")]
    assert (EQUAL, "每月末") in ops(line)
    assert (EQUAL, "月报表，") in ops(line)


def test_inserted_phrase_in_chinese():
    old = "应当班填写《亲情服务记录表》，请业主签名确认。"
    new = "应当班填写《亲情服务记录表》，请业主签名确认后录入 ProcDesk。"
    (line,) = redline(old, new)
    assert ops(line) == [
        (EQUAL, "应当班填写《亲情服务记录表》，请业主签名确认"),
        (INSERT, "后录入 ProcDesk"),
        (EQUAL, "。"),
    ]


def test_english_is_compared_word_by_word():
    (line,) = redline("The quick brown fox jumps over the dog.", "The slow brown fox jumped over the dog.")
    assert ops(line) == [
        (EQUAL, "The "),
        (DELETE, "quick"),
        (INSERT, "slow"),
        (EQUAL, " brown fox "),
        (DELETE, "jumps"),
        (INSERT, "jumped"),
        (EQUAL, " over the dog."),
    ]


def test_numbers_are_whole_tokens():
    (line,) = redline("收回率不低于 85%，共 1,760 份。", "收回率不低于 90%，共 1,760 份。")
    assert [(op, t) for op, t in ops(line) if op != EQUAL] == [(DELETE, "85"), (INSERT, "90")]


# ---------------------------------------------------------------- redline: lines


def test_added_and_removed_lines():
    old = "\n".join(["1.1 第一条", "1.2 第二条", "1.3 第三条"])
    new = "\n".join(["1.1 第一条", "1.3 第三条", "1.4 新增的第四条"])
    lines = redline(old, new)
    assert [(ln.kind, ln.old_no, ln.new_no) for ln in lines] == [
        (EQUAL, 1, 1),
        (DELETE, 2, None),
        (EQUAL, 3, 2),
        (INSERT, None, 3),
    ]
    assert ops(lines[1]) == [(DELETE, "1.2 第二条")]
    assert ops(lines[3]) == [(INSERT, "1.4 新增的第四条")]


def test_dissimilar_replacement_is_delete_plus_insert():
    old = "前文\n4.6.1 本规程由客户服务部根据执行情况提出修订。\n后文"
    new = "前文\n4.6.1 顾客满意信息以 ProcDesk 中的电子记录为准，扫描件作为附件上传。\n后文"
    kinds = [(ln.kind, ln.old_no, ln.new_no) for ln in redline(old, new)]
    assert kinds == [(EQUAL, 1, 1), (DELETE, 2, None), (INSERT, None, 2), (EQUAL, 3, 3)]


def test_edited_line_next_to_inserted_and_deleted_lines_is_paired():
    old = "\n".join(["开头", "4.2.4 请业主签名确认。", "", "4.2.5 以传真方式报客户服务部备查。", "结尾"])
    new = "\n".join(["开头", "4.2.4 请业主签名确认后录入 ProcDesk。", "结尾"])
    lines = redline(old, new)
    assert [(ln.kind, ln.old_no, ln.new_no) for ln in lines] == [
        (EQUAL, 1, 1),
        (CHANGE, 2, 2),
        (DELETE, 3, None),
        (DELETE, 4, None),
        (EQUAL, 5, 3),
    ]
    assert (INSERT, "后录入 ProcDesk") in ops(lines[1])


def test_identical_input_has_no_changes():
    text = "\n".join(numbered(30))
    lines = redline(text, text)
    assert len(lines) == 30
    assert all(ln.kind == EQUAL for ln in lines)
    assert [(ln.old_no, ln.new_no) for ln in lines] == [(n, n) for n in range(1, 31)]
    assert stats(text, text) == (0, 0)
    html = redline_html(text, text)
    assert "<ins" not in html and "<del" not in html
    assert html.count('<div class="rl-skip" data-lines="30">') == 1


def test_line_endings_and_final_newline_are_not_changes():
    assert changed(redline("a\nb\n", "a\r\nb")) == []
    assert redline("", "") == []


def test_empty_old_or_new():
    assert [(ln.kind, ln.new_no) for ln in redline("", "一\n二")] == [(INSERT, 1), (INSERT, 2)]
    assert [(ln.kind, ln.old_no) for ln in redline("一\n二\n", "")] == [(DELETE, 1), (DELETE, 2)]
    assert stats("", "一二\n三") == (3, 0)


def test_stats_counts_characters():
    assert stats("第四季度", "第三季度") == (1, 1)
    assert stats("a\nb", "a\nb\n新增行") == (3, 0)
    lines = redline("abc", "abd\nxyz")
    assert count_chars(lines) == stats("abc", "abd\nxyz")


# ---------------------------------------------------------------- HTML


def test_user_text_is_escaped_everywhere():
    old = '<script>alert(1)</script> & 条款 "A"\n不变的 <b>行</b>'
    new = '<script>alert(2)</script> & 条款 "B"\n不变的 <b>行</b>\n<img src=x onerror=alert(1)>'
    html = redline_html(old, new)
    assert "<script" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;" in html and "&lt;img" in html
    assert "&amp;" in html
    for line in redline(old, new):
        assert "<script" not in line.html
    for row in side_by_side(old, new):
        assert "<script" not in row.left_html + row.right_html
        assert "<img" not in row.left_html + row.right_html


def test_redline_html_structure():
    html = redline_html("甲\n第四季度\n丙", "甲\n第三季度\n丙\n丁")
    assert isinstance(html, Markup)
    divs = re.findall(r'<div class="rl-line rl-(\w+)"', html)
    assert divs == ["equal", "change", "equal", "insert"]
    assert '<del class="rl-del">四</del><ins class="rl-ins">三</ins>' in html
    assert '<div class="rl-line rl-insert" data-new="4"><ins class="rl-ins">丁</ins></div>' in html
    assert 'data-old="2" data-new="2"' in html


def test_unchanged_runs_are_collapsed_with_context():
    old_lines = numbered(30)
    new_lines = list(old_lines)
    new_lines[14] = "第15行：内容已经修改。"
    html = redline_html("\n".join(old_lines), "\n".join(new_lines))
    # lines 1..11 skipped, 12..14 context, 15 changed, 16..18 context, 19..30 skipped
    skips = re.findall(r'<div class="rl-skip" data-lines="(\d+)">', html)
    assert skips == ["11", "12"]
    top_level = [part for part in html.split("\n") if part.startswith('<div class="rl-line')]
    assert len(top_level) == 7
    assert 'data-old="12"' in top_level[0] and 'data-old="18"' in top_level[-1]
    # the skipped lines are kept inside the group so the page can expand it
    assert html.count('class="rl-line') == 30


def test_collapse_options():
    old_lines = numbered(30)
    new_lines = list(old_lines)
    new_lines[0] = "第1行：改了。"
    lines = redline("\n".join(old_lines), "\n".join(new_lines))
    html = render_lines(lines, context=1, keep_skipped=False)
    assert re.findall(r'<div class="rl-skip" data-lines="(\d+)"></div>', html) == ["28"]
    assert html.count('class="rl-line') == 2
    full = render_lines(lines, context=100)
    assert "rl-skip" not in full


def test_segments_and_lines_are_immutable_values():
    (line,) = redline("旧的", "新的")
    assert line.segments == (Segment(DELETE, "旧"), Segment(INSERT, "新"), Segment(EQUAL, "的"))
    assert line.text == "旧新的"
    with pytest.raises(AttributeError):
        line.kind = EQUAL  # type: ignore[misc]


# ---------------------------------------------------------------- side by side


def test_side_by_side_rows():
    old = "\n".join(["标题", "一般安排在第四季度进行。", "要删除的行", "结尾"])
    new = "\n".join(["标题", "一般安排在第三季度进行。", "结尾", "新增的行"])
    rows = side_by_side(old, new)
    assert all(isinstance(r, Row) for r in rows)
    assert [(r.kind, r.left_no, r.right_no) for r in rows] == [
        (EQUAL, 1, 1),
        (CHANGE, 2, 2),
        (DELETE, 3, None),
        (EQUAL, 4, 3),
        (INSERT, None, 4),
    ]
    edited = rows[1]
    assert edited.left_html == '一般安排在第<del class="rl-del">四</del>季度进行。'
    assert edited.right_html == '一般安排在第<ins class="rl-ins">三</ins>季度进行。'
    assert rows[2].right_html == "" and "<del" in rows[2].left_html
    assert rows[4].left_html == "" and "<ins" in rows[4].right_html
    assert rows[0].left_html == rows[0].right_html == "标题"


def test_side_by_side_identical():
    rows = side_by_side("一\n二", "一\n二\n")
    assert [(r.kind, r.left_no, r.right_no) for r in rows] == [(EQUAL, 1, 1), (EQUAL, 2, 2)]


# ---------------------------------------------------------------- realistic input


def _version_bodies():
    from procedures.document import parse

    return [parse((DEMO_DIR / f"QP-CS-001.{v}.md").read_bytes()).body for v in ("A0", "A1", "A2")]


@pytest.mark.skipif(not (DEMO_DIR / "QP-CS-001.A2.md").is_file(), reason="demo content not present")
def test_demo_versions_show_phrase_level_changes():
    a1, a2 = _version_bodies()[1:]
    lines = redline(a1, a2)
    edited = [ln for ln in lines if ln.kind == CHANGE]
    assert edited, "expected in-place edits between A/1 and A/2"
    quarter = next(ln for ln in edited if ln.text.startswith("4.2.1"))
    assert (DELETE, "四") in ops(quarter) and (INSERT, "三") in ops(quarter)
    # the redline never loses text: old side and new side rebuild the inputs
    old_side = [("".join(s.text for s in ln.segments if s.op != INSERT)) for ln in lines if ln.old_no]
    new_side = [("".join(s.text for s in ln.segments if s.op != DELETE)) for ln in lines if ln.new_no]
    assert old_side == a1.rstrip("\n").split("\n")
    assert new_side == a2.rstrip("\n").split("\n")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a\nb\nc", "c\nb\na"),
        ("一二三\n\n四五六\n", "\n一二\n三四\n五六"),
        ("x" * 50 + "\n" + "y" * 50, "y" * 50 + "\n" + "x" * 49),
        ("第一条\n第二条\n第三条", "第一条（改）\n新增\n第三条\n第四条"),
    ],
)
def test_both_sides_are_reconstructed(old, new):
    lines = redline(old, new)
    old_side = ["".join(s.text for s in ln.segments if s.op != INSERT) for ln in lines if ln.old_no]
    new_side = ["".join(s.text for s in ln.segments if s.op != DELETE) for ln in lines if ln.new_no]
    assert old_side == old.rstrip("\n").split("\n")
    assert new_side == new.rstrip("\n").split("\n")
    assert [ln.old_no for ln in lines if ln.old_no] == list(range(1, len(old_side) + 1))
    assert [ln.new_no for ln in lines if ln.new_no] == list(range(1, len(new_side) + 1))
    rows = side_by_side(old, new)
    assert [r.left_no for r in rows if r.left_no] == [ln.old_no for ln in lines if ln.old_no]

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


# ---------------------------------------------------------------- the document redline (issue 12 §3)
# procedures.redline_blocks compares what a reader sees: headings, paragraphs, list items, table cells.

from procedures import redline_blocks as rb  # noqa: E402
from procedures.redline_blocks import (  # noqa: E402
    CODE,
    HEADING,
    ITEM,
    META,
    PARAGRAPH,
    RULE,
    TABLE,
    Block,
    Piece,
    parse_blocks,
)


def _visible(html: str) -> str:
    """The text a reader sees: tags dropped, entities decoded."""
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", str(html)))


def _changes(diff) -> list:
    return [op for op in diff.ops if op.op != EQUAL]


def test_blocks_of_a_procedure():
    text = "\n".join([
        "## 4.0 工作程序", "", "### 4.2 收集", "",
        "4.2.1 问卷调查：每年一次。", "4.2.2 座谈：每季度一次。", "",
        "- 调查表", "- 座谈记录", "    - 签字确认", "  续行", "",
        "1. 第一步", "2. 第二步", "",
        "| 部门 | 职责 |", "|:--|--:|", "| 客户服务部 | 汇总 |", "| 项目 | 发放 \\| 回收 |", "",
        "> 注：**重要**", "", "```", "# 不是标题", "```", "", "---", "标题二", "===",
    ])
    blocks = parse_blocks(text)
    assert [(b.kind, b.level, b.depth) for b in blocks] == [
        (HEADING, 2, 0), (HEADING, 3, 0), (PARAGRAPH, 0, 0), (PARAGRAPH, 0, 0),
        (ITEM, 0, 1), (ITEM, 0, 1), (ITEM, 0, 2), (ITEM, 0, 1), (ITEM, 0, 1), (TABLE, 0, 0),
        (PARAGRAPH, 0, 0), (CODE, 0, 0), (RULE, 0, 0), (HEADING, 1, 0)]
    assert blocks[0].text == "4.0 工作程序" and blocks[2].text == "4.2.1 问卷调查：每年一次。"  # a clause per paragraph
    assert blocks[6] == Block(ITEM, "签字确认\n续行", depth=2, marker="•")
    assert [b.marker for b in blocks[7:9]] == ["1.", "2."]
    table = blocks[9]
    assert table.rows == (("部门", "职责"), ("客户服务部", "汇总"), ("项目", "发放 \\| 回收")) and table.align == ("left", "right")
    assert blocks[10].quote == 1 and blocks[11].text == "# 不是标题" and blocks[13].text == "标题二"


def test_front_matter_fields_are_blocks_of_their_own():
    blocks = parse_blocks("---\ncode: QP-CS-001\nversion: A/1\n---\n\n## 1.0 目的\n")
    assert [(b.kind, b.text) for b in blocks] == [(META, "code: QP-CS-001"), (META, "version: A/1"),
                                                  (HEADING, "1.0 目的")]


@pytest.mark.parametrize(("text", "runs"), [
    ("纯文本，没有标记。", (("纯文本，没有标记。", ""),)),
    ("按 **《文件控制程序》** 审批", (("按 ", ""), ("《文件控制程序》", "b"), (" 审批", ""))),
    ("*强调*与`代码`", (("强调", "i"), ("与", ""), ("代码", "c"))),
    ("见[附件](https://example.com/a_b)。", (("见", ""), ("附件", "a\nhttps://example.com/a_b"), ("。", ""))),
    ("snake_case_name 与 2*3*4", (("snake_case_name 与 2", ""), ("3", "i"), ("4", ""))),
    ("\\*不是强调\\* &amp; **未闭合", (("*不是强调* & **未闭合", ""),)),
])
def test_inline_markdown_is_parsed_into_styled_runs(text, runs):
    assert rb.inline_runs(text) == runs


def test_a_heading_is_compared_as_a_heading():
    diff = rb.compare("### 4.6 规程的修订\n\n正文。\n", "### 4.7 规程的复审与修订\n\n正文。\n")
    (op,) = _changes(diff)
    assert op.op == CHANGE and op.old.kind == op.new.kind == HEADING and op.new.level == 3
    assert op.pieces == (Piece(DELETE, "4.6"), Piece(INSERT, "4.7"), Piece(EQUAL, " 规程的"), Piece(INSERT, "复审与"),
                         Piece(EQUAL, "修订"))
    html = diff.inline_html()
    assert '<div class="rl-h rl-h3"><del class="rl-del">4.6</del><ins class="rl-ins">4.7</ins> 规程的' in html
    assert "###" not in _visible(html) and "###" not in _visible(diff.side_by_side_html("A/1", "A/2"))


def test_a_paragraph_keeps_the_chinese_phrase_redline():
    old = "4.2.1 问卷调查：各项目每年组织一次，一般安排在第四季度进行。"
    new = "4.2.1 问卷调查：各项目每年组织一次，一般安排在第三季度进行，以便纳入下一年度计划。"
    diff = rb.compare(old, new)
    (op,) = diff.ops
    assert op.op == CHANGE and op.new.kind == PARAGRAPH
    assert [(p.op, p.text) for p in op.pieces if p.op != EQUAL] == [
        (DELETE, "四"), (INSERT, "三"), (INSERT, "，以便纳入下一年度计划")]
    assert (diff.inserted, diff.deleted) == (12, 1)
    assert '<p class="rl-p">4.2.1 问卷调查' in diff.inline_html()


def test_list_items_are_compared_as_items_with_their_nesting():
    old = "- 调查表\n- 座谈记录\n    - 签字确认\n"
    new = "- 调查表\n- 座谈会议记录\n    - 签字确认\n    - 录入系统\n"
    diff = rb.compare(old, new)
    assert [(op.op, op.new.kind if op.new else None, op.new.depth if op.new else None) for op in diff.ops] == [
        (EQUAL, ITEM, 1), (CHANGE, ITEM, 1), (EQUAL, ITEM, 2), (INSERT, ITEM, 2)]
    html = diff.inline_html()
    assert ('<div class="rl-li"><span class="rl-marker">•</span><div class="rl-li-body">座谈<ins class="rl-ins">会议'
            '</ins>记录</div></div>') in html
    assert 'class="rl-block rl-insert rl-k-item rl-d2"' in html
    assert "- " not in _visible(html)


def test_table_cells_are_compared_inside_the_cell():
    old = "| 部门 | 职责 |\n|---|---|\n| 总经理 | 批准本规程 |\n| 客户服务部 | 每季度汇总 |\n"
    new = "| 部门 | 职责 |\n|---|---|\n| 总经理 | 批准并签发本规程 |\n| 客户服务部 | 每月汇总 |\n"
    diff = rb.compare(old, new)
    (op,) = diff.ops
    assert op.op == CHANGE and op.table is not None
    assert [(row.op, row.old, row.new) for row in op.table.rows] == [(EQUAL, 0, 0), (CHANGE, 1, 1), (CHANGE, 2, 2)]
    assert op.table.rows[1].cells[1] == (Piece(EQUAL, "批准"), Piece(INSERT, "并签发"), Piece(EQUAL, "本规程"))
    assert op.table.rows[2].cells[1] == (Piece(EQUAL, "每"), Piece(DELETE, "季度"), Piece(INSERT, "月"),
                                         Piece(EQUAL, "汇总"))
    html = diff.inline_html()
    assert '<td>批准<ins class="rl-ins">并签发</ins>本规程</td>' in html
    assert '<td>每<del class="rl-del">季度</del><ins class="rl-ins">月</ins>汇总</td>' in html
    assert "<th>部门</th>" in html
    for view in (html, diff.side_by_side_html("A/1", "A/2")):
        assert "|" not in _visible(view) and "---" not in _visible(view)
    side = diff.side_by_side_html("A/1", "A/2")
    old_side, new_side = side.split('class="sbs-cell sbs-new')
    assert "季度" in old_side and "<ins" not in old_side and "并签发" in new_side and "<del" not in new_side


def test_added_and_removed_rows_and_columns_are_marked():
    old = "| 记录 | 编号 | 保存 |\n|---|---|---|\n| 调查表 | QR-01 | 三年 |\n| 座谈记录 | QR-02 | 三年 |\n"
    new = ("| 记录 | 编号 | 保管部门 | 保存 |\n|---|---|---|---|\n| 调查表 | QR-01 | 客服部 | 三年 |\n"
           "| 复审记录 | QR-07 | 客服部 | 永久 |\n")
    (op,) = rb.compare(old, new).ops
    assert op.table.columns == ((0, 0), (1, 1), (None, 2), (2, 3))
    assert [(row.op, row.old, row.new) for row in op.table.rows] == [
        (CHANGE, 0, 0), (CHANGE, 1, 1), (DELETE, 2, None), (INSERT, None, 2)]
    html = rb.compare(old, new).inline_html()
    assert '<th class="rl-col-insert"><ins class="rl-ins">保管部门</ins></th>' in html
    assert '<tr class="rl-row-delete"><td><del class="rl-del">座谈记录</del></td>' in html
    assert '<tr class="rl-row-insert"><td><ins class="rl-ins">复审记录</ins></td>' in html


def test_inserted_and_deleted_blocks_are_shown_whole():
    old = "## 4.6 规程的修订\n\n4.6.1 本规程由客户服务部提出修订。\n"
    new = "## 4.6 电子记录\n\n4.6.1 顾客满意信息以 ProcDesk 中的电子记录为准，扫描件作为附件上传。\n\n4.6.2 不得删除。\n"
    diff = rb.compare(old, new)
    kinds = [(op.op, (op.new or op.old).kind) for op in diff.ops]
    assert (DELETE, PARAGRAPH) in kinds and kinds.count((INSERT, PARAGRAPH)) == 2
    html = diff.inline_html()
    assert '<div class="rl-block rl-delete rl-k-paragraph" data-old="2"><p class="rl-p"><del class="rl-del">4.6.1 本规程' in html
    assert '<p class="rl-p"><ins class="rl-ins">4.6.2 不得删除。</ins></p>' in html


def test_identical_documents_have_no_changes():
    text = (DEMO_DIR / "QP-CS-001.A2.md").read_text(encoding="utf-8")
    diff = rb.compare(text, text)
    assert all(op.op == EQUAL for op in diff.ops) and not diff.changed and (diff.inserted, diff.deleted) == (0, 0)
    assert "<ins" not in diff.inline_html() and "<del" not in diff.side_by_side_html("A/2", "A/2")


def test_html_of_both_versions_is_escaped():
    old = ('## <script>alert(1)</script> 标题\n\n段落 <img src=x onerror=alert(1)> & "引号"\n\n'
           '| <b>列</b> | 二 |\n|---|---|\n| <i>旧</i> | [链接](javascript:alert(1)"x) |\n\n```\n<style>x</style>\n```\n')
    new = old.replace("alert(1)", "alert(2)").replace("<i>旧</i>", "<i>新</i>")
    diff = rb.compare(old, new)
    for html in (diff.inline_html(), diff.side_by_side_html('A/1"><script>', "A/2")):
        assert not re.search(r"<(script|img|b|i|style|a)\b", html), html
        assert "&lt;script&gt;" in html and "&lt;img src=x" in html and "&lt;b&gt;列&lt;/b&gt;" in html
        assert "&lt;style&gt;" in html and "&amp;" in html
        assert 'title="javascript:alert' in html  # a link target is only ever a title, never a href
    assert 'data-label="A/1&quot;&gt;&lt;script&gt;"' in diff.side_by_side_html('A/1"><script>', "A/2")


def test_the_demo_versions_read_as_a_document():
    a1, a2 = _version_bodies()[1:]
    diff = rb.compare(a1, a2)
    assert diff.mode == "blocks"
    html = diff.inline_html()
    text = _visible(html)
    assert "###" not in text and "|" not in text and "##" not in text
    assert '<div class="rl-h rl-h3"><del class="rl-del">4.6</del><ins class="rl-ins">4.7</ins> 规程的' in html
    assert "第<del class=\"rl-del\">四</del><ins class=\"rl-ins\">三</ins>季度" in html
    assert '<td>制定调查内容与表格；' in html and '<ins class="rl-ins">；组织本规程复审</ins></td>' in html
    assert '<tr class="rl-row-insert"><td><ins class="rl-ins">规程复审记录</ins></td>' in html
    # the ops rebuild both versions
    old_blocks, new_blocks = parse_blocks(a1), parse_blocks(a2)
    assert rb.apply_ops(diff.ops, old_blocks) == [rb.block_content(b) for b in new_blocks]
    assert rb.apply_ops(diff.ops, new_blocks, reverse=True) == [rb.block_content(b) for b in old_blocks]


def test_unchanged_blocks_are_folded_with_context():
    paragraphs = [f"{n}.1 第{n}条：内容保持不变。" for n in range(1, 21)]
    changed_text = list(paragraphs)
    changed_text[9] = "10.1 第10条：内容已经修改。"
    diff = rb.compare("\n\n".join(paragraphs), "\n\n".join(changed_text))
    html = diff.inline_html(context=2)
    assert re.findall(r'<div class="rl-skip" data-lines="(\d+)">', html) == ["7", "8"]
    assert html.count('class="rl-block') == 20
    assert diff.side_by_side_html().count('class="sbs-row') == 20


def test_whole_files_compare_their_front_matter_field_by_field():
    """The review workflow's draft redline compares whole files: front matter fields are blocks too."""
    a1 = (DEMO_DIR / "QP-CS-001.A1.md").read_text(encoding="utf-8")
    a2 = (DEMO_DIR / "QP-CS-001.A2.md").read_text(encoding="utf-8")
    diff = rb.compare(a1, a2)
    meta = [op for op in diff.ops if (op.new or op.old).kind == META and op.op != EQUAL]
    assert [(op.op, op.old.text, op.new.text) for op in meta] == [
        (CHANGE, "version: A/1", "version: A/2"), (CHANGE, "effective: 2025-12-01", "effective: 2026-06-01")]
    html = diff.inline_html()
    assert '<div class="rl-meta">version: A/<del class="rl-del">1</del><ins class="rl-ins">2</ins></div>' in html
    assert "---" not in _visible(html)


def test_text_beyond_the_limits_falls_back_to_the_line_redline():
    from procedures.rendering import MAX_LINES

    old = "\n".join(f"第{k}行" for k in range(MAX_LINES + 1))
    new = old.replace("第7行", "第七行")
    diff = rb.compare(old, new)
    assert diff.mode == "lines" and diff.ops is None and (diff.inserted, diff.deleted) == (1, 1)
    assert '<div class="rl-line rl-change"' in diff.inline_html()
    assert diff.side_by_side_html("A/1", "A/2").count('class="sbs-row') == MAX_LINES + 1


def test_the_api_gives_the_blocks(logged_in, app):
    from tests.factories_procedures import commit_version

    commit_version(app, "QP-CS-001", "A/0", body="## 4.0 程序\n\n| 项 | 时限 |\n|---|---|\n| 回访 | 三天 |\n")
    commit_version(app, "QP-CS-001", "A/1", body="## 4.0 程序\n\n| 项 | 时限 |\n|---|---|\n| 回访 | 两个工作日 |\n")
    body = logged_in("reader").get("/api/v1/procedures/QP-CS-001/compare").json
    assert body["mode"] == "blocks"
    heading, table = body["blocks"]
    assert heading["op"] == "equal" and heading["kind"] == "heading" and heading["level"] == 2
    assert table["op"] == "change" and table["kind"] == "table"
    row = table["table"]["rows"][1]
    assert row["op"] == "change" and row["cells"][1] == [{"op": "delete", "text": "三天", "style": ""},
                                                        {"op": "insert", "text": "两个工作日", "style": ""}]
    assert '<td><del class="rl-del">三天</del><ins class="rl-ins">两个工作日</ins></td>' in body["redline_html"]
    assert [s["text"] for line in body["lines"] for s in line["segments"] if s["op"] == "insert"] == ["两个工作日"]

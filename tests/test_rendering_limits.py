"""Rendering limits (issue 8, items 4 and 5): Python-Markdown is quadratic or worse on some inputs.

Every text the app accepts must render within about a second, or be refused at write
time, quickly, with a field message. The corpus below holds the measured pathological
shapes (brackets, links, emphasis, backticks, headings, tables, footnotes, nesting,
raw HTML, "<" runs, fences, long lines); for each one the test looks for the largest
text that is still accepted (up to 512 KB, the procedure limit; meeting minutes stop at
100,000 characters, inside that range) and checks every text it tries: refused quickly,
or rendered fast. Times are thread CPU seconds, measured once, with generous ceilings:
the point is catching blow-ups of seconds to minutes, not noise.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import markdown
import pytest
from sqlalchemy import func, select

from procedures import rendering
from procedures.rendering import Unrenderable, check_renderable, render
from webapp.exceptions import ValidationError

PROCEDURE_MAX_BYTES = 512 * 1024
MINUTES_MAX_CHARS = 100_000
#: A render of accepted text, and a refusal, in CPU seconds (real figures are ~0.4 s and ~0.2 s at worst).
RENDER_CEILING = 2.0
REFUSE_CEILING = 1.0
DEMO = Path(__file__).resolve().parent.parent / "procedures" / "demo_content"


def rep(unit: str, n: int) -> str:
    return unit * max(1, n // len(unit))


def nested_list(n: int, indent: str = "    ") -> str:
    """A list nested one level deeper on every line, about ``n`` characters long."""
    out, size, level = [], 0, 0
    while size < n:
        line = indent * level + "- a\n"
        out.append(line)
        size += len(line)
        level += 1
    return "".join(out)


def nested_levels(levels: int) -> str:
    return "".join("    " * level + "- a\n" for level in range(levels))


#: name -> text of about n characters (the larger n, the worse).
CORPUS = {
    # brackets and links
    "brackets balanced": lambda n: "[" * (n // 2) + "]" * (n // 2),
    "brackets open": lambda n: "[" * n,
    "brackets close": lambda n: "]" * n,
    "brackets empty pairs": lambda n: rep("[]", n),
    "brackets then link": lambda n: "[" * (n // 3) + "a" + "]" * (n // 3) + "(b)",
    "brackets with parens": lambda n: "[" * (n // 3) + "](" * (n // 3),
    "links unclosed": lambda n: rep("[a](", n),
    "links complete": lambda n: rep("[a](http://x) ", n),
    "links reference": lambda n: rep("[a][b] ", n),
    "links title unclosed": lambda n: '[a](b "' + '"' * n,
    "links parens open": lambda n: "[a](" + "(" * n,
    "links parens nested": lambda n: "[a](" + "(" * (n // 2) + ")" * (n // 2) + ")",
    "images unclosed": lambda n: rep("![a](", n),
    "images alt": lambda n: "![" * (n // 2),
    "brackets per line": lambda n: rep("[[[[[[[[[[\n", n),
    # emphasis, code spans, escapes, entities
    "stars": lambda n: "*" * n,
    "underscores": lambda n: "_" * n,
    "star a": lambda n: rep("*a", n),
    "double star a": lambda n: rep("**a", n),
    "triple star a": lambda n: rep("***a", n),
    "underscore a": lambda n: rep("_a ", n),
    "emphasis nested": lambda n: "*" * (n // 4) + "a" + "*" * (n // 4) + "_" * (n // 4) + "a" + "_" * (n // 4),
    "stars spaced": lambda n: rep("* ", n),
    "backticks": lambda n: "`" * n,
    "backtick a": lambda n: rep("`a", n),
    "backtick runs growing": lambda n: "".join("`" * i + "a" for i in range(1, 2000))[:n],
    "backslashes": lambda n: "\\" * n,
    "entities": lambda n: rep("&#", n),
    "mixed inline": lambda n: rep("[*`<a_&", n),
    # block structure
    "headings": lambda n: rep("# h\n", n),
    "headings distinct": lambda n: "".join(f"# h{i}\n" for i in range(n // 6)),
    "heading hashes": lambda n: rep("# ", n),
    "setext headings": lambda n: rep("h\n=\n\n", n),
    "rules in a block": lambda n: rep("---\n", n),
    "rule dashes then text": lambda n: rep("- ", n) + "x",
    "rule stars then text": lambda n: rep("* ", n) + "x",
    "list markers on one line": lambda n: rep("1. ", n),
    "paragraphs": lambda n: rep("a\n\n", n),
    "lines": lambda n: rep("a\n", n),
    "clauses": lambda n: rep("4.2.1 条款\n", n),
    "definitions": lambda n: rep("a\n: b\n\n", n),
    "definition colons": lambda n: "a\n" + rep(": ", n),
    "reference definitions": lambda n: "".join(f"[r{i}]: http://x\n" for i in range(n // 16)),
    "list items": lambda n: rep("- a\n", n),
    "ordered items": lambda n: "".join(f"{i}. a\n" for i in range(n // 6)),
    # tables
    "table columns": lambda n: (lambda k: "|a" * k + "|\n" + "|-" * k + "|\n" + "|a" * k + "|\n")(n // 6),
    "table rows": lambda n: "|a|b|\n|-|-|\n" + rep("|a|b|\n", n),
    "table pipes in a row": lambda n: "a|b\n-|-\n" + "|" * n,
    "table separator": lambda n: "a|b\n" + rep("-|", n),
    # footnotes
    "footnote references": lambda n: rep("[^a]", n) + "\n\n[^a]: x\n",
    "footnotes": lambda n: "".join(f"x[^{i}]\n\n[^{i}]: y\n\n" for i in range(n // 16)),
    "footnotes nested": lambda n: "".join("    " * i + f"[^{i}]: x\n" for i in range(int((n / 2) ** 0.5))),
    # nesting
    "nested list": nested_list,
    "nested list two spaces": lambda n: nested_list(n, "  "),
    "nested ordered list": lambda n: "".join("    " * i + "1. a\n" for i in range(int((n / 2) ** 0.5))),
    "nested quotes one line": lambda n: ">" * n + " a\n",
    "nested quotes lines": lambda n: "".join("> " * i + "a\n" for i in range(int(n ** 0.5))),
    "nested definitions": lambda n: "".join("    " * i + ": a\n" for i in range(int((n / 2) ** 0.5))),
    # raw HTML and "<"
    "html block lines": lambda n: rep("<div>\n", n),
    "html divs nested": lambda n: rep("<div>", n),
    "html blocks closed": lambda n: rep("<div>a</div>\n\n", n),
    "html spans": lambda n: rep("<span>", n),
    "html comments open": lambda n: rep("<!--", n),
    "lt run": lambda n: "<" * n,
    "lt tag unclosed": lambda n: rep("<a", n),
    "lt tag then text": lambda n: "<a" * 500 + "中" * n,
    "lt tag spaced": lambda n: rep("<a ", n),
    "lt tag quote": lambda n: rep("<a b='", n),
    "autolinks unclosed": lambda n: rep("<http://a", n),
    # code fences
    "fences": lambda n: rep("```\n", n),
    "fences unclosed": lambda n: rep("```x\n" + "中" * 200 + "\n", n),
    "fences growing": lambda n: "".join("`" * (3 + i) + "\n" + "中" * 100 + "\n" for i in range(n // 200)),
    "indented code": lambda n: rep("    a\n", n),
    # plain
    "long line": lambda n: rep("word ", n),
    "long line cjk": lambda n: "字" * n,
    "blank lines": lambda n: "\n" * n,
}


def _fit(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", "ignore")


def _outcome(text: str) -> tuple[bool, float]:
    rendering.clear_cache()  # no memo: every try renders
    start = time.thread_time()
    try:
        render(text)
        accepted = True
    except Unrenderable:
        accepted = False
    return accepted, time.thread_time() - start


def _check(name: str, n: int, text: str) -> bool:
    accepted, seconds = _outcome(text)
    if accepted:
        assert seconds < RENDER_CEILING, f"{name} ({len(text)} characters) accepted but took {seconds:.2f} s"
    else:
        assert seconds < REFUSE_CEILING, f"{name} ({len(text)} characters) refused after {seconds:.2f} s"
    return accepted


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_pathological_text_is_refused_quickly_or_renders_fast(name):
    make = CORPUS[name]
    top = PROCEDURE_MAX_BYTES
    if _check(name, top, _fit(make(top), top)):
        return
    # Refused at the largest size: find (in 7 halvings of the log range) the largest accepted one.
    low, high = 256.0, float(top)  # low: lower bound of the boundary, high: refused
    for _ in range(7):
        middle = (low * high) ** 0.5
        if _check(name, int(middle), _fit(make(int(middle)), top)):
            low = middle
        else:
            high = middle


def test_random_mixtures_are_refused_quickly_or_render_fast():
    """Structured garbage mixing the corpus' ingredients, line by line (seeded: reproducible)."""
    inline = ["[", "]", "](", "(", ")", "![", "*", "**", "_", "`", "\\", "<", "<b>", "&", "[^1]", "[a](b)", "'",
              '"', "中文字", "word ", " ", "|"]
    for seed in range(30):
        rng = random.Random(seed)
        marks = rng.sample(inline, rng.randint(1, 6))
        kinds = rng.sample(["", "# ", "- ", "    - ", "> " * rng.randint(1, 19), "1. ", ": ", "|", "```", "---",
                            "4.2.1 ", "[^2]: ", "    " * rng.randint(1, 19) + "* "], rng.randint(2, 6))
        width = rng.choice([3, 20, 200, 2000])
        lines, size = [], 0
        limit = rng.choice([20_000, MINUTES_MAX_CHARS, 400_000])
        while size < limit:
            line = rng.choice(kinds) + "".join(rng.choice(marks) for _ in range(rng.randint(1, width)))
            lines.append(line)
            size += len(line) + 1
        _check(f"mixture {seed}", size, _fit("\n".join(lines), PROCEDURE_MAX_BYTES))


# --------------------------------------------------------------------------- real documents still pass


def _large_procedure(lines_wanted: int = 2_000) -> str:
    """Shaped like a big real procedure: numbered sections without blank lines after headings, clauses with
    bold and links, nested lists, a quote, big tables with links, a code block, footnotes and <br>."""
    rng = random.Random(7)
    out: list[str] = []
    section = 0
    while len(out) < lines_wanted:
        section += 1
        out.append(f"## {section}.0 第{section}章 **职责**与要求")
        for sub in range(1, 8):
            out.append(f"{section}.{sub} 项目经理负责组织《业主调查表》的发放，见[附件{sub}](https://example.com/{sub})，"
                       f"**时限 {rng.randint(1, 30)} 天**，_记录_保存于 `QR-CS-{sub:03d}`[^{section % 20 + 1}]。")
        out.append("")
        out += ["- 一级要求", "    - 二级要求 **重点**", "        - 三级要求 [链接](https://x.y/z)", ""]
        out += ["> 注：本条款引用 [GB/T 19001](https://example.com/std) 第 8.2.1 条。", ""]
        if section % 4 == 0:
            out.append("| 岗位 | 职责 | 时限 | 依据 | 记录 | 备注 |")
            out.append("|---|---|:---:|---|---|---|")
            for row in range(60):
                out.append(f"| 客服{row} | **受理**登记<br>回访 | {row} 天 | [条款](https://e.com/{row}) | QR-{row} | — |")
            out.append("")
        if section % 10 == 0:
            out += ["```", "4.9.1 代码块里的行 [不是链接](x)", "```", ""]
    out += [f"[^{i}]: 依据《物业管理条例》第 {i} 条。" for i in range(1, 21)]
    return "\n".join(out) + "\n"


def test_real_documents_are_accepted_and_render_fast():
    texts = [path.read_text(encoding="utf-8") for path in sorted(DEMO.glob("*.md"))]
    big = _large_procedure(2_000)  # the largest real procedures are below 2,000 lines, and plainer
    plain = "".join(f"## {n}.0 章\n\n{n}.1 条款 **要求**，见[附件](https://x.y/{n})。\n\n- 一\n- 二\n\n" for n in range(600))
    for text in [*texts, big, plain]:
        accepted, seconds = _outcome(text)
        assert accepted, text[:200]
        assert seconds < RENDER_CEILING
    rendered = render(big)
    assert rendered.html.count("<table>") >= 5 and len(rendered.toc) > 60 and 'class="footnote"' in rendered.html
    assert str(rendered.html).count("<br>") > 300


def test_a_text_too_big_to_render_quickly_is_refused_as_such():
    assert "too long and complex" in _refusal(_large_procedure(4_900).replace("<br>", "，"))


# --------------------------------------------------------------------------- the limits and their messages


def _refusal(text: str) -> str:
    with pytest.raises(Unrenderable) as caught:
        render(text)
    return str(caught.value)


def test_limits_name_what_and_where():
    assert "never closed" in _refusal("text\n\n```python\ncode\n") and "line 3" in _refusal("text\n\n```python\ncode\n")
    message = _refusal("intro\n\n" + nested_levels(30))
    assert "Line 23" in message and "21 levels" in message
    assert "21 levels" in _refusal("> " * 21 + "deep")
    assert "21 levels" in _refusal("- " * 21 + "deep")
    assert "5001 lines" in _refusal("a\n" * 5001)
    render("a\n" * 5000)
    assert "Line 3: “<”" in _refusal("a\n\nx <a " + "中" * 400_000)
    assert "<p>x &lt;a 中中" in str(render("x <a " + "中" * 5000).html)  # one stray "<a" is text
    assert "Footnote [^1]" in _refusal("x[^1]" * 101 + "\n\n[^1]: y\n")
    assert "too many brackets" in _refusal("[" * 20_000 + "]" * 20_000)
    assert "1000 HTML tags" in _refusal("<br>" * 1000 + "中" * 200_000)


def test_what_is_within_the_limits_renders_as_before():
    assert "<hr" in str(render("- - - - - - - - - - - - - - - - - - - - - - - -"))  # a rule is not a nested list
    assert str(render(nested_levels(20)).html).count("<ul>") == 20
    assert "<pre><code>" in str(render("```\n" + "    " * 40 + "- deep code\n```\n").html)  # code is not nesting
    assert "<p>x &lt; y</p>" in str(render("x < y").html)


def test_check_renderable_gives_a_field_error():
    assert "<p>" in str(check_renderable("**纪要**", field="minutes").html)
    with pytest.raises(ValidationError) as caught:
        check_renderable("[" * 30_000, field="minutes")
    assert list(caught.value.errors) == ["minutes"] and "too many brackets" in str(caught.value.errors["minutes"][0])
    assert isinstance(Unrenderable("x"), ValueError)  # callers rendering stored documents catch ValueError


def test_cpu_time_backstop(monkeypatch):
    monkeypatch.setattr(rendering, "CPU_LIMIT_SECONDS", 0.0)
    rendering.clear_cache()
    assert "too long" in _refusal("**a** " * 200)


def test_tree_depth_is_bounded(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_DEPTH", 8)
    rendering.clear_cache()
    assert "nested too deeply" in _refusal(nested_levels(10))


def test_a_stack_overflow_is_a_refusal_and_leaves_the_renderer_usable(monkeypatch):
    for limit in ("MAX_NESTING", "MAX_DEPTH", "BLOCK_BUDGET_NS", "INLINE_BUDGET_NS"):
        monkeypatch.setattr(rendering, limit, 10**12)
    rendering.clear_cache()
    before = str(render("# 标题\n\n- a\n    - b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n").html)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(__import__("inspect").stack()) + 150)
    try:
        message = _refusal(nested_levels(200))
    finally:
        sys.setrecursionlimit(limit)
    assert "nested too deeply" in message
    rendering.clear_cache()
    assert str(render("# 标题\n\n- a\n    - b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n").html) == before


# --------------------------------------------------------------------------- through HTTP: procedures


@pytest.fixture
def controller(logged_in, make_department, make_user):
    make_department("CS")
    make_user("boss", roles=("manager",))  # approves what the controller publishes
    return logged_in("controller", department="CS", display_name="文控 周敏")


def _preview(client, markdown: str):
    start = time.perf_counter()
    response = client.api("POST", "/procedures/preview", json={"markdown": markdown})
    return response, time.perf_counter() - start


@pytest.mark.parametrize("body", [
    "[" * 200_000 + "]" * 200_000,  # 400 KB of brackets
    rep("[a](", 400_000),  # 400 KB of unclosed links
    rep("# h\n", 240_000),  # 60 K headings
    rep("<a ", 400_000),
    nested_list(493_000, "  "),  # the 700-level nested list
])
def test_preview_refuses_bombs_fast(app, controller, body):
    from tests.factories_publishing import procedure_text

    response, seconds = _preview(controller, procedure_text(body=body))
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert response.json["errors"]["markdown"] and response.json["html"] == ""
    assert seconds < 10  # wall clock on a shared machine; the refusal itself takes ~0.2 s of CPU


def _head(app):
    from webapp.store import get_store

    with app.app_context():
        return get_store().head()


@pytest.mark.parametrize("body", [nested_list(493_000, "  "), nested_list(493_000), "[" * 10_000 + "]" * 10_000])
def test_publishing_refuses_bombs_at_write_time(app, controller, body):
    from tests.factories_publishing import procedure_text

    before = _head(app)
    response = controller.api("POST", "/api/v1/procedures", json={"markdown": procedure_text(body=body),
                                                                  "summary": "首次发布"})
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert response.json["errors"]["markdown"]
    assert _head(app) == before  # nothing committed

    controller.get("/procedures/new")
    response = controller.post("/procedures/new", {"mode": "source", "markdown": procedure_text(body=body),
                                                   "summary": "首次发布", "approved_by": "boss"})
    assert response.status_code == 400 and "data-testid=\"form-errors\"" in response.get_data(as_text=True)
    assert _head(app) == before


def test_importing_a_bomb_is_refused_and_imports_nothing(app, controller, tmp_path):
    from tests.factories_publishing import procedure_text

    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "QP-CS-001.md").write_text(procedure_text(body=nested_list(493_000, "  ")), encoding="utf-8")
    r = app.test_cli_runner().invoke(args=["procedures", "import", str(folder)])
    assert r.exit_code == 1 and "ERROR QP-CS-001.md: markdown:" in r.output and "nothing imported" in r.output
    assert _head(app) is None


def test_publishing_a_normal_procedure_still_works(app, controller):
    from tests.factories_publishing import procedure_text

    response = controller.api("POST", "/api/v1/procedures",
                              json={"markdown": procedure_text(body=_large_procedure(2_000)), "summary": "首次发布",
                                    "approved_by": "boss"})
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    page = controller.get("/procedures/QP-CS-001")
    assert page.status_code == 200 and "<table>" in page.get_data(as_text=True)


# --------------------------------------------------------------------------- through HTTP: meetings


@pytest.fixture
def meeting_setup(app, make_project, make_user):
    from satisfaction.categories import ensure_default_categories
    from webapp.extensions import db

    ids = {"P1": make_project("P1", name="一号项目")}
    ids["clerk"] = make_user("clerk", roles=("clerk",), projects=("P1",), display_name="刘芳")
    with app.app_context():
        ensure_default_categories()
        db.session.commit()
    return ids


def _meetings(app) -> int:
    from satisfaction.meetings.models import Meeting
    from webapp.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count(Meeting.id))).scalar()


def test_meeting_minutes_bomb_is_refused_with_a_field_message(app, client, meeting_setup):
    client.login("clerk")
    client.get("/")
    minutes = "[" * 10_000 + "]" * 10_000  # 20 K characters of brackets: 18.9 s per view before
    response = client.api("POST", "/api/v1/meetings", json={
        "project": "P1", "held_on": "2025-06-10", "title": "座谈会", "minutes": minutes})
    assert response.status_code == 400 and response.json["errors"]["minutes"]
    client.get("/satisfaction/meetings/new")
    response = client.post("/satisfaction/meetings/new", {
        "project_id": meeting_setup["P1"], "held_on": "2025-06-10", "title": "座谈会", "minutes": minutes})
    assert response.status_code == 400
    assert "too many brackets" in response.get_data(as_text=True) or "括号" in response.get_data(as_text=True)
    assert _meetings(app) == 0


def test_meeting_minutes_are_rendered_once_when_saved(app, client, meeting_setup, monkeypatch):
    from satisfaction.meetings.models import Meeting
    from webapp.extensions import db

    client.login("clerk")
    client.get("/")
    response = client.api("POST", "/api/v1/meetings", json={
        "project": "P1", "held_on": "2025-06-10", "title": "座谈会",
        "minutes": "## 会议内容\n\n- 车库照明 **不足**\n\n<script>alert(1)</script>"})
    assert response.status_code == 201, response.get_data(as_text=True)
    meeting_id = response.json["id"]
    with app.app_context():
        stored = db.session.get(Meeting, meeting_id).minutes_html
    assert "<h2" in stored and "<strong>不足</strong>" in stored and "<script" not in stored

    def no_rendering(*args, **kwargs):
        raise AssertionError("a page rendered Markdown")

    monkeypatch.setattr(rendering, "render", no_rendering)
    monkeypatch.setattr(markdown.Markdown, "convert", no_rendering)  # however render was imported
    for url in (f"/satisfaction/meetings/{meeting_id}", f"/satisfaction/meetings/{meeting_id}/print"):
        page = client.get(url)
        assert page.status_code == 200 and "<strong>不足</strong>" in page.get_data(as_text=True)


def test_migration_fills_minutes_html_for_existing_meetings(tmp_path, database_url):
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from tests.conftest import make_app
    from webapp.extensions import db

    app = make_app(tmp_path, database_url)
    with app.app_context():
        upgrade(revision="0008_audit_keyed_chain")
        projects = sa.table("projects", *(sa.column(c) for c in ("id", "code", "name", "name_en", "address",
                                                                  "households", "active")))
        columns = ("id", "project_id", "held_on", "title", "location", "attendees", "topics", "minutes",
                   "created_at", "updated_at", "version", "void_reason")
        meetings = sa.table("meetings", *(sa.column(c) for c in columns))
        from datetime import date, datetime

        now = datetime(2025, 6, 10, 8, 0)
        with db.engine.begin() as conn:
            conn.execute(projects.insert().values(id=1, code="P1", name="一号项目", name_en="", address="",
                                                  households=1, active=True))
            for meeting_id, minutes in ((1, "## 会议内容\n\n- **不足**"), (2, "[" * 10_000 + "]" * 10_000),
                                        (3, "")):
                conn.execute(meetings.insert().values(
                    id=meeting_id, project_id=1, held_on=date(2025, 6, 10), title="座谈会", location="",
                    attendees="", topics="", minutes=minutes, created_at=now, updated_at=now, version=1,
                    void_reason=""))
        upgrade()
        with db.engine.connect() as conn:
            stored = dict(conn.execute(sa.text("SELECT id, minutes_html FROM meetings")).all())
        db.engine.dispose()
    assert "<h2" in stored[1] and "<strong>不足</strong>" in stored[1]
    assert stored[2].startswith("<pre>[[[") and stored[3] == ""

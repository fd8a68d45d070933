"""procedures.rendering: Markdown -> sanitised HTML (no app needed)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from markupsafe import Markup

from procedures import rendering
from procedures.rendering import ID_PREFIX, Rendered, TocEntry, render, render_cached

DEMO = Path(__file__).resolve().parent.parent / "procedures" / "demo_content" / "QP-CS-001.A2.md"

# Shaped like the seed procedures: numbered headings, clause paragraphs written
# one per line WITHOUT blank lines between them, a table, sub-items.
SEED_LIKE = """\
## 1.0 目的

规定顾客满意信息的收集、统计、分析和处置方法。

## 4.0 工作程序

### 4.2 顾客满意信息的收集
4.2.1 问卷调查：各项目每年组织一次《业主调查表》的发放和回收。
4.2.2 业主委员会座谈：项目经理每季度至少与业主委员会座谈一次。
4.2.3 来信来访：逐件登记，
写明时间、房号。
（1）电话回访；
（2）上门回访。
一、总则
二、附则

### 4.3 顾客满意率的计算

4.3.1 项目满意率 = 满意问卷份数 ÷ 有效问卷总份数 × 100%。

| 记录名称 | 编号 | 保存期限 |
|---|:---:|---:|
| 业主调查表 | QR-CS-001-01 | 永久 |
4.3.2 表后紧接的条款。

```
4.9.1 代码块里的行
4.9.2 保持原样
```
"""


def paragraphs(html: str) -> list[str]:
    return re.findall(r"<p>(.*?)</p>", html, flags=re.S)


# ---------------------------------------------------------------- basics


def test_render_returns_markup_and_toc():
    result = render("# 标题\n\n正文")
    assert isinstance(result, Rendered)
    assert isinstance(result.html, Markup)
    assert result.toc == (TocEntry(1, f"{ID_PREFIX}标题", "标题"),)


def test_empty_input():
    assert render("") == Rendered(Markup(""), ())


def test_table():
    html = render("| 部门 | 职责 |\n|:--|:-:|\n| 客户服务部 | 归口管理 |\n").html
    assert "<table>" in html and "<thead>" in html and "<tbody>" in html
    assert '<th align="left">部门</th>' in html
    assert '<td align="center">归口管理</td>' in html
    assert "style" not in html


def test_fenced_code_and_lists():
    html = render("- 一\n- 二\n\n3. 三\n4. 四\n\n```python\nx = '<b>'\n```\n").html
    assert "<ul>" in html and "<li>一</li>" in html
    assert '<ol start="3">' in html  # sane_lists keeps the author's number
    assert "<pre><code>x = '&lt;b&gt;'\n</code></pre>" in html


def test_footnotes_and_in_page_links_use_prefixed_ids():
    html = render("见附注[^1]，详见[目的](#1-0-目的)。\n\n## 1.0 目的\n\n[^1]: 附注内容\n").html
    ids = set(re.findall(r'id="([^"]+)"', html))
    hrefs = set(re.findall(r'href="#([^"]+)"', html))
    assert ids and all(i.startswith(ID_PREFIX) for i in ids)
    assert hrefs and hrefs <= ids  # every in-page link has a target
    assert f"{ID_PREFIX}1-0-目的" in ids


# ---------------------------------------------------------------- TOC


def test_toc_ids_keep_chinese_and_are_unique():
    text = "## 1.0 目的\n\n## 2.0 适用范围\n\n### 2.2 术语\n\n## 目的\n\n## 目的\n"
    result = render(text)
    assert [(e.level, e.text) for e in result.toc] == [
        (2, "1.0 目的"),
        (2, "2.0 适用范围"),
        (3, "2.2 术语"),
        (2, "目的"),
        (2, "目的"),
    ]
    ids = [e.id for e in result.toc]
    assert ids[0] == f"{ID_PREFIX}1-0-目的"
    assert ids[2] == f"{ID_PREFIX}2-2-术语"
    assert len(set(ids)) == len(ids)
    for entry in result.toc:
        assert f'id="{entry.id}"' in result.html


def test_toc_text_is_plain_text():
    result = render("## 条款 *4.1* & <b>注意</b>\n")
    (entry,) = result.toc
    assert entry.text == "条款 4.1 & 注意"
    assert "<" not in entry.id and "&" not in entry.id


# ---------------------------------------------------------------- clauses


def test_seed_like_clauses_render_as_written():
    html = render(SEED_LIKE).html
    paras = paragraphs(html)
    for clause in (
        "4.2.1 问卷调查：各项目每年组织一次《业主调查表》的发放和回收。",
        "4.2.2 业主委员会座谈：项目经理每季度至少与业主委员会座谈一次。",
        "（1）电话回访；",
        "（2）上门回访。",
        "一、总则",
        "二、附则",
        "4.3.2 表后紧接的条款。",
    ):
        assert clause in paras, clause
    # a wrapped clause stays one paragraph
    assert "4.2.3 来信来访：逐件登记，\n写明时间、房号。" in paras
    # no clause was turned into a list item
    assert "<ol" not in html and "<li>" not in html
    # the table is intact and the clause after it is not a table row
    assert html.count("<tr>") == 2
    # code blocks are untouched
    assert "<pre><code>4.9.1 代码块里的行\n4.9.2 保持原样\n</code></pre>" in html


def test_clause_numbers_inside_a_table_without_outer_pipes():
    html = render("条款 | 内容\n--- | ---\n4.1 | 职责\n4.2 | 程序\n").html
    assert html.count("<tr>") == 3
    assert "<td>4.2</td>" in html


@pytest.mark.skipif(not DEMO.is_file(), reason="demo content not present")
def test_demo_procedure_renders():
    from procedures.document import parse

    doc = parse(DEMO.read_bytes())
    result = render(doc.body)
    assert "<table>" in result.html
    assert any(e.text.startswith("4.2") for e in result.toc)
    assert "<p>4.2.1 问卷调查" in result.html
    assert "<ol" not in result.html


# ---------------------------------------------------------------- XSS


XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](&#106;avascript:alert(1))",
    '[x][r]\n\n[r]: javascript:alert(1) "t"',
    "<javascript:alert(1)>",
    '<a href="JaVaScRiPt:alert(1)">y</a>',
    '<a href="jav&#x61;script:alert(1)">y</a>',
    '<a href="  javascript:alert(1)">y</a>',
    '<a href="vbscript:msgbox(1)">y</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">y</a>',
    "![i](javascript:alert(1))",
    "![i](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
    '<iframe src="https://evil.example/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>">',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<object data="x.swf"></object><embed src="x.swf">',
    '<div style="background:url(javascript:alert(1))" onclick="alert(1)">d</div>',
    '<p onmouseover="alert(1)">hover</p>',
    '<form action="javascript:alert(1)"><button formaction="x">b</button></form>',
    '<math><mi xlink:href="javascript:alert(1)">m</mi></math>',
    "<style>body{display:none}</style>",
    "<base href='https://evil.example/'>",
    "<meta http-equiv=refresh content='0;url=https://evil.example'>",
    '<h2 onclick="alert(1)" style="color:red">标题</h2>',
    "<!-- <script>alert(1)</script> -->",
    '<a href="#" onclick="alert(1)">y</a>',
    '<input autofocus onfocus="alert(1)">',
    "<details open ontoggle=alert(1)>",
    '<img src="x" alt="x" {onerror=alert(1)}>',
    "## 标题 {onclick=alert(1)}",
    "![x](x.png){onerror=alert(1)}",
]


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_xss_vectors_come_out_inert(vector):
    html = str(render(f"段落前\n\n{vector}\n\n段落后").html)
    lowered = html.lower()
    for tag in (
        "<script",
        "<iframe",
        "<svg",
        "<object",
        "<embed",
        "<style",
        "<form",
        "<base",
        "<meta",
        "<input",
        "<math",
        "<button",
        "<details",
    ):
        assert tag not in lowered, (vector, html)
    assert "style=" not in lowered, html
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", lowered), html  # no event-handler attribute
    for attr_value in re.findall(r'(?:href|src)="([^"]*)"', lowered):
        assert not attr_value.strip().startswith(("javascript:", "vbscript:", "data:")), html
    assert "javascript:" not in "".join(re.findall(r"<[^>]+>", lowered)), html
    assert "段落前" in html and "段落后" in html


def test_script_content_is_removed_not_shown():
    html = render("<script>alert('secret')</script>\n\n正文").html
    assert "alert" not in html
    assert "正文" in html


def test_safe_links_and_images_are_kept():
    html = render(
        "[官网](https://example.com/a?b=1) [邮件](mailto:a@example.com) [相对](other.md)\n\n"
        "![图](https://example.com/i.png) ![本地](img/a.png)"
    ).html
    assert '<a href="https://example.com/a?b=1" rel="noopener noreferrer">官网</a>' in html
    assert 'href="mailto:a@example.com"' in html
    assert 'href="other.md"' in html
    assert '<img alt="图" src="https://example.com/i.png">' in html
    assert 'src="img/a.png"' in html


def test_mailto_image_source_is_dropped():
    html = render("![x](mailto:a@example.com)").html
    assert "mailto" not in html


def test_every_link_gets_rel_noopener():
    html = render(
        '<a href="https://e.example" rel="opener" target="_blank">x</a> [y](https://e.example)'
    ).html
    assert html.count('rel="noopener noreferrer"') == 2
    assert 'opener"' not in html.replace('rel="noopener noreferrer"', "")
    assert "target" not in html


def test_allowed_inline_html_survives():
    html = render("第一行<br>第二行 <u>下划线</u> H<sub>2</sub>O <del>旧</del><ins>新</ins>").html
    for fragment in ("<br>", "<u>下划线</u>", "<sub>2</sub>", "<del>旧</del>", "<ins>新</ins>"):
        assert fragment in html


def test_bare_hash_link_is_left_alone():
    assert 'href="#"' in render('<a href="#">top</a>').html


def test_raw_html_ids_are_prefixed():
    html = render('<h2 id="content">x</h2>').html
    assert f'id="{ID_PREFIX}content"' in html


# ---------------------------------------------------------------- cache


@pytest.fixture
def clean_cache():
    rendering.clear_cache()
    yield
    rendering.clear_cache()


def test_render_cached_returns_same_object_per_sha(clean_cache):
    first = render_cached("a" * 40, "# 一")
    # The text is ignored on a hit: a blob sha always names the same content.
    assert render_cached("a" * 40, "# 二") is first
    other = render_cached("b" * 40, "# 二")
    assert other is not first
    assert other.toc[0].text == "二"
    info = rendering.cache_info()
    assert info["hits"] == 1 and info["misses"] == 2 and info["size"] == 2


def test_render_cached_is_bounded_lru(clean_cache):
    size = rendering.cache_info()["maxsize"]
    a, b, *rest = [f"s{i}" for i in range(size + 1)]
    for sha in (a, b, *rest[:-1]):  # full
        render_cached(sha, sha)
    render_cached(a, a)  # refresh a
    render_cached(rest[-1], rest[-1])  # evicts b, the least recently used
    assert rendering.cache_info()["size"] == size
    assert render_cached(b, "changed").html == "<p>changed</p>"
    assert render_cached(a, "ignored").html == f"<p>{a}</p>"


def test_render_cached_is_thread_safe(clean_cache):
    texts = {f"{i:040x}": f"## 第{i}节\n\n4.{i}.1 内容 {i}\n" for i in range(40)}
    expected = {sha: render(text) for sha, text in texts.items()}
    problems = []

    def worker(seed):
        try:
            for round_ in range(5):
                for index, (sha, text) in enumerate(texts.items()):
                    if (index + seed + round_) % 3:
                        result = render_cached(sha, text)
                        if result != expected[sha]:
                            problems.append(sha)
        except Exception as exc:  # pragma: no cover - reported below
            problems.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert rendering.cache_info()["size"] <= rendering.CACHE_SIZE


def test_render_is_thread_safe_without_cache():
    results = {}

    def worker(n):
        results[n] = [render(f"# 标题{n}\n\n| a | b |\n|---|---|\n| {n} | x |\n") for _ in range(20)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n, rendered in results.items():
        assert all(r == rendered[0] for r in rendered)
        assert rendered[0].toc[0].text == f"标题{n}"
        assert f"<td>{n}</td>" in rendered[0].html

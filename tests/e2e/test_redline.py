"""The compare page reads like the document, on a desktop and on a phone (issue 12 §3).

A version A/3 of the demo's QP-CS-001 adds a list, edits a table cell, adds a table column and a
wide table: the redline shows headings, list items and table cells as such (no ``###``, no pipes);
side by side, old and new face each other at 1366 px and stack (old above new) at 390 px; nothing
scrolls the page sideways (a wide table scrolls inside its own box).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from procedures.document import parse
from tests.e2e.conftest import login
from tests.factories_procedures import commit_version

DEMO = Path(__file__).resolve().parents[2] / "procedures" / "demo_content" / "QP-CS-001.A2.md"
SHOTS = os.environ.get("REDLINE_SCREENSHOTS")  # a folder: save screenshots there to look at


def _a3_body() -> str:
    body = parse(DEMO.read_bytes()).body
    body = body.replace("| 总经理 | 批准本规程；", "| 总经理 | 批准并签发本规程；", 1)
    body = body.replace("### 4.3 顾客满意率的计算", "### 4.3 顾客满意率的计算与公布", 1)
    body += (
        "\n## 7.0 检查要点\n\n"
        "- 调查表按时发放\n"
        "- 回收率达到 **85%**\n"
        "    - 逐户登记\n\n"
        "| 项目 | 一月 | 二月 | 三月 | 四月 | 五月 | 六月 | 七月 | 八月 | 九月 | 十月 | 十一月 | 十二月 | 合计 |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        "| 阳光花园管理处客户满意度调查回收份数 | 120 | 118 | 125 | 130 | 128 | 131 | 127 | 126 | 133 | 129 | 124 "
        "| 122 | 1533 |\n"
    )
    return body


@pytest.fixture
def a3(demo_app):
    commit_version(demo_app, "QP-CS-001", "A/3", effective="2027-01-01", summary="检查要点", body=_a3_body())
    return demo_app


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _open_compare(page, errors) -> None:
    login(page, "clerk")
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(page.base_url + "/procedures/QP-CS-001/compare?from=A-2&to=A-3")


def _box(locator) -> dict:
    return locator.bounding_box()


def _check_redline(page) -> None:
    redline = page.locator("[data-testid=redline]")
    text = redline.inner_text()
    assert "###" not in text and "|---" not in text and "| 总经理" not in text
    # a heading reads as a heading: its own element, its level, the change inside it
    heading = redline.locator(".rl-block.rl-change .rl-h3")
    assert heading.count() == 1 and "与公布" in heading.locator("ins").inner_text()
    # list items with their nesting
    items = redline.locator(".rl-block.rl-insert.rl-k-item")
    assert items.count() == 3
    assert "rl-d2" in (items.nth(2).get_attribute("class") or "")
    assert redline.locator(".rl-k-item strong", has_text="85%").count() == 1
    # a table cell edited in place, character by character
    cell = redline.locator(".rl-table td", has_text="签发本规程")
    assert cell.locator("ins").inner_text() == "并签发"
    assert _no_horizontal_scroll(page)


@pytest.mark.parametrize("size", [(1366, 768)])
def test_compare_on_a_desktop(a3, new_page, size):
    page = new_page(*size)
    errors: list[str] = []
    _open_compare(page, errors)
    _check_redline(page)
    assert not page.locator("[data-testid=side-by-side]").is_visible()
    _shot(page, "desktop-redline")

    page.click("[data-testid=view-side-by-side]")
    sbs = page.locator("[data-testid=side-by-side]")
    assert sbs.is_visible() and not page.locator("[data-testid=redline]").is_visible()
    row = sbs.locator(".sbs-row.sbs-change", has_text="签发本规程").first
    old, new = _box(row.locator(".sbs-old")), _box(row.locator(".sbs-new"))
    assert abs(old["y"] - new["y"]) < 1 and new["x"] >= old["x"] + old["width"]  # two columns
    assert "并签发" not in row.locator(".sbs-old").inner_text()
    assert row.locator(".sbs-new ins").inner_text() == "并签发"
    # the wide table scrolls inside its own box, the page does not
    wide = sbs.locator(".sbs-row.sbs-insert .rl-table-wrap").last
    assert wide.evaluate("e => e.scrollWidth > e.clientWidth")
    assert _no_horizontal_scroll(page)
    _shot(page, "desktop-side-by-side")
    assert not errors, errors


def test_compare_on_a_phone(a3, phone_page):
    page = phone_page
    errors: list[str] = []
    _open_compare(page, errors)
    _check_redline(page)
    _shot(page, "phone-redline")

    page.click("[data-testid=view-side-by-side]")
    sbs = page.locator("[data-testid=side-by-side]")
    row = sbs.locator(".sbs-row.sbs-change", has_text="签发本规程").first
    old, new = _box(row.locator(".sbs-old")), _box(row.locator(".sbs-new"))
    assert new["y"] >= old["y"] + old["height"] - 1  # stacked: the old version above the new one
    width = page.viewport_size["width"]
    for box in (old, new):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1  # nothing cut off
    # an unchanged block is shown once, not twice
    same = sbs.locator(":scope > .sbs-row.sbs-equal").first
    assert not same.locator(".sbs-old").is_visible() and same.locator(".sbs-new").is_visible()
    wide = sbs.locator(".sbs-row.sbs-insert .rl-table-wrap").last
    wide.scroll_into_view_if_needed()
    assert wide.evaluate("e => e.scrollWidth > e.clientWidth")
    assert _no_horizontal_scroll(page)
    _shot(page, "phone-side-by-side")
    assert not errors, errors

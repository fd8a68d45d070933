"""The complaint register in a real browser: a complaint's whole life, and the monthly summary as XLSX."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from accounts.models import Project
from satisfaction.complaints.summary import monthly_summary
from tests.e2e.conftest import login
from webapp.dates import local_today
from webapp.extensions import db


def _step(page, action, fill=None):
    form = page.locator(f"form[data-action={action}]")
    for name, value in (fill or {}).items():
        if name == "handling_satisfaction":
            form.locator(f"input[name=handling_satisfaction][value={value}]").check()
        else:
            form.locator(f"[name={name}]").fill(value)
    form.locator(f"[data-testid=do-{action}]").click()
    page.wait_for_load_state()


def test_complaint_lifecycle_with_a_dissatisfied_follow_up_then_the_summary_xlsx(demo_app, page):
    login(page, "clerk")
    page.goto(page.base_url + "/satisfaction/complaints/")
    page.click("[data-testid=new-entry]")
    # Praise hides the severity; back to complaint shows it again (complaints.js).
    page.locator("label.c-kind-choice", has_text="表扬").click()
    assert page.locator(".c-severity").is_hidden()
    page.locator("label.c-kind-choice", has_text="投诉").first.click()
    assert page.locator(".c-severity").is_visible()
    with demo_app.app_context():
        ljy = db.session.execute(select(Project).where(Project.code == "P-LJY")).scalar_one()
        ljy_id, ljy_label = ljy.id, ljy.name
    page.select_option("select[name=project_id]", str(ljy_id))
    page.select_option("select[name=channel]", "visit")
    page.select_option("select[name=category]", "environment")
    page.select_option("select[name=severity]", "urgent")
    page.fill("input[name=building]", "7栋")
    page.fill("input[name=room]", "0303")
    page.fill("textarea[name=description]", "浏览器测试：楼道灯坏了一周无人修")
    page.click("[data-testid=entry-form] input[type=submit]")
    page.wait_for_url("**/satisfaction/complaints/*")
    number = page.inner_text("[data-testid=entry-number]")
    assert number.startswith("TS-P-LJY-") and "已受理" in page.inner_text("[data-testid=entry-status]")

    _step(page, "acknowledge", {"note": "已联系业主"})
    _step(page, "start")
    # Resolving without a cause is refused with messages at the fields; nothing changes.
    _step(page, "resolve")
    assert page.locator("form[data-action=resolve] .error").count() == 2
    assert "处理中" in page.inner_text("[data-testid=entry-status]")
    _step(page, "resolve", {"cause": "灯具老化", "action_taken": "更换灯具"})
    _step(page, "follow_up", {"feedback_given": "电话告知已更换", "handling_satisfaction": "dissatisfied",
                              "follow_up_notes": "另一层也不亮"})
    assert "处理中" in page.inner_text("[data-testid=entry-status]")
    assert page.locator("[data-testid=reopened]").is_visible()
    assert "不满意" in page.inner_text("[data-testid=handling-satisfaction]")
    _step(page, "resolve", {"cause": "整栋线路老化", "action_taken": "更换整栋楼道灯具"})
    _step(page, "follow_up", {"feedback_given": "上门确认", "handling_satisfaction": "satisfied"})
    _step(page, "close")
    assert "已结案" in page.inner_text("[data-testid=entry-status]")
    events = page.eval_on_selector_all("[data-testid=timeline] li", "els => els.map(e => e.dataset.event)")
    assert events == ["created", "acknowledge", "start", "resolve", "follow_up", "reopened", "resolve", "follow_up",
                      "close"]

    # The register finds it; then the month's summary for the project, downloaded as XLSX.
    page.goto(page.base_url + f"/satisfaction/complaints/?q={number}")
    assert page.locator(f"tr[data-number='{number}']").count() == 1
    page.goto(page.base_url + "/satisfaction/complaints/summary")
    page.select_option("[data-testid=summary-filters] select[name=project]", str(ljy_id))
    page.wait_for_url(f"**project={ljy_id}**")
    with page.expect_download() as info:
        page.click("[data-testid=summary-xlsx]")
    with open(info.value.path(), "rb") as fh:
        wb = load_workbook(io.BytesIO(fh.read()))
    ws = wb["汇总"]
    month = local_today()
    assert ws["A1"].value == f"投诉情况月汇总表（{ljy_label} {month.year}年{month.month}月）"
    headers = [c.value for c in ws[3]]
    row = dict(zip(headers, [c.value for c in ws[4]], strict=False))
    with demo_app.app_context():
        ljy = db.session.get(Project, ljy_id)
        s = monthly_summary(month, projects=[ljy])
        f = s.rows[0][1]
        env = next(c for c in s.categories if c.code == "environment")
        expected = {"登记总数": f.total, "投诉": f.complaints, env.name: f.by_category[env.id],
                    "来访": f.by_channel["visit"], "表扬": f.praise, "投诉结案数": f.closed,
                    "亲情服务": f.caring}
        rates = {"响应及时率": f.on_time_response_rate, "处理及时率": f.on_time_resolution_rate,
                 "回访率": f.follow_up_rate, "处理满意率": f.handling_satisfaction_rate}
    assert row["项目"].startswith("P-LJY")
    assert {k: row[k] for k in expected} == expected
    assert f.closed >= 1 and f.follow_ups >= 2 and f.satisfied >= 1  # ours is in there
    for key, value in rates.items():
        assert (row[key] is None and value is None) or abs(row[key] - value) < 1e-9, key
    detail = [r[0] for r in wb["明细"].iter_rows(min_row=3, values_only=True)]
    assert number in detail


def test_register_on_a_phone(demo_app, phone_page):
    page = phone_page
    login(page, "clerk")
    page.goto(page.base_url + "/satisfaction/complaints/")
    # Rows become cards: no sideways scrolling, labels shown beside the values.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400
    first = page.locator("[data-testid=complaint-list] tbody tr").first
    assert first.locator("td").first.evaluate("td => getComputedStyle(td).display") == "block"
    overdue = page.locator("[data-testid=complaint-list] tr.overdue")
    assert overdue.count() >= 1
    page.goto(page.base_url + "/satisfaction/complaints/new")
    assert page.locator("select[name=project_id]").bounding_box()["width"] > 300


def _png(width=4, height=3) -> bytes:
    """A real (decodable) PNG: the browser must show it as a thumbnail."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 80, 40]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _more_entries(app, n: int) -> None:
    """``n`` more complaints in P-LJY straight into the table (the list only reads them)."""
    from datetime import timedelta

    from satisfaction.complaints.models import Complaint
    from satisfaction.models import ServiceCategory
    from webapp.db import utcnow

    with app.app_context():
        ljy = db.session.execute(select(Project).where(Project.code == "P-LJY")).scalar_one()
        category = db.session.execute(select(ServiceCategory.id).where(ServiceCategory.code == "maintenance")).scalar()
        for i in range(n):
            db.session.add(Complaint(
                number=f"TS-P-LJY-2025-{9000 + i}", kind="complaint", channel="phone", project_id=ljy.id,
                received_at=utcnow() - timedelta(days=200, hours=i), category_id=category, severity="normal",
                description=f"浏览器分页测试 {i}", status=("received", "in_progress", "closed")[i % 3], room=f"E{i}",
                void_reason="", reopen_count=0))
        db.session.commit()


def test_status_tabs_count_their_rows_and_pages_keep_the_filters(demo_app, page):
    _more_entries(demo_app, 70)
    login(page, "clerk")
    page.goto(page.base_url + "/satisfaction/complaints/?category=maintenance")
    tabs = page.locator("[data-testid=status-tabs] a")
    counts = {a.get_attribute("data-status"): int(a.locator(".c-count").inner_text().replace(",", ""))
              for a in tabs.all()}
    assert counts[""] == sum(n for s, n in counts.items() if s) and counts[""] > 50
    # A tab lists exactly as many rows as it says (over its pages), the category filter kept.
    page.locator("[data-testid=status-tabs] a[data-status=in_progress]").click()
    page.wait_for_url("**status=in_progress**")
    assert "category=maintenance" in page.url
    assert page.locator("[data-testid=complaint-list] tbody tr").count() == min(50, counts["in_progress"])
    # The whole list over its numbered pages: page 2 keeps the category, the rows continue.
    page.locator("[data-testid=status-tabs] a[data-status='']").click()
    first_page = page.eval_on_selector_all("[data-testid=complaint-list] tr[data-number]", "r => r.map(e => e.dataset.number)")
    page.locator("[data-testid=pager] a[aria-label='第 2 页']").click()
    page.wait_for_url("**page=2**")
    assert "category=maintenance" in page.url and "aria-current" in page.locator("[data-testid=pager]").inner_html()
    second_page = page.eval_on_selector_all("[data-testid=complaint-list] tr[data-number]", "r => r.map(e => e.dataset.number)")
    assert len(first_page) == 50 and second_page and not set(first_page) & set(second_page)
    assert len(first_page) + len(second_page) == counts[""] or page.locator("[data-testid=next-page]").count() == 1
    # A page past the last says so (404), in Chinese.
    response = page.goto(page.base_url + "/satisfaction/complaints/?page=999")
    assert response.status == 404 and "此列表没有第 999 页" in page.inner_text("main")


def test_a_photo_is_uploaded_from_a_phone_and_shown_as_a_thumbnail(demo_app, phone_page):
    page = phone_page
    login(page, "clerk")
    page.goto(page.base_url + "/satisfaction/complaints/")
    page.locator("[data-testid=complaint-list] tbody tr a").first.click()
    page.wait_for_url("**/satisfaction/complaints/*")
    box = page.locator("[data-testid=attachments]")
    box.scroll_into_view_if_needed()
    chooser = page.locator("[data-testid=attach-form] input[type=file]")
    assert "image/jpeg" in chooser.get_attribute("accept")
    submit = page.locator("[data-testid=attach-submit]").bounding_box()
    assert submit["height"] >= 44
    # A file of the wrong kind is refused with a message at the field.
    chooser.set_input_files({"name": "说明.png", "mimeType": "image/png", "buffer": "不是图片".encode() * 10})
    page.click("[data-testid=attach-submit]")
    assert page.locator("[data-testid=attach-form] .error").is_visible()
    # The photo goes in and is shown: the thumbnail really loads (same-origin image, served inline).
    page.locator("[data-testid=attach-form] input[type=file]").set_input_files(
        {"name": "楼道照片.png", "mimeType": "image/png", "buffer": _png()})
    page.click("[data-testid=attach-submit]")
    page.wait_for_url("**#attachments")
    thumb = page.locator("[data-testid=attachment-thumb]")
    assert thumb.count() == 1
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth === 4", arg=thumb.element_handle())
    assert "楼道照片.png" in page.inner_text("[data-testid=attachments]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    timeline = page.eval_on_selector_all("[data-testid=timeline] li", "els => els.map(e => e.dataset.event)")
    assert timeline[-1] == "attached"
    # The link downloads it under its Chinese name.
    with page.expect_download() as info:
        page.click("[data-testid=attachment-link]")
    assert info.value.suggested_filename == "楼道照片.png"


def test_the_handler_list_follows_the_chosen_project(demo_app, page):
    """The depthead clerk works on all three projects: choosing one offers only its staff (complaints.js);
    the server refuses anyone else (tests/test_complaint_register.py)."""
    with demo_app.app_context():
        from satisfaction.complaints.service import project_staff

        projects = {p.code: p.id for p in db.session.execute(select(Project)).scalars()}
        staff = {code: {u.display_name for u, _p in project_staff([pid])} for code, pid in projects.items()}
    login(page, "depthead")
    page.goto(page.base_url + "/satisfaction/complaints/new")
    for code in ("P-LJY", "P-YSW"):
        page.select_option("select[name=project_id]", str(projects[code]))
        offered = set(page.eval_on_selector_all(
            "select[name=handler_id] option", "os => os.filter(o => o.value && !o.hidden).map(o => o.textContent)"))
        assert offered == staff[code], code
    assert staff["P-LJY"] != staff["P-YSW"]
    assert not any("业委会" in name or "文控" in name or "系统管理员" in name for names in staff.values() for name in names)

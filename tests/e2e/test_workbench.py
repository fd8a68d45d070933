"""The workbench (home page) in a real browser, on a 1366 × 768 desktop and a 390 × 844 phone, with the demo
data: each person's boxes render with their counts, stack on the phone, are tap targets of at least 44 px,
nothing scrolls sideways, and a box opens its list showing as many rows as the box counted."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import login

DEVICES = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
#: The rows of each list a box may open, by path.
ROWS = {"/acknowledgements/": "[data-testid=to-read-item]",
        "/reviews/register": "[data-testid=review-register] tbody tr[data-number]",
        "/satisfaction/complaints/": "[data-testid=complaint-list] tbody tr[data-number]",
        "/actions/": "[data-testid=action-list] tbody tr[data-number]"}
#: Demo people and the box each one opens (the department head reads, the clerk handles complaints, the
#: owners' representative takes part in reviews).
OPENS = {"depthead": "procedures.to_read", "clerk": "complaints.assigned", "custrep": "reviews.waiting.propose"}


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_the_workbench_shows_each_persons_boxes_and_they_open_their_lists(demo_app, new_page, live_server, device):
    width, height = DEVICES[device]["viewport"]["width"], DEVICES[device]["viewport"]["height"]
    for who, key in OPENS.items():
        page = new_page(width, height, phone=device == "phone")  # each person in a fresh browser session
        errors = []
        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        login(page, who)
        page.goto(live_server.url + "/")
        assert page.locator("[data-testid=workbench-todo] h2").inner_text() == "我的待办"
        boxes = page.locator(".wb-box")
        assert boxes.count() >= 1, who
        for box in boxes.all():
            assert int(box.get_attribute("data-count")) > 0
            assert box.locator(".wb-count").inner_text().strip() == box.get_attribute("data-count")
        rect = "els => els.map(e => {const r = e.getBoundingClientRect(); return [r.left, r.width, r.height]})"
        targets = page.eval_on_selector_all(".wb-box, .wb-zero a", rect)
        assert min(h for _left, _width, h in targets) >= 44, (who, device, targets)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (who, device)
        if device == "phone":  # the boxes stack: one column, each nearly the screen's width
            stacked = page.eval_on_selector_all(".wb-box", rect)
            assert len({round(left) for left, _w, _h in stacked}) == 1, stacked
            assert all(w > 300 for _left, w, _h in stacked), stacked
        box = page.locator(f"[data-testid='box-{key}']")
        href, count = box.get_attribute("href"), int(box.get_attribute("data-count"))
        box.click()
        page.wait_for_url(lambda url, href=href: url.endswith(href))
        assert page.locator(ROWS[href.split("?")[0]]).count() == count, (who, href)
        assert not errors, errors


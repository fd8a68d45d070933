"""Every page, every role, a phone and a desktop: nothing scrolls sideways, every control is big enough
to tap, and the main pages have no serious accessibility problems (issue 12, §6).

For each demo login and each viewport (390×844 phone, 1366×768 desktop) the test logs in through the
form and walks the pages the navigation leads to, breadth first from ``/`` — following the links
each page offers, one page per URL *shape* (``/satisfaction/complaints/17`` stands for every
complaint) — and on each page checks:

- the page does not scroll horizontally (``scrollWidth`` of the document within the viewport); a
  wide table may scroll inside its own box (``overflow-x: auto``) — that is what it is for;
- on the phone, every visible control (button, input, select, textarea, a link styled as a button,
  the navigation) is at least :data:`MIN_TARGET` CSS pixels high and wide (WCAG 2.2 target size;
  a checkbox or radio counts with its label), and no form control is collapsed;
- on the main pages (:data:`AXE_PAGES`), axe-core (vendored in ``tests/e2e/vendor/axe-core``) finds
  no violation of impact *serious* or *critical* against WCAG 2.1 A/AA.

All problems of one walk are reported together, one line each.
"""
from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.e2e.conftest import login

LOGINS = ("admin", "controller", "manager", "depthead", "frontline", "custrep", "clerk", "staff")
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}
#: WCAG 2.2 success criterion 2.5.8 (target size, minimum): 24 × 24 CSS pixels.
MIN_TARGET = 24
#: At most this many pages per walk (distinct URL shapes; the demo has fewer per role).
MAX_PAGES = 70
#: Links not followed: leaving, switching language, downloads, printing, the API and static files.
SKIP = re.compile(r"/logout|/lang/|[?&]lang=|/api/|/static/|\.(xlsx|csv|pdf|png|jpe?g|svg|ico)(\?|$)|/export|"
                  r"/download|/print|format=(xlsx|csv)|/attachments/\d+")
#: Pages checked with axe-core (when the role may open them).
AXE_PAGES = ("/", "/procedures/", "/procedures/QP-CS-001", "/procedures/QP-CS-001/history", "/reviews/",
             "/satisfaction/", "/satisfaction/complaints/", "/satisfaction/surveys/", "/satisfaction/meetings/",
             "/actions/", "/audit/", "/admin/users", "/profile", "/inbox")
AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"

OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = document.documentElement.scrollWidth > width + 1;
  const culprits = [];
  if (scrolls) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= width + 1) continue;
      let boxed = false;  // inside a box that scrolls (or clips) on its own
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') { boxed = true; break; }
      }
      if (boxed) continue;
      const id = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                 (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      culprits.push(id + ' right=' + Math.round(r.right));
      if (culprits.length >= 3) break;
    }
  }
  return {scrolls, scrollWidth: document.documentElement.scrollWidth, width, culprits};
}"""

TARGETS_JS = """(min) => {
  const small = [];
  const selector = 'button, input:not([type=hidden]), select, textarea, summary, a.button, a.btn, nav a, ' +
                   '[role=button], [role=tab], .pagination a, .tabs a';
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not rendered (closed menu, hidden tab)
    if (el.closest('[hidden], details:not([open]) > :not(summary)')) continue;
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (type === 'checkbox' || type === 'radio') {
      const label = el.closest('label') || (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]'));
      if (label) {  // the control and its label are one target (a click on either ticks it)
        const l = label.getBoundingClientRect();
        const left = Math.min(box.left, l.left), top = Math.min(box.top, l.top);
        box = {width: Math.max(box.right, l.right) - left, height: Math.max(box.bottom, l.bottom) - top};
      }
    }
    if (el.classList.contains('ts-hidden-accessible') || el.tabIndex < 0 && el.tagName === 'SELECT') continue;
    if (box.height + 0.5 < min || box.width + 0.5 < min) {
      const name = el.tagName.toLowerCase() + (el.name ? '[name=' + el.name + ']' : '') +
                   (el.id ? '#' + el.id : '') + (type ? '[type=' + type + ']' : '');
      const text = (el.innerText || el.value || '').trim().slice(0, 20);
      small.push(name + ' "' + text + '" ' + Math.round(box.width) + '×' + Math.round(box.height));
    }
  }
  return small.slice(0, 8);
}"""

AXE_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations'],
                                          runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


def _shape(path: str) -> str:
    """One page per shape: numbers, review numbers and versions stand for their kind."""
    path = re.sub(r"R-\d{4}-\d+", "R-N", path)
    path = re.sub(r"/[A-Z]-\d+(?=/|$)", "/V", path)
    return re.sub(r"\d+", "N", path)


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
            continue
        url = urljoin(page.url, href)
        parts = urlsplit(url)
        if not url.startswith(base) or SKIP.search(url):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def walk(page, base: str, *, phone: bool) -> tuple[list[str], list[str]]:
    """(visited paths, problems) of a breadth-first walk from ``/``."""
    seen_shapes: set[str] = set()
    queue = deque(["/"])
    visited, problems = [], []
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        shape = _shape(urlsplit(path).path) + ("?" + "&".join(sorted(k.split("=")[0] for k in urlsplit(path).query.split("&")))
                                              if urlsplit(path).query else "")
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        response = page.goto(base + path)
        if response is None or response.status >= 400 or "/login" in page.url:
            if response is not None and response.status >= 500:
                problems.append(f"{path}: HTTP {response.status}")
            continue
        if not (response.headers.get("content-type") or "").startswith("text/html"):
            continue
        visited.append(path)
        overflow = page.evaluate(OVERFLOW_JS)
        if overflow["scrolls"]:
            problems.append(f"{path}: scrolls sideways ({overflow['scrollWidth']} > {overflow['width']} px): "
                            f"{', '.join(overflow['culprits'])}")
        if phone:
            small = page.evaluate(TARGETS_JS, MIN_TARGET)
            if small:
                problems.append(f"{path}: controls smaller than {MIN_TARGET} px: {'; '.join(small)}")
        queue.extend(link for link in _links(page, base) if link not in visited)
    return visited, problems


def _page(new_page, viewport: str, *, inject: bool = False):
    """A page at ``viewport``; ``inject``: the page's CSP lets the test add axe-core (the app's own CSP
    allows no inline script, rightly)."""
    size = VIEWPORTS[viewport]
    made = new_page(size["width"], size["height"], phone=viewport == "phone", bypass_csp=inject)
    made.set_default_timeout(15_000)
    return made


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("user", LOGINS)
def test_every_page_fits_and_every_control_can_be_tapped(demo_app, new_page, user, viewport):
    page = _page(new_page, viewport)
    login(page, user)
    visited, problems = walk(page, page.base_url, phone=viewport == "phone")
    assert len(visited) >= 3, f"{user} reached only {visited}"
    assert not problems, f"{user} @ {viewport}: {len(problems)} problem(s) on {len(visited)} pages:\n" + "\n".join(problems)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("user", ("admin", "manager", "clerk", "frontline", "custrep"))
def test_main_pages_have_no_serious_accessibility_violations(demo_app, new_page, user, viewport):
    page = _page(new_page, viewport, inject=True)
    login(page, user)
    checked, problems = [], []
    for path in AXE_PAGES:
        response = page.goto(page.base_url + path)
        if response is None or response.status >= 400 or "/login" in page.url:
            continue
        page.add_script_tag(path=str(AXE))
        checked.append(path)
        problems += [f"{path}: {v}" for v in page.evaluate(AXE_JS)]
    assert len(checked) >= 3, f"{user} could open only {checked}"
    assert not problems, f"{user} @ {viewport}: {len(problems)} serious/critical violation(s):\n" + "\n".join(problems)


def test_the_walk_catches_a_page_that_scrolls_sideways_and_a_collapsed_control(demo_app, new_page):
    """The checks can fail: a page made too wide and a 21 px high input are both reported."""
    page = _page(new_page, "phone")
    login(page, "clerk")
    page.goto(page.base_url + "/")
    page.evaluate("""() => {
      const wide = document.createElement('div'); wide.style.width = '900px'; wide.style.height = '10px';
      wide.className = 'too-wide'; document.body.appendChild(wide);
      const input = document.createElement('input'); input.type = 'tel'; input.name = 'contact_phone';
      input.style.height = '21px'; input.style.minHeight = '0'; input.style.padding = '0'; input.style.border = '0'; document.body.appendChild(input);
    }""")
    assert page.evaluate(OVERFLOW_JS)["scrolls"]
    assert any("contact_phone" in s for s in page.evaluate(TARGETS_JS, MIN_TARGET))

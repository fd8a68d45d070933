"""Bad input for every write endpoint: the corpus, two walkers and the probe that judges each answer.

* :class:`Probe` sends one request and checks the answer: never a 5xx, a 4xx carries a
  message, a refused request wrote nothing (row counts of every table and the git store's
  refs are unchanged), no request takes longer than :attr:`Probe.SLOW` seconds, and input
  that must never be stored (invalid Unicode, control characters, dates out of range, YAML
  aliases, deep nesting) is not accepted. Failures are collected, not raised, so one run
  lists them all (:meth:`Probe.report`).
* :class:`ApiWalker` reads ``/api/v1/openapi.json`` and, for every operation that writes,
  builds a valid body from the schema (path parameters from the API's own lists), then
  sends it with one property at a time replaced by each corpus value, plus a few broken
  bodies and path parameters.
* :class:`FormWalker` crawls the pages reachable from the menus, collects every
  ``<form method=post>`` and submits it with one field at a time replaced by corpus values
  (uploads included); POST routes with no form on any page are still sent a bare form.

A new API operation or a new form is covered without touching this file.
"""
from __future__ import annotations

import io
import itertools
import json
import logging
import os
import re
import signal
import traceback
import zipfile
from collections import defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from time import perf_counter
from urllib.parse import quote_from_bytes, urljoin, urlsplit

import sqlalchemy as sa

# --------------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Raw:
    """Bytes sent as they are: inside a JSON string, or as a form field's value."""

    data: bytes


@dataclass(frozen=True)
class Token:
    """Raw JSON text where a value goes (numbers ``json.dumps`` cannot write, e.g. ``1e999``)."""

    text: str


@dataclass(frozen=True)
class Bad:
    label: str
    value: object
    #: True when accepting the value (2xx/3xx) is itself a defect.
    refuse: bool = False


@dataclass(frozen=True)
class Upload:
    label: str
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    refuse: bool = False


def nested_list(levels: int) -> str:
    return "\n".join("  " * i + "- x" for i in range(levels)) + "\n"


BRACKETS = "[" * 20_000 + "]" * 20_000
LINKS = "[a](" * 10_000
NESTED = nested_list(700)

#: Every text field gets these, most telling first (a walker may keep only the first few).
TEXT = (
    Bad("lone surrogate \\ud800", "a\ud800b", refuse=True),
    Bad("NUL", "a\x00b", refuse=True),
    Bad("1 MB of text", "y" * 1_000_000),
    Bad("bracket bomb [*20000 ]*20000", BRACKETS),
    Bad("nested list, 700 levels", NESTED),
    Bad("raw bytes ED A0 80", Raw(b"a\xed\xa0\x80b"), refuse=True),
    Bad("BEL", "a\x07b", refuse=True),
    Bad("link bomb [a]( *10000", LINKS),
    Bad("200 KB of text", "x" * 200_000),
    Bad("RLO U+202E", "a\u202eb"),
    Bad("ESC and DEL", "a\x1b[31m\x7fb", refuse=True),
)

FAR_DATES = ("9999-12-31", "0001-01-01", "2026-02-30", "10000-01-01")


def dates(kind: str = "date") -> tuple[Bad, ...]:
    suffix = "T10:00:00" if kind == "date-time" else ""
    return tuple(Bad(f"date {d}", d + suffix, refuse=True) for d in FAR_DATES)


NUMBERS = (
    Bad("10**20", 10**20),
    Bad("-1", -1),
    Bad("1e308", 1e308),
    Bad("NaN", Token("NaN")),
    Bad("1e999", Token("1e999")),
    Bad("2**63", 2**63),
)
FORM_NUMBERS = (Bad("10**20", str(10**20)), Bad("-1", "-1"), Bad("1e308", "1e308"), Bad("NaN", "NaN"))
WRONG_TYPES = {
    "null": Bad("null", None), "boolean": Bad("true", True), "array": Bad("list", ["x"]),
    "object": Bad("object", {"x": 1}), "string": Bad("string", "not-a-number"), "integer": Bad("number", 12345),
}
SELECT = (
    Bad("raw bytes ED A0 80", Raw(b"\xed\xa0\x80"), refuse=True),
    Bad("NUL", "1\x00", refuse=True),
    Bad("not an option", "zz-not-an-option"),
    Bad("10**20", str(10**20)),
)


def alias_bomb(levels: int = 6) -> str:
    """Billion laughs, kept to ``levels`` (9**6 strings) so an unfixed loader cannot eat the machine."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    lines.append(f"bomb: *l{levels - 1}")
    return "\n".join(lines) + "\n"


def split_front_matter(text: str) -> tuple[str, str]:
    """(front matter without the fences, body) of a ``---`` document."""
    _, front, body = text.split("---\n", 2)
    return front, body


def set_front(front: str, key: str, value: str) -> str:
    pattern = re.compile(rf"^{re.escape(key)}:.*$", re.M)
    line = f"{key}: {value}"
    return pattern.sub(line, front, count=1) if pattern.search(front) else front + line + "\n"


def documents(valid: str) -> tuple[Bad, ...]:
    """Broken and hostile versions of a valid Markdown document with YAML front matter."""
    front, body = split_front_matter(valid)
    doc = lambda f=front, b=body: f"---\n{f}---\n{b}"  # noqa: E731
    out = [
        Bad("front matter: YAML alias bomb", doc(front + alias_bomb()), refuse=True),
        Bad("front matter: title is an alias", doc(set_front("x: &x 标题\n" + front, "title", "*x")), refuse=True),
        Bad("front matter: 5000 nested [", doc(front + "deep: " + "[" * 5000 + "]" * 5000 + "\n"), refuse=True),
        Bad("front matter: python tag", doc(front + "evil: !!python/object/apply:os.system ['true']\n"),
            refuse=True),
        Bad("front matter not closed", f"---\n{front}{body}", refuse=True),
        Bad("front matter a list", doc("- a\n- b\n"), refuse=True),
        Bad("empty document", "", refuse=True),
        Bad("body: nested list, 700 levels", doc(b=NESTED), refuse=True),
        Bad("body: bracket bomb", doc(b=BRACKETS)),
        Bad("body: link bomb", doc(b=LINKS)),
        Bad("body: 60000 headings", doc(b="# h\n" * 60_000)),
        Bad("body: 300 KB table", doc(b="|a|b|\n|---|---|\n" + "|x|y|\n" * 50_000)),
    ]
    for far in FAR_DATES:
        out.append(Bad(f"front matter: effective {far}", doc(set_front(front, "effective", far)), refuse=True))
    return tuple(out)


_SAMPLE_DOC = "---\ncode: QP-CS-999\ntitle: 样例\ndepartments: [CS]\nversion: A/0\neffective: 2026-03-01\n---\n\n## 1.0 目的\n"
DOCUMENT_LABELS = frozenset(b.label for b in documents(_SAMPLE_DOC))


def _xlsx(sheet_xml: str, shared: bytes | None = None, shared_raw: int | None = None) -> bytes:
    """A small workbook written by hand (so its declarations can lie)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
            '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
            'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.'
            'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '</Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        z.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship '
            'Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'))
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_raw is not None:
            with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
                member.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                             b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>')
                chunk = b"a" * (1 << 20)
                for _ in range(shared_raw // len(chunk)):
                    member.write(chunk)
                member.write(b"</t></si></sst>")
        elif shared is not None:
            z.writestr("xl/sharedStrings.xml", shared)
    return buf.getvalue()


def _sheet(dimension: str, rows: int) -> str:
    cells = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>x</t></is></c></row>' for r in range(1, rows + 1))
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{cells}</sheetData></worksheet>')


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def uploads(accept: str, huge_bytes: int) -> tuple[Upload, ...]:
    """Malformed and hostile files for a file input (``accept`` picks the document kinds)."""
    out = [
        Upload("empty file", "empty.bin", b""),
        Upload("file name with a control character", "a\x07b.txt", b"x", "text/plain", refuse=True),
        Upload("file name with raw bytes ED A0 80", "a\udced\udca0\udc80b.txt", b"x", "text/plain", refuse=True),
        Upload("non-UTF-8 text", "latin1.md", "---\ntitle: caf\xe9\n---\n\xff\xfe\xfa bad\n".encode("latin-1"),
               "text/markdown", refuse=True),
        Upload("UTF-16 text", "utf16.md", "---\ntitle: x\n---\nbody\n".encode("utf-16"), "text/markdown",
               refuse=True),
        Upload(f"file larger than the request limit ({huge_bytes >> 20} MB)", "huge.bin", b"0" * huge_bytes),
        Upload("random bytes as .xlsx", "random.xlsx", os.urandom(2048), XLSX, refuse=True),
        Upload("zip that is not a workbook", "notbook.xlsx", _zip_of({"a.txt": b"hello"}), XLSX, refuse=True),
        Upload("xlsx declaring A1:XFD1048576 (2000 rows)", "dimension.xlsx", _xlsx(_sheet("A1:XFD1048576", 2000)),
               XLSX),
        Upload("xlsx zip bomb (64 MB sharedStrings)", "bomb.xlsx", _xlsx(_sheet("A1:A1", 1), shared_raw=64 << 20),
               XLSX, refuse=True),
    ]
    if "md" in accept or "markdown" in accept:
        out += [Upload(f"file: {b.label}", "doc.md", b.value.encode(), "text/markdown", refuse=b.refuse)
                for b in documents(_SAMPLE_DOC) if b.label.startswith(("front matter: YAML", "body: nested"))]
    return tuple(out)


def _zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()



# --------------------------------------------------------------------------------------------
# The probe


class _Timeout(BaseException):
    """Raised in the middle of a request that runs past the hard limit (not an Exception: the app's
    own handlers must not turn it into a 500 page)."""


@contextmanager
def hard_limit(seconds: float):
    def expire(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@dataclass
class Failure:
    area: str
    where: str
    field: str
    value: str
    status: object
    problem: str

    def line(self) -> str:
        return f"{self.where} [{self.field}] {self.value} → {self.status}: {self.problem}"


MESSAGE_RE = re.compile(
    r'class="(?:error|error-page|error-list|flash flash-error|flash flash-warning|pub-preview-errors)[" ]|role="alert"')
#: A message flashed for this request (inside base.html's flashes box; voided records carry static warnings).
FLASH_ERROR_RE = re.compile(r'<div class="flashes"[^>]*>\s*(?:<div class="flash flash-\w+">[^<]*</div>)*?'
                            r'<div class="flash flash-(?:error|warning)">')
AREAS = {"procedures": "procedures", "workflow": "procedures", "satisfaction": "satisfaction",
         "actions": "actions", "accounts": "accounts/admin", "audit": "audit"}


def describe(value) -> str:
    if isinstance(value, Raw):
        return f"bytes {value.data[:20]!r}"
    if isinstance(value, Token):
        return value.text
    text = repr(value)
    return text if len(text) <= 50 else f"{text[:40]}… ({len(text)} chars)"


class Probe:
    """Sends requests and records every answer that breaks the rules (see the module doc)."""

    SLOW = 5.0  # seconds: an answer slower than this is a failure (a CPU bomb shows up)
    HARD = 15.0  # seconds: the request is interrupted

    def __init__(self, app, *, allowed_writes: dict[str, re.Pattern] | None = None, settle=None):
        """``allowed_writes``: endpoint → tables a refusal may write (a failed login is counted).
        ``settle()``: run after a write was accepted, before the next snapshot, so work the app does
        on the next request anyway (mirroring the git store) is not blamed on a refused request."""
        from webapp.extensions import db

        self.app = app
        self.db = db
        self.failures: list[Failure] = []
        self.sent = 0
        self.time_by: dict[str, list] = defaultdict(lambda: [0.0, 0])  # endpoint → [seconds, requests]
        self.allowed_writes = allowed_writes or {}
        self._log = _Records()
        app.logger.addHandler(self._log)
        app.config["PROPAGATE_EXCEPTIONS"] = False
        self.git_dir = app.config["REPO_STORE_PATH"]
        self.adapter = app.url_map.bind("localhost")
        with app.app_context():
            preparer = db.engine.dialect.identifier_preparer
            self.tables = [t.name for t in db.metadata.sorted_tables]
            self._count = sa.text(" UNION ALL ".join(
                f"SELECT '{t}' AS t, COUNT(*) AS n FROM {preparer.quote(t)}" for t in self.tables))
        self.settle = settle
        self._last = None

    # -- state
    def snapshot(self) -> tuple[dict, dict]:
        with self.app.app_context():
            with self.db.engine.connect() as conn:
                counts = dict(conn.execute(self._count).all())
        return counts, self._refs()

    def _refs(self) -> dict:
        refs = {}
        for root, _dirs, files in os.walk(os.path.join(self.git_dir, "refs")):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as fh:
                    refs[os.path.relpath(path, self.git_dir)] = fh.read()
        for name in ("packed-refs", "HEAD"):
            try:
                with open(os.path.join(self.git_dir, name), "rb") as fh:
                    refs[name] = fh.read()
            except FileNotFoundError:
                pass
        return refs

    @staticmethod
    def changes(before, after, allowed: re.Pattern | None = None) -> str:
        out = []
        for table, n in after[0].items():
            if n != before[0].get(table) and not (allowed and allowed.search(table)):
                out.append(f"{table} {before[0].get(table)}→{n}")
        for ref in sorted(set(before[1]) | set(after[1])):
            if before[1].get(ref) != after[1].get(ref):
                out.append(f"git {ref} moved")
        return ", ".join(out)

    def area(self, url: str, method: str = "POST") -> tuple[str, str]:
        """(owning area, endpoint) of a URL: the package its view lives in."""
        path = urlsplit(url).path
        for verb in (method, "GET"):
            try:
                endpoint, _args = self.adapter.match(path, method=verb)
                break
            except Exception:  # noqa: BLE001, S112 — a 404/405 route is still reported
                continue
        else:
            return "webapp core", "?"
        module = self.app.view_functions[endpoint].__module__.split(".")[0]
        return AREAS.get(module, "webapp core"), endpoint

    def traceback_of(self, mark: int) -> str:
        for record in reversed(self._log.records[mark:]):
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                frames = [f for f in traceback.extract_tb(record.exc_info[2]) if "/.venv/" not in f.filename
                          and "site-packages" not in f.filename][-3:]
                where = " < ".join(f"{os.path.relpath(f.filename)}:{f.lineno} {f.name}" for f in reversed(frames))
                return f"{type(exc).__name__}: {str(exc)[:160]} at {where}"
        if len(self._log.records) > mark:
            return self._log.records[-1].getMessage()[:200]
        return "(nothing logged)"

    def fail(self, url, field_name, value, status, problem, method="POST") -> None:
        area, endpoint = self.area(url, method)
        self.failures.append(Failure(area, f"{endpoint} {urlsplit(url).path}", field_name, value, status, problem))

    # -- requests
    def send(self, http, method: str, url: str, *, field_name: str, bad: Bad | Upload | None, **kw):
        """One request through ``http`` (a Werkzeug test client); returns the response or None."""
        if self._last is None and self.settle is not None:
            self.settle()
        before = self._last or self.snapshot()
        mark = len(self._log.records)
        label = bad.label if bad is not None else "valid"
        self.sent += 1
        start = perf_counter()
        try:
            with hard_limit(self.HARD):
                response = http.open(url, method=method, **kw)
        except _Timeout:
            self._last = None
            self.fail(url, field_name, label, "—", f"no answer after {self.HARD:.0f} s (interrupted)", method)
            return None
        elapsed = perf_counter() - start
        after = self.snapshot()
        self._last = after
        status = response.status_code
        endpoint = self.area(url, method)[1]
        allowed = self.allowed_writes.get(endpoint)
        spent = self.time_by[endpoint]
        spent[0] += perf_counter() - start
        spent[1] += 1
        fail = lambda status, problem: self.fail(url, field_name, label, status, problem, method)  # noqa: E731
        redirected = 300 <= status < 400 and self.refused_by_redirect(http, response)
        if redirected:
            status = 400  # a redirect to a page that says why: judged as the refusal it is
        if status >= 500:
            wrote = self.changes(before, after, allowed)
            fail(status, self.traceback_of(mark) + (f" (wrote: {wrote})" if wrote else ""))
        elif elapsed > self.SLOW:
            fail(status, f"took {elapsed:.1f} s")
        if 400 <= status < 500:
            if not redirected and not self.has_message(response):
                fail(status, f"4xx without a message: {self.gist(response)}")
            wrote = self.changes(before, after, allowed)
            if wrote:
                fail(status, f"refused but half written: {wrote}")
        elif status < 400 and bad is not None and bad.refuse and not self.has_message(response, errors_only=True):
            fail(status, "accepted, must be refused")
        if status < 400:
            self._last = None  # something may have been written: settle before the next snapshot
        return response

    def check_get(self, http, url: str, why: str, headers=None) -> None:
        """A page that must still work (after a write was accepted): no 5xx, not slow."""
        mark = len(self._log.records)
        start = perf_counter()
        try:
            with hard_limit(self.HARD):
                response = http.get(url, headers=headers or {})
        except _Timeout:
            self.fail(url, "GET", why, "—", f"no answer after {self.HARD:.0f} s (interrupted)", "GET")
            return
        elapsed = perf_counter() - start
        if response.status_code >= 500:
            self.fail(url, "GET", why, response.status_code, self.traceback_of(mark), "GET")
        elif elapsed > self.SLOW:
            self.fail(url, "GET", why, response.status_code, f"took {elapsed:.1f} s", "GET")

    @staticmethod
    def refused_by_redirect(http, response) -> bool:
        """A form refused with a flashed error and a redirect (to the record's page, say)."""
        location = response.headers.get("Location", "")
        if not location or urlsplit(location).path.startswith("/login"):
            return False
        page = http.get(location)
        return page.mimetype == "text/html" and bool(FLASH_ERROR_RE.search(page.get_data(as_text=True)))

    @staticmethod
    def gist(response) -> str:
        """The first words of an answer's main content."""
        text = response.get_data(as_text=True)
        text = text[text.find("<main"):] if "<main" in text else text
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()[:120]

    @staticmethod
    def has_message(response, errors_only: bool = False) -> bool:
        """A 4xx explains itself; with ``errors_only``, a 2xx that lists errors (a preview) refused the input."""
        if response.is_json:
            body = response.get_json(silent=True)
            if not isinstance(body, dict):
                return False
            return bool(body.get("errors") or body.get("error")) if errors_only else bool(
                body.get("message") or body.get("errors"))
        if response.mimetype == "text/html" and not (errors_only and 300 <= response.status_code < 400):
            return bool(MESSAGE_RE.search(response.get_data(as_text=True)))
        return False

    def report(self) -> str:
        """One line per (endpoint, status, problem), with the fields and values that caused it."""
        grouped: dict = defaultdict(lambda: defaultdict(list))
        for f in self.failures:
            grouped[f.area][(f.where, f.status, f.problem)].append(f"{f.field}={f.value}")
        lines = [f"{len(self.failures)} failures in {self.sent} requests:"]
        for area in sorted(grouped):
            lines.append(f"== {area}")
            for (where, status, problem), cases in grouped[area].items():
                shown = "; ".join(cases[:6]) + (f"; … {len(cases)} in all" if len(cases) > 6 else "")
                lines.append(f"  {where} → {status}: {problem}\n      [{shown}]")
        return "\n".join(lines)

    def timings(self, top: int | None = None) -> list[str]:
        slowest = sorted(self.time_by.items(), key=lambda kv: -kv[1][0])[:top]
        return [f"{t:6.1f} s {n:5d} requests  {endpoint}" for endpoint, (t, n) in slowest]


# --------------------------------------------------------------------------------------------
# Encoding


def encode_json(body) -> bytes:
    """JSON with :class:`Raw` bytes inside strings and :class:`Token` text put in as they are."""
    holes: dict[str, bytes] = {}

    def swap(value):
        if isinstance(value, Raw | Token):
            key = f"@@hole{len(holes)}@@"
            holes[key] = (b'"' + value.data + b'"') if isinstance(value, Raw) else value.text.encode()
            return key
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    data = json.dumps(swap(body)).encode()
    for key, raw in holes.items():
        data = data.replace(f'"{key}"'.encode(), raw)
    return data


def _bytes(value) -> bytes:
    if isinstance(value, Raw):
        return value.data
    return str(value).encode("utf-8", "surrogatepass")


def _utf8(value) -> bool:
    """False for bytes or text that UTF-8 cannot carry (a lone surrogate)."""
    try:
        if isinstance(value, Raw):
            value.data.decode("utf-8")
        else:
            str(value).encode("utf-8")
    except UnicodeError:
        return False
    return True


def encode_form(pairs, files=()) -> tuple[bytes, str]:
    """(body, content type): urlencoded, or multipart when there are files. Values may be bytes."""
    if not files:
        body = "&".join(f"{quote_from_bytes(_bytes(k))}={quote_from_bytes(_bytes(v))}" for k, v in pairs)
        return body.encode(), "application/x-www-form-urlencoded"
    boundary = "----corpus" + os.urandom(8).hex()
    out = io.BytesIO()
    for name, value in pairs:
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode())
        out.write(_bytes(value) + b"\r\n")
    for name, upload in files:
        filename = upload.filename.encode("utf-8", "surrogateescape")
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"".encode()
                  + filename + f"\"\r\nContent-Type: {upload.content_type}\r\n\r\n".encode())
        out.write(upload.content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def round_robin(groups: list[list], limit: int) -> list:
    """The first item of each group, then the second of each, … — at most ``limit`` items."""
    out = []
    for row in itertools.zip_longest(*groups):
        out += [item for item in row if item is not None]
    return out[:limit]


# --------------------------------------------------------------------------------------------
# The API walker

def slot(name: str) -> str:
    return "{" + name + "}"


IDENT_RE = re.compile(r"\(([^()]*)\)")
NAME_RE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b(?:note|reason|effective)\b")
DATEISH_RE = re.compile(r"(_on|_at|date|effective)$")


@dataclass
class Operation:
    method: str
    path: str  # the OpenAPI path (``/complaints/{id}``)
    op: dict
    params: list[dict]
    schema: dict
    path_values: dict = field(default_factory=dict)
    upload: str = ""  # a multipart upload: the name of its file field
    baseline: tuple = ()  # the properties a valid body has
    share: int = 1  # operations made from one by its enum path parameters (they share the variant budget)
    detail: str = ""  # the API path of the record the path names


class ApiWalker:
    """Every write operation of the OpenAPI document, with a valid body and then bad ones.

    ``subject`` is the record the path names (its JSON from the API, refetched after every accepted
    write): a property of the same name (or named by ``aliases``) in it is used first. Then
    ``hints`` maps a property name to a valid value, or to a callable ``(walker, schema, subject,
    ctx) -> value`` (``NotImplemented`` falls through; ``ctx["op"]`` is the operation) for values a
    schema cannot give (a project code, a login). Last come values made from the schema.
    """

    PREFIX = "/api/v1"
    MAX_VARIANTS = 130  # per operation, bodies with one property replaced (round robin over properties)
    LAST = re.compile(r"/(void|withdrawal|delete|cancel)$")

    def __init__(self, probe: Probe, http, token: str, *, hints: dict, aliases: dict | None = None,
                 canaries: tuple[str, ...] = ()):
        self.probe = probe
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.hints = hints
        self.aliases = aliases or {}
        self.canaries = canaries
        self.spec: dict = {}
        self.notes: list[str] = []
        self.accepted: list[str] = []

    def get(self, path: str):
        response = self.http.get(self.PREFIX + path, headers=self.headers)
        return response.get_json(silent=True) if response.status_code == 200 else None

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.spec["components"]["schemas"][name]
        if "allOf" in schema:
            merged = {"type": "object", "properties": {}, "required": []}
            for part in schema["allOf"]:
                part = self.resolve(part)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
            return merged
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.resolve(schema[key][0])
        return schema

    def operations(self) -> list[Operation]:
        self.spec = self.get("/openapi.json")
        ops = []
        for path, item in self.spec["paths"].items():
            for method in ("post", "put", "patch", "delete"):
                if method not in item:
                    continue
                op = item[method]
                params = [p for p in item.get("parameters", []) + op.get("parameters", []) if p.get("in") == "path"]
                declared = {p["name"] for p in params}
                for name in re.findall(r"{(\w+)}", path):
                    if name not in declared:
                        self.notes.append(f"{method.upper()} {path}: path parameter {name} is not declared")
                        params.append({"name": name, "schema": {"type": "integer" if name.endswith("id")
                                                                 else "string"}})
                content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                multipart = self.resolve(op.get("requestBody", {}).get("content", {}).get(
                    "multipart/form-data", {}).get("schema", {}))
                upload = next((n for n, p in multipart.get("properties", {}).items() if p.get("format") == "binary"), "")
                schema = self.resolve(content.get("schema", {"type": "object"}))
                if schema.get("type") == "object" and not schema.get("properties"):
                    schema = self._from_description(method, path, op, schema)
                enums = [p for p in params if p["schema"].get("enum")]
                choices = list(itertools.product(*[p["schema"]["enum"] for p in enums])) if enums else [()]
                for values in choices:
                    ops.append(Operation(method.upper(), path, op, params, schema,
                                         dict(zip([p["name"] for p in enums], values, strict=True)),
                                         upload=upload, share=len(choices)))
        ops.sort(key=lambda o: bool(self.LAST.search(o.path)))
        return ops

    def _from_description(self, method, path, op, schema) -> dict:
        """A body schema of just ``object``: take the field names the description lists in brackets."""
        names = []
        for group in IDENT_RE.findall(op.get("description", "")):
            names += [n for n in NAME_RE.findall(group) if n not in names]
        if names:
            self.notes.append(f"{method.upper()} {path}: body schema has no properties; "
                              f"used the description's names {names}")
        props = {n: ({"type": "string", "format": "date"} if DATEISH_RE.search(n) else {"type": "string"})
                 for n in names}
        return {"type": "object", "properties": props, "required": []}

    # -- subjects: the records a path names
    def subject_for(self, op: Operation) -> tuple[str, dict | None]:
        """The concrete URL and the JSON of the record it names (None when the path names none)."""
        path, subject = op.path, None
        for param in op.params:
            name = param["name"]
            if name in op.path_values:
                path = path.replace(slot(name), str(op.path_values[name]))
                continue
            collection = path.split(slot(name))[0].rstrip("/")
            listing = self.get(collection)
            items = listing.get("items", []) if isinstance(listing, dict) else (listing or [])
            if not items:
                self.notes.append(f"{op.method} {op.path}: no {collection} to name in the path")
                return "", None
            if op.path_values and not any("allowed_transitions" in i or "allowed_actions" in i for i in items):
                details = [self.get(f"{collection}/{i.get(name, i.get('id'))}") for i in items[:20]]
                items = [{**i, **d} for i, d in zip(items, details, strict=False) if isinstance(d, dict)] or items
            subject = max(items, key=lambda item: self._score(item, op))
            value = subject.get(name, subject.get("id") if name == "id" or name.endswith("_id") else None)
            path = path.replace(slot(name), str(value))
            op.detail = collection + "/" + str(value)
            detail = self.get(op.detail)
            if isinstance(detail, dict):
                subject = {**subject, **detail}
        return path, subject

    @staticmethod
    def _score(item: dict, op: Operation) -> int:
        score = -10 if item.get("voided") else 0
        score -= 5 if item.get("status") in ("closed", "withdrawn") else 0
        allowed = item.get("allowed_transitions") or item.get("allowed_actions") or []
        score += 3 * sum(1 for v in op.path_values.values() if v in allowed)
        enums = [p.get("enum", []) for p in op.schema.get("properties", {}).values()]
        score += sum(1 for values in enums if set(values) & set(allowed))
        return score

    def valid_value(self, name: str, schema: dict, subject: dict | None, ctx: dict):
        source = self.aliases.get(name, name)
        if subject is not None and source != "id" and subject.get(source) not in (None, "") \
                and not isinstance(subject[source], dict):
            return subject[source]
        schema = self.resolve(schema)
        if name in self.hints:
            hint = self.hints[name]
            value = hint(self, schema, subject, ctx) if callable(hint) else hint
            if value is not NotImplemented:
                wants_list = schema.get("type") == "array"
                return [value] if wants_list and not isinstance(value, list) else value
        schema = self.resolve(schema)
        types = schema.get("type", "string")
        types = types if isinstance(types, list) else [types]
        if schema.get("enum"):
            allowed = (subject or {}).get("allowed_actions") or (subject or {}).get("allowed_transitions") or []
            return next((v for v in schema["enum"] if v in allowed), schema["enum"][0])
        if schema.get("format") == "date" or (types == ["string"] and DATEISH_RE.search(name)):
            return date.today().isoformat()
        if schema.get("format") == "date-time":
            return (datetime.now() - timedelta(hours=1)).replace(microsecond=0).isoformat()
        if "integer" in types or "number" in types:
            low, high = schema.get("minimum", 1), schema.get("maximum", 100)
            return max(low, min(high, 1))
        if "boolean" in types:
            return False
        if "array" in types:
            return []
        if "object" in types:
            return {}
        return "Checked by the bad-input corpus"[: schema.get("maxLength", 200)]

    def body(self, op: Operation, subject, ctx) -> dict:
        return {name: self.valid_value(name, self.prop(op, name), subject, ctx) for name in op.baseline}

    @staticmethod
    def prop(op: Operation, name: str) -> dict:
        # "version" may be the optimistic lock of the record even where the schema forgets it
        return op.schema.get("properties", {}).get(name, {"type": "integer"})

    def known(self, name: str, subject) -> bool:
        """A valid value comes from the record or a hint, not just from the schema."""
        source = self.aliases.get(name, name)
        if subject is not None and subject.get(source) not in (None, "") and not isinstance(subject[source], dict):
            return True
        return name in self.hints and self.hints[name] is not NotImplemented

    def baselines(self, op: Operation, subject) -> list[tuple[str, ...]]:
        """Candidate property sets for a valid body: the required ones, then with what is known besides."""
        props = dict(op.schema.get("properties", {}))
        if subject and isinstance(subject.get("version"), int):
            props.setdefault("version", {"type": "integer"})
        required = tuple(n for n in op.schema.get("required", []) if n in props)
        known = required + tuple(n for n in props if n not in required and self.known(n, subject))
        no_ids = tuple(n for n in known if not (n.endswith("_id") and n[:-3] in known))
        no_codes = tuple(n for n in known if f"{n}_id" not in known)
        every = required + tuple(n for n in props if n not in required)
        every_no_ids = tuple(n for n in every if not (n.endswith("_id") and n[:-3] in every))
        out = []
        for names in (required, no_ids, no_codes, known, every_no_ids, every):
            if names not in out:
                out.append(names)
        return out

    def variants(self, op: Operation, subject, ctx) -> list[tuple[str, Bad]]:
        groups = []
        for name, schema in op.schema.get("properties", {}).items():
            schema = self.resolve(schema)
            types = schema.get("type", "string")
            types = set(types if isinstance(types, list) else [types])
            valid = self.valid_value(name, schema, subject, ctx)
            group: list[Bad] = []
            if schema.get("format") in ("date", "date-time") or DATEISH_RE.search(name):
                group += dates(schema.get("format", "date"))
            if isinstance(valid, str) and valid.startswith("---\n"):
                group += documents(valid)
            if "string" in types:
                group += TEXT
            if types & {"integer", "number"}:
                group += NUMBERS
            if "array" in types:
                group += [Bad(f"[{b.label}]", [b.value], b.refuse) for b in TEXT[:3]]
            if "object" in types:
                group += [Bad("key with a surrogate", {"a\ud800": 1}, refuse=True),
                          Bad("value NUL", {"x": "a\x00"}, refuse=True)]
            group += [bad for kind, bad in WRONG_TYPES.items() if kind not in types
                      and not (kind == "integer" and "number" in types)]
            groups.append([(name, bad) for bad in group])
        out = round_robin(groups, self.MAX_VARIANTS // op.share)
        # Documents are what the procedure checks exist for: keep every one of them.
        out += [item for group in groups for item in group if item not in out and item[1].label in DOCUMENT_LABELS]
        return out

    def run(self) -> None:
        for op in self.operations():
            try:
                self.run_operation(op)
            except Exception as exc:  # noqa: BLE001 — the walker itself tripped (the app gave nonsense): go on
                self.probe.fail(self.PREFIX + op.path, "(walker)", "-", "—",
                                f"could not build the next request: {type(exc).__name__}: {exc}")

    #: What a multipart upload operation is sent first: a small PDF, which it should take.
    VALID_UPLOAD = Upload("valid PDF", "bad-input corpus.pdf", b"%PDF-1.4\n" + b"0" * 512 + b"\n%%EOF\n",
                          "application/pdf")

    def run_upload(self, op: Operation, url: str) -> None:
        """A multipart upload (an attachment): a valid file, then every malformed and hostile one, then a
        valid file with a field the operation does not declare."""
        full = self.PREFIX + url
        big = self.probe.app.config.get("MAX_CONTENT_LENGTH") or 16 << 20
        cases = [(self.VALID_UPLOAD, None, [])] + [(u, u, []) for u in uploads("", big + (1 << 20))] + [
            (self.VALID_UPLOAD, Bad("unknown field beside the file", None, refuse=True), [("zz_unknown_field", "1")])]
        for upload, bad, pairs in cases:
            data, ctype = encode_form(pairs, [(op.upload, upload)])
            response = self.probe.send(self.http, op.method, full, field_name=op.upload, bad=bad, data=data,
                                       headers={**self.headers, "Content-Type": ctype})
            if response is not None and response.status_code < 300 and bad is None:
                self.accepted.append(f"{op.method} {full}")

    def run_operation(self, op: Operation) -> None:
        ctx: dict = {"op": op}
        url, subject = self.subject_for(op)
        if not url:
            return
        if op.upload:
            self.run_upload(op, url)
        full = self.PREFIX + url
        where = f"{op.method} {full}"
        accepted = 0

        def send(body_bytes: bytes, field_name: str, bad, content_type="application/json", url=full):
            response = self.probe.send(self.http, op.method, url, field_name=field_name, bad=bad,
                                       data=body_bytes, headers={**self.headers, "Content-Type": content_type})
            if response is not None and response.status_code < 300:
                payload = response.get_json(silent=True)
                if isinstance(payload, dict) and isinstance(payload.get("url"), str):
                    self.probe.check_get(self.http, payload["url"], f"after {op.method} {url} {field_name}",
                                         self.headers)
            return response

        # A valid body: try the candidates, learning from each refusal's field errors (a field that is
        # refused goes, a field that is missing comes).
        refusals, tried = [], set()
        queue = self.baselines(op, subject)
        props = set(op.schema.get("properties", {})) | {"version"}
        while queue and len(tried) < 8:
            names = queue.pop(0)
            if names in tried:
                continue
            tried.add(names)
            op.baseline = names
            ctx = {"op": op}
            response = send(encode_json(self.body(op, subject, ctx)), "(valid body)", None)
            if response is not None and response.status_code < 400:
                accepted += 1
                self.accepted.append(where)
                break
            if response is None:
                break
            answer = response.get_json(silent=True) or {}
            refusals.append(f"{list(names)}: {response.status_code} {answer.get('message', '')}")
            errors = answer.get("errors") if isinstance(answer.get("errors"), dict) else {}
            if errors:
                queue.insert(0, tuple(n for n in names if n not in errors)
                             + tuple(n for n in errors if n not in names and n in props))
        else:
            self.notes.append(f"{where}: no valid body was accepted ({'; '.join(refusals)})")
        for name, bad in self.variants(op, subject, ctx):
            if accepted and op.detail:  # the record moved on: fresh version, revision, text
                detail = self.get(op.detail)
                subject = {**subject, **detail} if isinstance(detail, dict) else subject
            ctx = {"op": op}
            body = self.body(op, subject, ctx)
            if bad.label in DOCUMENT_LABELS:  # built again from today's valid text (fresh code, base)
                valid = self.valid_value(name, op.schema["properties"][name], subject, ctx)
                bad = {b.label: b for b in documents(valid)}[bad.label]
            body[name] = bad.value
            response = send(encode_json(body), name, bad)
            if response is not None and response.status_code < 400:
                accepted += 1
        # Broken bodies and path parameters.
        body = encode_json(self.body(op, subject, ctx))
        for label, data, ctype, refuse in (
            ("unknown property", encode_json({**self.body(op, subject, ctx), "zz_unknown_field": 1}),
             "application/json", True),
            ("not JSON", b"{", "application/json", True),
            ("JSON array", b"[]", "application/json", True),
            ("JSON null", b"null", "application/json", True),
            ("empty body", b"", "application/json", True),
            ("nested 20000 deep", b"[" * 20_000 + b"]" * 20_000, "application/json", True),
            ("object nested 40 deep", b'{"a":' * 40 + b"1" + b"}" * 40, "application/json", True),
            ("raw bytes ED A0 80 in a key", b'{"\xed\xa0\x80": 1}', "application/json", True),
            ("text/plain body", body, "text/plain", False),
        ):
            send(data, "(body)", Bad(label, None, refuse), content_type=ctype)
        for param in op.params:
            if param["name"] in op.path_values:
                continue
            for label, value in (("0", "0"), ("-1", "-1"), ("10**20", str(10**20)), ("%ED%A0%80", "%ED%A0%80"),
                                 ("%00", "%00"), ("..%2F..", "..%2F..")):
                bad_url = self.PREFIX + op.path.replace(slot(param["name"]), value)
                for other in op.params:
                    if other["name"] in op.path_values:
                        bad_url = bad_url.replace(slot(other["name"]), str(op.path_values[other["name"]]))
                if "{" in bad_url:
                    continue
                send(body, f"path {param['name']}", Bad(label, None, True), url=bad_url)
        if accepted:
            for canary in self.canaries:
                self.probe.check_get(self.http, canary, f"after writes to {where}", self.headers)


# --------------------------------------------------------------------------------------------
# The form walker


@dataclass
class Field:
    name: str
    kind: str  # input type, "textarea" or "select"
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)
    accept: str = ""
    multiple: bool = False
    selected: list[str] = field(default_factory=list)  # a multiple select's chosen values


@dataclass
class Form:
    page: str
    action: str
    enctype: str
    fields: list[Field]
    form_id: str = ""


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.urls: set[str] = set()  # every attribute value that looks like a site path
        self._form: Form | None = None
        self._orphans: list[tuple[str, Field]] = []  # inputs with form="id" outside the form
        self._textarea: Field | None = None
        self._select: Field | None = None
        self._selected = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        for value in a.values():
            if value.startswith("/") and not value.startswith("//"):
                self.urls.add(value)
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form("", a.get("action", ""), a.get("enctype", ""), [], a.get("id", ""))
            if a.get("method", "get").lower() == "post":
                self.forms.append(self._form)
        elif tag in ("input", "button", "textarea", "select") and a.get("name"):
            kind = a.get("type", "submit" if tag == "button" else "text").lower() if tag in ("input", "button") \
                else tag
            f = Field(a["name"], kind, a.get("value", ""), "checked" in a, accept=a.get("accept", ""),
                      multiple="multiple" in a)
            if tag == "textarea":
                self._textarea = f
            elif tag == "select":
                self._select, self._selected = f, False
            if "disabled" in a:
                return
            if a.get("form"):
                self._orphans.append((a["form"], f))
            elif self._form is not None:
                self._form.fields.append(f)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a and self._select.multiple:
                self._select.selected.append(value)
            elif self._select.multiple:
                pass
            elif "selected" in a and not self._selected:
                self._select.value, self._selected = value, True
            elif not self._select.options[:-1] and not self._selected:
                self._select.value = value

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            if self._textarea is not None:  # HTML drops the first line break
                self._textarea.value = re.sub(r"^\r?\n", "", self._textarea.value)
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None

    def close(self):
        super().close()
        by_id = {f.form_id: f for f in self.forms if f.form_id}
        for form_id, f in self._orphans:
            if form_id in by_id:
                by_id[form_id].fields.append(f)


TEXTISH = {"text", "textarea", "search", "email", "tel", "url", "password", "hidden", "date", "datetime-local",
           "number", "month", "time"}


class FormWalker:
    """Crawl the pages reachable from the start pages; submit every POST form with bad values.

    ``clients`` maps a name to ``(conftest Client, login)``: each one crawls (a page shows the
    forms its user may send) and sends the forms it found. ``skip(endpoint, view_args)`` keeps
    the crawl away from pages (the signed-in user's own account, say).
    """

    PER_ENDPOINT = 4  # pages per endpoint that show no form not seen before (records in other states do)
    MAX_PER_ENDPOINT = 30
    MAX_PAGES = 400
    MAX_VARIANTS = 36  # per form, field values (round robin over fields); documents and uploads come on top

    def __init__(self, probe: Probe, clients: dict, *, relogin, skip=None, canaries: tuple[str, ...] = ()):
        self.probe = probe
        self.clients = clients
        self.relogin = relogin
        self.skip = skip or (lambda endpoint, args: False)
        self.canaries = canaries
        self.app = probe.app
        self.adapter = probe.adapter
        self.notes: list[str] = []
        self.covered: set[str] = set()
        self.seen_args: dict[str, set] = defaultdict(set)
        self.refs: dict[str, tuple[str, str]] = {}  # POST endpoint → (page, client name) that names it
        self.pages = 0

    def match(self, url: str, method: str = "GET"):
        try:
            return self.adapter.match(urlsplit(url).path, method=method)
        except Exception:  # noqa: BLE001 — not a route of this app (or not for this method)
            return None, None

    def crawl(self, name: str, client, start: list[str]) -> dict:
        forms: dict = {}
        counts: dict[str, int] = defaultdict(int)  # pages that showed nothing new
        visits: dict[str, int] = defaultdict(int)
        queue, later = deque(start), deque()
        seen = set()
        while (queue or later) and self.pages < self.MAX_PAGES:
            url = queue.popleft() if queue else later.popleft()
            if url in seen:
                continue
            seen.add(url)
            endpoint, args = self.match(url)
            if endpoint is None or counts[endpoint] >= self.PER_ENDPOINT or visits[endpoint] >= self.MAX_PER_ENDPOINT \
                    or self.skip(endpoint, args) \
                    or endpoint == "static" or url.startswith(("/api/", "/static/")):
                continue
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            visits[endpoint] += 1
            new_forms = False
            self.pages += 1
            for key, value in args.items():
                self.seen_args[key].add(value)
            parser = _PageParser()
            parser.feed(response.get_data(as_text=True))
            parser.close()
            for form in parser.forms:
                form.page = url
                form.action = urljoin(url, form.action) if form.action else url
                for key, value in (self.match(form.action, "POST")[1] or {}).items():
                    self.seen_args[key].add(value)
                try:
                    rule, post_args = self.adapter.match(urlsplit(form.action).path, method="POST", return_rule=True)
                except Exception:  # noqa: BLE001, S112 — a form sent elsewhere
                    continue
                # One form per kind: the same form for another record (an id, a code) adds nothing.
                kind = tuple(sorted((k, v) for k, v in post_args.items() if hasattr(rule._converters.get(k), "items")))
                key = (rule.endpoint, rule.rule, kind, tuple(sorted(f.name for f in form.fields)))
                if key not in forms:
                    forms[key] = (name, form)
                    new_forms = True
            if not new_forms:
                counts[endpoint] += 1
            for ref in parser.urls:
                post_endpoint, _ = self.match(ref, "POST")
                if post_endpoint is not None:
                    self.refs.setdefault(post_endpoint, (url, name))
            for link in parser.links:
                (later if "?" in link else queue).append(link.split("#")[0])
        return forms

    def run(self, start: dict[str, list[str]]) -> None:
        forms: dict = {}
        for name, urls in start.items():
            for key, value in self.crawl(name, self.clients[name][0], urls).items():
                forms.setdefault(key, value)
        ending = re.compile(r"/(void|withdraw|close|logout)\b")  # forms that end a record (or the session) go last
        for name, form in sorted(forms.values(), key=lambda item: bool(ending.search(item[1].action))):
            self.submit_all(name, form)
        self.bare_posts(forms)

    def bare_posts(self, forms) -> None:
        """POST routes no page shows a form for: a bare form (the CSRF token and one text field)."""
        found = {key[0] for key in forms}
        for rule in self.app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint in found:
                continue
            url = self._build(rule)
            if url is None:
                self.notes.append(f"{rule.rule}: no form and no values for its arguments; not sent")
                continue
            page, name = self.refs.get(rule.endpoint, (None, next(iter(self.clients))))
            form = None
            if page is not None:  # a page names the route (a live preview, a fetch): send that page's form
                parser = _PageParser()
                parser.feed(self.clients[name][0].get(page).get_data(as_text=True))
                parser.close()
                if parser.forms:
                    form = max(parser.forms, key=lambda f: len(f.fields))
                    form = Form(page, url, form.enctype, form.fields)
            if form is None:
                self.notes.append(f"{rule.rule}: no form on any page; sent a bare form")
                form = Form(url, url, "", [Field("csrf_token", "hidden"), Field("note", "text", "x")])
            self.submit_all(name, form)

    def _build(self, rule) -> str | None:
        values = {}
        for arg in rule.arguments:
            converter = rule._converters.get(arg)
            options = sorted(getattr(converter, "items", ()) or self.seen_args.get(arg, ()), key=str)
            if not options:
                return None
            values[arg] = options[0]
        try:
            return self.adapter.build(rule.endpoint, values, method="POST")
        except Exception:  # noqa: BLE001
            return None

    # -- submitting
    def pairs(self, form: Form, client) -> tuple[list, list]:
        pairs, files = [], []
        for f in form.fields:
            if f.kind in ("checkbox", "radio") and not f.checked:
                continue
            if f.kind in ("submit", "button", "reset", "image"):
                continue
            if f.kind == "file":
                files.append((f.name, Upload("none", "", b"")))
                continue
            if f.multiple:
                pairs += [(f.name, value) for value in f.selected]
                continue
            pairs.append((f.name, client.csrf if f.name == "csrf_token" and client.csrf else f.value))
        submit = next((f for f in form.fields if f.kind == "submit"), None)
        if submit is not None:
            pairs.append((submit.name, submit.value))
        return pairs, files

    def variants(self, form: Form) -> list[tuple[Field, object]]:
        groups, extra = [], []
        for f in form.fields:
            if f.name == "csrf_token" or f.kind in ("checkbox", "radio", "submit", "button", "reset", "image"):
                continue
            if f.kind == "file":
                big = self.app.config.get("MAX_CONTENT_LENGTH") or 16 << 20
                extra += [(f, u) for u in uploads(f.accept, big + (1 << 20))]
                continue
            if f.kind == "select":
                groups.append([(f, b) for b in SELECT])
                continue
            if f.kind not in TEXTISH:
                continue
            if f.value.startswith("---\n"):
                extra += [(f, b) for b in documents(f.value)]
            group = []
            if f.kind == "date" or DATEISH_RE.search(f.name) or re.fullmatch(r"\d{4}-\d\d-\d\d", f.value):
                group += dates()
            if f.kind == "number" or re.fullmatch(r"\d+", f.value):
                group += FORM_NUMBERS
            if f.kind == "textarea":  # long text lives here (Markdown minutes, descriptions): all of it
                extra += [(f, b) for b in TEXT[2:]]
                group += TEXT[:2]
            else:  # the two that must always be refused first, then the rest shifted so fields differ
                rest = [b for b in TEXT[2:] if not (f.kind == "hidden" and b.value in (BRACKETS, LINKS, NESTED))]
                shift = len(groups) % len(rest)
                group += [*TEXT[:2], *rest[shift:], *rest[:shift]]
            groups.append([(f, b) for b in group])
        return round_robin(groups, self.MAX_VARIANTS) + extra

    @staticmethod
    def refresh(client, form: Form) -> Form:
        """The same form as the page shows it now (after a write: a new base revision, version)."""
        response = client.get(form.page)
        if response.status_code != 200 or response.mimetype != "text/html":
            return form
        parser = _PageParser()
        parser.feed(response.get_data(as_text=True))
        parser.close()
        names = sorted(f.name for f in form.fields)
        for candidate in parser.forms:
            action = urljoin(form.page, candidate.action) if candidate.action else form.page
            if action == form.action and sorted(f.name for f in candidate.fields) == names:
                return Form(form.page, form.action, candidate.enctype, candidate.fields)
        return form

    def submit_all(self, name: str, form: Form) -> None:
        client, login = self.clients[name]
        endpoint, _args = self.match(form.action, "POST")
        self.covered.add(endpoint)
        accepted = False
        for f, bad in self.variants(form):
            pairs, files = self.pairs(form, client)
            if isinstance(bad, Upload):
                files = [(n, bad if n == f.name else u) for n, u in files]
            else:
                at = next((i for i, (n, _v) in enumerate(pairs) if n == f.name), len(pairs))
                pairs = [(n, v) for n, v in pairs if n != f.name]
                pairs.insert(at, (f.name, bad.value))
            # Bytes that are not UTF-8 go multipart: urlencoded, Werkzeug keeps them as literal "%ED%A0%80".
            multipart = bool(files) or "multipart" in form.enctype or (
                isinstance(bad, Bad) and not _utf8(bad.value))
            data, ctype = encode_form(pairs, files if multipart else ())
            if multipart and not files:
                data, ctype = encode_form(pairs + [("zz_multipart", "1")], [("zz_none", Upload("none", "", b""))])
            response = self.probe.send(client.http, "POST", form.action, field_name=f.name, bad=bad, data=data,
                                       headers={"Content-Type": ctype, "Referer": "http://localhost" + form.page})
            if response is None:
                continue
            if response.status_code >= 400:
                continue
            accepted = True
            location = response.headers.get("Location", "") if response.status_code >= 300 else ""
            if urlsplit(location).path.startswith("/login") or not client.logged_in:
                self.relogin(client, login)
            elif location:
                self.probe.check_get(client.http, location, f"after POST {form.action} {f.name}")
            form = self.refresh(client, form)
        if accepted:
            for canary in self.canaries:
                self.probe.check_get(client.http, canary, f"after writes to {form.action}")

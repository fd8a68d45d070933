"""Full-text search over procedures: code, title and body, Chinese and English.

Chinese has no spaces between words, so a word index would need a segmenter; instead
every term of the query is matched as a substring (case-insensitive) of the procedure's
plain text. Each version's plain text is prepared once and cached per process by blob
sha (content addressed, never stale), so a search over 2,000 procedures of 8 KB is a
few milliseconds of ``str.__contains__`` — no git process, no database query.

Snippets are built from the plain text: each piece is HTML-escaped first, then the
matched terms are wrapped in ``<mark>``, so author content can never inject markup.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from procedures import catalog
from repo_store import StoreError
from support.caching import LockedLRU
from webapp import dates

__all__ = ["Hit", "Results", "search", "terms_of", "MAX_QUERY", "clear_cache"]

MAX_QUERY = 200
MAX_TERMS = 8
SNIPPET_RADIUS = 40
SNIPPETS_PER_HIT = 2

log = logging.getLogger(__name__)

_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class _Doc:
    plain: str  # body as plain text (Markdown syntax stripped), whitespace folded
    folded: str  # plain.lower(), same length (positions line up) or "" when it would not


@dataclass(frozen=True)
class Hit:
    view: catalog.VersionView
    score: int
    snippets: tuple[Markup, ...]
    title_html: Markup
    code_html: Markup


@dataclass(frozen=True)
class Results:
    query: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    total: int
    all_versions: bool


#: blob sha -> the searchable text of that version.
_docs = LockedLRU(6000)


def _plain(markdown_text: str) -> str:
    """The text a reader sees, roughly: Markdown markers and table rules dropped, whitespace folded.

    String methods rather than regular expressions: this runs over every procedure the
    first time a worker searches (2,000 × 8 KB), and it must stay well under a second.
    """
    if "](" in markdown_text:
        markdown_text = _LINK_RE.sub(r"\1", markdown_text)
    lines = []
    for line in markdown_text.split("\n"):
        line = line.strip()
        if not line or (line[0] in "|-:" and not line.strip("|-: ")):
            continue  # blank line or table rule
        line = line.lstrip("#>").lstrip()
        if line[:2] in ("- ", "* ", "+ "):
            line = line[2:]
        lines.append(line)
    text = " ".join(lines).replace("**", " ").replace("__", " ").replace("`", " ").replace("|", " ")
    return " ".join(text.split())


def _doc(view: catalog.VersionView) -> _Doc:
    doc = _docs.get(view.blob)
    if doc is None:
        plain = _plain(view.markdown())
        folded = plain.lower()
        doc = _Doc(plain, folded if len(folded) == len(plain) else "")
        _docs.put(view.blob, doc)
    return doc


def clear_cache() -> None:
    """Forget the searchable texts this process made (what a worker started just now knows); for tests."""
    _docs.clear()


def terms_of(query: str) -> tuple[str, ...]:
    """The distinct, lower-cased terms of a query (split on spaces; at most 8)."""
    seen: list[str] = []
    for term in (query or "")[:MAX_QUERY].lower().split():
        if term not in seen:
            seen.append(term)
    return tuple(seen[:MAX_TERMS])


def _mark(text: str, pattern: re.Pattern) -> Markup:
    """Escape ``text`` piece by piece and wrap the matches in ``<mark>``."""
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[last:m.start()])))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def _snippets(doc: _Doc, terms: tuple[str, ...], pattern: re.Pattern) -> tuple[Markup, ...]:
    plain = doc.plain
    haystack = doc.folded or plain.lower()
    windows: list[tuple[int, int]] = []
    for term in terms:
        pos = haystack.find(term)
        if pos < 0 or any(a <= pos < b for a, b in windows):
            continue
        start = max(0, pos - SNIPPET_RADIUS)
        end = min(len(plain), pos + len(term) + SNIPPET_RADIUS)
        windows.append((start, end))
        if len(windows) >= SNIPPETS_PER_HIT:
            break
    out = []
    for start, end in sorted(windows):
        piece = _mark(plain[start:end], pattern)
        out.append(Markup("{}{}{}").format("…" if start else "", piece, "…" if end < len(plain) else ""))
    return tuple(out)


def _index(all_versions: bool, today: date) -> tuple:
    """``((view, code, title, text), …)`` lower-cased, for one head, day and scope.

    Kept in the per-app cache keyed by the synced head: built once after each publish,
    so a search is a loop of ``str.count`` over prepared strings.
    """
    head = catalog.ensure_synced()
    key = ("search-index", head, today, all_versions)
    cache = catalog.fragment_cache()
    index = cache.get(key)
    if index is None:
        if all_versions:
            views = [v for versions in catalog.all_versions(today).values() for v in reversed(versions)]
        else:
            views = [v for v in catalog.current_versions(today).values() if not v.is_withdrawn]
        catalog.preload(views)
        entries = []
        skipped = False
        for view in views:
            try:
                doc = _doc(view)
            except StoreError as exc:
                # A damaged object in the store: that version's own page says so (503); the
                # search goes on without it, and the index is not kept, so it is back once repaired.
                log.error("search skips %s %s (blob %s): %s", view.code, view.version, view.blob[:12], exc)
                skipped = True
                continue
            entries.append((view, view.code.lower(), view.title.lower(), doc.folded or doc.plain.lower()))
        index = tuple(entries)
        if not skipped:
            cache.put(key, index, 64 * len(index))  # the texts themselves are counted in the text cache
    return index


def search(query: str, *, all_versions: bool = False, today: date | None = None, limit: int = 50) -> Results:
    """Procedures whose code, title or text contain every term of ``query``.

    By default the versions in force (withdrawn ones left out); with ``all_versions`` every
    version ever published, superseded and withdrawn included. Best matches first: a code
    match, then title matches, then the number of occurrences in the text.
    """
    terms = terms_of(query)
    if not terms:
        return Results(query or "", (), (), 0, all_versions)
    today = today or dates.local_today()
    scored = []
    for view, code_l, title_l, body in _index(all_versions, today):
        score = 0
        for term in terms:
            in_code, in_title = term in code_l, term in title_l
            count = body.count(term)
            if not (in_code or in_title or count):
                break
            score += (1000 if code_l == term else 300 if in_code else 0) + (100 if in_title else 0) + min(count, 50)
        else:
            scored.append((score, view))
    scored.sort(key=lambda item: (-item[0], item[1].code, -item[1].seq))
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    hits = tuple(
        Hit(view=view, score=score, snippets=_snippets(_doc(view), terms, pattern),
            title_html=_mark(view.title, pattern), code_html=_mark(view.code, pattern))
        for score, view in scored[:limit]
    )
    return Results(query, terms, hits, len(scored), all_versions)

"""Markdown -> safe HTML for procedure bodies, rendered once per blob.

``render()`` runs Python-Markdown (tables, fenced code, TOC, sane lists,
footnotes, definition lists; ``attr_list`` deliberately NOT enabled) and then
sanitises the result with nh3 against an allowlist, so whatever an author
typed (raw HTML included) comes out inert.

``render_cached()`` keeps a bounded per-process LRU keyed by git blob sha: a
blob's content never changes for a given sha, so the rendering never goes
stale.

Two details of the output that templates may rely on:

* every ``id`` in the output starts with :data:`ID_PREFIX` (heading slugs are
  generated with it, footnote and raw-HTML ids are prefixed by the sanitiser,
  in-page ``href="#…"`` links are rewritten to match), so author content can
  never collide with or clobber ids of the surrounding page;
* numbered clause lines (``4.2.1 …``, ``（1）…``, ``一、…``) each start their own
  paragraph even when the author did not leave a blank line between them, so
  clauses render as written instead of running together.
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode
from markdown.preprocessors import Preprocessor
from markupsafe import Markup

__all__ = [
    "ID_PREFIX",
    "TocEntry",
    "Rendered",
    "render",
    "render_cached",
    "clear_cache",
    "cache_info",
]

ID_PREFIX = "sec-"
CACHE_SIZE = 256


@dataclass(frozen=True)
class TocEntry:
    level: int  # 1..6, the heading level
    id: str  # the heading's id attribute (without '#')
    text: str  # plain text (NOT escaped; let the template escape it)


@dataclass(frozen=True)
class Rendered:
    html: Markup  # sanitised; safe to output without |safe
    toc: tuple[TocEntry, ...]  # flat, document order


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------

_DOTTED_NUMBER_RE = re.compile(r"(?<=\d)\.(?=\d)")


def _slugify(value: str, separator: str) -> str:
    """Unicode-keeping slug with a fixed prefix: "4.2 顾客满意" -> "sec-4-2-顾客满意"."""
    value = _DOTTED_NUMBER_RE.sub(separator, value)
    return ID_PREFIX + slugify_unicode(value, separator)


# A line (at most 3 leading spaces) that starts a numbered clause:
# 4.2.1 / 4.2.1、 / （1） / (1) / 1） / 1) / a) / 一、 / ①
_CLAUSE_RE = re.compile(
    r"^ {0,3}(?:"
    r"\d+(?:\.\d+)+\.?(?=[\s\u3000-\u303f\uff00-\uffef\u4e00-\u9fff])"
    r"|[（(]\d{1,3}[）)]"
    r"|\d{1,3}[）)]"
    r"|[a-zA-Z][）)]"
    r"|[一二三四五六七八九十百]{1,3}[、．]"
    r"|[\u2460-\u2473]"
    r")"
)


class _ClauseParagraphs(Preprocessor):
    """Start a new paragraph at every numbered clause line.

    Runs after fenced code and raw HTML blocks have been stashed, so code
    blocks are not touched; indented lines (list content, code) are left alone,
    and so are table rows (a line with "|" right after another one).
    """

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            previous = out[-1] if out else ""
            if previous.strip() and _CLAUSE_RE.match(line) and not ("|" in line and "|" in previous):
                out.append("")
            out.append(line)
        return out


class _ClauseExtension(markdown.Extension):
    def extendMarkdown(self, md):  # noqa: N802 - Markdown API name
        md.preprocessors.register(_ClauseParagraphs(md), "procdesk_clauses", 15)


def _new_markdown() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "markdown.extensions.tables",
            "markdown.extensions.fenced_code",
            "markdown.extensions.sane_lists",
            "markdown.extensions.footnotes",
            "markdown.extensions.def_list",
            "markdown.extensions.toc",
            _ClauseExtension(),
        ],
        extension_configs={
            "markdown.extensions.tables": {"use_align_attribute": True},
            "markdown.extensions.toc": {"slugify": _slugify, "separator": "-"},
            # The back-link title would be English in a cached, language-independent
            # rendering; the ↩ arrow alone is enough.
            "markdown.extensions.footnotes": {"BACKLINK_TITLE": ""},
        },
        output_format="html",
    )


_local = threading.local()


def _markdown() -> markdown.Markdown:
    """Markdown instances are not thread-safe but are costly to build: one per thread."""
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _new_markdown()
    return md


# --------------------------------------------------------------------------
# Sanitiser
# --------------------------------------------------------------------------

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "var",
}
_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "li": {"id"},
    "sup": {"id"},
    **{tag: {"id"} for tag in _HEADING_TAGS},
}
_ALIGN = {"align": {"left", "center", "right"}}
_TAG_ATTRIBUTE_VALUES = {"td": _ALIGN, "th": _ALIGN}
_ALLOWED_CLASSES = {
    "div": {"footnote"},
    "a": {"footnote-ref", "footnote-backref"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}
_IMG_SCHEME_RE = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if element == "a" and attribute == "href" and value.startswith("#") and len(value) > 1:
        # Keep in-page links pointing at the prefixed ids.
        if not value.startswith("#" + ID_PREFIX):
            return "#" + ID_PREFIX + value[1:]
        return value
    if element == "img" and attribute == "src":
        match = _IMG_SCHEME_RE.match(value)
        if match and match.group(1).lower() not in ("http", "https"):
            return None
    return value


_cleaner = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel="noopener noreferrer",
    tag_attribute_values=_TAG_ATTRIBUTE_VALUES,
    allowed_classes=_ALLOWED_CLASSES,
    url_schemes=_URL_SCHEMES,
    id_prefix=ID_PREFIX,
)


# --------------------------------------------------------------------------
# render
# --------------------------------------------------------------------------


def _flatten_toc(tokens, out: list[TocEntry]) -> None:
    for token in tokens:
        out.append(TocEntry(token["level"], token["id"], html.unescape(token["name"])))
        _flatten_toc(token.get("children", ()), out)


def render(markdown_text: str) -> Rendered:
    """Render a procedure body to sanitised HTML plus a flat table of contents."""
    md = _markdown()
    try:
        raw = md.convert(markdown_text or "")
        toc: list[TocEntry] = []
        _flatten_toc(getattr(md, "toc_tokens", ()), toc)
    finally:
        md.reset()
    return Rendered(html=Markup(_cleaner.clean(raw)), toc=tuple(toc))


_cache: OrderedDict[str, Rendered] = OrderedDict()
_cache_lock = threading.Lock()
_hits = 0
_misses = 0


def render_cached(blob_sha: str, markdown_text: str) -> Rendered:
    """``render()`` memoised by git blob sha (bounded LRU, thread-safe).

    The text is only used on a miss: the caller promises that ``blob_sha`` is
    the sha of ``markdown_text``'s blob.
    """
    global _hits, _misses
    with _cache_lock:
        cached = _cache.get(blob_sha)
        if cached is not None:
            _cache.move_to_end(blob_sha)
            _hits += 1
            return cached
        _misses += 1
    # Render outside the lock; two threads racing on one sha render the same result.
    result = render(markdown_text)
    with _cache_lock:
        _cache[blob_sha] = result
        _cache.move_to_end(blob_sha)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def clear_cache() -> None:
    global _hits, _misses
    with _cache_lock:
        _cache.clear()
        _hits = _misses = 0


def cache_info() -> dict[str, int]:
    with _cache_lock:
        return {"hits": _hits, "misses": _misses, "size": len(_cache), "maxsize": CACHE_SIZE}

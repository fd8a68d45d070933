"""Markdown -> safe HTML for procedure bodies, rendered once per blob.

``render()`` runs Python-Markdown (tables, fenced code, TOC, sane lists,
footnotes, definition lists; ``attr_list`` deliberately NOT enabled) and then
sanitises the result with nh3 against an allowlist, so whatever an author
typed (raw HTML included) comes out inert.

``render_cached()`` keeps a bounded per-process LRU keyed by git blob sha: a
blob's content never changes for a given sha, so the rendering never goes
stale.

Python-Markdown is quadratic or worse on some inputs (a run of ``[``, unclosed
links, tags or code fences, headings packed into one block, deep nesting; see
"Limits" below). ``render()`` therefore bounds what reaches it: cheap checks
of the source, then work budgets measured on the parsed blocks before the
expensive inline phase, a limit on nesting depth and a CPU-time backstop. Text
beyond them raises :class:`Unrenderable` (a ``ValueError``) quickly instead of
running for minutes; :func:`check_renderable` turns that into a field error
for services that accept text at write time.

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

import hashlib
import html
import re
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass
from html.parser import locatestarttagend_tolerant
from itertools import islice
from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.blockprocessors import BlockProcessor
from markdown.extensions.fenced_code import FencedBlockPreprocessor
from markdown.extensions.toc import slugify_unicode
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString
from markupsafe import Markup

from support.caching import LockedLRU
from webapp.exceptions import ValidationError
from webapp.i18n import _l

__all__ = [
    "ID_PREFIX",
    "TocEntry",
    "Rendered",
    "render",
    "render_cached",
    "check_renderable",
    "Unrenderable",
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


#: A line (at most 3 leading spaces) that starts a numbered clause, a paragraph of its own even without
#: a blank line before it: 4.2.1 / 4.2.1、 / （1） / (1) / 1） / 1) / a) / 一、 / ①. Public: the review
#: workflow's clause anchors split documents the same way (workflow.anchors).
CLAUSE_LINE_RE = re.compile(
    r"^ {0,3}(?:"
    r"\d+(?:\.\d+)+\.?(?=[\s\u3000-\u303f\uff00-\uffef\u4e00-\u9fff])"
    r"|[（(]\d{1,3}[）)]"
    r"|\d{1,3}[）)]"
    r"|[a-zA-Z][）)]"
    r"|[一二三四五六七八九十百]{1,3}[、．]"
    r"|[\u2460-\u2473]"
    r")"
)
_CLAUSE_RE = CLAUSE_LINE_RE


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


# --------------------------------------------------------------------------
# Limits: what reaches Python-Markdown
# --------------------------------------------------------------------------
#
# Measured with Python-Markdown 3.11 on the 2-core CI machine (thread CPU time; wall
# time under the usual load is 2-3 times more). tests/test_rendering_limits.py keeps
# the pathological corpus and checks, for each shape, the largest text still accepted.
#
# * inline phase, per paragraph (or cell, list item, heading): every "[" makes the
#   link, reference and short-reference patterns scan to its matching "]" -- to the
#   end of the paragraph when there is none (~0.5 us per character scanned: 2,000
#   "[" took 1.2 s); every "](" makes the link patterns scan to the matching ")"
#   (to the end when it is unclosed or a quote opens a title: ~0.3-0.7 us per
#   character); every other mark (* _ ` \ < & !) costs ~1 ns per character of
#   its paragraph (the string is rebuilt per match, an unclosed code span scans to
#   the end); each paragraph, cell or item ~40 us, each match a few us more.
# * block phase: every look at a block costs ~100-170 ns per character (each block
#   processor searches it); a heading, rule or reference definition inside a run of
#   lines puts the rest of the run back to be looked at again (1,600 headings
#   without blank lines: 0.37 s, growing with the square); the rule, heading and
#   definition patterns cost ~0.3-1 us per character of the lines they look at
#   ("- - - ...", "# # # ..."); table rows ~1 us per "|"; "- - - x" nests a list per
#   marker.
# * preprocessors: an unclosed code fence makes the fenced-code search scan to the
#   end (1,260 of them in 256 KB: 15 s wall) and every fenced block rebuilds the
#   text; html.parser scans from every unclosed "<tag" to its end (500 "<a" before
#   256 KB: 3.4 s wall; up to ~400 ns per character of attribute-like text), spends
#   ~5 us on every "<" or "&", and copies the rest of the text at many tags (~1 ns
#   per tag and character: 5,000 "<br>" in 185 KB took 0.76 s).
# * footnotes: references to one footnote are numbered by counting up (1,000
#   references: 4.9 s wall); each footnote ~300 us; nesting costs a few stack
#   frames per level (700 nested list levels overflow the stack).
#
# Everything else measured (runs of * _ ` ] ( ! & " = |, long lines, blockquotes,
# html blocks, entities, reference definitions) is linear, and the size limits of
# the callers (512 KB for a procedure, 100,000 characters of minutes) keep it to
# ~0.2 s. The budgets below bound estimates, in ns of CPU, of the costs above
# (weights rounded up from the measurements): the worst accepted text of the corpus
# renders in ~0.4 s of CPU, a 2,000-line procedure with big tables in ~0.7 s.

#: Lines of text (a real procedure has fewer than 2,000).
MAX_LINES = 5_000
#: Container levels on one line: 4 columns of indentation, a ">" or a list marker each.
MAX_NESTING = 20
#: Fenced code blocks (each one rebuilds the whole text once).
MAX_CODE_BLOCKS = 500
#: "<" and "&" characters outside code blocks (html.parser spends ~5 us on each).
MAX_LT = 10_000
MAX_AMP = 10_000
#: Characters html.parser may scan for the ends of all tags together ...
HTML_SCAN_BUDGET = 300_000
#: ... and from which one tag is named as unclosed when they are too many.
MAX_TAG_LENGTH = 2_000
#: Footnotes, and references to one footnote.
MAX_FOOTNOTES = 300
MAX_FOOTNOTE_REFS = 100
#: Headings in the text.
MAX_HEADINGS = 1_000
#: Depth of the rendered element tree (block nesting and inline formatting together).
MAX_DEPTH = 100
#: Estimated CPU for the block phase, the inline phase and html.parser's copying (nanoseconds).
BLOCK_BUDGET_NS = 300_000_000
INLINE_BUDGET_NS = 500_000_000
HTML_BUDGET_NS = 150_000_000
#: CPU time one rendering may take at most, whatever the estimates say (a backstop).
CPU_LIMIT_SECONDS = 2.0

# Cost weights (ns of CPU), from the measurements above, rounded up.
_NS_BLOCK_CHAR = 150  # per character of a block, each time the block parser looks at it (~8 regex searches)
_NS_BLOCK_LINE = 400  # per line of a block, each time
_NS_RULE_RUN = 500  # per character of rule-like runs ("- - -") at line starts, each time
_NS_MARKER_LINE = 1_500  # per character of the first heading or definition line of a block, each time
_NS_PIPE = 1_000  # per "|" of a block, each time
_NS_UNIT = 40_000  # per paragraph, cell, item or heading the inline phase handles
_NS_MARK = 5_000  # per inline mark (a match makes an element)
_NS_MARK_CHAR = 2  # per inline mark, times the length of its paragraph
_NS_BRACKET = 800  # per character between a "[" and its "]" (or the end)
_NS_LINK = 800  # per character between a "](" and its ")" (or the end)
_NS_HEADING = 150_000  # per heading (table of contents, slug)
_NS_TAG_CHAR = 1  # per raw HTML tag, times the length of the text (html.parser copies the rest)

_INLINE_MARKS = "[!*_`\\<&"
_QUOTES = ("'", '"')


class Unrenderable(ValueError):
    """The text cannot be rendered within the limits; ``message`` (lazily translated) says why.

    A ``ValueError`` so a caller rendering stored documents treats it like any other
    document that cannot be shown (one document, never a whole page). ``line`` is the
    line of the text the message names, if any.
    """

    def __init__(self, message, *, line: int | None = None, remake=None):
        super().__init__(message)
        self.message = message
        self.line = line
        self._remake = remake

    @classmethod
    def at(cls, line: int, make) -> Unrenderable:
        """The problem on ``line``; ``make(line)`` builds the message (again, for :meth:`shifted`)."""
        return cls(make(line), line=line, remake=make)

    def shifted(self, first_line: int) -> Unrenderable:
        """The same problem, its line counted in a text where this one starts on ``first_line``."""
        if self.line is None or self._remake is None:
            return Unrenderable(self.message)
        line = self.line + first_line - 1
        return Unrenderable(self._remake(line), line=line, remake=self._remake)

    def __str__(self):
        return str(self.message)


_PLACEHOLDER_RE = re.compile("\x02[^\x02\x03]*\x03")


def _excerpt(text: str, size: int = 30) -> str:
    text = " ".join(_PLACEHOLDER_RE.sub(" ", text[: size * 4]).split())
    return text if len(text) <= size else text[: size - 1] + "…"


class _Limits:
    """The per-render state of the guards (one per Markdown instance, i.e. per thread)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.deadline = time.thread_time() + CPU_LIMIT_SECONDS
        self.block_ns = 0  # estimated so far: block phase
        self.inline_ns = 0  # estimated: inline phase
        self.ticks = 0

    def tick(self) -> None:
        """The CPU-time backstop; cheap enough to call per pattern match."""
        self.ticks += 1
        if self.ticks & 31 == 0 and time.thread_time() > self.deadline:
            raise Unrenderable(_too_slow_message())


# ---- source checks (before any Markdown processing)

_FENCE_START_RE = re.compile(r"(~{3,}|`{3,})")
_FENCE_OPENER_RE = FencedBlockPreprocessor.FENCED_BLOCK_RE


def _code_block_lines(lines: list[str]) -> list[bool]:
    """Which lines fenced code blocks take, as the fenced-code preprocessor will see them.

    Raises :class:`Unrenderable` for an opening fence that is never closed: the
    preprocessor's search would scan from it to the end of the text.
    """
    inside = [False] * len(lines)
    closers: dict[str, list[int]] = {}
    starts = []
    for number, line in enumerate(lines):
        if line[:3] in ("```", "~~~"):
            fence = _FENCE_START_RE.match(line).group(1)
            if not line[len(fence):].strip(" "):
                closers.setdefault(fence, []).append(number)
            starts.append((number, fence))
    blocks = 0
    position = 0
    for number, fence in starts:
        if number < position:
            continue  # inside the previous block
        if not _FENCE_OPENER_RE.match(lines[number] + "\n" + fence):
            continue  # not an opening fence (e.g. "``` text")
        found = closers.get(fence, [])
        index = bisect_right(found, number)
        if index == len(found):
            raise Unrenderable.at(number + 1, lambda at, fence=fence: _l(
                "The code block opened with %(fence)s on line %(line)d is never closed: add a line with %(fence)s "
                "after the code.", fence=fence, line=at))
        blocks += 1
        if blocks > MAX_CODE_BLOCKS:
            raise Unrenderable(_l("The text has more than %(max)d code blocks.", max=MAX_CODE_BLOCKS))
        end = found[index]
        if "{" in lines[number]:
            # An attribute list the preprocessor may reject: then it looks inside again.
            position = number + 1
            continue
        for inner in range(number, end + 1):
            inside[inner] = True
        position = end + 1
    return inside


# A line's container prefix: spaces, ">" and list markers ("- ", "* ", "+ ", "1. ").
_LEAD_RE = re.compile(r"(?:[ >]|[-*+](?= )|\d{1,9}\.(?= ))*")
_RULE_LINE_RE = re.compile(r" {0,3}[-*_][-*_ ]*\Z")


def _nesting(line: str) -> int:
    """Container levels a line opens; 0 when it cannot be more than MAX_NESTING."""
    lead = _LEAD_RE.match(line).group()
    if len(lead) <= MAX_NESTING or _RULE_LINE_RE.match(line):
        return 0  # each level takes at least one character; a rule ("- - -") is not a list
    markers = len(re.findall(r"[-*+](?= )|\d{1,9}\.(?= )", lead))
    spaces = re.sub(r"[-*+]|\d{1,9}\.", ">", lead)  # a marker ends a run of indentation like ">" does
    return lead.count(">") + markers + sum(len(part) // 4 for part in spaces.split(">"))


_TAG_START_RE = re.compile(r"<[A-Za-z/!?]")
_FOOTNOTE_REF_RE = re.compile(r"\[\^([^\]\n]{1,200})\]")  # a definition counts too (a quote may hide one)
_FOOTNOTE_DEF_RE = re.compile(r"^ {0,3}\[\^[^\]\n]+\]:", re.MULTILINE)


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _check_html(text: str) -> None:
    """Bound html.parser's work: "<" characters, tags, and the characters scanned for the tags' ends."""
    if text.count("<") > MAX_LT:
        raise Unrenderable(_l("The text has more than %(max)d “<” characters.", max=MAX_LT))
    if text.count("&") > MAX_AMP:
        raise Unrenderable(_l("The text has more than %(max)d “&” characters.", max=MAX_AMP))
    # html.parser copies the rest of the text at many tags: ~1 ns per tag and character.
    most = max(1, HTML_BUDGET_NS // (_NS_TAG_CHAR * max(len(text), 1)))
    budget = HTML_SCAN_BUDGET
    unclosed = None  # the first tag that runs on for MAX_TAG_LENGTH characters: the likely culprit
    for count, match in enumerate(_TAG_START_RE.finditer(text), start=1):
        if count > most:
            raise Unrenderable(_l("The text has %(count)d HTML tags; at most %(max)d are allowed in a text this "
                                  "long.", count=len(_TAG_START_RE.findall(text)), max=most))
        start = match.start()
        window = min(len(text), start + budget + 1)
        if text.startswith("<!--", start):
            end = text.find("-->", start, window)
        elif text[start + 1].isalpha():
            # The very scan html.parser makes, stopped at the window.
            end = locatestarttagend_tolerant.match(text, start, window).end()
        else:
            end = text.find(">", start, window)
        end = window if end < 0 else end
        if unclosed is None and end - start >= MAX_TAG_LENGTH:
            unclosed = start
        budget -= end - start
        if budget < 0:
            if unclosed is not None:
                raise Unrenderable.at(_line_of(text, unclosed), lambda at: _l(
                    "Line %(line)d: “<” starts an HTML tag that is not closed with “>”. Write &lt; for a “<” that "
                    "is text, or put a space after it.", line=at))
            raise Unrenderable.at(_line_of(text, start), lambda at: _l(
                "The HTML tags of the text are too long together (the last one on line %(line)d). Write &lt; for a "
                "“<” that is text.", line=at))


def _check_footnotes(text: str) -> None:
    if len(_FOOTNOTE_DEF_RE.findall(text)) > MAX_FOOTNOTES:
        raise Unrenderable(_l("The text has more than %(max)d footnotes.", max=MAX_FOOTNOTES))
    counts: dict[str, int] = {}
    for match in _FOOTNOTE_REF_RE.finditer(text):
        name = match.group(1)
        counts[name] = counts.get(name, 0) + 1
        if counts[name] > MAX_FOOTNOTE_REFS:
            raise Unrenderable(_l("Footnote [^%(name)s] is referred to more than %(max)d times.",
                                  name=_excerpt(name, 20), max=MAX_FOOTNOTE_REFS))


def check_source(lines: list[str]) -> None:
    """The checks on the source (lines as Markdown sees them: tabs expanded, LF); raises :class:`Unrenderable`."""
    count = len(lines)
    if count > MAX_LINES:
        count = "\n".join(lines).rstrip("\n").count("\n") + 1  # Markdown adds blank lines at the end
    if count > MAX_LINES:
        raise Unrenderable(_l("The text has %(count)d lines; at most %(max)d are allowed.", count=count,
                              max=MAX_LINES))
    inside = _code_block_lines(lines)
    for number, line in enumerate(lines):
        if not inside[number] and len(line) > MAX_NESTING:
            depth = _nesting(line)
            if depth > MAX_NESTING:
                raise Unrenderable.at(number + 1, lambda at, depth=depth: _l(
                    "Line %(line)d is nested %(depth)d levels deep (lists or quotes); at most %(max)d levels are "
                    "allowed.", line=at, depth=depth, max=MAX_NESTING))
    text = "\n".join("" if inside[n] else line for n, line in enumerate(lines))
    _check_html(text)
    _check_footnotes(text)


class _SourceLimits(Preprocessor):
    """Runs :func:`check_source` right after whitespace is normalised."""

    def run(self, lines: list[str]) -> list[str]:
        check_source(lines)
        return lines


# ---- block phase

_RULE_RUN_RE = re.compile(r"^ {0,3}[-*_][-*_ ]*", re.MULTILINE)
_HEADING_LINE_RE = re.compile(r"^#.*", re.MULTILINE)
_DEFINITION_LINE_RE = re.compile(r"^ {0,3}:[ ].*", re.MULTILINE)


def _block_cost(block: str) -> int:
    """Estimated ns the block processors spend looking at ``block`` once."""
    cost = _NS_BLOCK_CHAR * len(block) + _NS_BLOCK_LINE * (block.count("\n") + 1) + _NS_PIPE * block.count("|")
    if "-" in block or "*" in block or "_" in block:
        cost += _NS_RULE_RUN * sum(len(run) for run in _RULE_RUN_RE.findall(block))
    for mark, pattern in (("#", _HEADING_LINE_RE), (":", _DEFINITION_LINE_RE)):
        if mark in block:  # the heading and definition patterns stop at the first such line
            first = pattern.search(block)
            if first is not None:
                cost += _NS_MARKER_LINE * len(first.group())
    return cost


class _BlockGuard(BlockProcessor):
    """First in line for every block the parser looks at: charges its cost, never claims it."""

    def __init__(self, parser, limits: _Limits):
        super().__init__(parser)
        self.limits = limits

    def test(self, parent, block) -> bool:
        limits = self.limits
        cost = _block_cost(block)
        limits.block_ns += cost
        if limits.block_ns > BLOCK_BUDGET_NS:
            if cost > BLOCK_BUDGET_NS // 10:
                raise Unrenderable(_l("The text is too complex to display near “%(excerpt)s”: too many headings, "
                                      "rules, list markers or table columns. Separate sections with blank lines.",
                                      excerpt=_excerpt(block)))
            raise Unrenderable(_too_big_message())
        limits.tick()
        return False

    def run(self, parent, blocks):  # pragma: no cover - test() never claims a block
        return False


# ---- inline phase

def _bracket_scan(text: str, budget: int) -> int:
    """Characters the link patterns scan for the "]" of every "[" (to the end when unmatched)."""
    end = len(text)
    total = 0
    opened: list[int] = []
    for match in re.finditer(r"[\[\]]", text):
        if match.group() == "[":
            opened.append(match.start())
        elif opened:
            total += match.start() - opened.pop()
            if total > budget:
                return total
    return total + sum(end - start for start in opened)


def _link_scan(text: str, budget: int) -> int:
    """Characters the link patterns scan for the ")" of every "](": to the end when unmatched or quoted."""
    end = len(text)
    total = 0
    opened: list[int] = []
    links: set[int] = set()
    for match in re.finditer(r"[()]", text):
        position = match.start()
        if match.group() == "(":
            opened.append(position)
            if position and text[position - 1] == "]":
                links.add(position)
        elif opened:
            start = opened.pop()
            if start in links:
                links.discard(start)
                quoted = any(text.find(q, start, position) >= 0 for q in _QUOTES)
                total += (end - start) if quoted else (position - start)
                if total > budget:
                    return total
    return total + sum(end - start for start in links)


#: Above this many brackets or parentheses in one piece of text, count the worst case instead.
_SCAN_LIMIT = 20_000


def _inline_cost(text: str, budget: int) -> int:
    """Estimated ns the inline patterns take on one piece of text (may stop counting above ``budget``)."""
    marks = sum(text.count(c) for c in _INLINE_MARKS)
    cost = _NS_UNIT + marks * (_NS_MARK + _NS_MARK_CHAR * len(text))
    if cost > budget or not marks:
        return cost
    opens = text.count("[")
    if opens:
        # The exact scan is cheap next to what the marks were charged, unless there are very many.
        if opens + text.count("]") <= _SCAN_LIMIT:
            cost += _NS_BRACKET * _bracket_scan(text, (budget - cost) // _NS_BRACKET)
        else:
            cost += _NS_BRACKET * opens * len(text)
    links = text.count("](") if cost <= budget else 0
    if links:
        if text.count("(") + text.count(")") <= _SCAN_LIMIT:
            cost += _NS_LINK * _link_scan(text, (budget - cost) // _NS_LINK)
        else:
            cost += _NS_LINK * links * len(text)
    return cost


_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))


class _InlineGuard(Treeprocessor):
    """Before the inline patterns run: estimate their cost on the parsed blocks, count headings."""

    def __init__(self, md, limits: _Limits):
        super().__init__(md)
        self.limits = limits

    def run(self, root: Element) -> None:
        budget = INLINE_BUDGET_NS
        headings = 0
        for element in root.iter():
            if element.tag in _HEADINGS:
                headings += 1
                budget -= _NS_HEADING
                if headings > MAX_HEADINGS:
                    raise Unrenderable(_l("The text has more than %(max)d headings.", max=MAX_HEADINGS))
            for text in (element.text, element.tail):
                if text and not isinstance(text, AtomicString):
                    cost = _inline_cost(text, budget)
                    budget -= cost
                    if budget < 0:
                        if cost > INLINE_BUDGET_NS // 10:
                            raise Unrenderable(_l(
                                "The text is too complex to display near “%(excerpt)s”: too many brackets, links "
                                "or formatting marks in one paragraph. Split long paragraphs with blank lines and "
                                "remove stray [ ] * _ ` characters.", excerpt=_excerpt(text)))
                        raise Unrenderable(_too_big_message())
        self.limits.inline_ns = INLINE_BUDGET_NS - budget
        self.limits.tick()


def _too_deep(root: Element) -> Element | None:
    """The first element deeper than MAX_DEPTH (iteratively: deep trees must not recurse here)."""
    stack = [(root, 0)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            return element
        stack.extend((child, depth + 1) for child in element)
    return None


def _too_deep_message(element: Element):
    return _l("The text is nested too deeply to display (lists, quotes or formatting inside each other, near "
              "“%(excerpt)s”).", excerpt=_excerpt("".join(islice(element.itertext(), 20))))


def _too_big_message():
    return _l("The text is too long and complex to display quickly (paragraphs, list items, table cells and "
              "formatting together). Split it into several documents, or separate sections with blank lines.")


def _too_slow_message():
    return _l("The text takes too long to display. Split long paragraphs with blank lines and remove stray "
              "[ ] * _ ` < characters.")


class _DepthGuard(Treeprocessor):
    """After the inline patterns: refuse trees too deep for the recursive steps that follow."""

    def run(self, root: Element) -> None:
        deep = _too_deep(root)
        if deep is not None:
            raise Unrenderable(_too_deep_message(deep))


class _LimitsExtension(markdown.Extension):
    def __init__(self):
        super().__init__()
        self.limits = _Limits()

    def extendMarkdown(self, md):  # noqa: N802 - Markdown API name
        md.preprocessors.register(_SourceLimits(md), "procdesk_source_limits", 29)
        md.parser.blockprocessors.register(_BlockGuard(md.parser, self.limits), "procdesk_block_guard", 1000)
        md.treeprocessors.register(_InlineGuard(md, self.limits), "procdesk_inline_guard", 30)
        md.treeprocessors.register(_DepthGuard(md), "procdesk_depth_guard", 19.5)

    def guard_inline_patterns(self, md) -> None:
        """Let every inline pattern match tick the CPU-time backstop (call after all extensions)."""
        tick = self.limits.tick
        for pattern in md.inlinePatterns:
            handle = pattern.handleMatch

            def checked(*args, _handle=handle):
                tick()
                return _handle(*args)

            pattern.handleMatch = checked


def _new_markdown() -> markdown.Markdown:
    limits = _LimitsExtension()
    md = markdown.Markdown(
        extensions=[
            "markdown.extensions.tables",
            "markdown.extensions.fenced_code",
            "markdown.extensions.sane_lists",
            "markdown.extensions.footnotes",
            "markdown.extensions.def_list",
            "markdown.extensions.toc",
            _ClauseExtension(),
            limits,
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
    limits.guard_inline_patterns(md)
    md.procdesk_limits = limits.limits
    return md


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


def _convert(markdown_text: str) -> Rendered:
    md = _markdown()
    md.procdesk_limits.reset()
    try:
        raw = md.convert(markdown_text)
        toc: list[TocEntry] = []
        _flatten_toc(getattr(md, "toc_tokens", ()), toc)
    except BaseException as exc:
        # A conversion stopped half-way may leave parser state behind: start afresh.
        _local.md = None
        if isinstance(exc, RecursionError):
            raise Unrenderable(_l("The text is nested too deeply to display.")) from None
        raise
    md.reset()
    return Rendered(html=Markup(_cleaner.clean(raw)), toc=tuple(toc))


#: The last few renderings by text digest: the editor's preview and its check, and the
#: check at publishing and the first view after it, render the same text once.
RECENT_SIZE = 4
_recent = LockedLRU(RECENT_SIZE)


def render(markdown_text: str) -> Rendered:
    """Render a procedure body to sanitised HTML plus a flat table of contents.

    Raises :class:`Unrenderable` (quickly) for text beyond the limits above.
    """
    text = markdown_text or ""
    if not text.strip():
        return Rendered(html=Markup(""), toc=())
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    found = _recent.get(key)
    if found is None:
        try:
            found = _convert(text)
        except Unrenderable as exc:
            found = exc.with_traceback(None)  # keep the message, not the frames (and the text they hold)
        _recent.put(key, found)
    if isinstance(found, Unrenderable):
        raise found.shifted(1)
    return found


def check_renderable(markdown_text: str, field: str = "markdown", *, first_line: int = 1) -> Rendered:
    """The rendering of text a user is saving, or ValidationError ``{field: [why]}`` when it is beyond the limits.

    The one check for every service that accepts Markdown (procedure publishing and
    its preview, meeting minutes): it renders, so what passes is what will display,
    and the result can be stored instead of rendering again on every view.
    ``first_line`` is the line of the user's text on which ``markdown_text`` starts
    (a procedure's body follows its front matter), so messages name the lines the
    user sees.
    """
    try:
        return render(markdown_text)
    except Unrenderable as exc:
        message = exc.shifted(first_line).message
        raise ValidationError(message, errors={field: [message]}) from None


_cache = LockedLRU(CACHE_SIZE)


def render_cached(blob_sha: str, markdown_text: str) -> Rendered:
    """``render()`` memoised by git blob sha (bounded LRU, thread-safe).

    The text is only used on a miss: the caller promises that ``blob_sha`` is
    the sha of ``markdown_text``'s blob.
    """
    cached = _cache.get(blob_sha)
    if cached is not None:
        return cached
    # Rendered outside the cache's lock; two threads racing on one sha render the same result.
    result = render(markdown_text)
    _cache.put(blob_sha, result)
    return result


def clear_cache() -> None:
    """Forget every rendering (and the hit / miss counts)."""
    _cache.clear()
    _recent.clear()


def cache_info() -> dict[str, int]:
    """Hits, misses, entries and the bound of :func:`render_cached`'s cache."""
    info = _cache.info()
    return {key: info[key] for key in ("hits", "misses", "size", "maxsize")}

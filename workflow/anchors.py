"""Review comment anchors: a clause or quoted text of one draft commit, carried to later drafts.

A procedure body is cut into *clauses* — headings, paragraphs, list items, table rows, code
blocks — the way the page shows them: a numbered clause line (``4.2.1 …``) starts its own
block as :mod:`procedures.rendering` does. An :class:`Anchor` remembers the clause number,
the quoted text and the clause's whole text at creation. :func:`locate` finds the quote in
another draft, so a comment survives unrelated edits, renumbering, reordering and text
inserted above; when the quoted text is gone the anchor is *outdated* (``None``) and the
caller shows ``anchor.context``.

Matching ignores whitespace (half- and full-width spaces, line breaks inside a paragraph),
so re-wrapping or re-spacing a clause does not outdate its comments. Pure: no Flask app,
no database; parsing never raises and is cached per markdown text.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from procedures.rendering import CLAUSE_LINE_RE
from webapp.exceptions import ValidationError
from webapp.i18n import _l

__all__ = ["MAX_QUOTE", "Anchor", "Clause", "Location", "clauses", "locate", "make_anchor"]

#: Longest quote a reviewer may pick (characters, whitespace collapsed).
MAX_QUOTE = 500
#: Similarity (difflib ratio) a whole-clause anchor needs to follow an edited clause.
FUZZY_RATIO = 0.8
#: A whole clause shorter than this (without its number and spaces) only moves on an exact
#: match: in "《纠正措施控制程序》" → "《预防措施控制程序》" two changed characters are not a typo fix.
MIN_FUZZY_CHARS = 15
# Texts compared with difflib are cut to this (its cost grows with the product of the lengths).
_COMPARE_CHARS = 2000
# Candidates ranked by shared character pairs before the (slower) difflib comparison.
_COMPARE_CANDIDATES = 5
# A lightly edited whole clause is looked for among the clauses sharing its rarest pairs.
_SEEDS = 8
_SEED_CANDIDATES = 20


@dataclass(frozen=True)
class Clause:
    """One block of a procedure body; ``number`` is its leading clause number, if any."""

    number: str | None
    text: str
    line: int
    end_line: int


@dataclass(frozen=True)
class Anchor:
    """What a comment points at, as picked on one draft."""

    clause: str | None
    quote: str
    context: str


@dataclass(frozen=True)
class Location:
    """Where an anchor's quote is in another draft."""

    clause: str | None
    line: int
    end_line: int
    excerpt: str


# --------------------------------------------------------------------------
# text normalisation
# --------------------------------------------------------------------------

_SPACE_RE = re.compile(r"\s+")  # str patterns: Unicode spaces too (U+3000, U+00A0, U+2028…)
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def _normalise(text: str) -> str:
    """Single-spaced, trimmed; zero-width characters dropped."""
    return _SPACE_RE.sub(" ", _INVISIBLE_RE.sub("", text)).strip()


def _key(text: str) -> str:
    """What is matched: the normalised text without any spaces."""
    return text.replace(" ", "")


# A leading clause number: 4.2.1 / 4.0 / 4.2.1. / 4.2.1、 (followed by a space, CJK or nothing).
_NUMBER_RE = re.compile(r"(\d{1,9}(?:\.\d{1,9}){1,9})\.?(?=[\s\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]|$)")
_AFTER_NUMBER = " .、．:："


def _number_of(text: str) -> str | None:
    match = _NUMBER_RE.match(text)
    return match.group(1) if match else None


def _body(text: str) -> str:
    """The text without its leading clause number."""
    match = _NUMBER_RE.match(text)
    return text[match.end():].lstrip(_AFTER_NUMBER) if match else text


def _strip_number(quote: str, number: str | None) -> str:
    """A quote that starts with its clause's number, without it ("" when nothing is left)."""
    if not number or not quote.startswith(number):
        return ""
    rest = quote[len(number):]
    if rest[:1].isdigit() or (rest[:1] == "." and rest[1:2].isdigit()):
        return ""  # "4.2.10" does not start with the number "4.2.1"
    return rest.lstrip(_AFTER_NUMBER)


# --------------------------------------------------------------------------
# Markdown → clauses
# --------------------------------------------------------------------------

_BLOCKQUOTE_RE = re.compile(r"(?: {0,3}> ?)+")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_HEADING_RE = re.compile(r" {0,3}#{1,6}(?:[ \t](.*))?")
_SETEXT_RE = re.compile(r" {0,3}(?:=+|-+)[ \t]*")
_RULE_RE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_LIST_ITEM_RE = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}\.)(?:[ \t]+|$)")  # "1)" is no list marker here
_TABLE_DELIMITER_RE = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
# Lines that start a paragraph of their own even without a blank line before them: as the page renders.
_CLAUSE_LINE_RE = CLAUSE_LINE_RE

# Inline markup, removed to get the text a reader sees. Bounded repetitions keep every
# pattern linear on hostile input.
_FOOTNOTE_DEF_RE = re.compile(r"\[\^[^\]\s]{1,100}\]:")
_FOOTNOTE_REF_RE = re.compile(r"\[\^[^\]\s]{1,100}\]")
_LINK_RE = re.compile(r"!?\[([^\[\]]{0,500})\](?:\([^()\s]{0,1000}(?:[ \t]+\"[^\"]{0,200}\")?\)|\[[^\[\]]{0,100}\])")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]{1,1000})>")
_BR_RE = re.compile(r"<br[ \t]*/?>", re.IGNORECASE)
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]{0,30}(?:\s[^<>]{0,1000})?/?>")
_STRONG_RE = re.compile(r"(?<!\\)(?:\*\*|__|~~|`+)")
_STAR_RE = re.compile(r"(?<!\\)\*(?=\S)|(?<=[^\s\\])\*")
_UNDERSCORE_RE = re.compile(r"(?<![\w\\])_(?=\S)|(?<=[^\s\\])_(?!\w)")
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _plain(text: str) -> str:
    """Markdown inline text → the plain text shown, single-spaced."""
    text = _FOOTNOTE_DEF_RE.sub("", text)
    text = _FOOTNOTE_REF_RE.sub("", text)
    text = _LINK_RE.sub(r"\1", text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    text = _BR_RE.sub(" ", text)
    text = _TAG_RE.sub("", text)
    text = _STRONG_RE.sub("", text)
    text = _STAR_RE.sub("", text)
    text = _UNDERSCORE_RE.sub("", text)
    text = _ESCAPE_RE.sub(r"\1", text)
    return _normalise(html.unescape(text))


def _cells(row: str) -> str:
    cells = _CELL_SPLIT_RE.split(row.strip())
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    # A selection across cells arrives tab- or newline-separated: a space matches it.
    return " ".join(_plain(cell) for cell in cells)


def _heading_text(text: str) -> str:
    """An ATX heading's text without its optional closing hashes ("## 4.0 程序 ##")."""
    text = text.rstrip(" \t")
    bare = text.rstrip("#")
    return bare.rstrip(" \t") if bare != text and (not bare or bare[-1] in " \t") else text


def _body_lines(lines: list[str]) -> int:
    """Index of the first body line (after the front matter, if it is closed)."""
    if lines and lines[0].rstrip() == "---":
        for index in range(1, len(lines)):
            if lines[index].rstrip() in ("---", "..."):
                return index + 1
    return 0


class _Blocks:
    """Collects the blocks of a body while its lines are read."""

    def __init__(self):
        self.out: list[Clause] = []
        self.kind: str | None = None  # "p" paragraph, "li" list item, "code"
        self.start = 0
        self.end = 0
        self.parts: list[str] = []

    def open(self, kind: str, line: int, first: str | None = None) -> None:
        self.close()
        self.kind, self.start, self.end = kind, line, line
        self.parts = [] if first is None else [first]

    def add(self, line: int, part: str) -> None:
        self.end = line
        self.parts.append(part)

    def close(self, end: int | None = None) -> None:
        if self.kind is not None:
            joined = " ".join(self.parts)
            code = self.kind == "code"  # code is shown as written and numbers no clause
            self.emit(_normalise(joined) if code else _plain(joined), self.start, end or self.end, numbered=not code)
        self.kind = None
        self.parts = []

    def emit(self, text: str, line: int, end_line: int, *, numbered: bool = True) -> None:
        if text:
            self.out.append(Clause(_number_of(text) if numbered else None, text, line, end_line))


def _parse(markdown: str) -> list[Clause]:
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks = _Blocks()
    fence = ""  # the open code fence, if any
    table = False
    delimiter = -1  # the line index of a table's delimiter row, which is no block
    for index in range(_body_lines(lines), len(lines)):
        number = index + 1
        if index == delimiter:
            continue
        raw = lines[index]
        if fence:
            stripped = raw.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                blocks.close(number)
                fence = ""
            else:
                blocks.add(number, raw)
            continue
        quoted = _BLOCKQUOTE_RE.match(raw)
        line = raw[quoted.end():] if quoted else raw
        if not line.strip():
            blocks.close()
            table = False
            continue
        opener = _FENCE_RE.fullmatch(line)
        if opener and not (opener.group(1)[0] == "`" and "`" in opener.group(2)):
            blocks.open("code", number)
            fence = opener.group(1)
            continue
        heading = _HEADING_RE.fullmatch(line)
        if heading:
            blocks.close()
            table = False
            blocks.emit(_plain(_heading_text(heading.group(1) or "")), number, number)
            continue
        if table:
            if "|" in line:
                blocks.emit(_cells(line), number, number)
                continue
            table = False
        if blocks.kind == "p" and _SETEXT_RE.fullmatch(line):
            blocks.add(number, "")
            blocks.close()
            continue
        if _RULE_RE.fullmatch(line):
            blocks.close()
            continue
        if (blocks.kind is None and "|" in line and index + 1 < len(lines)
                and "|" in lines[index + 1] and _TABLE_DELIMITER_RE.fullmatch(lines[index + 1])):
            blocks.emit(_cells(line), number, number)
            table = True
            delimiter = index + 1
            continue
        item = _LIST_ITEM_RE.match(line)
        # Python-Markdown: a list does not interrupt a paragraph, but items follow each other.
        if item and blocks.kind in (None, "li"):
            blocks.open("li", number, line[item.end():])
            continue
        previous = lines[index - 1] if index else ""
        if blocks.kind is None or (_CLAUSE_LINE_RE.match(line) and not ("|" in line and "|" in previous)):
            blocks.open("p", number, line)
        else:
            blocks.add(number, line)
    blocks.close()
    return blocks.out


# --------------------------------------------------------------------------
# the per-text index
# --------------------------------------------------------------------------


def _pairs(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(max(len(text) - 1, 1)))


class _Index:
    """A markdown text's clauses and what matching needs, built once per text."""

    def __init__(self, markdown: str):
        self.clauses = _parse(markdown)
        keys = [_key(clause.text) for clause in self.clauses]
        self.bodies = [_key(_body(clause.text))[:_COMPARE_CHARS] for clause in self.clauses]
        # Keys hold no whitespace, so a quote never matches across the "\n" between two clauses.
        self.joined = "\n".join(keys)
        self.starts = []
        position = 0
        for key in keys:
            self.starts.append(position)
            position += len(key) + 1
        self._pairs: list[frozenset[str]] | None = None
        self._postings: dict[str, list[int]] | None = None

    def pairs(self, index: int) -> frozenset[str]:
        if self._pairs is None:
            self._pairs = [_pairs(body) for body in self.bodies]
        return self._pairs[index]

    def postings(self) -> dict[str, list[int]]:
        """Character pair → the clauses that have it (built on the first fuzzy look-up)."""
        if self._postings is None:
            postings: dict[str, list[int]] = {}
            for index in range(len(self.bodies)):
                for pair in self.pairs(index):
                    postings.setdefault(pair, []).append(index)
            self._postings = postings  # published whole: the index is shared between threads
        return self._postings

    def containing(self, key: str) -> list[int]:
        """Indexes of the clauses whose text contains ``key`` (spaces ignored)."""
        found = []
        position = self.joined.find(key) if key else -1
        while position != -1:
            index = bisect_right(self.starts, position) - 1
            found.append(index)
            if index + 1 >= len(self.starts):
                break
            position = self.joined.find(key, self.starts[index + 1])
        return found

    def most_similar(self, candidates: list[int], context: str, number: str | None) -> tuple[int, float]:
        """The candidate whose text is most like ``context`` (ties: same text, same number, first)."""
        body = _key(_body(context))[:_COMPARE_CHARS]
        if len(candidates) > _COMPARE_CANDIDATES:
            wanted = _pairs(body)
            shared = list(map(len, map(wanted.intersection, map(self.pairs, candidates))))
            ranked = sorted(range(len(candidates)), key=shared.__getitem__, reverse=True)
            candidates = [candidates[i] for i in ranked[:_COMPARE_CANDIDATES]]
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(body)
        best, best_score = candidates[0], (-1.0, False, False, 0)
        for index in candidates:
            matcher.set_seq1(self.bodies[index])
            if matcher.real_quick_ratio() < best_score[0] or matcher.quick_ratio() < best_score[0]:
                continue  # cannot beat the best one (upper bounds from the lengths, then the characters)
            clause = self.clauses[index]
            score = (matcher.ratio(), clause.text == context, clause.number == number, -index)
            if score > best_score:
                best, best_score = index, score
        return best, best_score[0]

    def fuzzy(self, context: str, number: str | None) -> int | None:
        """A clause at least :data:`FUZZY_RATIO` like ``context`` (a whole clause lightly edited)."""
        body = _key(_body(context))[:_COMPARE_CHARS]
        if len(body) < MIN_FUZZY_CHARS:
            return None
        # Seeds: the context's rarest character pairs that the text still has. A clause that
        # is a light edit of the context keeps most of them.
        postings = self.postings()
        seeds = sorted((pair for pair in _pairs(body) if pair in postings), key=lambda pair: len(postings[pair]))
        hits: Counter[int] = Counter()
        for pair in seeds[:_SEEDS]:
            hits.update(postings[pair])
        # difflib's real_quick_ratio: the lengths alone rule many clauses out.
        size = len(body)
        candidates = [index for index, _count in hits.most_common(4 * _SEED_CANDIDATES)
                      if 2 * min(size, len(self.bodies[index])) >= FUZZY_RATIO * (size + len(self.bodies[index]))]
        candidates = candidates[:_SEED_CANDIDATES]
        if not candidates:
            return None
        best, ratio = self.most_similar(candidates, context, number)
        return best if ratio >= FUZZY_RATIO else None


@lru_cache(maxsize=16)
def _index(markdown: str) -> _Index:
    return _Index(markdown)


def _text(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def clauses(markdown: str) -> list[Clause]:
    """The body's blocks (front matter skipped): headings, paragraphs, list items, table rows."""
    text = _text(markdown)
    return list(_index(text.removeprefix("\ufeff")).clauses)


def _invalid(message) -> ValidationError:
    return ValidationError(message, errors={"anchor": [message]})


def make_anchor(markdown: str, *, clause: str | None = None, quote: str | None = None) -> Anchor:
    """An anchor on a clause (by number), on quoted text, or on quoted text inside a clause.

    Raises :class:`ValidationError` (field ``anchor``) when the clause does not exist, the
    quote is empty, longer than :data:`MAX_QUOTE`, not found (in that clause), or found in
    several clauses while no clause was named. A whole-clause anchor quotes the clause's
    whole text, however long.
    """
    if (clause is not None and not isinstance(clause, str)) or (quote is not None and not isinstance(quote, str)):
        raise _invalid(_l("Choose a clause or quote some text."))
    number = _normalise(clause).rstrip(".") if clause is not None else None
    index = _index(_text(markdown).removeprefix("\ufeff"))
    found = [c for c in index.clauses if c.number == number] if number else []
    if number and not found:
        raise _invalid(_l("Clause %(clause)s is not in this draft.", clause=number))
    if quote is None:
        if not found:
            raise _invalid(_l("Choose a clause or quote some text."))
        return Anchor(clause=found[0].number, quote=found[0].text, context=found[0].text)
    if len(quote) > 8 * MAX_QUOTE:  # skip normalising megabytes that cannot fit anyway
        raise _invalid(_l("The quote is longer than %(max)d characters.", max=MAX_QUOTE))
    text = _normalise(quote)
    if not text:
        raise _invalid(_l("The quote is empty."))
    if len(text) > MAX_QUOTE:
        raise _invalid(_l("The quote is longer than %(max)d characters.", max=MAX_QUOTE))
    containing = [index.clauses[i] for i in index.containing(_key(text))]
    if number:
        inside = [c for c in containing if c.number == number]
        if not inside:
            raise _invalid(_l("The quoted text is not in clause %(clause)s.", clause=number))
        return Anchor(clause=number, quote=text, context=inside[0].text)
    if not containing:
        raise _invalid(_l("The quoted text is not in this draft."))
    if len(containing) > 1:
        raise _invalid(_l("The quoted text is in more than one clause; choose the clause as well."))
    return Anchor(clause=containing[0].number, quote=text, context=containing[0].text)


def locate(anchor: Anchor, markdown: str) -> Location | None:
    """Where ``anchor`` is in ``markdown`` now, or ``None`` when its text is gone (outdated).

    The quote is matched ignoring whitespace. Found in one clause: there; in several: the one
    with the anchor's clause number, else the one most like the anchor's context. A quote that
    began with its clause number is also found without it (the clause was renumbered). A
    whole-clause anchor whose text is gone follows a clause at least :data:`FUZZY_RATIO` like
    it (typo fixes). Never raises; repeated calls on one text parse it once.
    """
    index = _index(_text(markdown).removeprefix("\ufeff"))
    quote = _normalise(_text(getattr(anchor, "quote", "")))
    context = _normalise(_text(getattr(anchor, "context", "")))
    number = getattr(anchor, "clause", None)
    number = _normalise(number) if isinstance(number, str) else None
    if not quote:
        return None
    candidates = index.containing(_key(quote))
    if not candidates:
        candidates = index.containing(_key(_strip_number(quote, number)))
    if len(candidates) == 1:
        best = candidates[0]
    elif candidates:
        same = [i for i in candidates if number and index.clauses[i].number == number]
        best = same[0] if len(same) == 1 else index.most_similar(same or candidates, context, number)[0]
    elif quote == context:
        best = index.fuzzy(context, number)
        if best is None:
            return None
    else:
        return None
    found = index.clauses[best]
    return Location(clause=found.number, line=found.line, end_line=found.end_line, excerpt=found.text)

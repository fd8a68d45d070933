"""Compare two versions of a procedure body ("redline"), line by line.

Pages compare documents block by block (:mod:`procedures.redline_blocks`: headings, paragraphs,
list items, table cells), with the token diff below inside each block; the line redline here is
what shows Markdown source (the publishing conflict page, the API's ``lines``) and what a text
beyond the block comparison's limits falls back to.

Three steps:

1. lines are aligned with :class:`difflib.SequenceMatcher` (``autojunk=False``, unless
   repeated lines would make it quadratic: :func:`matcher`);
2. inside each changed block, old and new lines are paired when they are
   similar enough (an edited clause), the others are shown as deleted or
   inserted lines;
3. each pair is diffed token by token. Tokens are: every CJK character on its
   own (Chinese has no spaces, so a line-level or word-level diff would mark
   whole sentences), Latin words, numbers, whitespace runs and single
   punctuation marks. Short coincidental matches between changes (a shared
   "的", the space between two replaced words) are then folded into the
   surrounding change, so the result reads as changed *phrases* rather than
   confetti.

Only changed blocks get the token pass, and common prefixes/suffixes are cut
before difflib runs, so two 8 KB versions with a few dozen edits compare in a
few milliseconds.

Results:

* :func:`redline` -> ``list[DiffLine]``: a single-column "track changes" view,
  each line a sequence of equal/del/ins segments;
* :func:`redline_html` -> HTML, one ``<div class="rl-line …">`` per line with
  ``<del class="rl-del">`` / ``<ins class="rl-ins">``, long unchanged runs
  wrapped in ``<div class="rl-skip" data-lines="N">`` (context kept around changes);
* :func:`side_by_side` -> ``list[Row]`` for a two-column source view;
* :func:`stats` -> ``(inserted_chars, deleted_chars)``.

All text is HTML-escaped here; the returned HTML strings are
:class:`markupsafe.Markup`, safe to output as is. Line endings are normalised
(``\\r\\n`` -> ``\\n``) and a trailing newline is not a difference.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from html import escape

from markupsafe import Markup

__all__ = [
    "EQUAL",
    "INSERT",
    "DELETE",
    "CHANGE",
    "Segment",
    "DiffLine",
    "Row",
    "tokenize",
    "redline",
    "render_lines",
    "fold",
    "matcher",
    "redline_html",
    "side_by_side",
    "count_chars",
    "stats",
]

# Segment ops and line/row kinds.
EQUAL = "equal"
INSERT = "insert"
DELETE = "delete"
CHANGE = "change"  # a line/row with both unchanged and changed parts, or a replaced line

# Two lines of a changed block are shown as one edited line only when at least
# this similar (difflib ratio over tokens); otherwise as deleted + inserted.
PAIR_RATIO = 0.5
# Changed blocks up to this many (old lines x new lines) get the best pairing;
# larger ones pair lines by position.
MAX_ALIGN_CELLS = 400
# Lines with more tokens are never shown as edited in place (cost guard for huge paragraphs).
MAX_LINE_TOKENS = 5000
# difflib compares every occurrence of an item with every occurrence of it on the other side
# (quadratic for text made of one repeated line or character); beyond this many such pairs it
# treats very frequent items as junk (autojunk) instead.
MAX_MATCH_WORK = 1_000_000

_CJK = (
    "\u2e80-\u2fdf"  # radicals
    "\u3040-\u30ff"  # kana
    "\u3100-\u312f\u31a0-\u31bf"  # bopomofo
    "\u3400-\u4dbf"  # CJK ext A
    "\u4e00-\u9fff"  # CJK unified
    "\uac00-\ud7af"  # hangul
    "\uf900-\ufaff"  # compatibility ideographs
    "\U00020000-\U0003134f"  # ext B-G
)
_TOKEN_RE = re.compile(
    rf"[{_CJK}]"  # one CJK character
    r"|[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+(?:['’][A-Za-z]+)*"  # a word
    r"|\d+(?:[.,]\d+)*"  # a number, 4.2.1 or 1,760 or 0.85
    r"|[^\S\n]+"  # a run of whitespace (not newlines)
    r"|\n"  # a newline
    r"|.",  # any other single character: punctuation, symbols
    re.DOTALL,
)


def tokenize(text: str) -> list[str]:
    """Split text into diff tokens; ``"".join(tokenize(t)) == t``."""
    return _TOKEN_RE.findall(text)


@dataclass(frozen=True)
class Segment:
    op: str  # EQUAL, INSERT or DELETE
    text: str


@dataclass(frozen=True)
class DiffLine:
    """One line of the single-column redline."""

    kind: str  # EQUAL, INSERT (all new), DELETE (all old) or CHANGE (mixed)
    old_no: int | None  # 1-based line number in old, None for a purely inserted line
    new_no: int | None  # 1-based line number in new, None for a purely deleted line
    segments: tuple[Segment, ...]

    @property
    def html(self) -> Markup:
        return Markup("".join(_segment_html(s) for s in self.segments))

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)


@dataclass(frozen=True)
class Row:
    """One row of the two-column view. Line numbers are 1-based, None for a gap."""

    left_no: int | None
    left_html: Markup
    right_no: int | None
    right_html: Markup
    kind: str  # EQUAL, INSERT, DELETE or CHANGE


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def split_lines(text: str) -> list[str]:
    """``text`` as lines: ``\r\n`` and ``\r`` are line ends too, and a final line end adds no empty line."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        return []
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


def matcher(a, b) -> SequenceMatcher:
    """A :class:`SequenceMatcher` over ``a`` and ``b``: exact (``autojunk=False``) unless repeated
    items would make it quadratic (more than MAX_MATCH_WORK pairs of equal items)."""
    if len(a) * len(b) > MAX_MATCH_WORK:
        counts = Counter(b)
        if sum(counts.get(item, 0) for item in a) > MAX_MATCH_WORK:
            return SequenceMatcher(None, a, b, autojunk=True)
    return SequenceMatcher(None, a, b, autojunk=False)


def _segment_html(segment: Segment) -> str:
    text = escape(segment.text, quote=False)
    if segment.op == INSERT:
        return f'<ins class="rl-ins">{text}</ins>'
    if segment.op == DELETE:
        return f'<del class="rl-del">{text}</del>'
    return text


def _token_runs(diff: _PairDiff) -> list[list]:
    """Token diff as runs ``[i1, i2, j1, j2, is_equal]`` (token index ranges of old and new).

    Short coincidental equalities between two changes (a shared "的", the space
    between two replaced words) are folded into the changes around them, as in
    diff-match-patch's semantic cleanup: an equality is folded when it has no
    more tokens than the change on either side of it.
    """
    runs: list[list] = []
    for tag, i1, i2, j1, j2 in diff.opcodes:
        runs.append([i1, i2, j1, j2, tag == "equal"])
        while len(runs) >= 3 and not runs[-1][4] and runs[-2][4] and not runs[-3][4]:
            before, middle, after = runs[-3], runs[-2], runs[-1]
            size = middle[1] - middle[0]
            if size > max(before[1] - before[0], before[3] - before[2]) or size > max(
                after[1] - after[0], after[3] - after[2]
            ):
                break
            runs[-3:] = [[before[0], after[1], before[2], after[3], False]]
    return runs


def _pair_segments(diff: _PairDiff) -> list[Segment]:
    """Inline segments (equal/del/ins) for one old line replaced by one new line."""
    segments: list[Segment] = []
    old_tokens, new_tokens = diff.a, diff.b
    for i1, i2, j1, j2, equal in _token_runs(diff):
        if equal:
            if i2 > i1:
                segments.append(Segment(EQUAL, "".join(old_tokens[i1:i2])))
        else:
            if i2 > i1:
                segments.append(Segment(DELETE, "".join(old_tokens[i1:i2])))
            if j2 > j1:
                segments.append(Segment(INSERT, "".join(new_tokens[j1:j2])))
    return segments


def _line_kind(segments) -> str:
    ops = {s.op for s in segments}
    if not ops or ops == {EQUAL}:
        return EQUAL
    if ops == {INSERT}:
        return INSERT
    if ops == {DELETE}:
        return DELETE
    return CHANGE


@dataclass(frozen=True)
class _PairDiff:
    """Token diff of two similar lines: difflib opcodes and similarity ratio."""

    a: list[str]
    b: list[str]
    opcodes: list[tuple[str, int, int, int, int]]
    ratio: float


def _pair_diff(old_tokens: list, new_tokens: list, min_ratio: float = PAIR_RATIO) -> _PairDiff | None:
    """Diff two lines if they are similar enough (ratio >= ``min_ratio``) to be
    shown as one edited line; None otherwise (and always for more than
    MAX_LINE_TOKENS tokens a side). Tokens may be any hashable values.

    The common prefix and suffix are taken off before running SequenceMatcher
    on the middle: most edits touch a small part of a line, and difflib's cost
    grows quickly with the number of repeated tokens (CJK text repeats a lot).
    """
    size_a, size_b = len(old_tokens), len(new_tokens)
    total = size_a + size_b
    if not total:
        return _PairDiff(old_tokens, new_tokens, [], 1.0)
    if size_a > MAX_LINE_TOKENS or size_b > MAX_LINE_TOKENS:
        return None
    # Upper bound on the ratio from the lengths alone.
    if 2 * min(size_a, size_b) / total < min_ratio:
        return None
    limit = min(size_a, size_b)
    prefix = 0
    while prefix < limit and old_tokens[prefix] == new_tokens[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old_tokens[size_a - 1 - suffix] == new_tokens[size_b - 1 - suffix]:
        suffix += 1
    mid_a = old_tokens[prefix : size_a - suffix]
    mid_b = new_tokens[prefix : size_b - suffix]
    sequences = matcher(mid_a, mid_b)
    if mid_a and mid_b:
        bound = 2 * (prefix + suffix) + sequences.quick_ratio() * (len(mid_a) + len(mid_b))
        if bound / total < min_ratio:
            return None
    matched = prefix + suffix + sum(block.size for block in sequences.get_matching_blocks())
    ratio = 2 * matched / total
    if ratio < min_ratio:
        return None
    opcodes = [("equal", 0, prefix, 0, prefix)] if prefix else []
    opcodes += [
        (tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix)
        for tag, i1, i2, j1, j2 in sequences.get_opcodes()
        if i1 != i2 or j1 != j2
    ]
    if suffix:
        opcodes.append(("equal", size_a - suffix, size_a, size_b - suffix, size_b))
    # Merge neighbouring equal runs (prefix/suffix next to an equal middle part).
    merged: list[tuple[str, int, int, int, int]] = []
    for op in opcodes:
        if merged and op[0] == "equal" and merged[-1][0] == "equal":
            last = merged[-1]
            merged[-1] = ("equal", last[1], op[2], last[3], op[4])
        else:
            merged.append(op)
    return _PairDiff(old_tokens, new_tokens, merged, ratio)


def _best_pairs(n: int, m: int, pair):
    """Pair the items of a replaced run of ``n`` old and ``m`` new items.

    ``pair(i, j)`` returns a diff with a ``ratio`` when old item ``i`` and new item
    ``j`` are similar enough to be shown as one edited item, None otherwise. Yields
    ``(i, j, diff)`` in display order, None on the side an item is missing from.
    The monotone alignment with the best total similarity is used for small runs
    (n x m <= MAX_ALIGN_CELLS), position order for large ones. Unpaired old items
    come before unpaired new items.
    """
    pairs: list[tuple[int, int, object]] = []
    if n * m <= MAX_ALIGN_CELLS:
        similar: dict[tuple[int, int], object] = {}
        for i in range(n):
            for j in range(m):
                diff = pair(i, j)
                if diff is not None:
                    similar[i, j] = diff
        # score[i][j]: best total similarity aligning old[:i] with new[:j].
        score = [[0.0] * (m + 1) for _ in range(n + 1)]
        for i in range(1, n + 1):
            row, prev = score[i], score[i - 1]
            for j in range(1, m + 1):
                best = max(prev[j], row[j - 1])
                diff = similar.get((i - 1, j - 1))
                if diff is not None:
                    best = max(best, prev[j - 1] + diff.ratio)
                row[j] = best
        i, j = n, m
        while i and j:
            diff = similar.get((i - 1, j - 1))
            if diff is not None and score[i][j] == score[i - 1][j - 1] + diff.ratio:
                pairs.append((i - 1, j - 1, diff))
                i, j = i - 1, j - 1
            elif score[i][j] == score[i - 1][j]:
                i -= 1
            else:
                j -= 1
        pairs.reverse()
    else:
        for k in range(min(n, m)):
            diff = pair(k, k)
            if diff is not None:
                pairs.append((k, k, diff))
    i = j = 0
    for pi, pj, diff in pairs + [(n, m, None)]:
        for k in range(i, pi):
            yield k, None, None
        for k in range(j, pj):
            yield None, k, None
        if diff is not None:
            yield pi, pj, diff
        i, j = pi + 1, pj + 1


def _align_block(old_lines: list[str], new_lines: list[str]):
    """Pair the lines of a replaced block (see :func:`_best_pairs`): lines are paired
    when similar enough (token ratio >= PAIR_RATIO), with their token diff."""
    old_tokens = [tokenize(line) for line in old_lines]
    new_tokens = [tokenize(line) for line in new_lines]
    return _best_pairs(len(old_lines), len(new_lines), lambda i, j: _pair_diff(old_tokens[i], new_tokens[j]))


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def _diff(old: str, new: str):
    """Aligned lines: yields ``(old_no, old_line, new_no, new_line, diff)``;
    numbers are 1-based, None for a missing side; ``diff`` is set for an
    edited line (a similar old/new pair), None otherwise."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    for tag, i1, i2, j1, j2 in matcher(old_lines, new_lines).get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                yield i1 + k + 1, old_lines[i1 + k], j1 + k + 1, new_lines[j1 + k], None
            continue
        for i, j, pair in _align_block(old_lines[i1:i2], new_lines[j1:j2]):
            yield (
                None if i is None else i1 + i + 1,
                None if i is None else old_lines[i1 + i],
                None if j is None else j1 + j + 1,
                None if j is None else new_lines[j1 + j],
                pair,
            )


def _single(op: str, text: str) -> tuple[Segment, ...]:
    return (Segment(op, text),) if text else ()


def redline(old: str, new: str) -> list[DiffLine]:
    """Single-column redline of two texts: one :class:`DiffLine` per displayed line."""
    out: list[DiffLine] = []
    for old_no, old_line, new_no, new_line, pair in _diff(old, new):
        if pair is not None:
            segments = _pair_segments(pair)
            out.append(DiffLine(_line_kind(segments) if segments else EQUAL, old_no, new_no, tuple(segments)))
        elif old_no is not None and new_no is not None:
            out.append(DiffLine(EQUAL, old_no, new_no, _single(EQUAL, old_line)))
        elif old_no is not None:
            out.append(DiffLine(DELETE, old_no, None, _single(DELETE, old_line)))
        else:
            out.append(DiffLine(INSERT, None, new_no, _single(INSERT, new_line)))
    return out


def count_chars(lines: list[DiffLine]) -> tuple[int, int]:
    """``(inserted_chars, deleted_chars)`` of a :func:`redline` result (newlines not counted)."""
    inserted = deleted = 0
    for line in lines:
        for segment in line.segments:
            if segment.op == INSERT:
                inserted += len(segment.text)
            elif segment.op == DELETE:
                deleted += len(segment.text)
    return inserted, deleted


def stats(old: str, new: str) -> tuple[int, int]:
    """``(inserted_chars, deleted_chars)`` between two texts."""
    return count_chars(redline(old, new))


def _line_div(line: DiffLine) -> str:
    attrs = ""
    if line.old_no is not None:
        attrs += f' data-old="{line.old_no}"'
    if line.new_no is not None:
        attrs += f' data-new="{line.new_no}"'
    return f'<div class="rl-line rl-{line.kind}"{attrs}>{line.html}</div>'


def fold(items, is_equal, render_one, *, context: int = 3, keep_skipped: bool = True) -> Markup:
    """HTML of ``items`` (``render_one(item)`` each), unchanged runs folded.

    Items for which ``is_equal`` holds that are further than ``context`` items from any
    change are grouped in ``<div class="rl-skip" data-lines="N">``; with ``keep_skipped``
    (default) the group contains them so the page can expand it (hide ``.rl-skip > *``
    with CSS), otherwise it is empty. Lines here; blocks in :mod:`procedures.redline_blocks`.
    """
    count = len(items)
    keep = [False] * count
    for index, item in enumerate(items):
        if not is_equal(item):
            for k in range(max(0, index - context), min(count, index + context + 1)):
                keep[k] = True
    parts: list[str] = []
    index = 0
    while index < count:
        if keep[index]:
            parts.append(render_one(items[index]))
            index += 1
            continue
        end = index
        while end < count and not keep[end]:
            end += 1
        inner = "".join(render_one(item) for item in items[index:end]) if keep_skipped else ""
        parts.append(f'<div class="rl-skip" data-lines="{end - index}">{inner}</div>')
        index = end
    return Markup("\n".join(parts))


def render_lines(lines: list[DiffLine], *, context: int = 3, keep_skipped: bool = True) -> Markup:
    """HTML for a :func:`redline` result: one ``<div class="rl-line">`` per line, unchanged lines
    further than ``context`` lines from any change folded (see :func:`fold`)."""
    return fold(lines, lambda line: line.kind == EQUAL, _line_div, context=context, keep_skipped=keep_skipped)


def redline_html(old: str, new: str, *, context: int = 3, keep_skipped: bool = True) -> Markup:
    """:func:`redline` rendered by :func:`render_lines`."""
    return render_lines(redline(old, new), context=context, keep_skipped=keep_skipped)


def _escape(text: str) -> Markup:
    return Markup(escape(text, quote=False))


def side_by_side(old: str, new: str) -> list[Row]:
    """Two-column view with the same line alignment as :func:`redline`: an
    edited line faces its new version (deletions marked on the left,
    insertions on the right); a deleted or inserted line faces an empty cell."""
    rows: list[Row] = []
    empty = Markup("")
    for old_no, old_line, new_no, new_line, pair in _diff(old, new):
        if pair is not None:
            segments = _pair_segments(pair)
            left = Markup("".join(_segment_html(s) for s in segments if s.op != INSERT))
            right = Markup("".join(_segment_html(s) for s in segments if s.op != DELETE))
            kind = CHANGE if _line_kind(segments) != EQUAL else EQUAL
            rows.append(Row(old_no, left, new_no, right, kind))
        elif old_no is not None and new_no is not None:
            rows.append(Row(old_no, _escape(old_line), new_no, _escape(new_line), EQUAL))
        elif old_no is not None:
            rows.append(Row(old_no, _segments_html(DELETE, old_line), None, empty, DELETE))
        else:
            rows.append(Row(None, empty, new_no, _segments_html(INSERT, new_line), INSERT))
    return rows


def _segments_html(op: str, text: str) -> Markup:
    return Markup(_segment_html(Segment(op, text))) if text else Markup("")

"""Compare two versions of a procedure as documents: headings, paragraphs, list items, tables.

:mod:`procedures.redline` compares text line by line, which shows the Markdown
itself (``###``, table pipes). This module compares what a reader sees:

1. each version is parsed into **blocks** (:func:`parse_blocks`): front-matter
   fields, headings with their level, paragraphs (a numbered clause line starts
   its own paragraph, as in :mod:`procedures.rendering`), list items with their
   nesting depth, tables (rows x cells), code blocks and rules, each with the
   depth of block quotes around it. Inline Markdown (``**bold**``, ``*em*``,
   ``code``, links) is parsed into styled runs (:func:`inline_runs`);
2. blocks are aligned with :class:`difflib.SequenceMatcher`; inside a replaced
   run, blocks of the same kind are paired when similar enough (the same rule
   and cost guards as lines in :mod:`procedures.redline`);
3. a paired block gets the character-level redline of its styled tokens (every
   CJK character a token); a paired table aligns its columns (by header) and
   rows, and every cell gets its own redline. Inserted and deleted blocks, rows
   and columns are shown whole.

The result (:class:`DocumentDiff`) is a list of :class:`BlockOp` — enough to
rebuild either version's blocks (:func:`apply_ops`, checked by property tests) —
and renders as one column (:meth:`DocumentDiff.inline_html`) or two
(:meth:`DocumentDiff.side_by_side_html`; the page stacks them on a phone).
Every text is HTML-escaped here; only tags built here reach the output.

Untrusted text never costs much: the parser and the inline scanner are linear
(no regular expression that backtracks on a line, no search that restarts at
every unclosed mark), text beyond :data:`procedures.rendering.MAX_LINES` lines,
tables beyond :data:`MAX_TABLE_CELLS` cells and comparisons running beyond
:data:`CPU_LIMIT_SECONDS` fall back to the line redline of
:mod:`procedures.redline`, whose cost is bounded on its own.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from html import escape, unescape

from markupsafe import Markup

from procedures import redline as lines_redline
from procedures.redline import (
    CHANGE,
    DELETE,
    EQUAL,
    INSERT,
    PAIR_RATIO,
    _best_pairs,
    _pair_diff,
    _token_runs,
    matcher,
    tokenize,
)
from procedures.rendering import CLAUSE_LINE_RE, MAX_LINES, MAX_NESTING
from support.caching import LockedLRU

__all__ = [
    "HEADING",
    "PARAGRAPH",
    "ITEM",
    "TABLE",
    "CODE",
    "RULE",
    "META",
    "Block",
    "Piece",
    "RowOp",
    "TableDiff",
    "BlockOp",
    "DocumentDiff",
    "TooComplex",
    "parse_blocks",
    "inline_runs",
    "diff_blocks",
    "compare",
    "apply_ops",
    "block_content",
]

# Block kinds.
HEADING = "heading"
PARAGRAPH = "paragraph"
ITEM = "item"
TABLE = "table"
CODE = "code"
RULE = "rule"
META = "meta"  # one line of a front matter ("version: A/2"), shown when a whole file is compared

#: Cells of one table that get a cell-by-cell comparison; a larger table is the line redline's.
MAX_TABLE_CELLS = 5_000
#: Columns of a table (a row of 10,000 pipes is not a table anyone reads).
MAX_COLUMNS = 64
#: CPU time a block comparison may take before it is given up for the line redline.
CPU_LIMIT_SECONDS = 1.0
#: Tables are paired (shown as one edited table) at least this similar (share of equal rows).
TABLE_PAIR_RATIO = 0.3
#: Unchanged blocks shown around each change; the others are folded.
CONTEXT = 2
#: Inline Markdown of longer blocks is not parsed (shown as typed): a bound on the inline scan.
MAX_INLINE_CHARS = 20_000
# Texts at least this long keep their parsed runs in a small per-process cache.
_CACHE_FROM = 1_000
_long_runs = LockedLRU(256, max_cost=4 * MAX_INLINE_CHARS * 16, max_item_cost=MAX_INLINE_CHARS)


class TooComplex(Exception):
    """The text is beyond the limits of a block comparison (the caller uses the line redline)."""


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One block of a document, as a reader sees it.

    ``text`` is the inline Markdown of a heading, paragraph, item or front-matter
    line, the code of a code block, empty for rules and tables. ``level`` is a
    heading's level (1-6); ``depth`` the list nesting (0 outside lists; an item
    of a top-level list has depth 1, a paragraph inside it too); ``quote`` the
    number of block quotes around the block; ``marker`` a list item's marker
    ("•", "3.") or a code block's info string; ``rows`` a table's cells, header
    row first, every row as long as the header; ``align`` its column alignments.
    """

    kind: str
    text: str = ""
    level: int = 0
    depth: int = 0
    quote: int = 0
    marker: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    align: tuple[str, ...] = ()


@dataclass(frozen=True)
class Piece:
    """A run of text in a redline: its op (EQUAL, INSERT or DELETE) and inline style.

    ``style`` is "" for plain text, otherwise letters ``b`` (strong), ``i`` (emphasis),
    ``c`` (code), ``a`` (link) or ``m`` (image), then for ``a``/``m`` a newline and the
    target.
    """

    op: str
    text: str
    style: str = ""


@dataclass(frozen=True)
class RowOp:
    """One row of a compared table: ``old`` / ``new`` are row indexes (0 = header), None when
    the row is missing on that side; ``cells`` has one redline per entry of the column map."""

    op: str  # EQUAL, INSERT, DELETE or CHANGE
    old: int | None
    new: int | None
    cells: tuple[tuple[Piece, ...], ...]


@dataclass(frozen=True)
class TableDiff:
    """``columns``: ``(old_column, new_column)`` pairs, None for a column missing on that side."""

    columns: tuple[tuple[int | None, int | None], ...]
    rows: tuple[RowOp, ...]


@dataclass(frozen=True)
class BlockOp:
    """One step of the comparison. ``old_no`` / ``new_no`` are 0-based block indexes.

    EQUAL: the block is in both versions; INSERT / DELETE: only in the new / old one;
    CHANGE: ``old`` was edited into ``new``: ``pieces`` is the inline redline of a text
    block, ``table`` the cell-by-cell redline of a table.
    """

    op: str
    old: Block | None
    new: Block | None
    old_no: int | None
    new_no: int | None
    pieces: tuple[Piece, ...] = ()
    table: TableDiff | None = None


# --------------------------------------------------------------------------
# block parser
# --------------------------------------------------------------------------


def _split_lines(text: str) -> list[str]:
    """The text's lines, line ends of any kind (the line redline's own splitting)."""
    return lines_redline.split_lines(text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _fence(stripped: str) -> str | None:
    """The fence (``` or ~~~, three or more) a line opens with, None if it does not."""
    char = stripped[:1]
    if char not in ("`", "~") or not stripped.startswith(char * 3):
        return None
    size = len(stripped) - len(stripped.lstrip(char))
    if char == "`" and "`" in stripped[size:]:
        return None  # "```a`" is inline code, not a fence
    return char * size


def _is_closing_fence(stripped: str, fence: str) -> bool:
    char = fence[0]
    return stripped.startswith(fence) and not stripped.lstrip(char).strip()


def _is_rule(stripped: str) -> bool:
    compact = stripped.replace(" ", "").replace("\t", "")
    return len(compact) >= 3 and compact[0] in "-*_" and compact == compact[0] * len(compact)


def _heading(stripped: str) -> tuple[int, str] | None:
    """``(level, text)`` of an ATX heading line (already stripped), None if it is not one."""
    level = len(stripped) - len(stripped.lstrip("#"))
    if not 1 <= level <= 6 or (len(stripped) > level and stripped[level] not in " \t"):
        return None
    text = stripped[level:].strip()
    closing = text.rstrip("#")
    if closing != text and (not closing or closing[-1] in " \t"):
        text = closing.rstrip()  # "## Title ##"
    return level, text


def _list_marker(line: str) -> tuple[int, str, int, str] | None:
    """``(indent, marker, content_column, rest)`` of a list item line, None if it is not one.

    Markers as Python-Markdown reads them: ``-``, ``*``, ``+`` or a number with a dot,
    then a space ("1) " and clause numbers such as "4.2.1 " are not list markers).
    """
    indent = _indent(line)
    rest = line[indent:]
    if rest[:1] in ("-", "*", "+"):
        size = 1
    else:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        if not 1 <= digits <= 9 or rest[digits:digits + 1] != ".":
            return None
        size = digits + 1
    after = rest[size:]
    if after and after[0] != " ":
        return None
    content = after.lstrip(" ")
    spaces = len(after) - len(content)
    marker = "•" if size == 1 else rest[:size]
    return indent, marker, indent + size + max(1, min(spaces, 4)), content


def _is_table_separator(stripped: str) -> bool:
    return "-" in stripped and "|" in stripped and not stripped.strip("|:- \t")


def _split_row(line: str) -> list[str]:
    """The cells of a table row: split at "|" outside code spans and not escaped."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    if "\\" not in text and "`" not in text:
        return [cell.strip() for cell in text.split("|")]
    cells: list[str] = []
    current: list[str] = []
    index, size = 0, len(text)
    in_code = 0
    while index < size:
        char = text[index]
        if char == "\\" and index + 1 < size:
            current.append(text[index:index + 2])
            index += 2
            continue
        if char == "`":
            run = 1
            while index + run < size and text[index + run] == "`":
                run += 1
            if in_code == 0:
                in_code = run
            elif in_code == run:
                in_code = 0
            current.append(text[index:index + run])
            index += run
            continue
        if char == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    cells.append("".join(current).strip())
    return cells


def _alignment(cell: str) -> str:
    cell = cell.strip()
    left, right = cell.startswith(":"), cell.endswith(":")
    return "center" if left and right else "right" if right else "left" if left else ""


class _Parser:
    """Line-by-line block parser (linear: every line is looked at a bounded number of times)."""

    def __init__(self, out: list[Block], quote: int):
        self.out = out
        self.quote = quote
        self.para: list[str] = []
        self.para_depth = 0
        self.item: tuple[int, str, list[str]] | None = None  # (depth, marker, lines)
        self.stack: list[tuple[int, int]] = []  # open list items: (marker indent, content column)

    def flush(self) -> None:
        if self.item is not None:
            depth, marker, lines = self.item
            self.out.append(Block(ITEM, "\n".join(lines), depth=depth, quote=self.quote, marker=marker))
            self.item = None
        if self.para:
            self.out.append(Block(PARAGRAPH, "\n".join(self.para), depth=self.para_depth, quote=self.quote))
            self.para = []

    def list_depth(self, indent: int) -> int:
        """The depth of content indented by ``indent`` inside the open lists (0: outside them)."""
        depth = 0
        for _marker_indent, content in self.stack:
            if indent >= content:
                depth += 1
            else:
                break
        return depth

    def run(self, lines: list[str]) -> None:
        index, count = 0, len(lines)
        blank = True
        while index < count:
            line = lines[index]
            stripped = line.strip()
            if not stripped:
                self.flush()
                blank = True
                index += 1
                continue
            indent = _indent(line)
            depth = self.list_depth(indent) if self.stack else 0
            base = self.stack[depth - 1][1] if depth else 0
            relative = indent - base
            if not self.stack or self.item is None:
                # A line that is not indented into an open list closes it.
                if self.stack and depth == 0 and not (self.para and not blank) and _list_marker(line) is None:
                    self.stack = []
            fence = _fence(stripped) if relative <= 3 else None
            if fence is not None:
                self.flush()
                end = index + 1
                while end < count and not _is_closing_fence(lines[end].strip(), fence):
                    end += 1
                margin = " " * indent  # the opening fence's indentation, taken off every code line
                code = [ln[indent:] if ln.startswith(margin) else ln.lstrip(" ") for ln in lines[index + 1:end]]
                info = stripped[len(fence):].strip()
                self.out.append(Block(CODE, "\n".join(code), depth=depth, quote=self.quote, marker=info))
                index = end + 1
                blank = True
                continue
            if relative <= 3 and stripped.startswith("#"):
                heading = _heading(stripped)
                if heading is not None:
                    self.flush()
                    self.stack = []
                    self.out.append(Block(HEADING, heading[1], level=heading[0], quote=self.quote))
                    index += 1
                    blank = True
                    continue
            if self.para and not blank and self.item is None and indent <= 3 and (
                    stripped == "=" * len(stripped) or stripped == "-" * len(stripped)):
                # Setext heading: the line above is the heading's text (as Python-Markdown reads it).
                text = self.para.pop()
                self.flush()
                self.out.append(Block(HEADING, text, level=1 if stripped[0] == "=" else 2, quote=self.quote))
                index += 1
                blank = True
                continue
            if relative <= 3 and _is_rule(stripped):
                self.flush()
                self.stack = []
                self.out.append(Block(RULE, quote=self.quote))
                index += 1
                blank = True
                continue
            if (relative <= 3 and "|" in stripped and index + 1 < count and not (self.para and not blank)
                    and _is_table_separator(lines[index + 1].strip())):
                self.flush()
                end = index + 2
                while end < count and lines[end].strip():
                    end += 1
                self.table(lines[index], lines[index + 1], lines[index + 2:end], depth)
                index = end
                blank = True
                continue
            if relative <= 3 and stripped.startswith(">"):
                self.flush()
                self.stack = []
                end = index
                inner: list[str] = []
                while end < count and lines[end].strip():
                    text = lines[end].lstrip(" ")
                    if text.startswith(">"):
                        text = text[1:]
                        if text.startswith(" "):
                            text = text[1:]
                    inner.append(text)
                    end += 1
                if self.quote + 1 >= MAX_NESTING:
                    self.out.append(Block(PARAGRAPH, "\n".join(x.strip() for x in inner), quote=self.quote + 1))
                else:
                    _Parser(self.out, self.quote + 1).run(inner)
                index = end
                blank = True
                continue
            marker = _list_marker(line) if not (self.para and not blank and not self.stack) else None
            if marker is not None and not (marker[1] == "•" and _is_rule(stripped)):
                self.flush()
                marker_indent, mark, content, rest = marker
                while self.stack and marker_indent < self.stack[-1][1]:
                    if marker_indent >= self.stack[-1][0]:
                        self.stack.pop()  # a sibling of the open item
                        break
                    self.stack.pop()
                if len(self.stack) >= MAX_NESTING:
                    self.stack.pop()
                self.stack.append((marker_indent, content))
                self.item = (len(self.stack), mark, [rest.strip()] if rest.strip() else [])
                index += 1
                blank = False
                continue
            if self.item is not None and not blank:
                self.item[2].append(stripped)  # a continuation line of the item
                index += 1
                continue
            if (not self.stack and not self.para and blank and indent >= 4) or (
                    self.stack and depth and relative >= 4 and blank and not self.para):
                # An indented code block: the indented lines (and blank lines between them).
                self.flush()
                end = index
                while end < count and (not lines[end].strip() or _indent(lines[end]) >= base + 4):
                    end += 1
                while end > index and not lines[end - 1].strip():
                    end -= 1
                code = [ln[base + 4:] for ln in lines[index:end]]
                self.out.append(Block(CODE, "\n".join(code), depth=depth, quote=self.quote))
                index = end
                blank = True
                continue
            if self.para and (blank or (CLAUSE_LINE_RE.match(line) and not ("|" in line and "|" in self.para[-1]))):
                self.flush()
            if not self.para:
                self.para_depth = depth
            self.para.append(stripped)
            blank = False
            index += 1
        self.flush()

    def table(self, header: str, separator: str, body: list[str], depth: int) -> None:
        head = _split_row(header)[:MAX_COLUMNS]
        width = len(head)
        align = tuple(_alignment(cell) for cell in _split_row(separator)[:width])
        align = align + ("",) * (width - len(align))
        rows = [tuple(head)]
        for line in body:
            cells = _split_row(line)[:width]
            rows.append(tuple(cells) + ("",) * (width - len(cells)))
        self.out.append(Block(TABLE, depth=depth, quote=self.quote, rows=tuple(rows), align=align))


def parse_blocks(text: str) -> tuple[Block, ...]:
    """The blocks of a Markdown text (a procedure body, or a whole file with its front matter).

    Raises :class:`TooComplex` for more than ``rendering.MAX_LINES`` lines.
    """
    lines = _split_lines(text)
    if len(lines) > MAX_LINES:
        raise TooComplex(f"more than {MAX_LINES} lines")
    lines = [line.expandtabs(4) if "\t" in line else line for line in lines]
    out: list[Block] = []
    start = 0
    if lines and lines[0].rstrip() == "---":
        for end in range(1, min(len(lines), 1_000)):
            if lines[end].rstrip() in ("---", "..."):
                out.extend(Block(META, line.rstrip()) for line in lines[1:end] if line.strip())
                start = end + 1
                break
    _Parser(out, 0).run(lines[start:])
    return tuple(out)


# --------------------------------------------------------------------------
# inline Markdown -> styled runs
# --------------------------------------------------------------------------

_ANY_MARK_RE = re.compile(r"[`*_\[\]\\!&]")
_MARK_RE = re.compile(r"[`*_\[\]\\!]")
_DELIMITER_RE = re.compile(r"\*+|_+")
_ESCAPABLE = frozenset("\\`*_{}[]()#+-.!|<>~\"'")


def _backtick_spans(text: str) -> list[tuple[int, int, int, int]]:
    """Code spans as ``(start, content_start, content_end, end)``: a run of backticks closes
    at the next run of the same length (found with a precomputed table, not a search)."""
    runs: list[tuple[int, int]] = []
    index = text.find("`")
    while index != -1:
        end = index
        while end < len(text) and text[end] == "`":
            end += 1
        if index == 0 or text[index - 1] != "\\":
            runs.append((index, end - index))
        index = text.find("`", end)
    following: list[int] = [-1] * len(runs)
    last: dict[int, int] = {}
    for k in range(len(runs) - 1, -1, -1):
        following[k] = last.get(runs[k][1], -1)
        last[runs[k][1]] = k
    spans = []
    k = 0
    while k < len(runs):
        closer = following[k]
        if closer == -1:
            k += 1
            continue
        start, size = runs[k]
        spans.append((start, start + size, runs[closer][0], runs[closer][0] + size))
        k = closer + 1
    return spans


def _flanking(text: str, start: int, end: int) -> tuple[bool, bool]:
    """Whether the delimiter run ``text[start:end]`` may open / close emphasis."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    can_open = not after.isspace()
    can_close = not before.isspace()
    if text[start] == "_":  # intraword underscores (snake_case) are text
        can_open = can_open and not before.isalnum()
        can_close = can_close and not after.isalnum()
    return can_open, can_close


def inline_runs(text: str) -> tuple[tuple[str, str], ...]:
    """Inline Markdown as styled runs ``(text, style)`` (styles as in :class:`Piece`).

    Understands code spans, ``**strong**`` / ``__strong__``, ``*em*`` / ``_em_``, links
    and images (their text kept, the target as the style), backslash escapes and
    entities; anything else stays text. Linear in the length of the text: plain text
    between marks is taken in one slice, a mark is looked at once. A block longer than
    MAX_INLINE_CHARS is shown as its plain source; long texts are parsed once per process
    (a comparison asks for them several times: to pair, to count, to show).
    """
    if not text:
        return ()
    if len(text) > MAX_INLINE_CHARS or _ANY_MARK_RE.search(text) is None:
        return ((text, ""),)
    if len(text) < _CACHE_FROM:
        return _inline_runs(text)
    found = _long_runs.get(text)
    if found is None:
        found = _inline_runs(text)
        _long_runs.put(text, found, len(text))
    return found


def _inline_runs(text: str) -> tuple[tuple[str, str], ...]:
    size = len(text)
    spans = _backtick_spans(text)
    span_starts = {span[0]: span for span in spans}
    inside_span = _inside_spans(spans)
    # Emphasis delimiter runs outside code spans, and how many of each may close after each one.
    delimiters: dict[int, tuple[int, bool, bool]] = {}
    closers_left = {"*": [0, 0], "_": [0, 0]}  # [odd runs, runs of two or more] that may close
    for match in _DELIMITER_RE.finditer(text):
        start, end = match.span()
        if inside_span(start):
            continue
        can_open, can_close = _flanking(text, start, end)
        delimiters[start] = (end, can_open, can_close)
        if can_close:
            counts = closers_left[text[start]]
            counts[0] += (end - start) % 2
            counts[1] += end - start >= 2
    parens = [i for i, char in enumerate(text) if char == ")"] if "](" in text else []
    items: list[list] = []  # [text, flags]
    opens: list[int] = []  # items holding a "[" / "![" not closed yet
    links: list[tuple[int, int, str]] = []  # (first item, last item + 1, style)
    buffer: list[str] = []
    strong = em = False

    def flags() -> str:
        return ("b" if strong else "") + ("i" if em else "")

    def emit() -> None:
        if buffer:
            chunk = "".join(buffer)
            items.append([unescape(chunk) if "&" in chunk else chunk, flags()])
            buffer.clear()

    index = 0
    while index < size:
        match = _MARK_RE.search(text, index)
        stop = match.start() if match else size
        if stop > index:
            buffer.append(text[index:stop])
            index = stop
            continue
        char = text[index]
        span = span_starts.get(index)
        if span is not None:
            emit()
            code = text[span[1]:span[2]]
            if len(code) >= 2 and code[0] == " " and code[-1] == " " and code.strip():
                code = code[1:-1]
            items.append([code.replace("\n", " "), flags() + "c"])
            index = span[3]
            continue
        if char == "\\":
            if index + 1 < size and text[index + 1] in _ESCAPABLE:
                buffer.append(text[index + 1])
                index += 2
            else:
                buffer.append(char)
                index += 1
            continue
        if char in "*_":
            found = delimiters.get(index)
            if found is None:  # the rest of a run whose first mark was escaped
                end = index
                while end < size and text[end] == char:
                    end += 1
                can_open, can_close = _flanking(text, index, end)
            else:
                end, can_open, can_close = found
                if can_close:
                    counts = closers_left[char]
                    counts[0] -= (end - index) % 2
                    counts[1] -= end - index >= 2
            counts = closers_left[char]
            run = end - index
            new_strong, new_em, used = strong, em, False
            if run >= 2:
                if strong and can_close:
                    new_strong, used = False, True
                elif not strong and can_open and counts[1] > 0:
                    new_strong, used = True, True
            if run % 2:
                if em and can_close:
                    new_em, used = False, True
                elif not em and can_open and counts[0] > 0:
                    new_em, used = True, True
            if used:
                emit()
                strong, em = new_strong, new_em
            else:
                buffer.append(text[index:end])
            index = end
            continue
        if char == "[" or (char == "!" and text[index + 1:index + 2] == "["):
            emit()
            mark = "![" if char == "!" else "["
            if len(opens) < MAX_NESTING:
                opens.append(len(items))
            items.append([mark, flags()])
            index += len(mark)
            continue
        if char == "]" and opens:
            if text[index + 1:index + 2] == "(":
                found = bisect_left(parens, index + 2)
                target_end = parens[found] if found < len(parens) else -1
                target = text[index + 2:target_end] if 0 <= target_end - index <= 2_002 else "\n"
                if "\n" not in target:
                    emit()
                    first = opens.pop()
                    kind = "m" if items[first][0] == "![" else "a"
                    items[first][0] = ""
                    href = (target.strip().split(" ", 1)[0] or "").strip("<>")
                    links.append((first + 1, len(items), kind + "\n" + href))
                    index = target_end + 1
                    continue
            opens.pop()  # "[text]" without a target: the brackets stay text
        buffer.append(char)
        index += 1
    emit()
    # Link styles over the items they enclose (the innermost link wins).
    linked: dict[int, str] = {}
    for first, last, style in links:
        for k in range(first, last):
            linked.setdefault(k, style)
    styled: list[tuple[str, str]] = []
    for k, (chunk, style) in enumerate(items):
        if k in linked:
            kind, target = linked[k].split("\n", 1)
            style = "".join(sorted(style + kind)) + "\n" + target
        styled.append((chunk, style))
    return _merge(styled)


def _inside_spans(spans):
    """A test "is this position inside a code span" for positions asked in increasing order."""
    state = {"k": 0}

    def inside(position: int) -> bool:
        k = state["k"]
        while k < len(spans) and spans[k][3] <= position:
            k += 1
        state["k"] = k
        return k < len(spans) and spans[k][0] <= position

    return inside


# --------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------


class _Budget:
    def __init__(self):
        self.deadline = time.thread_time() + CPU_LIMIT_SECONDS
        self.ticks = 0

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks & 63 == 0 and time.thread_time() > self.deadline:
            raise TooComplex("the comparison takes too long")


@dataclass
class _Side:
    """Per-comparison caches of one version's blocks: inline runs and styled tokens."""

    blocks: tuple[Block, ...]
    runs: dict[int, tuple] = field(default_factory=dict)
    tokens: dict[int, list] = field(default_factory=dict)

    def block_runs(self, index: int) -> tuple:
        found = self.runs.get(index)
        if found is None:
            block = self.blocks[index]
            found = self.runs[index] = _content_runs(block)
        return found

    def block_tokens(self, index: int) -> list:
        found = self.tokens.get(index)
        if found is None:
            found = self.tokens[index] = _styled_tokens(self.block_runs(index))
        return found


def _content_runs(block: Block) -> tuple:
    if block.kind == CODE:
        return ((block.text, "c"),) if block.text else ()
    if block.kind == META:
        return ((block.text, ""),) if block.text else ()
    return inline_runs(block.text)


def _styled_tokens(runs) -> list:
    """Diff tokens of styled runs: plain tokens as strings, styled ones as ``(style, token)``,
    so the same word bold and not bold differ."""
    tokens: list = []
    for text, style in runs:
        if style:
            tokens.extend((style, token) for token in tokenize(text))
        else:
            tokens.extend(tokenize(text))
    return tokens


def _token_text(token) -> tuple[str, str]:
    return (token, "") if isinstance(token, str) else (token[1], token[0])


def _pieces(op: str, tokens) -> list[Piece]:
    """Pieces of one op for a token run, one per style change."""
    pieces: list[Piece] = []
    text: list[str] = []
    current = None
    for token in tokens:
        chunk, style = _token_text(token)
        if style != current and text:
            pieces.append(Piece(op, "".join(text), current))
            text = []
        current = style
        text.append(chunk)
    if text:
        pieces.append(Piece(op, "".join(text), current))
    return pieces


def _whole(op: str, runs) -> tuple[Piece, ...]:
    return tuple(Piece(op, text, style) for text, style in runs if text)


def _diff_pieces(diff) -> tuple[Piece, ...]:
    pieces: list[Piece] = []
    old, new = diff.a, diff.b
    for i1, i2, j1, j2, equal in _token_runs(diff):
        if equal:
            pieces += _pieces(EQUAL, old[i1:i2])
        else:
            pieces += _pieces(DELETE, old[i1:i2])
            pieces += _pieces(INSERT, new[j1:j2])
    return tuple(pieces)


def _forced_pieces(old_runs, new_runs) -> tuple[Piece, ...]:
    """The redline of two texts that are shown as one edited text whatever their similarity (cells)."""
    if old_runs == new_runs:
        return _whole(EQUAL, old_runs)
    diff = _pair_diff(_styled_tokens(old_runs), _styled_tokens(new_runs), 0.0)
    if diff is None:  # beyond the token guard: the whole old text, then the whole new one
        return _whole(DELETE, old_runs) + _whole(INSERT, new_runs)
    return _diff_pieces(diff)


@dataclass(frozen=True)
class _TableSimilarity:
    ratio: float


def _similar(old: _Side, new: _Side, i: int, j: int, budget: _Budget):
    """A diff with a ratio when old block ``i`` and new block ``j`` may be shown as one edited block."""
    budget.tick()
    a, b = old.blocks[i], new.blocks[j]
    if a.kind != b.kind or a.kind == RULE:
        return None
    if a.kind == TABLE:
        # The same table when the rows, the header's cells or the first column mostly agree.
        ratio = max(matcher(a.rows, b.rows).ratio(), matcher(a.rows[0], b.rows[0]).ratio(),
                    matcher([row[0] for row in a.rows], [row[0] for row in b.rows]).ratio())
        return _TableSimilarity(ratio) if ratio >= TABLE_PAIR_RATIO else None
    return _pair_diff(old.block_tokens(i), new.block_tokens(j))


def _column_map(old_head: tuple[str, ...], new_head: tuple[str, ...]) -> tuple[tuple[int | None, int | None], ...]:
    """Columns of two tables: equal headers face each other, edited ones by position, the rest
    are inserted or deleted columns."""
    columns: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in matcher(old_head, new_head).get_opcodes():
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else (i2 - i1 if tag == "equal" else 0)
        columns += [(i1 + k, j1 + k) for k in range(paired)]
        columns += [(i, None) for i in range(i1 + paired, i2)]
        columns += [(None, j) for j in range(j1 + paired, j2)]
    return tuple(columns)


def _row_cells(row, columns, side: int) -> tuple:
    return tuple(row[c[side]] if c[side] is not None else "" for c in columns)


def _table_diff(a: Block, b: Block, budget: _Budget) -> TableDiff:
    if len(a.rows) * len(a.align) > MAX_TABLE_CELLS or len(b.rows) * len(b.align) > MAX_TABLE_CELLS:
        raise TooComplex("table too large")
    columns = _column_map(a.rows[0], b.rows[0])
    runs_cache: dict[str, tuple] = {}

    def runs(text: str) -> tuple:
        found = runs_cache.get(text)
        if found is None:
            found = runs_cache[text] = inline_runs(text)
        return found

    def row_op(i: int | None, j: int | None) -> RowOp:
        budget.tick()
        cells = []
        changed = i is None or j is None
        for oc, nc in columns:
            old_text = a.rows[i][oc] if i is not None and oc is not None else None
            new_text = b.rows[j][nc] if j is not None and nc is not None else None
            if old_text is None and new_text is None:
                cells.append(())
                continue
            if old_text is None:
                cells.append(_whole(INSERT, runs(new_text)))
            elif new_text is None:
                cells.append(_whole(DELETE, runs(old_text)))
            else:
                cells.append(_forced_pieces(runs(old_text), runs(new_text)))
            if oc is None or nc is None or old_text != new_text:
                changed = True
        op = INSERT if i is None else DELETE if j is None else CHANGE if changed else EQUAL
        return RowOp(op, i, j, tuple(cells))

    rows = [row_op(0, 0)]
    old_body = [_row_cells(row, columns, 0) for row in a.rows[1:]]
    new_body = [_row_cells(row, columns, 1) for row in b.rows[1:]]
    for tag, i1, i2, j1, j2 in matcher(old_body, new_body).get_opcodes():
        if tag == "equal":
            rows += [row_op(i1 + k + 1, j1 + k + 1) for k in range(i2 - i1)]
            continue
        old_tokens = [tokenize("\t".join(row)) for row in old_body[i1:i2]]
        new_tokens = [tokenize("\t".join(row)) for row in new_body[j1:j2]]

        def pair(i, j, i1=i1, j1=j1, old_tokens=old_tokens, new_tokens=new_tokens):
            # Rows are the same row edited when similar enough, or when their first cells (the
            # row's name: a department, a record) are the same.
            budget.tick()
            key = old_body[i1 + i][0]
            if key and key == new_body[j1 + j][0]:
                diff = _pair_diff(old_tokens[i], new_tokens[j], 0.0)
                return diff if diff is not None else _TableSimilarity(PAIR_RATIO)
            return _pair_diff(old_tokens[i], new_tokens[j])

        for i, j, _diff in _best_pairs(i2 - i1, j2 - j1, pair):
            rows.append(row_op(None if i is None else i1 + i + 1, None if j is None else j1 + j + 1))
    return TableDiff(columns, tuple(rows))


def diff_blocks(old_blocks: tuple[Block, ...], new_blocks: tuple[Block, ...]) -> tuple[BlockOp, ...]:
    """The block operations that turn ``old_blocks`` into ``new_blocks`` (see :class:`BlockOp`).

    Raises :class:`TooComplex` when the comparison goes beyond its limits.
    """
    budget = _Budget()
    old, new = _Side(old_blocks), _Side(new_blocks)
    ops: list[BlockOp] = []
    for tag, i1, i2, j1, j2 in matcher(old_blocks, new_blocks).get_opcodes():
        if tag == "equal":
            ops += [BlockOp(EQUAL, old_blocks[i1 + k], new_blocks[j1 + k], i1 + k, j1 + k) for k in range(i2 - i1)]
            continue
        pairs = _best_pairs(i2 - i1, j2 - j1, lambda i, j, i1=i1, j1=j1: _similar(old, new, i1 + i, j1 + j, budget))
        for i, j, similarity in pairs:
            budget.tick()
            if j is None:
                ops.append(BlockOp(DELETE, old_blocks[i1 + i], None, i1 + i, None))
            elif i is None:
                ops.append(BlockOp(INSERT, None, new_blocks[j1 + j], None, j1 + j))
            elif isinstance(similarity, _TableSimilarity):
                a, b = old_blocks[i1 + i], new_blocks[j1 + j]
                ops.append(BlockOp(CHANGE, a, b, i1 + i, j1 + j, table=_table_diff(a, b, budget)))
            else:
                a, b = old_blocks[i1 + i], new_blocks[j1 + j]
                ops.append(BlockOp(CHANGE, a, b, i1 + i, j1 + j, pieces=_diff_pieces(similarity)))
    return tuple(ops)


# --------------------------------------------------------------------------
# rebuilding a version from the operations (what the property tests check)
# --------------------------------------------------------------------------


def block_content(block: Block) -> tuple:
    """What a reader sees of a block: its kind and attributes with the styled runs of its text
    (every cell's runs for a table). Two blocks with equal content read the same."""
    if block.kind == TABLE:
        cells = tuple(tuple(_merge(inline_runs(cell)) for cell in row) for row in block.rows)
        return (block.kind, block.level, block.depth, block.quote, block.marker, block.align, cells)
    return (block.kind, block.level, block.depth, block.quote, block.marker, block.align,
            _merge(_content_runs(block)))


def _merge(runs) -> tuple:
    """Runs with neighbours of the same style joined and empty ones dropped (linear: no repeated
    concatenation of a growing string)."""
    out: list[tuple[str, str]] = []
    chunks: list[str] = []
    current = None
    for text, style in runs:
        if not text:
            continue
        if style != current and chunks:
            out.append(("".join(chunks), current))
            chunks = []
        current = style
        chunks.append(text)
    if chunks:
        out.append(("".join(chunks), current))
    return tuple(out)


def _side_runs(pieces, drop: str) -> tuple:
    return _merge((p.text, p.style) for p in pieces if p.op != drop)


def _side_table(op: BlockOp, side: int) -> tuple:
    """The cells of one side of a changed table, rebuilt from its row operations alone."""
    drop_row = INSERT if side == 0 else DELETE
    drop_piece = INSERT if side == 0 else DELETE
    columns = [k for k, column in enumerate(op.table.columns) if column[side] is not None]
    columns.sort(key=lambda k: op.table.columns[k][side])
    return tuple(tuple(_side_runs(row.cells[k], drop_piece) for k in columns)
                 for row in op.table.rows if row.op != drop_row)


def apply_ops(ops, old_blocks, *, reverse: bool = False) -> list[tuple]:
    """The content (:func:`block_content`) of the new version, rebuilt from ``old_blocks`` and ``ops``.

    Equal blocks are taken from ``old_blocks``; inserted blocks from the op; an edited block
    from its redline (equal and inserted pieces, or the table's rows and cells). With
    ``reverse`` it rebuilds the old version from the new one the same way. Raises
    ``ValueError`` when an op does not fit the blocks it is applied to.
    """
    side, source, drop = (0, "old", INSERT) if reverse else (1, "new", DELETE)
    base, other = ("new", "old") if reverse else ("old", "new")
    out: list[tuple] = []
    position = 0
    for op in ops:
        base_block = getattr(op, base)
        if base_block is not None:
            if position >= len(old_blocks) or old_blocks[position] != base_block:
                raise ValueError(f"op {op.op} does not fit block {position}")
            position += 1
        target = getattr(op, other)
        if op.op == EQUAL:
            out.append(block_content(base_block))
        elif target is None:
            continue
        elif op.op == INSERT or op.op == DELETE:
            out.append(block_content(target))
        elif op.table is not None:
            out.append((target.kind, target.level, target.depth, target.quote, target.marker, target.align,
                        _side_table(op, 0 if source == "old" else 1)))
        else:
            out.append((target.kind, target.level, target.depth, target.quote, target.marker, target.align,
                        _side_runs(op.pieces, drop)))
    if position != len(old_blocks):
        raise ValueError("the ops do not cover every block")
    return out


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

_STYLE_TAGS = (("b", "<strong>", "</strong>"), ("i", "<em>", "</em>"), ("c", "<code>", "</code>"))


def _piece_html(piece: Piece) -> str:
    text = escape(piece.text, quote=False)
    if piece.op == INSERT:
        text = f'<ins class="rl-ins">{text}</ins>'
    elif piece.op == DELETE:
        text = f'<del class="rl-del">{text}</del>'
    style = piece.style
    if not style:
        return text
    flags, _sep, target = style.partition("\n")
    for flag, start, end in _STYLE_TAGS:
        if flag in flags:
            text = start + text + end
    if "a" in flags:
        text = f'<span class="rl-link" title="{escape(target)}">{text}</span>'
    elif "m" in flags:
        text = f'<span class="rl-img" title="{escape(target)}">[{text}]</span>'
    return text


def _pieces_html(pieces, drop: str | None = None) -> str:
    return "".join(_piece_html(p) for p in pieces if p.op != drop)


def _block_classes(op: str, block: Block) -> str:
    classes = f"rl-block rl-{op} rl-k-{block.kind}"
    if block.depth:
        classes += f" rl-d{min(block.depth, 6)}"
    if block.quote:
        classes += f" rl-q{min(block.quote, 4)}"
    return classes


def _text_html(block: Block, inner: str, marker_html: str | None = None) -> str:
    """A text block's content in the element it reads as."""
    kind = block.kind
    if kind == HEADING:
        return f'<div class="rl-h rl-h{block.level}">{inner}</div>'
    if kind == ITEM:
        marker = marker_html if marker_html is not None else escape(block.marker, quote=False)
        return f'<div class="rl-li"><span class="rl-marker">{marker}</span><div class="rl-li-body">{inner}</div></div>'
    if kind == CODE:
        return f'<pre class="rl-code">{inner}</pre>'
    if kind == META:
        return f'<div class="rl-meta">{inner}</div>'
    if kind == RULE:
        return '<hr class="rl-hr">'
    return f'<p class="rl-p">{inner}</p>'


def _table_html(table: TableDiff, a: Block, b: Block, show: str) -> str:
    """A compared table: ``show`` is "both" (one column), "old" or "new" (one side)."""
    columns = table.columns
    keep = [k for k, (oc, nc) in enumerate(columns)
            if show == "both" or (show == "old" and oc is not None) or (show == "new" and nc is not None)]
    drop = {"both": None, "old": INSERT, "new": DELETE}[show]
    parts = ['<div class="rl-table-wrap"><table class="rl-table">']
    for number, row in enumerate(table.rows):
        if (show == "old" and row.op == INSERT) or (show == "new" and row.op == DELETE):
            continue
        tag = "th" if number == 0 else "td"
        cells = []
        for k in keep:
            oc, nc = columns[k]
            align = (b.align[nc] if nc is not None else a.align[oc])
            classes = []
            if oc is None:
                classes.append("rl-col-insert")
            elif nc is None:
                classes.append("rl-col-delete")
            if align:
                classes.append(f"rl-al-{align}")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<{tag}{attr}>{_pieces_html(row.cells[k], drop)}</{tag}>")
        row_html = f'<tr class="rl-row-{row.op}">{"".join(cells)}</tr>'
        if number == 0:
            parts.append(f"<thead>{row_html}</thead><tbody>")
        else:
            parts.append(row_html)
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _whole_table(op: str, block: Block) -> TableDiff:
    width = len(block.align)
    columns = tuple((k, k) for k in range(width))
    rows = tuple(RowOp(op, k, k, tuple(_whole(op, inline_runs(cell)) for cell in row))
                 for k, row in enumerate(block.rows))
    return TableDiff(columns, rows)


def _op_content(op: BlockOp, show: str) -> str:
    """The inner HTML of one op: ``show`` is "both", "old" or "new"."""
    if op.op == CHANGE:
        a, b = op.old, op.new
        if op.table is not None:
            return _table_html(op.table, a, b, show)
        block = a if show == "old" else b
        drop = {"both": None, "old": INSERT, "new": DELETE}[show]
        marker = None
        if a.kind == ITEM and a.marker != b.marker:
            marker = {"both": _pieces_html((Piece(DELETE, a.marker), Piece(INSERT, b.marker))),
                      "old": _piece_html(Piece(DELETE, a.marker)), "new": _piece_html(Piece(INSERT, b.marker))}[show]
        return _text_html(block, _pieces_html(op.pieces, drop), marker)
    block = op.old if op.old is not None else op.new
    piece_op = op.op
    if block.kind == TABLE:
        return _table_html(_whole_table(piece_op, block), block, block, "both")
    return _text_html(block, _pieces_html(_whole(piece_op, _content_runs(block))))


def _numbers(op: BlockOp) -> str:
    attrs = ""
    if op.old_no is not None:
        attrs += f' data-old="{op.old_no + 1}"'
    if op.new_no is not None:
        attrs += f' data-new="{op.new_no + 1}"'
    return attrs


def _is_equal(op: BlockOp) -> bool:
    return op.op == EQUAL


def _inline_op(op: BlockOp) -> str:
    block = op.new if op.new is not None else op.old
    return f'<div class="{_block_classes(op.op, block)}"{_numbers(op)}>{_op_content(op, "both")}</div>'


def _sbs_op(op: BlockOp, labels: tuple[str, str]) -> str:
    old_label, new_label = (escape(label) for label in labels)
    left = right = ""
    if op.old is not None:
        left = (f'<div class="sbs-cell sbs-old {_block_classes(op.op, op.old)}" data-label="{old_label}">'
                f'{_op_content(op, "old")}</div>')
    if op.new is not None:
        right = (f'<div class="sbs-cell sbs-new {_block_classes(op.op, op.new)}" data-label="{new_label}">'
                 f'{_op_content(op, "new")}</div>')
    if not left:
        left = '<div class="sbs-cell sbs-old sbs-gap"></div>'
    if not right:
        right = '<div class="sbs-cell sbs-new sbs-gap"></div>'
    return f'<div class="sbs-row sbs-{op.op}"{_numbers(op)}>{left}{right}</div>'


@dataclass(frozen=True)
class DocumentDiff:
    """The comparison of two versions: the block ops, or (``ops`` None) the line redline of a text
    beyond the block comparison's limits (``lines``)."""

    ops: tuple[BlockOp, ...] | None
    lines: tuple | None
    inserted: int  # characters (line breaks not counted)
    deleted: int
    old_text: str = field(repr=False, default="")
    new_text: str = field(repr=False, default="")

    @property
    def mode(self) -> str:
        return "blocks" if self.ops is not None else "lines"

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.deleted) or (
            self.ops is not None and any(op.op != EQUAL for op in self.ops))

    def inline_html(self, *, context: int = CONTEXT, keep_skipped: bool = True) -> Markup:
        """One column: every block as it reads, deletions and insertions marked inside it."""
        if self.ops is None:
            return lines_redline.render_lines(list(self.lines), context=context, keep_skipped=keep_skipped)
        return lines_redline.fold(self.ops, _is_equal, _inline_op, context=context, keep_skipped=keep_skipped)

    def side_by_side_html(self, old_label: str = "", new_label: str = "", *, context: int = CONTEXT) -> Markup:
        """Two columns (old left, new right; ``labels`` name them on a phone, where the page stacks
        them): one ``sbs-row`` per op."""
        labels = (old_label, new_label)
        if self.ops is None:
            rows = lines_redline.side_by_side(self.old_text, self.new_text)
            kinds = {EQUAL: EQUAL, INSERT: INSERT, DELETE: DELETE, CHANGE: CHANGE}
            html = [
                f'<div class="sbs-row sbs-{kinds[row.kind]}">'
                f'<div class="sbs-cell sbs-old rl-src" data-label="{escape(old_label)}">{row.left_html}</div>'
                f'<div class="sbs-cell sbs-new rl-src" data-label="{escape(new_label)}">{row.right_html}</div></div>'
                for row in rows
            ]
            return Markup("\n".join(html))
        return lines_redline.fold(self.ops, _is_equal, lambda op: _sbs_op(op, labels), context=context)


def _count(pieces, counts: list[int]) -> None:
    for piece in pieces:
        if piece.op == INSERT:
            counts[0] += len(piece.text) - piece.text.count("\n")
        elif piece.op == DELETE:
            counts[1] += len(piece.text) - piece.text.count("\n")


def _op_counts(ops) -> tuple[int, int]:
    counts = [0, 0]
    for op in ops:
        if op.op == EQUAL:
            continue
        if op.op == CHANGE:
            if op.table is not None:
                for row in op.table.rows:
                    for cell in row.cells:
                        _count(cell, counts)
            else:
                _count(op.pieces, counts)
            continue
        block = op.new if op.op == INSERT else op.old
        if block.kind == TABLE:
            for row in block.rows:
                for cell in row:
                    _count(_whole(op.op, inline_runs(cell)), counts)
        else:
            _count(_whole(op.op, _content_runs(block)), counts)
    return counts[0], counts[1]


def compare(old: str, new: str) -> DocumentDiff:
    """Compare two Markdown texts as documents; the line redline when they are beyond the limits."""
    old = (old or "").replace("\r\n", "\n").replace("\r", "\n")
    new = (new or "").replace("\r\n", "\n").replace("\r", "\n")
    try:
        ops = diff_blocks(parse_blocks(old), parse_blocks(new))
    except (TooComplex, RecursionError):
        lines = lines_redline.redline(old, new)
        inserted, deleted = lines_redline.count_chars(lines)
        return DocumentDiff(None, tuple(lines), inserted, deleted, old, new)
    inserted, deleted = _op_counts(ops)
    return DocumentDiff(ops, None, inserted, deleted)


# --------------------------------------------------------------------------
# JSON (the API's ``blocks``)
# --------------------------------------------------------------------------


def _pieces_json(pieces) -> list[dict]:
    return [{"op": p.op, "text": p.text, "style": p.style} for p in pieces]


def _table_json(table: TableDiff) -> dict:
    return {"columns": [list(column) for column in table.columns],
            "rows": [{"op": row.op, "old_index": row.old, "new_index": row.new,
                      "cells": [_pieces_json(cell) for cell in row.cells]} for row in table.rows]}


def op_json(op: BlockOp) -> dict:
    """One block op as JSON: the block's kind and attributes (the new version's when it has one),
    its redline as ``segments`` (text blocks) or ``table`` (tables), indexes 0-based."""
    block = op.new if op.new is not None else op.old
    item = {"op": op.op, "kind": block.kind, "old_index": op.old_no, "new_index": op.new_no,
            "level": block.level, "depth": block.depth, "quote": block.quote, "marker": block.marker,
            "segments": [], "table": None}
    if op.op == CHANGE:
        if op.table is not None:
            item["table"] = _table_json(op.table)
        else:
            item["segments"] = _pieces_json(op.pieces)
    elif block.kind == TABLE:
        item["table"] = _table_json(_whole_table(op.op, block))
    else:
        item["segments"] = _pieces_json(_whole(op.op, _content_runs(block)))
    return item


#: The OpenAPI schema of :func:`op_json`.
OP_SCHEMA = {"type": "object", "properties": {
    "op": {"type": "string", "enum": [EQUAL, INSERT, DELETE, CHANGE]},
    "kind": {"type": "string", "enum": [HEADING, PARAGRAPH, ITEM, TABLE, CODE, RULE, META]},
    "old_index": {"type": ["integer", "null"]}, "new_index": {"type": ["integer", "null"]},
    "level": {"type": "integer", "description": "heading level 1-6"},
    "depth": {"type": "integer", "description": "list nesting (0 outside lists)"},
    "quote": {"type": "integer", "description": "block quotes around the block"},
    "marker": {"type": "string", "description": "a list item's marker, a code block's language"},
    "segments": {"type": "array", "items": {"$ref": "#/components/schemas/RedlineSegment"}},
    "table": {"type": ["object", "null"], "properties": {
        "columns": {"type": "array", "items": {"type": "array", "items": {"type": ["integer", "null"]}}},
        "rows": {"type": "array", "items": {"type": "object", "properties": {
            "op": {"type": "string", "enum": [EQUAL, INSERT, DELETE, CHANGE]},
            "old_index": {"type": ["integer", "null"]}, "new_index": {"type": ["integer", "null"]},
            "cells": {"type": "array", "items": {
                "type": "array", "items": {"$ref": "#/components/schemas/RedlineSegment"}}}}}}}}}}
SEGMENT_SCHEMA = {"type": "object", "properties": {
    "op": {"type": "string", "enum": [EQUAL, INSERT, DELETE]}, "text": {"type": "string"},
    "style": {"type": "string", "description": "'' plain; letters b strong, i emphasis, c code, a link, m image; "
                                               "for a and m a line break and the target follows"}}}

"""Reading an uploaded XLSX workbook with bounded time and memory.

An XLSX file is a zip of XML parts, and both layers can be turned into weapons: a small
zip can unpack to gigabytes (a zip bomb), a sheet can declare a size it does not have
(``<dimension ref="A1:XFD1048576"/>`` made openpyxl pad every row to 16,384 cells), an
XML part can carry a DTD whose entities expand without end (billion laughs), and the
central directory can list hundreds of thousands of parts. So nothing here trusts what
the file declares:

* the archive is checked before anything is unpacked (:func:`open_archive`): number of
  parts, names, encryption, compression method, each part's unpacked size and ratio and
  the total — every read is then capped at the declared size by :mod:`zipfile` itself,
  so a part that lies about its size is cut short and fails its CRC;
* the XML is read by expat in chunks, with handlers (no tree is built); a DTD or entity
  declaration ends the read;
* only the first worksheet and the shared strings are read; declared dimensions are
  ignored; cells to the right of the columns the caller wants are skipped without being
  stored; rows are yielded as they are read, and missing rows cost nothing;
* every XML element counts against a budget the caller sets from its row limit, so the
  time a file can cost is bounded whatever its shape.

Every problem becomes a :class:`~webapp.exceptions.ValidationError` on the ``file`` field
with a translated message; malformed files never raise anything else.
"""
from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from xml.parsers import expat

from webapp.exceptions import ValidationError
from webapp.i18n import _l

#: Parts an XLSX file may have (Excel and WPS write 10–40; images and comments add a few each).
MAX_PARTS = 256
#: Largest unpacked part, and default total for all parts together (``max_unpacked``).
MAX_PART_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_UNPACKED = 64 * 1024 * 1024
#: A part may unpack to at most this many times its packed size (XML of a real sheet: 5–40 times) …
MAX_RATIO = 100
#: … once it is larger than this (tiny parts have meaningless ratios).
RATIO_GRACE_BYTES = 256 * 1024
#: Excel's own limit on the characters in one cell; longer text is cut (and then fails any length check).
MAX_CELL_CHARS = 32_767
CHUNK = 64 * 1024

_FIELD = "file"
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: an encrypted XLSX or an old .xls
_EOCD = b"PK\x05\x06"
#: Folders of a workbook package (Excel, WPS, LibreOffice, Google Sheets); a .docx or any other zip has others.
_TOP_LEVEL = {"_rels", "docProps", "xl", "customXml", "[trash]"}
#: Part names are only looked up, never used as paths; still, no control characters, backslashes or drive colons.
_PART_NAME_RE = re.compile(r'\A[^\x00-\x1f\x7f\\:*?"<>|]{1,255}\Z')
_CELL_REF_RE = re.compile(r"\A\$?([A-Z]{1,3})\$?([0-9]{1,7})\Z")
_NUMBER_RE = re.compile(r"\A[+-]?(?:[0-9]{1,300}(?:\.[0-9]{0,300})?|\.[0-9]{1,300})(?:[eE][+-]?[0-9]{1,3})?\Z")

NOT_XLSX = _l("This is not an XLSX file (Excel 2007 or later). Download the template and fill it in.")
PROTECTED = _l("This file is password-protected or is an old .xls workbook. Open it in Excel or WPS, "
               "remove the password and save it as .xlsx.")
DAMAGED = _l("The file is damaged and cannot be read. Open it in Excel or WPS, save it again and import it again.")
TOO_MANY_PARTS = _l("The file has too many parts (at most %(max)d). Save it again from Excel or WPS as a plain "
                    "workbook.", max=MAX_PARTS)
HAS_DTD = _l("The file contains an XML document type declaration, which workbooks never contain; it was refused.")


def refuse(message):
    raise ValidationError(message, errors={_FIELD: [message]})


class Budget:
    """XML elements a read may still parse (every part read for one upload draws on one budget), and
    the message given when they run out."""

    def __init__(self, elements: int, message):
        self.left = elements
        self.message = message


class _DtdFound(Exception):
    pass


def _refuse_dtd(*_args):
    raise _DtdFound


# ---------------------------------------------------------------- the archive

def _check_central_directory(data: bytes) -> None:
    """Refuse an archive listing more parts than we accept before :mod:`zipfile` builds an object per part."""
    end = data.rfind(_EOCD, max(0, len(data) - 22 - 65_535))
    if end < 0 or len(data) < end + 22:
        refuse(NOT_XLSX)
    _sig, _disk, _cd_disk, _here, entries, cd_size, _offset, _comment = struct.unpack("<4s4H2LH", data[end:end + 22])
    if entries > MAX_PARTS or cd_size > MAX_PARTS * 1024:
        refuse(TOO_MANY_PARTS)


def open_archive(data: bytes, *, max_unpacked: int = DEFAULT_MAX_UNPACKED) -> zipfile.ZipFile:
    """``data`` as a zip whose parts are checked (see the module docstring); nothing is unpacked yet."""
    if data.startswith(_CFB_MAGIC):
        refuse(PROTECTED)
    if not data.startswith(b"PK"):
        refuse(NOT_XLSX)
    _check_central_directory(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))  # BytesIO shares the bytes, no copy
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
            NotImplementedError, RuntimeError):
        refuse(NOT_XLSX)
    if len(infos) > MAX_PARTS:
        refuse(TOO_MANY_PARTS)
    names = {info.filename for info in infos}
    if len(names) != len(infos) or "[Content_Types].xml" not in names:
        refuse(NOT_XLSX)
    total = 0
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if (not _PART_NAME_RE.match(name) or ".." in parts or "" in parts[:-1] or name.startswith("/")
                or (len(parts) > 1 and parts[0] not in _TOP_LEVEL)):
            refuse(NOT_XLSX)
        if info.flag_bits & 0x1:
            refuse(PROTECTED)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            refuse(NOT_XLSX)
        total += info.file_size
        if info.file_size > MAX_PART_BYTES or total > max_unpacked:
            cap = MAX_PART_BYTES if info.file_size > MAX_PART_BYTES else max_unpacked
            refuse(_l("The file is too large once unpacked (more than %(mb)d MB). Import the forms in smaller "
                      "files.", mb=cap // (1024 * 1024)))
        if info.file_size > RATIO_GRACE_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            refuse(_l("The file is packed abnormally (a part expands more than %(max)d times) and was refused. "
                      "Save it again from Excel or WPS.", max=MAX_RATIO))
    return archive


# ---------------------------------------------------------------- XML

def _local(name: str) -> str:
    """``uri local`` (expat with a namespace separator) → ``local``; parts are matched by local name,
    so transitional and strict OOXML read alike."""
    return name.rpartition(" ")[2]


def _parse(archive: zipfile.ZipFile, name: str, budget: Budget, start, end=None, chars=None) -> Iterator[None]:
    """Feed part ``name`` to a fresh expat parser chunk by chunk, yielding after each chunk."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.buffer_text = True

    def on_start(tag, attrs):
        budget.left -= 1
        if budget.left < 0:
            refuse(budget.message)
        start(tag.rpartition(" ")[2], attrs)

    parser.StartElementHandler = on_start
    if end is not None:
        parser.EndElementHandler = lambda tag: end(_local(tag))
    if chars is not None:
        parser.CharacterDataHandler = chars
    try:
        with archive.open(name) as stream:
            while chunk := stream.read(CHUNK):
                parser.Parse(chunk, False)
                yield
            parser.Parse(b"", True)
    except _DtdFound:
        refuse(HAS_DTD)
    except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, UnicodeError, KeyError):
        refuse(DAMAGED)


def _drain(parsing: Iterator[None]) -> None:
    for _ in parsing:
        pass


def _relationships(archive: zipfile.ZipFile, part: str, budget: Budget) -> list[tuple[str, str, str]]:
    """The relationships of ``part``: [(id, type, resolved target part name)], internal targets only."""
    folder, base = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    if rels_name not in archive.NameToInfo:
        return []
    found: list[tuple[str, str, str]] = []

    def start(tag, attrs):
        if tag == "Relationship" and attrs.get("TargetMode", "Internal") == "Internal":
            target = attrs.get("Target", "")
            resolved = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            found.append((attrs.get("Id", ""), attrs.get("Type", ""), resolved))

    _drain(_parse(archive, rels_name, budget, start))
    return found


def _part(archive: zipfile.ZipFile, name: str) -> str:
    if name not in archive.NameToInfo:
        refuse(NOT_XLSX)
    return name


def first_sheet(archive: zipfile.ZipFile, budget: Budget) -> tuple[str, str | None]:
    """(first worksheet's part name, shared strings part name or None), as Excel would open them."""
    workbook = next((target for _id, kind, target in _relationships(archive, "", budget)
                     if kind.endswith("/officeDocument")), None)
    if workbook is None:
        refuse(NOT_XLSX)
    _part(archive, workbook)
    sheet_ids: list[str] = []

    def start(tag, attrs):
        if tag == "sheet":
            sheet_ids.append(next((v for k, v in attrs.items() if k.endswith("relationships id")), ""))

    _drain(_parse(archive, workbook, budget, start))
    rels = _relationships(archive, workbook, budget)
    targets = {rid: target for rid, kind, target in rels if kind.endswith("/worksheet")}
    sheet = next((targets[rid] for rid in sheet_ids if rid in targets), None)
    if sheet is None:
        refuse(_l("The workbook has no worksheet."))
    strings = next((target for _id, kind, target in rels if kind.endswith("/sharedStrings")), None)
    return _part(archive, sheet), (_part(archive, strings) if strings else None)


def shared_strings(archive: zipfile.ZipFile, name: str | None, budget: Budget) -> list[str]:
    """The shared string table: each ``<si>``'s text runs, phonetic hints (``<rPh>``) left out."""
    if name is None:
        return []
    strings: list[str] = []
    state = {"in_si": False, "in_t": False, "rph": 0}
    buf: list[str] = []
    size = [0]

    def start(tag, attrs):
        if tag == "si":
            state["in_si"] = True
            buf.clear()
            size[0] = 0
        elif tag == "rPh":
            state["rph"] += 1
        elif tag == "t" and state["in_si"] and not state["rph"]:
            state["in_t"] = True

    def end(tag):
        if tag == "si":
            strings.append("".join(buf).replace("x005F_", ""))
            state["in_si"] = False
        elif tag == "rPh":
            state["rph"] -= 1
        elif tag == "t":
            state["in_t"] = False

    def chars(text):
        if state["in_t"] and size[0] <= MAX_CELL_CHARS:
            buf.append(text)
            size[0] += len(text)

    _drain(_parse(archive, name, budget, start, end, chars))
    return strings


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def column_letters(number: int) -> str:
    """1 → A, 27 → AA (for messages naming a column that has no usable header)."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _number(text: str):
    if not _NUMBER_RE.match(text):
        return text
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


class SheetRows:
    """Rows of one worksheet as ``(row number, [values of columns 1..width])``, read as they are parsed.

    ``width`` may be changed between rows (e.g. once the header row says which columns matter);
    cells to its right are skipped without being stored. Values are str, int, float, bool or None,
    as openpyxl gives them with ``data_only=True`` (cached results of formulas), except that dates
    stay numbers.
    """

    def __init__(self, archive: zipfile.ZipFile, name: str, strings: list[str], budget: Budget, width: int):
        self.width = width
        self._strings = strings
        self._pending: list[tuple[int, list]] = []
        self._row_number = 0
        self._row: list | None = None
        self._col = 0
        self._cell: dict | None = None  # type, text parts, size of the cell being read
        self._in_value = self._in_inline = self._in_text = False
        self._rph = 0
        self._parsing = _parse(archive, name, budget, self._start, self._end, self._chars)

    def __iter__(self):
        for _ in self._parsing:
            yield from self._pending
            self._pending.clear()
        yield from self._pending
        self._pending.clear()

    def _start(self, tag, attrs):
        if tag == "row":
            number = attrs.get("r")
            if number is None:
                self._row_number += 1
            elif number.isdigit() and len(number) <= 7:
                self._row_number = int(number)
            else:
                refuse(DAMAGED)
            self._row = [None] * self.width
            self._col = 0
        elif tag == "c" and self._row is not None:
            ref = attrs.get("r")
            if ref is None:
                self._col += 1
            else:
                match = _CELL_REF_RE.match(ref)
                if match is None:
                    refuse(DAMAGED)
                self._col = _column_number(match.group(1))
            self._cell = {"t": attrs.get("t", "n"), "text": [], "size": 0} if self._col <= self.width else None
        elif self._cell is not None:
            if tag == "v":
                self._in_value = True
            elif tag == "is":
                self._in_inline = True
            elif tag == "rPh":
                self._rph += 1
            elif tag == "t" and self._in_inline and not self._rph:
                self._in_text = True

    def _end(self, tag):
        if tag == "row":
            if self._row is not None:
                self._pending.append((self._row_number, self._row))
            self._row = None
        elif tag == "c":
            if self._cell is not None and self._row is not None:
                self._row[self._col - 1] = self._value(self._cell)
            self._cell = None
            self._in_value = self._in_inline = self._in_text = False
            self._rph = 0
        elif tag == "v":
            self._in_value = False
        elif tag == "is":
            self._in_inline = False
        elif tag == "rPh":
            self._rph = max(0, self._rph - 1)
        elif tag == "t":
            self._in_text = False

    def _chars(self, text):
        cell = self._cell
        if cell is not None and (self._in_value or self._in_text) and cell["size"] <= MAX_CELL_CHARS:
            cell["text"].append(text)
            cell["size"] += len(text)

    def _value(self, cell: dict):
        text = "".join(cell["text"])[:MAX_CELL_CHARS + 1]
        kind = cell["t"]
        if kind == "s":
            if not (text.isascii() and text.strip().isdigit()) or int(text) >= len(self._strings):
                refuse(DAMAGED)
            return self._strings[int(text)]
        if kind == "inlineStr":
            return text.replace("x005F_", "")
        if kind == "b":
            return text.strip() == "1"
        if kind in ("str", "e", "d"):
            return text
        if not text:
            return None
        return _number(text.strip())

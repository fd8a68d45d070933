"""The database side of a backup: every table as JSON Lines, one array of values per row, typed by column.

The export is logical and database-neutral: what the columns hold, not how one database stores it, so a
backup of the SQLite default loads into PostgreSQL. Each column has a *kind* (:data:`KINDS`) recorded in
the manifest; values JSON cannot carry exactly (times, dates, decimals, bytes) are written as text that
reads back to the same value. Tables are read from the database itself (reflection), so the export is
what the schema revision in the manifest says, whatever this version of the code's models are.
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa

#: How a column's values are written: JSON as is, or as text that reads back exactly.
KINDS = ("integer", "float", "decimal", "boolean", "string", "datetime", "date", "time", "bytes", "json")
#: Alembic's own table: its one value is the manifest's schema revision, not data.
VERSION_TABLE = "alembic_version"
#: A SHA-256 as hex (the name of an attached file).
SHA256_RE = re.compile(r"\A[0-9a-f]{64}\Z")
#: Rows written to the database in one statement.
BATCH = 500


class UnsupportedColumn(Exception):
    """A column of a type the export has no lossless text for."""


def column_kind(column: sa.Column) -> str:
    """The :data:`KINDS` entry for ``column`` (its type as reflected from the database)."""
    col_type = column.type
    if isinstance(col_type, sa.JSON):
        return "json"
    if isinstance(col_type, sa.Boolean):
        return "boolean"
    try:
        python = col_type.python_type
    except NotImplementedError:
        python = None
    if python is float:
        return "float"
    for kind, types in (("integer", (int,)), ("decimal", (Decimal,)), ("string", (str,)), ("datetime", (datetime,)),
                        ("date", (date,)), ("time", (time,)), ("bytes", (bytes, bytearray, memoryview)),
                        ("json", (dict, list))):
        if python in types:
            return kind
    raise UnsupportedColumn(f"{column.table.name}.{column.name}: {col_type!r}")


def encode(kind: str, value):
    """``value`` of a column of ``kind`` as a JSON value (None stays None)."""
    if value is None:
        return None
    if kind in ("datetime", "date", "time"):
        return value.isoformat()
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def decode(kind: str, value):
    """The inverse of :func:`encode`."""
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "bytes":
        return base64.b64decode(value.encode("ascii"), validate=True)
    return value


def reflect(conn: sa.Connection) -> list[sa.Table]:
    """The database's tables (not Alembic's), parents before the tables that refer to them."""
    metadata = sa.MetaData()
    metadata.reflect(bind=conn)
    return [t for t in metadata.sorted_tables if t.name != VERSION_TABLE]


def schema_revision(conn: sa.Connection) -> str | None:
    """The Alembic revision the database is at (None: no ``alembic_version`` table or no row)."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    versions = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(versions) != 1:
        return None
    return versions[0]


def describe(table: sa.Table) -> list[dict]:
    """The manifest's description of ``table``'s columns: name and kind, in export order."""
    return [{"name": c.name, "kind": column_kind(c)} for c in table.columns]


def export_rows(conn: sa.Connection, table: sa.Table) -> Iterator[bytes]:
    """Every row of ``table`` as one line of JSON (an array in column order), by primary key."""
    kinds = [column_kind(c) for c in table.columns]
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(sa.select(table).order_by(*order))
    for row in result:
        values = [encode(kind, value) for kind, value in zip(kinds, row, strict=True)]
        yield json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def parse_line(line: bytes, columns: list[dict]) -> dict:
    """One exported line back to ``{column: value}``; ValueError when it is not a row of these columns."""
    values = json.loads(line)
    if not isinstance(values, list) or len(values) != len(columns):
        raise ValueError("not a row of this table")
    return {c["name"]: decode(c["kind"], v) for c, v in zip(columns, values, strict=True)}


def load_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[dict]) -> int:
    """Insert ``rows`` into ``table`` in batches; a table that refers to itself (a reply to a comment)
    gets its rows parents first. Returns how many."""
    if _self_references(table):
        rows = _parents_first(table, list(rows))
    count = 0
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def _self_references(table: sa.Table) -> list[tuple[str, str]]:
    return [(fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table is table]


def _parents_first(table: sa.Table, rows: list[dict]) -> list[dict]:
    links = _self_references(table)
    placed: set = set()
    ordered: list[dict] = []
    pending = rows
    while pending:
        waiting = []
        for row in pending:
            if all(row[child] is None or (target, row[child]) in placed for child, target in links):
                ordered.append(row)
                placed.update((target, row[target]) for _child, target in links)
            else:
                waiting.append(row)
        if len(waiting) == len(pending):  # a loop, or a parent that is not there: let the database say so
            ordered += waiting
            break
        pending = waiting
    return ordered


def reset_sequences(conn: sa.Connection, tables: Iterable[sa.Table]) -> None:
    """PostgreSQL: move each serial column's sequence past the highest restored value, so the next row
    gets a new id (rows were inserted with their ids, which does not advance a sequence)."""
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer.quote
    for table in tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": quote(table.name), "c": column.name}).scalar()
            if sequence:
                conn.execute(sa.text(f"SELECT setval(:s, COALESCE(MAX({quote(column.name)}), 1), "
                                     f"MAX({quote(column.name)}) IS NOT NULL) FROM {quote(table.name)}"),
                             {"s": sequence})

"""Create, verify and restore backups: the database and the git store in one archive.

:func:`create_backup` takes the database and the store *at one moment* while the app keeps running. The
store's refs are read, then the database snapshot is taken (PostgreSQL: one REPEATABLE READ read-only
transaction for every table; SQLite: the online backup API into a private copy), then the refs are read
again; when they moved in between, it starts over. So the snapshot belongs to a moment at which the
store held exactly the refs bundled: no audit entry in the database names a commit the bundle lacks, and
the audit anchor in the bundle never names an entry the database lacks. (A publish commits to git before
its database transaction: a publish caught in between leaves a commit without its audit entry, which
the catalogue rebuild after a restore records from git, as it does after a crash.)

:func:`verify_backup` checks an archive without touching the live system; :func:`restore_backup` puts
one into an empty database and an empty store, and refuses anything else.
"""
from __future__ import annotations

import hmac
import importlib.metadata
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy.pool import NullPool

import repo_store
from audit import service as audit_service
from audit.models import GENESIS_HASH, AuditEntry
from backup import tables as tbl
from backup.archive import ArchiveReader, ArchiveWriter, DamagedArchive
from backup.gitbundle import GitFailed, bundle_heads, create_bundle, fetch_bundle, read_refs
from procedures import catalog
from webapp import features
from webapp.exceptions import DomainError
from webapp.extensions import db
from webapp.i18n import _l
from webapp.store import get_store

#: Archive names: ``procdesk-backup-20250101T020000Z.zip`` (UTC), sortable by time.
NAME_PREFIX = "procdesk-backup-"
BUNDLE_PART = "store.bundle"
#: Files attached to records (``ATTACHMENTS_PATH``, content-addressed under ``objects/``) are parts named
#: ``attachments/objects/ab/cd/<sha256>``; the ``attachments`` table's ``sha256`` column names them.
ATTACHMENTS_PREFIX = "attachments/"
ATTACHMENTS_TABLE = "attachments"
SECRETS_PART = "secrets.json"
#: The secrets an archive leaves out unless asked (``--with-secrets``), with their file in ``instance/``.
SECRETS = {"SECRET_KEY": "secret_key", "AUDIT_KEY": "audit_key"}
#: How often a backup starts over because the store's refs moved while the snapshot was taken.
SNAPSHOT_ATTEMPTS = 20
AUDIT_TABLE = AuditEntry.__tablename__


class BackupError(DomainError):
    """A backup cannot be made (the message says why)."""


class RestoreRefused(DomainError):
    """A restore was refused before anything was changed (the message says why)."""


# ---------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------


def default_directory() -> Path:
    """Where ``flask backup create`` writes without a DIR: ``BACKUP_DIR``, else ``instance/backups``."""
    return Path(current_app.config.get("BACKUP_DIR") or Path(current_app.instance_path) / "backups")


def create_backup(directory: str | Path | None = None, *, with_secrets: bool = False,
                  now: datetime | None = None) -> tuple[Path, dict]:
    """Write one archive of the database and the git store into ``directory``; returns its path and manifest.

    Safe while the app serves requests (see the module's description of the snapshot). The archive
    appears under its final name only when complete. ``with_secrets`` adds ``SECRET_KEY`` and
    ``AUDIT_KEY`` (otherwise kept out of it).
    """
    directory = Path(directory) if directory else default_directory()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(_l("Cannot write to %(path)s: %(problem)s", path=str(directory), problem=str(exc))) from None
    now = now or datetime.now(UTC)
    store = get_store()
    work = Path(tempfile.mkdtemp(prefix=".procdesk-backup-", dir=directory))
    try:
        with _snapshot(db.engine, store.git_dir, work) as (conn, refs):
            revision = tbl.schema_revision(conn)
            if revision is None:
                raise BackupError(_l("The database has no schema revision (it was not made by “flask db upgrade”). "
                                     "Run “flask db upgrade” first."))
            try:
                found = tbl.reflect(conn)
                for table in found:
                    tbl.describe(table)
            except tbl.UnsupportedColumn as exc:
                raise BackupError(_l("The column %(column)s has a type the backup cannot export.",
                                     column=str(exc))) from None
            path = _free_name(directory, now)
            with ArchiveWriter(path) as out:
                entries = []
                for table in found:
                    part = f"db/{table.name}.jsonl"
                    rows = out.write_lines(part, tbl.export_rows(conn, table))
                    entries.append({"name": table.name, "part": part, "rows": rows, "columns": tbl.describe(table)})
                audit = _audit_tail(conn, found)
                dialect = conn.dialect.name
                named = _attachment_hashes(conn, found)
                # After the snapshot: a file is stored before the row naming it is committed, and never
                # removed, so every file the snapshot names is there now.
                attachments = _write_attachments(out, _attachments_root(), named)
                if refs:
                    bundle = work / BUNDLE_PART
                    try:
                        create_bundle(store.git_dir, refs, bundle, work)
                    except GitFailed as exc:
                        raise BackupError(_l("The git store could not be bundled: %(problem)s",
                                             problem=str(exc))) from None
                    out.write_file(BUNDLE_PART, bundle)
                if with_secrets:
                    out.write_json(SECRETS_PART, {name: str(current_app.config[name]) for name in SECRETS})
                manifest = {
                    "created_at": now.isoformat(timespec="seconds"),
                    "procdesk_version": _version(),
                    "database": {"dialect": dialect, "revision": revision, "tables": entries},
                    "store": {"bundle": BUNDLE_PART if refs else None, "refs": refs},
                    "audit": audit,
                    "attachments": attachments,
                    "secrets": sorted(SECRETS) if with_secrets else [],
                }
                out.finish(manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return path, manifest


def _version() -> str:
    try:
        return importlib.metadata.version("procdesk")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _free_name(directory: Path, now: datetime) -> Path:
    stem = f"{NAME_PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    path = directory / f"{stem}.zip"
    n = 1
    while path.exists() or path.with_name(path.name + ".partial").exists():
        n += 1
        path = directory / f"{stem}-{n}.zip"
    return path


@contextmanager
def _snapshot(engine: sa.Engine, git_dir: str, work: Path) -> Iterator[tuple[sa.Connection, dict[str, str]]]:
    """A connection reading the database as it was at one moment, and the store's refs at that moment."""
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(_l("Backups support SQLite and PostgreSQL, not %(name)s.", name=dialect))
    for attempt in range(SNAPSHOT_ATTEMPTS):
        before = _refs(git_dir)
        if dialect == "sqlite":
            copy = work / f"database-{attempt}.sqlite"
            with engine.connect() as conn, closing(sqlite3.connect(copy)) as target:
                conn.connection.driver_connection.backup(target)  # one consistent copy, writers keep going
            if _refs(git_dir) != before:
                copy.unlink()
                continue
            copied = sa.create_engine(f"sqlite:///{copy}", poolclass=NullPool)
            try:
                with copied.connect() as conn:
                    yield conn, before
            finally:
                copied.dispose()
            return
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        try:
            with conn.begin():
                conn.execute(sa.text("SELECT 1"))  # the transaction's snapshot is taken at its first statement
                if _refs(git_dir) != before:
                    continue
                yield conn, before
                return
        finally:
            conn.close()
    raise BackupError(_l("The git store kept changing while the backup was being taken; please try again."))


def _refs(git_dir: str) -> dict[str, str]:
    try:
        return read_refs(git_dir)
    except GitFailed as exc:
        raise BackupError(_l("The git store's branches cannot be read: %(problem)s", problem=str(exc))) from None


def _attachments_root() -> Path:
    """``ATTACHMENTS_PATH``, default ``attachments`` in the instance folder (as :mod:`records.attachments`)."""
    return Path(current_app.config.get("ATTACHMENTS_PATH") or Path(current_app.instance_path) / "attachments")


def _attachment_files(root: Path) -> list[Path]:
    objects = root / "objects"
    if not objects.is_dir():
        return []
    return sorted(p for p in objects.rglob("*") if p.is_file() and not p.is_symlink())


def _attachment_hashes(conn: sa.Connection, found: list[sa.Table]) -> set[str]:
    """The SHA-256 of every file the ``attachments`` table names (none without that table)."""
    table = next((t for t in found if t.name == ATTACHMENTS_TABLE), None)
    if table is None or "sha256" not in table.c:
        return set()
    return set(conn.execute(sa.select(table.c.sha256).distinct()).scalars())


def _write_attachments(out: ArchiveWriter, root: Path, named: set[str]) -> dict:
    files = _attachment_files(root)
    for path in files:
        out.write_file(ATTACHMENTS_PREFIX + path.relative_to(root).as_posix(), path)
    missing = sorted(named - {path.name for path in files})
    return {"files": len(files), "bytes": sum(out.parts[ATTACHMENTS_PREFIX + p.relative_to(root).as_posix()]["bytes"]
                                              for p in files), "missing": missing}


def _audit_tail(conn: sa.Connection, found: list[sa.Table]) -> dict:
    table = next((t for t in found if t.name == AUDIT_TABLE), None)
    if table is None:
        return {"entries": 0, "last_id": None, "last_hash": None}
    count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    last = conn.execute(sa.select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)).first()
    return {"entries": count, "last_id": last.id if last else None, "last_hash": last.hash if last else None}


# ---------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------


@dataclass
class ChainCheck:
    """The audit chain of an archive, checked row by row as the rows are read.

    Without a key only the links can be checked (each entry names its predecessor's hash); with the key
    every entry's keyed hash too."""

    key: bytes | None
    anchor: audit_service.Anchor | None = None
    entries: int = 0
    authentic: int = 0
    broken_link: int | None = None
    first_unauthentic: int | None = None
    last_id: int | None = None
    last_hash: str = GENESIS_HASH
    anchored_hash: str | None = None

    def add(self, row: dict) -> None:
        if row["prev_hash"] != self.last_hash and self.broken_link is None:
            self.broken_link = row["id"]
        if self.key is not None:
            at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=UTC)  # stored as naive UTC
            values = SimpleNamespace(**{name: row[name] for name in audit_service.HASHED_COLUMNS})
            values.at = at
            if hmac.compare_digest(audit_service.chain_hash(self.key, values), row["hash"] or ""):
                self.authentic += 1
            elif self.first_unauthentic is None:
                self.first_unauthentic = row["id"]
        if self.anchor is not None and row["id"] == self.anchor.entry_id:
            self.anchored_hash = row["hash"]
        self.entries += 1
        self.last_id, self.last_hash = row["id"], row["hash"]


@dataclass
class VerifyReport:
    """What :func:`verify_backup` found in an intact archive."""

    manifest: dict
    tables: int = 0
    rows: int = 0
    refs: int = 0
    audit_entries: int = 0
    attachments: int = 0
    #: "archive" / "configuration": the audit key the chain was checked with; None: links only.
    audit_key: str | None = None
    notes: list = field(default_factory=list)  # translated sentences worth saying (not failures)


def verify_backup(path: str | Path) -> VerifyReport:
    """Check an archive from end to end without touching the live database or store.

    The manifest, every part's SHA-256 and size, every table's rows (each one readable, as many as the
    manifest says), the store bundle (``git bundle verify`` in an empty repository, and the refs it
    carries are the manifest's), and the audit chain over the exported entries: links always, keyed
    hashes with the archive's key or else the configured ``AUDIT_KEY`` (when neither matches, only the
    links, and the report says so), the last hash as the manifest recorded it, and the head anchored in
    the bundled store. Raises :class:`DamagedArchive` with the first problem.
    """
    with ArchiveReader(path) as archive, tempfile.TemporaryDirectory(prefix="procdesk-verify-") as tmp:
        manifest = archive.manifest
        database, store, audit = _sections(manifest)
        report = VerifyReport(manifest=manifest)
        unlisted = archive.unlisted()
        if unlisted:
            raise DamagedArchive(_l("The archive holds files its manifest does not list: %(names)s.",
                                    names=", ".join(unlisted[:10])))
        anchor = None
        if store["bundle"]:
            bundle = Path(tmp) / BUNDLE_PART
            archive.extract(store["bundle"], bundle)
            heads = _bundle_heads(bundle, tmp)
            if heads != store["refs"]:
                raise DamagedArchive(_l("The store bundle does not carry the branches the manifest lists."))
            anchor = _bundled_anchor(bundle, tmp)
        elif store["refs"]:
            raise DamagedArchive(_l("The manifest lists branches of the store but the archive has no store bundle."))
        report.refs = len(store["refs"])
        key, report.audit_key = _verify_key(archive, manifest)
        chain = ChainCheck(key=key, anchor=anchor)
        named: set[str] = set()
        for entry in database["tables"]:
            count = 0
            auditing = entry["name"] == AUDIT_TABLE
            attaching = entry["name"] == ATTACHMENTS_TABLE and any(c["name"] == "sha256" for c in entry["columns"])
            for line in archive.lines(entry["part"]):
                try:
                    row = tbl.parse_line(line, entry["columns"])
                except (ValueError, TypeError):
                    raise DamagedArchive(_l("Row %(n)d of table %(table)s cannot be read.", n=count + 1,
                                            table=entry["name"])) from None
                if auditing:
                    chain.add(row)
                if attaching:
                    named.add(row["sha256"])
                count += 1
            if count != entry["rows"]:
                raise DamagedArchive(_l("Table %(table)s has %(found)d rows in the archive; the manifest says "
                                        "%(expected)d.", table=entry["name"], found=count, expected=entry["rows"]))
            report.tables += 1
            report.rows += count
        _judge_chain(chain, audit, report)
        _verify_attachments(archive, named, report)
        return report


def _verify_attachments(archive: ArchiveReader, named: set[str], report: VerifyReport) -> None:
    """Every attached file in the archive is whole and is what its name says; every file the attachments
    table names is there (or was already missing from the instance when the backup was made: said)."""
    parts = archive.manifest["parts"]
    stored = set()
    for name in parts:
        if not name.startswith(ATTACHMENTS_PREFIX):
            continue
        _attachment_relative(name)
        for _chunk in archive.chunks(name):
            pass
        base = name.rsplit("/", 1)[-1]
        if tbl.SHA256_RE.match(base) and parts[name]["sha256"] != base:
            raise DamagedArchive(_l("The part %(part)s does not match its SHA-256 in the manifest: it was damaged "
                                    "or changed.", part=name))
        stored.add(base)
        report.attachments += 1
    known_missing = set((archive.manifest.get("attachments") or {}).get("missing") or ())
    lost = sorted(named - stored - known_missing)
    if lost:
        raise DamagedArchive(_l("The attached file %(sha)s that the attachments table names is missing from the "
                                "archive.", sha=lost[0]))
    if known_missing & named:
        report.notes.append(_l("%(n)d attached files were already missing from the instance when the backup was "
                               "made (listed in the manifest).", n=len(known_missing & named)))


def _sections(manifest: dict) -> tuple[dict, dict, dict]:
    try:
        database, store, audit = manifest["database"], manifest["store"], manifest["audit"]
        if not isinstance(database["revision"], str) or not isinstance(store["refs"], dict):
            raise TypeError
        for entry in database["tables"]:
            if not (isinstance(entry["name"], str) and isinstance(entry["rows"], int)
                    and all(c["kind"] in tbl.KINDS for c in entry["columns"])):
                raise TypeError
            if entry["part"] not in manifest["parts"]:
                raise DamagedArchive(_l("The manifest does not list the part %(part)s.", part=entry["part"]))
        if store["bundle"] is not None and store["bundle"] not in manifest["parts"]:
            raise DamagedArchive(_l("The manifest does not list the part %(part)s.", part=store["bundle"]))
    except (KeyError, TypeError):
        raise DamagedArchive(_l("The archive's manifest is damaged.")) from None
    return database, store, audit


def _bundle_heads(bundle: Path, tmp: str) -> dict[str, str]:
    try:
        return bundle_heads(bundle, tmp)
    except GitFailed as exc:
        raise DamagedArchive(_l("The store bundle fails git's check: %(problem)s", problem=str(exc)[:300])) from None


def _bundled_anchor(bundle: Path, tmp: str) -> audit_service.Anchor | None:
    """The audit anchor as the bundled store holds it (None when nothing was anchored)."""
    repo = Path(tmp) / "bundled.git"
    try:
        with repo_store.GitStore.open_or_init(repo) as store:
            fetch_bundle(bundle, store.git_dir)
            return audit_service.read_anchor(store)
    except (GitFailed, repo_store.StoreError) as exc:
        raise DamagedArchive(_l("The store bundle fails git's check: %(problem)s", problem=str(exc)[:300])) from None
    except ValueError:
        raise DamagedArchive(_l("The audit anchor in the store bundle cannot be read.")) from None


def _verify_key(archive: ArchiveReader, manifest: dict) -> tuple[bytes | None, str | None]:
    if SECRETS_PART in manifest["parts"]:
        secrets = archive.read_json(SECRETS_PART)
        if isinstance(secrets, dict) and secrets.get("AUDIT_KEY"):
            return str(secrets["AUDIT_KEY"]).strip().encode("utf-8"), "archive"
    configured = current_app.config.get("AUDIT_KEY")
    if configured:
        return str(configured).strip().encode("utf-8"), "configuration"
    return None, None


def _judge_chain(chain: ChainCheck, audit: dict, report: VerifyReport) -> None:
    report.audit_entries = chain.entries
    if chain.broken_link is not None:
        raise DamagedArchive(_l("Audit entry %(id)d in the archive does not follow the entry before it: the log "
                                "was changed.", id=chain.broken_link))
    if chain.entries != audit.get("entries") or (chain.entries and chain.last_hash != audit.get("last_hash")):
        raise DamagedArchive(_l("The audit log in the archive does not end with the hash the manifest recorded."))
    if chain.anchor is not None and chain.anchored_hash != chain.anchor.hash:
        raise DamagedArchive(_l("The audit log in the archive does not reach the head anchored in its store "
                                "(entry %(id)d).", id=chain.anchor.entry_id))
    if chain.key is None or not chain.entries:
        report.audit_key = None
        return
    if chain.authentic == chain.entries:
        return
    if chain.authentic == 0 and report.audit_key == "configuration":
        # Not this log's key (another instance's, or a new one): say what was and was not checked.
        report.audit_key = None
        report.notes.append(_l("The configured AUDIT_KEY is not the key this audit log was written with, so only "
                               "the chain's links were checked, not its keyed hashes."))
        return
    raise DamagedArchive(_l("Audit entry %(id)d in the archive does not match its keyed hash: the log was changed.",
                            id=chain.first_unauthentic))


# ---------------------------------------------------------------------------
# restore
# ---------------------------------------------------------------------------


@dataclass
class RestoreReport:
    """What :func:`restore_backup` did."""

    verified: VerifyReport
    revision: str
    upgraded_to: str | None = None
    secrets: dict = field(default_factory=dict)  # name -> "installed" / "same" / "configured elsewhere"
    audit: audit_service.VerifyResult | None = None
    catalogue_added: int | None = None


def _script() -> ScriptDirectory:
    migrate = current_app.extensions["migrate"].migrate
    return ScriptDirectory.from_config(migrate.get_config())


def restore_backup(path: str | Path) -> RestoreReport:
    """Restore an archive into this app's empty database and empty store.

    Checks the archive first (:func:`verify_backup`); refuses (:class:`RestoreRefused`) a database with
    rows or with a schema the backup's does not include, a store with any ref, and a schema revision this
    code does not know. Then: migrations up to the backup's revision, every row (one transaction, held
    until the store's refs are in), PostgreSQL sequences moved past the restored ids, the store's refs
    from the bundle, the remaining migrations, the archive's secrets when it has them (into
    ``instance/``), the audit verify and the catalogue rebuild.
    """
    verified = verify_backup(path)
    manifest = verified.manifest
    revision = manifest["database"]["revision"]
    script = _script()
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise RestoreRefused(_l("The backup's schema revision %(revision)s is newer than this version of ProcDesk "
                                "knows (newest: %(head)s): restore it with the version that made it, or a newer one.",
                                revision=revision, head=script.get_current_head()))
    _check_database_empty(script, revision)
    store = get_store()
    if read_refs(store.git_dir):
        raise RestoreRefused(_l("The git store at %(path)s is not empty: restore into an empty store path.",
                                path=store.git_dir))
    attachments_root = _attachments_root()
    if _attachment_files(attachments_root):
        raise RestoreRefused(_l("The attachments folder %(path)s is not empty: restore into an empty one.",
                                path=str(attachments_root)))
    config = current_app.extensions["migrate"].migrate.get_config()
    alembic_command.upgrade(config, revision)
    with ArchiveReader(path) as archive, tempfile.TemporaryDirectory(prefix="procdesk-restore-") as tmp:
        with db.engine.begin() as conn:
            found = {t.name: t for t in tbl.reflect(conn)}
            for entry in manifest["database"]["tables"]:
                table = found.get(entry["name"])
                names = [c["name"] for c in entry["columns"]]
                if table is None or set(names) != {c.name for c in table.columns}:
                    raise RestoreRefused(_l("The table %(table)s of the backup does not match the database's at "
                                            "schema revision %(revision)s.", table=entry["name"], revision=revision))
                tbl.load_rows(conn, table, (tbl.parse_line(line, entry["columns"])
                                            for line in archive.lines(entry["part"])))
            tbl.reset_sequences(conn, found.values())
            bundle_part = manifest["store"]["bundle"]
            if bundle_part:
                bundle = Path(tmp) / BUNDLE_PART
                archive.extract(bundle_part, bundle)
                try:
                    fetch_bundle(bundle, store.git_dir)
                except GitFailed as exc:
                    raise BackupError(_l("The git store could not be restored from the bundle: %(problem)s",
                                         problem=str(exc)[:300])) from None
                if read_refs(store.git_dir) != manifest["store"]["refs"]:
                    raise BackupError(_l("The store's branches after the restore are not the ones in the backup."))
            _restore_attachments(archive, attachments_root)
        secrets = archive.read_json(SECRETS_PART) if SECRETS_PART in manifest["parts"] else {}
    report = RestoreReport(verified=verified, revision=revision)
    head = script.get_current_head()
    if head != revision:
        alembic_command.upgrade(config, "head")
        report.upgraded_to = head
    for name, filename in SECRETS.items():
        if secrets.get(name):
            report.secrets[name] = _install_secret(name, filename, str(secrets[name]).strip())
    db.session.remove()
    report.audit = audit_service.verify()
    if features.is_enabled("procedures"):
        report.catalogue_added = catalog.sync(rebuild=True, commit=True)
    return report


def _attachment_relative(name: str) -> PurePosixPath:
    """Where part ``name`` goes in the attachments folder (``objects/…``); never outside it."""
    relative = PurePosixPath(name[len(ATTACHMENTS_PREFIX):])
    if relative.is_absolute() or ".." in relative.parts or relative.parts[:1] != ("objects",) or len(relative.parts) < 2:
        raise DamagedArchive(_l("The archive names a file outside the attachments folder: %(part)s.", part=name))
    return relative


def _restore_attachments(archive: ArchiveReader, root: Path) -> None:
    """Each attached file back at its place under ``root``, read-only like every stored object."""
    for name in archive.manifest["parts"]:
        if not name.startswith(ATTACHMENTS_PREFIX):
            continue
        target = root.joinpath(*_attachment_relative(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".restore")
        archive.extract(name, partial)
        partial.chmod(0o444)
        partial.replace(target)


def _check_database_empty(script: ScriptDirectory, revision: str) -> None:
    with db.engine.connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n != tbl.VERSION_TABLE]
        current = tbl.schema_revision(conn)
        quote = conn.dialect.identifier_preparer.quote
        for name in names:
            rows = conn.execute(sa.text(f"SELECT COUNT(*) FROM {quote(name)}")).scalar()
            if rows:
                raise RestoreRefused(_l("The database is not empty (table %(table)s has %(n)d rows): restore into "
                                        "an empty database.", table=name, n=rows))
    if names and current is None:
        raise RestoreRefused(_l("The database has tables but no schema revision: restore into an empty database."))
    if current is not None and current not in {s.revision for s in script.iterate_revisions(revision, "base")}:
        raise RestoreRefused(_l("The database is at schema revision %(current)s, later than the backup's "
                                "%(revision)s: restore into a database with no tables.", current=current,
                                revision=revision))


def _install_secret(name: str, filename: str, value: str) -> str:
    """Put the archive's ``name`` where this instance reads it (its file in ``instance/``), when the app
    takes it from there; a value set in the environment or ``instance/config.py`` is left to the operator."""
    configured = str(current_app.config.get(name) or "").strip()
    if configured == value:
        return "same"
    path = Path(current_app.instance_path) / filename
    try:
        from_file = path.read_text().strip()
    except FileNotFoundError:
        from_file = None
    if from_file is None or configured != from_file:
        return "configured elsewhere"
    partial = path.with_name(f".{filename}.restore")
    partial.write_text(value)
    partial.chmod(0o600)
    partial.replace(path)
    current_app.config[name] = value
    return "installed"

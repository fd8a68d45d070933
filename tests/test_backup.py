"""``flask backup create|verify|restore``: a backup of the demo instance, checked, restored into a fresh SQLite
database and store and into PostgreSQL, finds every row, every ref and the audit chain as they were; a damaged
archive is refused by verify and by restore; restore refuses anything that is not empty; secrets stay out of an
archive unless asked for."""
from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from backup import service
from backup import tables as tbl
from backup.archive import DamagedArchive
from backup.gitbundle import read_refs
from tests.conftest import TEST_DATABASE_URL, Client, close_app, fresh_database, make_app
from webapp.extensions import db
from webapp.i18n import _
from webapp.store import get_store

#: What the catalogue rebuild at the end of a restore writes anew from git: when it mirrored the store, and
#: the catalogue's versions (same rows, same order; on PostgreSQL their surrogate ids come from the sequence).
REWRITTEN = {("store_state", "updated_at"), ("procedure_versions", "id")}


def _contents(app) -> tuple[dict, str | None]:
    """Every table's rows (by primary key) and the schema revision of ``app``'s database."""
    with app.app_context(), db.engine.connect() as conn:
        found = {}
        for table in tbl.reflect(conn):
            columns = [c for c in table.columns if (table.name, c.name) not in REWRITTEN]
            found[table.name] = conn.execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
        return found, tbl.schema_revision(conn)


def _refs(app) -> dict[str, str]:
    with app.app_context():
        return read_refs(get_store().git_dir)


def _invoke(app, *args):
    return app.test_cli_runner().invoke(args=["backup", *args])


def _message(app, text, **values) -> str:
    """``text`` as the app says it (its default language) — the way the CLI prints it."""
    with app.app_context():
        return _(text, **values)


def _attachment_path(app, sha: str) -> Path:
    return Path(app.config["ATTACHMENTS_PATH"]) / "objects" / sha[:2] / sha[2:4] / sha


def _manifest(archive: Path) -> dict:
    with service.ArchiveReader(archive) as reader:
        return reader.manifest


def _audit_key(app) -> str:
    return app.config["AUDIT_KEY"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The demo instance on a migrated SQLite database (the embedded default), with an API token, and two
    archives of it: ``plain`` (no secrets) and ``secrets`` (``--with-secrets``)."""
    root = tmp_path_factory.mktemp("backup_source")
    app = make_app(root, (f"sqlite:///{root / 'test.db'}", {}))
    with app.app_context():
        upgrade()
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from accounts.models import User
        from accounts.services import create_token

        admin = db.session.execute(sa.select(User).where(User.login == "admin")).scalar_one()
        token = create_token(admin, "backup test")
        db.session.commit()
    # A file attached to a record, stored the way records.attachments stores one (content-addressed).
    photo = b"\xff\xd8\xff\xe0 a photo of the broken gate"
    attached = _attachment_path(app, hashlib.sha256(photo).hexdigest())
    attached.parent.mkdir(parents=True)
    attached.write_bytes(photo)
    plain = _invoke(app, "create", str(root / "plain"))
    assert plain.exit_code == 0, plain.output
    with_secrets = _invoke(app, "create", str(root / "secrets"), "--with-secrets")
    assert with_secrets.exit_code == 0, with_secrets.output
    yield {"app": app, "root": root, "token": token, "photo": photo,
           "plain": next((root / "plain").glob("procdesk-backup-*.zip")),
           "secrets": next((root / "secrets").glob("procdesk-backup-*.zip"))}
    close_app(app)


@pytest.fixture
def target(tmp_path):
    """``target(**config)``: a new instance on a fresh SQLite database and an empty store path."""
    built = []

    def factory(folder="target", database=None, **config):
        base = tmp_path / folder
        base.mkdir(exist_ok=True)
        app = make_app(base, database or (f"sqlite:///{base / 'test.db'}", {}), **config)
        built.append(app)
        return app

    yield factory
    for app in built:
        close_app(app)


def _assert_same(source_app, restored_app):
    before, revision = _contents(source_app)
    after, restored_revision = _contents(restored_app)
    assert restored_revision == revision
    assert sorted(after) == sorted(before)
    for name, rows in before.items():
        assert after[name] == rows, f"table {name} differs after the restore"
    assert _refs(restored_app) == _refs(source_app)
    assert any(ref.startswith("refs/heads/reviews/") for ref in _refs(restored_app))


def _assert_audit_intact(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_backup_of_the_demo_verifies_and_restores_into_a_fresh_sqlite_database(source, target):
    app = source["app"]
    archive = source["plain"]
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
    manifest = _manifest(archive)
    assert {"manifest.json", "store.bundle", "db/users.jsonl", "db/audit_entries.jsonl"} <= names
    assert manifest["store"]["refs"] == _refs(app)
    counts = {t["name"]: t["rows"] for t in manifest["database"]["tables"]}
    before, revision = _contents(app)
    assert counts == {name: len(rows) for name, rows in before.items()}
    assert manifest["database"]["revision"] == revision
    with app.app_context():
        last = db.session.execute(sa.text("SELECT hash FROM audit_entries ORDER BY id DESC LIMIT 1")).scalar()
    assert manifest["audit"]["last_hash"] == last
    # Parents before children: every table comes after the tables it refers to.
    order = [t["name"] for t in manifest["database"]["tables"]]
    assert order.index("users") < order.index("audit_entries") < len(order)

    verified = _invoke(app, "verify", str(archive))
    assert verified.exit_code == 0, verified.output
    assert _message(app, "Audit log: %(n)d entries, chain and keyed hashes intact (checked with the configured "
                         "AUDIT_KEY).", n=manifest["audit"]["entries"]) in verified.output

    # The operator kept the audit key apart from the archive and configures it on the new machine.
    restored = target(AUDIT_KEY=_audit_key(app))
    result = _invoke(restored, "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert _message(restored, "Audit log intact: %(n)d entries.", n=manifest["audit"]["entries"]) in result.output
    _assert_same(app, restored)
    _assert_audit_intact(restored)
    photo = source["photo"]
    assert _attachment_path(restored, hashlib.sha256(photo).hexdigest()).read_bytes() == photo
    # The restored store is the app's own: the setup it gives a new store (the pre-receive hook) is there.
    from procedures.hook import HOOK_NAME

    with restored.app_context():
        assert Path(get_store().hook_path(HOOK_NAME)).is_file()

    # Without the secrets API tokens still work (only their SHA-256 is stored), passwords too.
    client = Client(restored)
    me = client.api("GET", "/api/v1/me", token=source["token"])
    assert me.status_code == 200 and me.get_json()["login"] == "admin"
    assert client.login("admin", "procdesk-demo").status_code == 302
    assert client.get("/procedures/QP-CS-001").status_code == 200


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgres"), reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_the_growth_path_a_sqlite_backup_restores_into_postgresql(source, target, tmp_path):
    app = source["app"]
    with fresh_database(tmp_path) as database:
        restored = target(database=database, AUDIT_KEY=_audit_key(app))
        try:
            result = _invoke(restored, "restore", str(source["plain"]))
            assert result.exit_code == 0, result.output
            with restored.app_context():
                assert db.engine.dialect.name == "postgresql"
            _assert_same(app, restored)
            _assert_audit_intact(restored)
            # Sequences were moved past the restored ids: new rows (and their audit entries) go in.
            with restored.app_context():
                from accounts.services import UserData, create_user

                user = create_user(UserData(login="after-restore", display_name="After", password="long enough 9",
                                            role_codes=("reader",)))
                db.session.commit()
                assert user.id > max(row.id for row in _contents(app)[0]["users"])
            _assert_audit_intact(restored)
        finally:
            close_app(restored)


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgres"), reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_a_backup_of_postgresql_taken_in_one_snapshot_restores_into_sqlite(tmp_path, database_url, target):
    pg = make_app(tmp_path, database_url)
    try:
        with pg.app_context():
            upgrade()
        assert pg.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
        created = _invoke(pg, "create", str(tmp_path / "backups"))
        assert created.exit_code == 0, created.output
        archive = next((tmp_path / "backups").glob("*.zip"))
        assert _manifest(archive)["database"]["dialect"] == "postgresql"
        restored = target(AUDIT_KEY=_audit_key(pg))
        result = _invoke(restored, "restore", str(archive))
        assert result.exit_code == 0, result.output
        _assert_same(pg, restored)
        _assert_audit_intact(restored)
    finally:
        close_app(pg)


def test_the_refs_and_the_database_are_taken_at_one_moment(source, tmp_path, monkeypatch):
    """When the store moves while the database is copied, the backup starts over: what it bundles are the
    refs the store had while the snapshot was taken."""
    app = source["app"]
    real = service._refs
    calls = []

    def moving(git_dir):
        calls.append(git_dir)
        refs = real(git_dir)
        if len(calls) == 2:  # a publish landed during the first copy
            refs = {**refs, "refs/heads/main": "0" * 40}
        return refs

    monkeypatch.setattr(service, "_refs", moving)
    with app.app_context():
        path, manifest = service.create_backup(tmp_path)
    assert len(calls) == 4
    assert manifest["store"]["refs"] == _refs(app)
    assert not list(tmp_path.glob(".procdesk-backup-*")), "the work folder is removed"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def _rewrite(archive: Path, target: Path, *, drop=(), change=None) -> Path:
    """A copy of ``archive`` without the parts ``drop`` and with ``change(name, data) -> data`` applied."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info)
            out.writestr(info.filename, change(info.filename, data) if change else data)
    return target


def _flip_byte_inside(archive: Path, target: Path, part: str) -> Path:
    shutil.copy(archive, target)
    with zipfile.ZipFile(target) as zf:
        info = zf.getinfo(part)
    with open(target, "r+b") as fh:
        fh.seek(info.header_offset + 26)
        name_length = int.from_bytes(fh.read(2), "little")
        extra_length = int.from_bytes(fh.read(2), "little")
        where = info.header_offset + 30 + name_length + extra_length + info.compress_size // 2
        fh.seek(where)
        byte = fh.read(1)
        fh.seek(where)
        fh.write(bytes([byte[0] ^ 0x40]))
    return target


def test_a_damaged_archive_is_refused_by_verify_and_by_restore(source, target, tmp_path):
    app = source["app"]
    archive = source["plain"]
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    changed_row = _rewrite(archive, tmp_path / "changed.zip",
                           change=lambda name, data: data.replace(b'"admin"', b'"admim"', 1)
                           if name == "db/users.jsonl" else data)
    cases = {
        "flipped byte": (_flip_byte_inside(archive, tmp_path / "flipped.zip", "store.bundle"), None),
        "truncated": (truncated, ("%(path)s is not a ProcDesk backup, or it is truncated or damaged: it cannot be "
                                  "opened as an archive.", {"path": str(truncated)})),
        "missing part": (_rewrite(archive, tmp_path / "missing.zip", drop={"db/users.jsonl"}),
                         ("The part %(part)s listed in the manifest is missing from the archive.",
                          {"part": "db/users.jsonl"})),
        "changed row": (changed_row, ("The part %(part)s does not match its SHA-256 in the manifest: it was damaged "
                                      "or changed.", {"part": "db/users.jsonl"})),
    }
    restored = target()
    for case, (path, expected) in cases.items():
        with app.app_context():
            with pytest.raises(DamagedArchive) as raised:
                service.verify_backup(path)
            message = str(raised.value)  # in the app's language, as the CLI says it
        if expected is not None:
            assert message == _message(app, expected[0], **expected[1]), case
        else:
            assert "store.bundle" in message, case
        verified = _invoke(app, "verify", str(path))
        assert verified.exit_code == 1 and message in verified.output, case
        refused = _invoke(restored, "restore", str(path))
        assert refused.exit_code == 1 and message in refused.output, case
    # Nothing was touched: the database has no tables, the store no refs.
    with restored.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
    assert _refs(restored) == {}


def test_a_rewritten_audit_log_is_caught_inside_the_archive(source, tmp_path):
    """An audit entry edited and the part's hash fixed up in the manifest: the keyed chain says which entry."""
    import json

    app = source["app"]
    archive = source["plain"]
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        lines = zf.read("db/audit_entries.jsonl").split(b"\n")
    columns = [c["name"] for t in manifest["database"]["tables"] if t["name"] == "audit_entries"
               for c in t["columns"]]
    row = json.loads(lines[2])
    row[columns.index("reason")] = "nothing to see"
    lines[2] = json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    data = b"\n".join(lines)
    manifest["parts"]["db/audit_entries.jsonl"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    def change(name, old):
        return {"db/audit_entries.jsonl": data, "manifest.json": json.dumps(manifest).encode()}.get(name, old)

    forged = _rewrite(archive, tmp_path / "forged.zip", change=change)
    result = _invoke(app, "verify", str(forged))
    assert result.exit_code == 1
    assert _message(app, "Audit entry %(id)d in the archive does not match its keyed hash: the log was changed.",
                    id=row[columns.index("id")]) in result.output


def test_an_attached_file_swapped_in_the_archive_is_caught(source, tmp_path):
    """Another file put in an attachment's place, its hash fixed up in the manifest: its name says what it
    must hold."""
    import json

    app = source["app"]
    with zipfile.ZipFile(source["plain"]) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    part = next(name for name in manifest["parts"] if name.startswith("attachments/"))
    other = b"another picture"
    manifest["parts"][part] = {"sha256": hashlib.sha256(other).hexdigest(), "bytes": len(other)}

    def change(name, old):
        return {part: other, "manifest.json": json.dumps(manifest).encode()}.get(name, old)

    swapped = _rewrite(source["plain"], tmp_path / "swapped.zip", change=change)
    result = _invoke(app, "verify", str(swapped))
    assert result.exit_code == 1
    assert _message(app, "The part %(part)s does not match its SHA-256 in the manifest: it was damaged or changed.",
                    part=part) in result.output


def test_restore_refuses_a_database_or_store_that_is_not_empty(source, target, tmp_path):
    app = source["app"]
    archive = source["plain"]
    # Into the live instance itself: its database has rows.
    with app.app_context():
        with pytest.raises(service.RestoreRefused) as raised:
            service.restore_backup(archive)
        message = str(raised.value)
    refused = _invoke(app, "restore", str(archive))
    assert refused.exit_code == 1 and message in refused.output
    first = next((name, len(rows)) for name, rows in sorted(_contents(app)[0].items()) if rows)
    assert _message(app, "The database is not empty (table %(table)s has %(n)d rows): restore into an empty "
                         "database.", table=first[0], n=first[1]) == message
    # A fresh database, but the store path holds a store.
    shutil.copytree(source["root"] / "store.git", tmp_path / "busy" / "store.git")
    busy = target("busy")
    refused = _invoke(busy, "restore", str(archive))
    assert refused.exit_code == 1
    with busy.app_context():
        assert _message(busy, "The git store at %(path)s is not empty: restore into an empty store path.",
                        path=get_store().git_dir) in refused.output
        assert sa.inspect(db.engine).get_table_names() == [], "refused before any migration ran"
    # A fresh database and store, but files in the attachments folder.
    photo = source["photo"]
    crowded = target("crowded")
    stray = _attachment_path(crowded, hashlib.sha256(photo).hexdigest())
    stray.parent.mkdir(parents=True)
    stray.write_bytes(photo)
    refused = _invoke(crowded, "restore", str(archive))
    assert refused.exit_code == 1
    assert _message(crowded, "The attachments folder %(path)s is not empty: restore into an empty one.",
                    path=crowded.config["ATTACHMENTS_PATH"]) in refused.output
    # A schema revision this code does not know.
    future = _rewrite(archive, tmp_path / "future.zip",
                      change=lambda name, data: data.replace(b'"revision": "', b'"revision": "9999_', 1)
                      if name == "manifest.json" else data)
    fresh = target("fresh")
    refused = _invoke(fresh, "restore", str(future))
    assert refused.exit_code == 1
    assert "9999_" in refused.output
    with fresh.app_context():
        assert sa.inspect(db.engine).get_table_names() == []


def test_secrets_stay_out_of_an_archive_unless_asked_for(source, target):
    app = source["app"]
    secret_values = [app.config["SECRET_KEY"].encode(), _audit_key(app).encode()]
    with zipfile.ZipFile(source["plain"]) as zf:
        assert service.SECRETS_PART not in zf.namelist()
        for name in zf.namelist():
            data = zf.read(name)
            assert not any(value in data for value in secret_values), name
    with zipfile.ZipFile(source["secrets"]) as zf:
        secrets = zf.read(service.SECRETS_PART)
        assert all(value in secrets for value in secret_values)

    # A restore with the secrets puts the audit key where the new instance reads it: the chain verifies.
    restored = target()
    assert restored.config["AUDIT_KEY"] != _audit_key(app)
    result = _invoke(restored, "restore", str(source["secrets"]))
    assert result.exit_code == 0, result.output
    assert (Path(restored.instance_path) / "audit_key").read_text().strip() == _audit_key(app)
    _assert_audit_intact(restored)
    _assert_same(app, restored)


def test_a_restore_without_the_audit_key_says_the_chain_verifies_only_with_it(source, target):
    restored = target()
    result = _invoke(restored, "restore", str(source["plain"]))
    assert result.exit_code == 0, result.output
    assert _message(restored, "The configured AUDIT_KEY is not the key this audit log was written with, so only the "
                              "chain's links were checked, not its keyed hashes.") in result.output
    assert restored.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 1


def test_published_versions_are_pushed_to_the_mirrors_without_holding_the_publish_up(app, tmp_path, caplog):
    from backup import mirrors
    from backup.gitbundle import git
    from repo_store import Signature
    from webapp import signals

    good = tmp_path / "mirror.git"
    git("init", "--quiet", "--bare", str(good))
    bad = str(tmp_path / "gone" / "nowhere.git")
    app.config["STORE_MIRRORS"] = (str(good), bad)
    with app.app_context():
        store = get_store()
        sha = store.commit({"procedures/QP-X-001.md": "text\n"}, summary="first", base=None,
                           author=Signature("Clerk", "clerk@example.com"))
        store.create_branch("reviews/1", "main")
        signals.version_published.send("QP-X-001", version="A/0", commit=sha, actor=None)
        assert mirrors.pusher().wait_idle(60)
        assert read_refs(good) == read_refs(store.git_dir)
        results = {r.url: r for r in mirrors.status(store.git_dir)}
    assert results[str(good)].ok and not results[bad].ok and results[bad].error
    assert any("nowhere.git" in record.getMessage() for record in caplog.records if record.levelname == "WARNING")
    shown = app.test_cli_runner().invoke(args=["backup", "mirror", "--status"])
    assert shown.exit_code == 1 and bad in shown.output
    assert mirrors.shown("https://user:secret@git.example.com/docs.git") == "https://***@git.example.com/docs.git"


def test_a_database_without_a_schema_revision_is_not_backed_up(app, tmp_path):
    """Tables made by hand (``create_all``) say nothing of which migrations they match: refused, clearly."""
    result = app.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert _message(app, "The database has no schema revision (it was not made by “flask db upgrade”). Run “flask "
                         "db upgrade” first.") in result.output
    assert list((tmp_path / "out").iterdir()) == [], "no archive, no work folder left behind"


def test_a_new_instance_with_an_empty_store_backs_up_and_restores(tmp_path, target):
    fresh = make_app(tmp_path, (f"sqlite:///{tmp_path / 'test.db'}", {}))
    try:
        with fresh.app_context():
            upgrade()
        created = _invoke(fresh, "create", str(tmp_path / "out"))
        assert created.exit_code == 0, created.output
        archive = next((tmp_path / "out").glob("*.zip"))
        manifest = _manifest(archive)
        assert manifest["store"] == {"bundle": None, "refs": {}}
        assert _invoke(fresh, "verify", str(archive)).exit_code == 0
        restored = target()
        result = _invoke(restored, "restore", str(archive))
        assert result.exit_code == 0, result.output
        assert _contents(restored) == _contents(fresh)
        assert _refs(restored) == {}
    finally:
        close_app(fresh)

"""Attachments on records where paper still matters (issue 12, part 5): a photo of a complaint, the signed
minutes of a committee meeting — stored by their hash (whole or not at all), limited in size and type (read
from the content), shown or downloaded by the record's own permission and project scope, voided never
deleted, audited; pages and API alike."""
from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from audit.models import AuditEntry
from records import attachments
from records.attachments import Attachment
from satisfaction.categories import ensure_default_categories
from satisfaction.complaints.models import ComplaintEvent
from tests.conftest import Client, close_app, make_app
from tests.factories_complaints import local, make_entry, user
from webapp.extensions import db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(300)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(300)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + os.urandom(200) + b"\n%%EOF\n"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + os.urandom(100)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + os.urandom(100)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + os.urandom(300)
TEXT = "业主反映楼道灯坏了。".encode() * 20


@pytest.fixture
def world(app, make_project, make_user, tmp_path):
    """P1 and P2; a clerk of each, a manager (reads, voids; does not enter), a reader without the records;
    a complaint and a meeting of P1. Attachments go to their own folder."""
    app.config["ATTACHMENTS_PATH"] = str(tmp_path / "files")
    make_project("P1")
    make_project("P2")
    make_user("clerk", roles=("clerk",), projects=("P1",), display_name="客服文员")
    make_user("clerk2", roles=("clerk",), projects=("P2",))
    make_user("boss", roles=("manager",))
    make_user("reader", roles=("reader",), projects=("P1",))
    with app.test_request_context():
        from satisfaction.meetings import service as meetings

        ensure_default_categories()
        db.session.commit()
        entry = make_entry("P1", "clerk", local(2026, 3, 2, 9))
        other = make_entry("P2", "clerk2", local(2026, 3, 2, 9))
        meeting = meetings.save_meeting(None, {"project_id": entry.project_id, "held_on": "2026-03-01",
                                               "title": "业主座谈会"}, actor=user("clerk"))
        ids = SimpleNamespace(entry=entry.id, other=other.id, meeting=meeting.id)
    return SimpleNamespace(app=app, root=tmp_path / "files", ids=ids)


def login(app, name):
    client = Client(app)
    assert client.login(name).status_code == 302
    client.get("/")
    return client


def upload(client, url, content: bytes, name: str):
    return client.post(url, {"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def files_in(root) -> list[str]:
    """Every file under the attachment folder (objects and temporary ones)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def rows(app, model=Attachment) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar()


def said(app, msgid: str, **values) -> str:
    """What the app says for ``msgid`` in Chinese (the default locale), HTML-escaped as a page shows it."""
    from flask_babel import force_locale
    from markupsafe import escape

    from webapp.i18n import _

    with app.test_request_context(), force_locale("zh_Hans"):
        return str(escape(_(msgid, **values)))


def complaint_url(world, entry_id=None) -> str:
    return f"/satisfaction/complaints/{entry_id or world.ids.entry}"


# ---------------------------------------------------------------------------------------------
# upload on the pages


def test_a_photo_and_a_pdf_are_attached_stored_by_hash_and_shown(world):
    clerk = login(world.app, "clerk")
    r = upload(clerk, complaint_url(world) + "/attachments", PNG, "漏水照片.png")
    assert r.status_code == 302 and r.headers["Location"].endswith("#attachments")
    r = upload(clerk, f"/satisfaction/meetings/{world.ids.meeting}/attachments", PDF, "签字版会议纪要.pdf")
    assert r.status_code == 302
    sha = hashlib.sha256(PNG).hexdigest()
    stored = world.root / "objects" / sha[:2] / sha[2:4] / sha
    assert stored.read_bytes() == PNG
    assert files_in(world.root) == sorted([str(stored.relative_to(world.root)),
                                           f"objects/{hashlib.sha256(PDF).hexdigest()[:2]}/"
                                           f"{hashlib.sha256(PDF).hexdigest()[2:4]}/{hashlib.sha256(PDF).hexdigest()}"])
    page = clerk.get(complaint_url(world)).get_data(as_text=True)
    assert 'data-testid="attachment-thumb"' in page and "漏水照片.png" in page
    meeting = clerk.get(f"/satisfaction/meetings/{world.ids.meeting}").get_data(as_text=True)
    assert "签字版会议纪要.pdf" in meeting and 'data-testid="attachment-thumb"' not in meeting
    with world.app.app_context():
        photo = db.session.execute(select(Attachment).where(Attachment.record_kind == "complaint")).scalar_one()
        assert (photo.filename, photo.content_type, photo.size, photo.sha256) == ("漏水照片.png", "image/png",
                                                                                    len(PNG), sha)
        assert photo.uploaded_by.login == "clerk"
        audited = db.session.execute(select(AuditEntry).where(AuditEntry.action == "attachment.uploaded")
                                     .order_by(AuditEntry.id)).scalars().all()
        assert [a.after["filename"] for a in audited] == ["漏水照片.png", "签字版会议纪要.pdf"]
        event = db.session.execute(select(ComplaintEvent).where(ComplaintEvent.action == "attached")).scalar_one()
        assert event.note == "漏水照片.png"


@pytest.mark.parametrize(("content", "name", "stored_as", "kind"), [
    (JPEG, "现场.jpg", "现场.jpg", "image/jpeg"),
    (JPEG, "IMG_0001.PNG", "IMG_0001.jpg", "image/jpeg"),  # a photo misnamed: the content decides
    (WEBP, "photo.webp", "photo.webp", "image/webp"),
    (HEIC, "IMG_0002.HEIC", "IMG_0002.heic", "image/heic"),
    (PDF, "会议纪要 2026.03.18", "会议纪要 2026.03.18.pdf", "application/pdf"),  # no extension: gets its own
    (PNG, "../../etc/门禁.png", "门禁.png", "image/png"),  # no folders
])
def test_names_are_kept_for_display_and_end_as_the_content_is(world, content, name, stored_as, kind):
    clerk = login(world.app, "clerk")
    assert upload(clerk, complaint_url(world) + "/attachments", content, name).status_code == 302
    with world.app.app_context():
        found = db.session.execute(select(Attachment)).scalar_one()
        assert (found.filename, found.content_type) == (stored_as, kind)


@pytest.mark.parametrize(("content", "name"), [
    (EXE, "setup.exe"),
    (EXE, "照片.png"),             # a program renamed as a picture
    (TEXT, "说明.png"),            # text renamed as a picture
    (TEXT, "说明.txt"),
    (PDF, "纪要.exe"),             # a PDF whose name says it is a program
    (PDF, "纪要.docx"),
    (PNG, "门禁.pdf"),             # a picture whose name says it is a document
    (b"GIF89a" + bytes(range(7, 57)), "动图.gif"),  # fixed bytes: test ids must match on every xdist worker
    (b"", "空.png"),
], ids=lambda value: value if isinstance(value, str) else f"{value[:4]!r}")
def test_other_files_are_refused_with_a_message_and_nothing_is_kept(world, content, name):
    clerk = login(world.app, "clerk")
    before = rows(world.app, AuditEntry)
    r = upload(clerk, complaint_url(world) + "/attachments", content, name)
    html = r.get_data(as_text=True)
    assert r.status_code == 400, name
    assert re.search(r'<div class="error" role="alert" id="file-error">[^<]+', html), name
    assert rows(world.app) == 0 and rows(world.app, AuditEntry) == before
    assert [f for f in files_in(world.root) if not f.startswith("tmp")] == [] and files_in(world.root / "tmp") == []


def test_the_refusal_names_the_allowed_types(world):
    clerk = login(world.app, "clerk")
    html = upload(clerk, complaint_url(world) + "/attachments", TEXT, "说明.png").get_data(as_text=True)
    assert said(world.app, "Only these kinds of file can be attached: %(types)s.",
                types="PDF, JPEG, PNG, WebP, HEIC") in html


def test_a_file_over_the_limit_is_a_translated_413_and_nothing_is_kept(world):
    world.app.config["ATTACHMENTS_MAX_BYTES"] = 100 * 1024
    clerk = login(world.app, "clerk")
    big = b"\x89PNG\r\n\x1a\n" + os.urandom(300 * 1024)
    r = upload(clerk, complaint_url(world) + "/attachments", big, "大照片.png")
    assert r.status_code == 413
    assert said(world.app, "The file is larger than %(mb)s MB, the most an attachment may be.", mb="0.1") in \
        r.get_data(as_text=True)
    assert rows(world.app) == 0 and files_in(world.root) == []


def test_a_request_over_flasks_limit_is_a_translated_413_page(world):
    world.app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    clerk = login(world.app, "clerk")
    r = upload(clerk, complaint_url(world) + "/attachments", b"\x89PNG\r\n\x1a\n" + os.urandom(400 * 1024), "大.png")
    assert r.status_code == 413 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert said(world.app, "Upload too large") in html and "<title>" in html and "Request Entity Too Large" not in html
    assert rows(world.app) == 0 and files_in(world.root) == []
    # The hint on the page tells the limit that really applies (Flask's, less the form around the file).
    with world.app.test_request_context():
        assert attachments.max_bytes() == 256 * 1024 - attachments.FORM_OVERHEAD


def test_no_half_written_file_when_the_upload_breaks_off(world):
    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 200 * 1024:
                raise OSError("connection reset")
            return super().read(size)

    with world.app.test_request_context():
        with pytest.raises(OSError):
            attachments.store(Broken(b"%PDF-1.4\n" + os.urandom(1024 * 1024)))
    assert files_in(world.root / "objects") == [] and files_in(world.root / "tmp") == []


def test_leftovers_of_uploads_that_died_are_swept_after_a_day(world):
    tmp = world.root / "tmp"
    tmp.mkdir(parents=True)
    old, young = tmp / "host-1-dead.part", tmp / "host-2-busy.part"
    for path in (old, young):
        path.write_bytes(b"%PDF-")
    day_ago = old.stat().st_mtime - attachments.STALE_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    with world.app.test_request_context():
        attachments.store(io.BytesIO(PDF))
    assert not old.exists() and young.exists()  # another upload may still be writing that one


def test_the_same_file_twice_is_stored_once_even_from_two_workers(world, second_app):
    second_app.config["ATTACHMENTS_PATH"] = str(world.root)
    errors = []

    def worker(app, name):
        try:
            client = login(app, "clerk")
            assert upload(client, complaint_url(world) + "/attachments", PNG, name).status_code == 302
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(a, n)) for a, n in ((world.app, "一.png"), (second_app, "二.png"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert rows(world.app) == 2 and len(files_in(world.root)) == 1


# ---------------------------------------------------------------------------------------------
# who may upload


def test_upload_needs_the_write_permission_and_the_projects_scope_and_csrf(world):
    boss = login(world.app, "boss")  # reads and voids, does not enter records
    assert upload(boss, complaint_url(world) + "/attachments", PNG, "a.png").status_code == 403
    clerk2 = login(world.app, "clerk2")
    assert upload(clerk2, complaint_url(world) + "/attachments", PNG, "a.png").status_code == 404
    clerk = login(world.app, "clerk")
    r = clerk.post(complaint_url(world) + "/attachments", {"file": (io.BytesIO(PNG), "a.png")},
                   content_type="multipart/form-data", csrf=False)
    assert r.status_code == 400
    assert rows(world.app) == 0 and files_in(world.root) == []


def test_a_voided_record_takes_no_more_files(world):
    from satisfaction.complaints import service

    with world.app.app_context():
        service.void_entry(service.get_entry(world.ids.entry, user("boss")), reason="重复登记", actor=user("boss"))
    clerk = login(world.app, "clerk")
    r = upload(clerk, complaint_url(world) + "/attachments", PNG, "a.png")
    assert r.status_code == 409 and rows(world.app) == 0


# ---------------------------------------------------------------------------------------------
# download


def _attached(world, content=PNG, name="漏水照片.png", url=None) -> str:
    clerk = login(world.app, "clerk")
    assert upload(clerk, url or complaint_url(world) + "/attachments", content, name).status_code == 302
    with world.app.app_context():
        found = db.session.execute(select(Attachment).order_by(Attachment.id.desc())).scalars().first()
        return f"{url or complaint_url(world) + '/attachments'}/{found.id}"


def test_a_download_carries_its_type_name_and_the_safety_headers(world):
    url = _attached(world)
    clerk = login(world.app, "clerk")
    r = clerk.get(url)
    assert r.status_code == 200 and r.data == PNG
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"] and "sandbox" in r.headers[
        "Content-Security-Policy"]
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote('漏水照片.png')}" in disposition
    assert "private" in r.headers["Cache-Control"]
    # A picture may be shown inline (the thumbnail); the same answer otherwise.
    inline = clerk.get(url + "?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;") and inline.data == PNG
    # Its hash is its ETag: a second look costs nothing.
    assert clerk.get(url, headers={"If-None-Match": inline.headers["ETag"]}).status_code == 304


def test_a_pdf_is_always_a_download(world):
    url = _attached(world, PDF, "签字版会议纪要.pdf", f"/satisfaction/meetings/{world.ids.meeting}/attachments")
    clerk = login(world.app, "clerk")
    r = clerk.get(url + "?inline=1")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;")


def test_download_follows_the_records_read_permission_and_scope(world):
    url = _attached(world)
    assert login(world.app, "boss").get(url).status_code == 200            # all projects
    assert login(world.app, "reader").get(url).status_code == 403          # no records.read
    assert login(world.app, "clerk2").get(url).status_code == 404          # another project: as if missing
    attachment_id = url.rsplit("/", 1)[1]
    clerk = login(world.app, "clerk")
    # Through another record (of the clerk's own project or not), or another kind of record: not found.
    assert clerk.get(f"/satisfaction/meetings/{world.ids.meeting}/attachments/{attachment_id}").status_code == 404
    assert login(world.app, "clerk2").get(
        f"{complaint_url(world, world.ids.other)}/attachments/{attachment_id}").status_code == 404
    assert clerk.get(f"{complaint_url(world)}/attachments/99999").status_code == 404
    anonymous = Client(world.app)
    assert anonymous.get(url).status_code in (302, 401)


def test_a_missing_file_is_a_404_that_says_so(world):
    url = _attached(world)
    for path in (world.root / "objects").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    r = login(world.app, "clerk").get(url)
    assert r.status_code == 404
    assert said(world.app, "The file of this attachment is missing from the attachment store. Please tell the "
                           "administrator.") in r.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# never deleted: voided


def test_an_attachment_is_voided_with_a_reason_never_deleted(world):
    url = _attached(world)
    boss = login(world.app, "boss")
    clerk = login(world.app, "clerk")
    assert clerk.post(url + "/void", {"reason": "传错了"}).status_code == 403
    r = boss.post(url + "/void", {"reason": ""})
    assert r.status_code == 400
    assert boss.post(url + "/void", {"reason": "传错了照片"}).status_code == 302
    page = boss.get(complaint_url(world)).get_data(as_text=True)
    assert "att-voided" in page and "传错了照片" in page
    assert boss.get(url).status_code == 200  # still on file
    assert boss.post(url + "/void", {"reason": "again"}).status_code == 409
    assert boss.api("DELETE", url).status_code == 405
    with world.app.app_context():
        assert db.session.execute(select(AuditEntry.action).where(AuditEntry.action.like("attachment.%"))
                                  .order_by(AuditEntry.id)).scalars().all() == ["attachment.uploaded",
                                                                                "attachment.voided"]


# ---------------------------------------------------------------------------------------------
# API


def _token(world, login_name):
    from accounts.services import create_token

    with world.app.app_context():
        token = create_token(user(login_name), "t")
        db.session.commit()
        return token


def test_the_api_lists_uploads_downloads_and_voids(world):
    http = world.app.test_client()
    clerk = {"Authorization": f"Bearer {_token(world, 'clerk')}"}
    base = f"/api/v1/complaints/{world.ids.entry}/attachments"
    assert http.get(base, headers=clerk).json == {"items": []}
    r = http.post(base, headers=clerk, data={"file": (io.BytesIO(PNG), "门口.png")}, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    made = r.json
    assert (made["filename"], made["content_type"], made["size"]) == ("门口.png", "image/png", len(PNG))
    assert r.headers["Location"] == made["url"]
    got = http.get(made["url"], headers=clerk)
    assert got.status_code == 200 and got.data == PNG and got.headers["X-Content-Type-Options"] == "nosniff"
    assert [a["id"] for a in http.get(base, headers=clerk).json["items"]] == [made["id"]]
    # Refused: not multipart, a field it does not know, a file of another type.
    assert http.post(base, headers=clerk, json={"file": "x"}).status_code == 400
    r = http.post(base, headers=clerk, data={"file": (io.BytesIO(PNG), "a.png"), "note": "x"},
                  content_type="multipart/form-data")
    assert r.status_code == 400 and "note" in r.json["errors"]
    r = http.post(base, headers=clerk, data={"file": (io.BytesIO(EXE), "a.png")}, content_type="multipart/form-data")
    assert r.status_code == 400 and "file" in r.json["errors"]
    # The meeting's minutes, by the same rules.
    r = http.post(f"/api/v1/meetings/{world.ids.meeting}/attachments", headers=clerk,
                  data={"file": (io.BytesIO(PDF), "纪要.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 201 and r.json["content_type"] == "application/pdf"
    # Voiding needs records.void.
    boss = {"Authorization": f"Bearer {_token(world, 'boss')}"}
    assert http.post(f"{base}/{made['id']}/void", headers=clerk, json={"reason": "错"}).status_code == 403
    r = http.post(f"{base}/{made['id']}/void", headers=boss, json={"reason": "传错了"})
    assert r.status_code == 200 and r.json["voided"] and r.json["void_reason"] == "传错了"


def test_the_api_answers_as_the_pages_for_scope_and_size(world):
    world.app.config["ATTACHMENTS_MAX_BYTES"] = 1024
    http = world.app.test_client()
    other = {"Authorization": f"Bearer {_token(world, 'clerk2')}"}
    clerk = {"Authorization": f"Bearer {_token(world, 'clerk')}"}
    base = f"/api/v1/complaints/{world.ids.entry}/attachments"
    assert http.get(base, headers=other).status_code == 404
    r = http.post(base, headers=other, data={"file": (io.BytesIO(PNG), "a.png")}, content_type="multipart/form-data")
    assert r.status_code == 404
    r = http.post(base, headers=clerk, data={"file": (io.BytesIO(PNG + os.urandom(2048)), "a.png")},
                  content_type="multipart/form-data")
    assert r.status_code == 413 and r.json["error"] == "too_large" and "file" in r.json["errors"]
    assert rows(world.app) == 0 and files_in(world.root) == []


def test_the_folder_defaults_to_the_instance_and_survives_a_restart(tmp_path, database_url, schema_template):
    from tests.conftest import app_on_copy

    app = app_on_copy(tmp_path, database_url, schema_template)
    try:
        with app.app_context():
            assert attachments.storage_root() == tmp_path / "instance" / "attachments"
            sha, size, kind = attachments.store(io.BytesIO(PDF))
            assert (size, kind.content_type) == (len(PDF), "application/pdf")
            assert (tmp_path / "instance" / "attachments" / "objects" / sha[:2] / sha[2:4] / sha).read_bytes() == PDF
    finally:
        close_app(app)
    again = make_app(tmp_path, database_url)
    try:
        with again.app_context():
            assert attachments.blob_path(sha).read_bytes() == PDF
    finally:
        close_app(again)

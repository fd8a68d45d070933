"""Attachments: files kept with a record where paper still matters — the signed minutes of a committee
meeting, a photo of what a complaint is about.

* **Model.** :class:`Attachment` names the record by kind and id (``"complaint"``, 12), keeps the name
  the file was given (for display: Chinese names survive), its type as read from its content, size and
  SHA-256, who uploaded it and when. Attachments are never deleted: one put on the wrong record is
  voided with a reason (:mod:`records.voiding`) and stays listed, marked.
* **Storage.** The bytes live on disk under ``ATTACHMENTS_PATH`` (default ``<instance>/attachments``),
  content-addressed: ``objects/ab/cd/<sha256>``, so the same photo attached twice is stored once and a
  stored file never changes. An upload is streamed to a temporary file in ``tmp/`` of the same folder
  (hashed and size-checked on the way), flushed to disk, then renamed into place: a reader sees the whole
  file or none, and several workers or hosts sharing the folder can write the same object at once (same
  name, same bytes). A refused or failed upload leaves nothing behind.
* **Limits.** At most ``ATTACHMENTS_MAX_BYTES`` (default 10 MB, and never more than Flask's
  ``MAX_CONTENT_LENGTH`` lets through): more is a 413 with a translated message. The type is read from
  the first bytes (magic numbers), not taken from the name or the browser: PDF, JPEG, PNG, WebP and HEIC
  (``ATTACHMENTS_TYPES`` may narrow the list). A name ending in another known extension is refused; a
  name whose extension disagrees with the content gets the content's.
* **Serving.** By the record's own pages and API only, so the record's read permission and project scope
  apply (the routes load the record first: another project's record is a 404). Answers carry
  ``X-Content-Type-Options: nosniff``, ``Content-Disposition`` with the RFC 5987 ``filename*``, and a
  Content-Security-Policy that lets nothing run; images may be shown inline (thumbnails), everything
  else is a download.

:func:`page_routes` and :func:`api_routes` add the upload, download and void routes to a feature's page
and API blueprints; :func:`openapi_paths` documents the API ones.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import socket
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Response, current_app, flash, jsonify, redirect, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.datastructures import FileStorage

from accounts.models import User
from api.helpers import check_args, json_body
from api.openapi import error_responses
from audit import service as audit
from records.export import content_disposition
from records.forms import VoidForm
from records.permissions import RECORDS_READ, RECORDS_VOID, RECORDS_WRITE
from records.voiding import Voidable, VoidRules, void
from webapp.db import UTCDateTime, utcnow
from webapp.exceptions import InvalidTransition, NotFound, ValidationError
from webapp.extensions import db
from webapp.forms import submit_form
from webapp.i18n import _, _l
from webapp.permissions import permission_required

__all__ = ["Attachment", "AttachForm", "TooLarge", "api_routes", "attach", "attachment_json", "attachments_of",
           "get_attachment", "max_bytes", "openapi_paths", "page_routes", "send", "sniff", "void_attachment"]

#: Bytes read per step while an upload is streamed to disk.
CHUNK = 64 * 1024
#: What a multipart body carries besides the file (boundaries, headers, the CSRF token): kept free under
#: ``MAX_CONTENT_LENGTH`` when the effective file limit is worked out.
FORM_OVERHEAD = 64 * 1024
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
NAME_MAX = 200
#: An extension is the end of a name after its last dot, letters and digits, starting with a letter.
EXTENSION_RE = re.compile(r"\.([A-Za-z][A-Za-z0-9]{1,4})$")
HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}


@dataclass(frozen=True)
class FileType:
    """An allowed kind of file: its content type, the extensions a name may end in (the first is
    its own), how its first bytes look; whether it is a picture, and one browsers show (inline)."""

    content_type: str
    label: str
    extensions: tuple[str, ...]
    matches: Callable[[bytes], bool]
    picture: bool = False
    inline: bool = False


TYPES = (
    FileType("application/pdf", "PDF", ("pdf",), lambda head: head.startswith(b"%PDF-")),
    FileType("image/jpeg", "JPEG", ("jpg", "jpeg", "jpe", "jfif"), lambda head: head[:3] == b"\xff\xd8\xff",
             picture=True, inline=True),
    FileType("image/png", "PNG", ("png",), lambda head: head[:8] == b"\x89PNG\r\n\x1a\n", picture=True,
             inline=True),
    FileType("image/webp", "WebP", ("webp",), lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
             picture=True, inline=True),
    # iPhone photos: most browsers cannot show HEIC, so it is kept and offered as a download.
    FileType("image/heic", "HEIC", ("heic", "heif"), lambda head: head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS,
             picture=True),
)
BY_TYPE = {t.content_type: t for t in TYPES}
#: Extensions of the files people most often pick by mistake, told apart from a dotted name ("2026.03").
KNOWN_EXTENSIONS = {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "csv", "md", "html", "htm", "svg", "gif",
                    "bmp", "tif", "tiff", "zip", "rar", "7z", "exe", "bat", "cmd", "com", "msi", "js", "sh", "ps1",
                    "mp4", "mov", "avi", "mp3", "wav", "apk", "dll", "scr", "xml", "json", "rtf", "odt", "ods"}
#: No script, style, frame or plugin of a served file can run, whatever the browser makes of it.
SERVE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


class TooLarge(ValidationError):
    """The file is larger than attachments may be (413, the message at the file field)."""

    status_code = 413


# ---------------------------------------------------------------------------------------------
# model


class Attachment(Voidable, db.Model):
    """A file kept with a record (``record_kind``, ``record_id``); its bytes are stored by ``sha256``."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_record", "record_kind", "record_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[int] = mapped_column(Integer)
    #: The name it was uploaded with, cleaned (no folders, no control characters), for display and download.
    filename: Mapped[str] = mapped_column(String(NAME_MAX + 10))
    #: As read from the content when it was uploaded (one of :data:`TYPES`).
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])

    @property
    def is_image(self) -> bool:
        """Shown inline (a thumbnail) rather than only linked."""
        kind = BY_TYPE.get(self.content_type)
        return bool(kind and kind.inline)

    @property
    def type_label(self) -> str:
        kind = BY_TYPE.get(self.content_type)
        return kind.label if kind else self.content_type

    @property
    def size_label(self) -> str:
        """``850 KB``, ``2.4 MB``."""
        if self.size < 1024 * 1024:
            return f"{max(1, round(self.size / 1024))} KB"
        return f"{self.size / (1024 * 1024):.1f} MB"


AUDIT_FIELDS = ("record_kind", "record_id", "filename", "content_type", "size", "sha256", "voided_at",
                "void_reason")


# ---------------------------------------------------------------------------------------------
# configuration


def storage_root() -> Path:
    """``ATTACHMENTS_PATH``, default ``attachments`` in the instance folder."""
    configured = current_app.config.get("ATTACHMENTS_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def max_bytes() -> int:
    """The largest file that may be attached: ``ATTACHMENTS_MAX_BYTES``, and less when Flask's
    ``MAX_CONTENT_LENGTH`` would refuse the request carrying it first."""
    limit = int(current_app.config.get("ATTACHMENTS_MAX_BYTES") or DEFAULT_MAX_BYTES)
    request_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request_limit:
        limit = min(limit, int(request_limit) - FORM_OVERHEAD)
    return max(1, limit)


def allowed_types() -> tuple[FileType, ...]:
    """The :data:`TYPES` that ``ATTACHMENTS_TYPES`` (content types) allows; all of them by default."""
    wanted = current_app.config.get("ATTACHMENTS_TYPES")
    return tuple(t for t in TYPES if not wanted or t.content_type in wanted)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f}" if n >= 1024 * 1024 else f"{n / (1024 * 1024):.1f}"


def too_large_message():
    return _l("The file is larger than %(mb)s MB, the most an attachment may be.", mb=_megabytes(max_bytes()))


def types_message():
    return _l("Only these kinds of file can be attached: %(types)s.",
              types=", ".join(t.label for t in allowed_types()))


def accept_attribute() -> str:
    """The file input's ``accept``: the allowed types and their extensions."""
    kinds = allowed_types()
    return ",".join([t.content_type for t in kinds] + [f".{e}" for t in kinds for e in t.extensions])


# ---------------------------------------------------------------------------------------------
# content and names


def sniff(head: bytes) -> FileType | None:
    """The allowed type the first bytes of a file show, or None."""
    return next((t for t in allowed_types() if t.matches(head)), None)


def clean_filename(raw: str | None, kind: FileType) -> str:
    """The name to keep: the last part of what the browser sent (no folders), NFC, without control
    characters or leading dots, at most :data:`NAME_MAX` characters, ending in an extension of ``kind``.

    A name ending in the extension of another kind of file is refused (ValidationError): the content
    decides what a file is, and a name that says otherwise is a mistake or a disguise.
    """
    name = unicodedata.normalize("NFC", str(raw or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".").strip()
    stem, ext = name, ""
    match = EXTENSION_RE.search(name)
    if match and match.group(1).lower() in {e for t in TYPES for e in t.extensions} | KNOWN_EXTENSIONS:
        stem, ext = name[:match.start()], match.group(1).lower()
        named = next((t for t in TYPES if ext in t.extensions), None)
        # A photo saved with another picture's extension is only misnamed; anything else is refused.
        if ext not in kind.extensions and not (named is not None and named.picture and kind.picture):
            message = _l("The file is a %(kind)s, but its name ends in .%(ext)s. %(types)s",
                         kind=kind.label, ext=ext, types=types_message())
            raise ValidationError(message, errors={"file": [message]})
    stem = stem.rstrip(" .") or _("attachment")
    if ext not in kind.extensions:
        ext = kind.extensions[0]  # e.g. a JPEG photo named .png, or a name without extension
    return f"{stem[:NAME_MAX - len(ext) - 1]}.{ext}"


# ---------------------------------------------------------------------------------------------
# storage


def blob_path(sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise NotFound(_l("This attachment does not exist."))
    return storage_root() / "objects" / sha256[:2] / sha256[2:4] / sha256


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened or synced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


#: A temporary file this old is a leftover of a process that died mid-upload (no upload takes a day).
STALE_SECONDS = 24 * 3600


def _sweep(tmp_dir: Path) -> None:
    """Remove leftovers of uploads that died (killed worker, host crash): temporary files over a day old."""
    cutoff = time.time() - STALE_SECONDS
    with contextlib.suppress(OSError), os.scandir(tmp_dir) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.name.endswith(".part") and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)


def store(stream, check: Callable[[FileType], object] | None = None) -> tuple[str, int, FileType]:
    """Stream an upload into the store; returns (sha256, size, type). ``check(type)`` may refuse the file
    once its type is known, before anything is written. Refused (TooLarge, ValidationError) or broken
    off, nothing is kept: the temporary file is removed whatever happens."""
    limit = max_bytes()
    first = stream.read(CHUNK)
    if not first:
        message = _l("The file is empty.")
        raise ValidationError(message, errors={"file": [message]})
    kind = sniff(first[:64])
    if kind is None:
        raise ValidationError(types_message(), errors={"file": [types_message()]})
    if check is not None:
        check(kind)
    root = storage_root()
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    _sweep(tmp_dir)
    # The host and process in the name tell whose leftover a stray file is (after a crash).
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=f"{socket.gethostname()[:30]}-{os.getpid()}-",
                                    suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            chunk = first
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(too_large_message(), errors={"file": [too_large_message()]})
                digest.update(chunk)
                out.write(chunk)
                chunk = stream.read(CHUNK)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        final = blob_path(sha)
        if not (final.exists() and final.stat().st_size == size):
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)  # a stored object never changes
            # Atomic on POSIX (and on NFS, within one folder tree): readers see the old file or the whole new one.
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        return sha, size, kind
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# ---------------------------------------------------------------------------------------------
# service


def _upload(upload) -> FileStorage:
    if not isinstance(upload, FileStorage) or not (upload.filename or "").strip():
        message = _l("Choose a file.")
        raise ValidationError(message, errors={"file": [message]})
    return upload


def attach(kind: str, record_id: int, upload, *, actor, now: datetime | None = None) -> Attachment:
    """Keep ``upload`` (a Werkzeug FileStorage) with record ``kind`` ``record_id``: stored, recorded and
    audited; the caller has checked the record (permission, scope, state) and commits."""
    upload = _upload(upload)
    names: list[str] = []
    sha, size, file_type = store(upload.stream, lambda found: names.append(clean_filename(upload.filename, found)))
    attachment = Attachment(record_kind=kind, record_id=int(record_id), filename=names[0],
                            content_type=file_type.content_type, size=size, sha256=sha,
                            uploaded_by_id=getattr(actor, "id", None), uploaded_at=now or utcnow(), void_reason="")
    db.session.add(attachment)
    db.session.flush()
    audit.record("attachment.uploaded", attachment, after=audit.snapshot(attachment, AUDIT_FIELDS), actor=actor)
    return attachment


def attachments_of(kind: str, record_id: int) -> list[Attachment]:
    """A record's attachments, oldest first, voided ones included (they stay listed, marked)."""
    return list(db.session.execute(
        select(Attachment).where(Attachment.record_kind == kind, Attachment.record_id == int(record_id))
        .order_by(Attachment.id)).scalars())


def get_attachment(kind: str, record_id: int, attachment_id) -> Attachment:
    """The attachment, when it belongs to that record; otherwise NotFound."""
    try:
        found = db.session.get(Attachment, int(attachment_id))
    except (TypeError, ValueError, OverflowError):
        found = None
    if found is None or found.record_kind != kind or found.record_id != int(record_id):
        raise NotFound(_l("This attachment does not exist."))
    return found


VOID = VoidRules(audit_as="attachment.voided", already=_l("This attachment is already voided."),
                 snapshot=lambda a: audit.snapshot(a, ("voided_at", "void_reason")), max_reason=500)


def void_attachment(attachment: Attachment, *, reason, actor, version=None) -> Attachment:
    """Void an attachment put on the wrong record: it stays on file and listed, marked, with the reason."""
    return void(attachment, VOID, reason=reason, actor=actor)


# ---------------------------------------------------------------------------------------------
# HTTP


def send(attachment: Attachment, *, inline: bool = False) -> Response:
    """The file as a response: inline only for pictures browsers show (thumbnails), a download otherwise;
    never sniffed, never able to run anything. Its ETag is its hash (the content never changes).

    The bytes are read whole (an attachment is at most :func:`max_bytes`), so no file handle outlives
    the request, whoever forgets to close the response."""
    path = blob_path(attachment.sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    if data is None or len(data) != attachment.size:
        current_app.logger.error("attachment %s: file %s is missing or has the wrong size", attachment.id, path)
        raise NotFound(_l("The file of this attachment is missing from the attachment store. Please tell the "
                          "administrator."))
    response = send_file(io.BytesIO(data), mimetype=attachment.content_type, conditional=True,
                         etag=attachment.sha256, max_age=3600, last_modified=attachment.uploaded_at)
    disposition = content_disposition(attachment.filename)
    if inline and attachment.is_image:
        disposition = "inline" + disposition[len("attachment"):]
    response.headers["Content-Disposition"] = disposition
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SERVE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.cache_control.private = True
    response.cache_control.public = False
    return response


class AttachForm(FlaskForm):
    """Attach a file to a record (the record page's upload box)."""

    file = FileField(_l("File"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file.render_kw = {"accept": accept_attribute()}


@dataclass(frozen=True)
class RecordKind:
    """How a feature's record takes attachments.

    ``load(record_id, user)``: the record, when the user may see it (the feature's own scope check:
    NotFound otherwise);
    ``closed(record)``: a message when it takes no more files (voided), else None; ``attached(record,
    attachment, actor)``: what else the feature records (a timeline event), before the commit.
    """

    name: str
    load: Callable
    closed: Callable = lambda record: None
    attached: Callable | None = None


def page_context(kind: RecordKind, record_id: int, forms: dict | None = None) -> dict:
    """What the record page's attachments box (``templates/records/_attachments.html``) shows: the
    attachments, the upload form, the void forms, and the limits to tell before anyone uploads."""
    forms = forms or {}
    return {"attachments": attachments_of(kind.name, record_id),
            "attach_form": forms.get("attach") or AttachForm(formdata=None),
            "attachment_void": forms.get("attachment_void"),
            "attachment_void_form": VoidForm(formdata=None),
            "attachment_hint": _l("%(types)s, at most %(mb)s MB each. On a phone you can take a photo.",
                                  types=", ".join(t.label for t in allowed_types()), mb=_megabytes(max_bytes()))}


def attach_to(kind: RecordKind, record, upload, *, actor) -> Attachment:
    """Attach an upload to a loaded record (refused while the record is closed) and commit."""
    why_not = kind.closed(record)
    if why_not:
        raise InvalidTransition(why_not)
    attachment = attach(kind.name, record.id, upload, actor=actor)
    if kind.attached is not None:
        kind.attached(record, attachment, actor)
    db.session.commit()
    return attachment


def page_routes(bp, kind: RecordKind, *, record_page: Callable, back: Callable) -> None:
    """Add to a page blueprint: ``POST /<record_id>/attachments`` (upload, RECORDS_WRITE),
    ``GET /<record_id>/attachments/<attachment_id>`` (the file, RECORDS_READ; ``?inline=1`` shows an image)
    and ``POST …/<attachment_id>/void`` (RECORDS_VOID).

    ``record_page(record, forms, status)`` renders the record's page with ``forms`` (``{"attach": form}``
    or ``{"attachment_void": (attachment id, form)}``) showing why a post was refused; ``back(record)`` is
    its URL.
    """

    @permission_required(RECORDS_WRITE)
    def attachments_upload(record_id: int):
        record = kind.load(record_id, current_user)
        form = AttachForm()
        attached, page = submit_form(
            form, lambda: attach_to(kind, record, request.files.get("file"), actor=current_user),
            lambda form, status: record_page(kind.load(record_id, current_user), {"attach": form}, status),
            flashed=(InvalidTransition,))
        if page is not None:
            return page
        flash(_("%(name)s attached.", name=attached.filename), "success")
        return redirect(back(record) + "#attachments")

    @permission_required(RECORDS_READ)
    def attachment_file(record_id: int, attachment_id: int):
        record = kind.load(record_id, current_user)
        return send(get_attachment(kind.name, record.id, attachment_id), inline=request.args.get("inline") == "1")

    @permission_required(RECORDS_VOID)
    def attachment_void(record_id: int, attachment_id: int):
        record = kind.load(record_id, current_user)
        attachment = get_attachment(kind.name, record.id, attachment_id)
        form = VoidForm()
        _done, page = submit_form(
            form, lambda: (void_attachment(attachment, reason=form.reason.data, actor=current_user),
                           db.session.commit()),
            lambda form, status: record_page(kind.load(record_id, current_user), {"attachment_void": (attachment.id, form)}, status),
            flashed=(InvalidTransition,))
        if page is not None:
            return page
        flash(_("%(name)s voided.", name=attachment.filename), "success")
        return redirect(back(record) + "#attachments")

    bp.add_url_rule("/<int:record_id>/attachments", view_func=attachments_upload, methods=["POST"])
    bp.add_url_rule("/<int:record_id>/attachments/<int:attachment_id>", view_func=attachment_file)
    bp.add_url_rule("/<int:record_id>/attachments/<int:attachment_id>/void", view_func=attachment_void,
                    methods=["POST"])


# ---------------------------------------------------------------------------------------------
# API


def attachment_json(a: Attachment, url: str) -> dict:
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
            "uploaded_by": getattr(a.uploaded_by, "login", None), "uploaded_at": a.uploaded_at.isoformat(),
            "voided": a.voided, "void_reason": a.void_reason or None, "url": url}


def api_routes(bp, kind: RecordKind, rule: str) -> None:
    """Add to an API blueprint, under ``rule`` (the record's path, with ``<int:record_id>``):
    ``GET …/attachments`` (list), ``POST …/attachments`` (multipart upload, field ``file``),
    ``GET …/attachments/<attachment_id>`` (the file) and ``POST …/attachments/<attachment_id>/void``."""
    def url(record_id: int, attachment_id: int) -> str:
        return url_for(f"{bp.name}.attachment_file", record_id=record_id, attachment_id=attachment_id)

    @permission_required(RECORDS_READ)
    def attachments_list(record_id: int):
        check_args()
        record = kind.load(record_id, current_user)
        return jsonify(items=[attachment_json(a, url(record.id, a.id)) for a in attachments_of(kind.name, record.id)])

    @permission_required(RECORDS_WRITE)
    def attachments_upload(record_id: int):
        check_args()
        if request.mimetype != "multipart/form-data":
            if request.is_json:
                json_body(("file",))  # names the fields it does not know first
            message = _l("Send the file as multipart/form-data, in the field “file”.")
            raise ValidationError(message, errors={"file": [message]})
        record = kind.load(record_id, current_user)
        unknown = sorted(set(request.form) | (set(request.files) - {"file"}))
        if unknown:
            message = _l("Unknown field: %(names)s. This endpoint accepts: %(allowed)s.", names=", ".join(unknown)[:200],
                         allowed="file")
            raise ValidationError(message, errors={name[:60]: [_l("Unknown field.")] for name in unknown[:20]})
        attachment = attach_to(kind, record, request.files.get("file"), actor=current_user)
        response = jsonify(attachment_json(attachment, url(record.id, attachment.id)))
        response.status_code = 201
        response.headers["Location"] = url(record.id, attachment.id)
        return response

    @permission_required(RECORDS_READ)
    def attachment_file(record_id: int, attachment_id: int):
        check_args()
        record = kind.load(record_id, current_user)
        return send(get_attachment(kind.name, record.id, attachment_id))

    @permission_required(RECORDS_VOID)
    def attachment_void(record_id: int, attachment_id: int):
        data = json_body(VOID_BODY)
        record = kind.load(record_id, current_user)
        attachment = get_attachment(kind.name, record.id, attachment_id)
        void_attachment(attachment, reason=data.get("reason"), actor=current_user)
        db.session.commit()
        return jsonify(attachment_json(attachment, url(record.id, attachment.id)))

    base = rule.rstrip("/") + "/attachments"
    bp.add_url_rule(base, view_func=attachments_list, endpoint="attachments_list")
    bp.add_url_rule(base, view_func=attachments_upload, endpoint="attachments_upload", methods=["POST"])
    bp.add_url_rule(base + "/<int:attachment_id>", view_func=attachment_file, endpoint="attachment_file")
    bp.add_url_rule(base + "/<int:attachment_id>/void", view_func=attachment_void, endpoint="attachment_void",
                    methods=["POST"])


VOID_BODY = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "maxLength": 500}}}
ATTACHMENT_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "filename": {"type": "string", "description": "the name it was uploaded with"},
    "content_type": {"type": "string", "enum": [t.content_type for t in TYPES],
                     "description": "read from the file's content, not from its name"},
    "size": {"type": "integer", "description": "bytes"}, "sha256": {"type": "string"},
    "uploaded_by": {"type": ["string", "null"], "description": "login"},
    "uploaded_at": {"type": "string", "format": "date-time"},
    "voided": {"type": "boolean"}, "void_reason": {"type": ["string", "null"]},
    "url": {"type": "string", "description": "where the file is downloaded"}}}


def openapi_paths(path: str, tag: str, id_name: str = "record_id") -> dict:
    """The OpenAPI path items of :func:`api_routes` under ``path`` (the record's, e.g. ``/complaints/{record_id}``)."""
    record = {"name": id_name, "in": "path", "required": True, "schema": {"type": "integer"}}
    attachment = {"name": "attachment_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    one = {"application/json": {"schema": {"$ref": "#/components/schemas/Attachment"}}}
    binary = {"schema": {"type": "string", "format": "binary"}}
    base = path.rstrip("/") + "/attachments"
    return {
        base: {
            "parameters": [record],
            "get": {"summary": "The record's attachments (voided ones included, marked)", "tags": [tag],
                    "responses": {"200": {"description": "attachments", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {"items": {"type": "array", "items": {
                            "$ref": "#/components/schemas/Attachment"}}}}}}},
                        **error_responses(400, 401, 403, 404)}},
            "post": {"summary": "Attach a file (PDF, JPEG, PNG, WebP or HEIC; the type is read from the content)",
                     "description": "multipart/form-data with the file in the field `file`. Too large: 413.",
                     "tags": [tag],
                     "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                         "type": "object", "required": ["file"], "properties": {
                             "file": {"type": "string", "format": "binary"}}}}}},
                     "responses": {"201": {"description": "attached", "content": one},
                                   **error_responses(400, 401, 403, 404, 409, 413)}},
        },
        base + "/{attachment_id}": {
            "parameters": [record, attachment],
            "get": {"summary": "Download an attachment", "tags": [tag],
                    "responses": {"200": {"description": "the file, as uploaded",
                                          "content": {t.content_type: binary for t in TYPES}},
                                  **error_responses(400, 401, 403, 404)}},
        },
        base + "/{attachment_id}/void": {
            "parameters": [record, attachment],
            "post": {"summary": "Void an attachment (it stays on file and listed, marked)", "tags": [tag],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": VOID_BODY}}},
                     "responses": {"200": {"description": "voided", "content": one},
                                   **error_responses(400, 401, 403, 404, 409)}},
        },
    }

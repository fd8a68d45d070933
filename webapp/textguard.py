"""Text that is not valid Unicode, or carries control characters, is refused where it enters.

A lone surrogate (``"\\ud800"``, or the raw bytes ``ED A0 80``) cannot be encoded as
UTF-8: stored in git or the database it breaks every later write or read of the same
row. Control characters other than tab and line breaks have no place in a form field
and hide text from reviewers. Both are refused at the request boundary — query
strings, form fields, JSON bodies (keys and values), upload file names — with a 400
naming the field (:func:`init_app`), and by the same check in uploads and imports
(:func:`bad_text_message`), so nothing downstream ever sees them.

The replacement character U+FFFD is refused too: Werkzeug puts it where a form field
held bytes that are not UTF-8, so it marks damaged input rather than text anyone typed.
"""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, g, request

from webapp.i18n import _l

#: C0 controls but tab, LF and CR; DEL and the C1 controls; surrogates; U+FFFD; the two BMP non-characters.
BAD_TEXT_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd\ufffe\uffff]")

#: Nested JSON deeper than this is refused before it is walked (no recursion blow-up).
MAX_JSON_DEPTH = 32

__all__ = ["BAD_TEXT_RE", "bad_text_message", "check_text", "find_bad_text", "init_app"]


def bad_text_message(value: str):
    """The translated reason ``value`` is refused, or None when it is clean text."""
    match = BAD_TEXT_RE.search(value)
    if match is None:
        return None
    char = match.group()
    if "\ud800" <= char <= "\udfff" or char == "\ufffd":
        return _l("The text is not valid Unicode (UTF-8); retype it or save the file as UTF-8.")
    return _l("The text contains a control character (U+%(code)04X) that is not allowed.", code=ord(char))


def check_text(value: str, field: str, errors: dict) -> bool:
    """Add ``field``'s message to ``errors`` when ``value`` is not clean text; True when clean."""
    message = bad_text_message(value)
    if message is not None:
        errors.setdefault(field, []).append(message)
        return False
    return True


def _shown(name: str) -> str:
    """A field name safe to send back: unclean characters written as ``\\uXXXX`` escapes."""
    return BAD_TEXT_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def find_bad_text(value, field: str = "body", errors: dict | None = None, depth: int = 0) -> dict:
    """``{field: [message]}`` for every string in a JSON value (dict keys included) that is not clean."""
    errors = {} if errors is None else errors
    if depth > MAX_JSON_DEPTH:
        errors.setdefault(field, []).append(_l("The JSON document is nested too deeply."))
    elif isinstance(value, str):
        check_text(value, field, errors)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{field}.{_shown(str(key))}" if field != "body" else _shown(str(key))
            if isinstance(key, str) and not check_text(key, name, errors):
                continue
            find_bad_text(item, name, errors, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            find_bad_text(item, f"{field}[{index}]", errors, depth + 1)
    return errors


def _undecodable_fields(raw: bytes, errors: dict) -> None:
    """Fields of a URL-encoded string whose percent-escapes are not UTF-8.

    Werkzeug keeps such an escape as its literal text (``%ED%A0%80``) instead of refusing
    it, so the raw string is looked at once more here.
    """
    if not _HIGH_ESCAPE.search(raw):  # only escapes of bytes >= 0x80 can be invalid UTF-8
        return
    for pair in raw.split(b"&"):
        if not _HIGH_ESCAPE.search(pair):
            continue
        key, _sep, value = pair.partition(b"=")
        for part in (key, value):
            if not _is_utf8_escaped(part):
                name = _shown(unquote_to_bytes(key).decode("utf-8", "replace"))
                errors.setdefault(name, []).append(bad_text_message("\ufffd"))
                break


#: A percent-escape of a byte >= 0x80 (the only bytes that can break UTF-8).
_HIGH_ESCAPE = re.compile(rb"%[89a-fA-F][0-9a-fA-F]")
#: A run of percent-escapes.
_ESCAPES = re.compile(rb"(?:%[0-9a-fA-F]{2})+")
_RAW_HIGH = re.compile(rb"[\x80-\xff]")


def _is_utf8_escaped(part: bytes) -> bool:
    """True when the percent-decoded ``part`` is valid UTF-8.

    Decodes each run of escapes with ``bytes.fromhex`` (C speed: a megabyte-long field costs
    milliseconds, not ``unquote_to_bytes``' seconds). The characters between runs are ASCII, which ends
    any multi-byte sequence, so the runs can be checked one by one; a part with raw bytes >= 0x80
    (no browser sends them) takes the exact, slower path.
    """
    if _RAW_HIGH.search(part):
        try:
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    for run in _ESCAPES.findall(part):
        try:
            bytes.fromhex(run.replace(b"%", b"").decode("ascii")).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _raw_errors() -> None:
    """Look at the raw query string and URL-encoded body before anything parses them.

    Runs first of all request hooks: once Werkzeug has parsed a form, its raw bytes are gone.
    The body is kept (``cache=True``), so the form is parsed from the same bytes later.
    """
    errors: dict = {}
    if b"%" in request.query_string:
        _undecodable_fields(request.query_string, errors)
    if request.mimetype == "application/x-www-form-urlencoded":
        _undecodable_fields(request.get_data(cache=True), errors)
    g.textguard_raw_errors = errors


def _request_errors() -> dict:
    errors: dict = dict(g.get("textguard_raw_errors") or {})
    for source in (request.args, request.form):
        for key, values in source.lists():
            if not check_text(key, _shown(key), errors):
                continue
            for value in values:
                check_text(value, _shown(key), errors)
    for key, upload in request.files.items(multi=True):
        if upload.filename:
            check_text(upload.filename, _shown(key), errors)
    if request.is_json and request.content_length:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # json refuses very deep nesting this way, not with a ValueError
            errors.setdefault("body", []).append(_l("The JSON document is nested too deeply."))
            return errors
        if data is not None:
            find_bad_text(data, errors=errors)
    return errors


def init_app(app: Flask) -> None:
    """Refuse requests carrying text that is not clean (400 with one message per field)."""
    # Imported here, not at the top: the document parser uses bad_text_message outside any app (the
    # store's push hook), and webapp.errors pulls in the database layer (~1 s of a hook's start).
    from webapp.errors import error_response

    # First of all hooks (CSRF reads the form); it only looks, the answer comes after authentication.
    app.before_request_funcs.setdefault(None, []).insert(0, _raw_errors)

    @app.before_request
    def refuse_bad_text():
        if not request.args and request.method in ("GET", "HEAD"):
            return None  # the hot read path: nothing to look at
        errors = _request_errors()
        if not errors:
            return None
        return error_response(400, next(iter(errors.values()))[0], errors=errors)

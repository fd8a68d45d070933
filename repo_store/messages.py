"""Commit messages: building them (summary, body, git trailers), reading them back, and
parsing the ``git log`` records the store asks for.

The message format is plain git: a summary line, an optional body and, as the last
paragraph, ``Key: value`` trailers, so ``git log`` and ``git interpret-trailers`` read
what the app writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from .errors import InvalidArgument, StoreError
from .values import _HEX40_RE, CommitInfo, Signature, _check_line

_TRAILER_KEY_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9-]{0,99}\Z")
_TRAILER_LINE_RE = re.compile(r"\A([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]?(.*)\Z")

#: ``git log --format`` of :func:`_parse_log`: NUL-separated fields, the message last.
_LOG_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%at%x00%ct%x00%B"
_LOG_FIELDS = 7



def _build_message(summary: str, body: str, trailers: Iterable[tuple[str, str]]) -> str:
    summary = _check_line(summary, "summary")
    if not isinstance(body, str) or "\x00" in body:
        raise InvalidArgument("body must be a string without NUL")
    body = body.replace("\r\n", "\n").strip()
    lines = []
    for item in trailers:
        try:
            key, value = item
        except (TypeError, ValueError):
            raise InvalidArgument(f"trailer must be a (key, value) pair: {item!r}") from None
        if not isinstance(key, str) or not _TRAILER_KEY_RE.match(key):
            raise InvalidArgument(f"invalid trailer key: {key!r}")
        value = _check_line(value, f"trailer {key!r} value", allow_empty=True)
        lines.append(f"{key}: {value}")
    msg = summary + "\n"
    if body:
        msg += "\n" + body + "\n"
    if lines:
        # git trailer format: the last paragraph, separated by a blank line.
        msg += "\n" + "\n".join(lines) + "\n"
    return msg


def _parse_trailer_block(paragraph: str) -> tuple[tuple[str, str], ...] | None:
    out: list[tuple[str, str]] = []
    for line in paragraph.split("\n"):
        if line[:1] in (" ", "\t") and out:  # folded continuation line (RFC 822 style)
            key, value = out[-1]
            out[-1] = (key, (value + " " + line.strip()).strip())
            continue
        m = _TRAILER_LINE_RE.match(line)
        if not m:
            return None
        out.append((m.group(1), m.group(2).strip()))
    return tuple(out) if out else None


def _split_message(message: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    message = message.replace("\r\n", "\n").strip("\n")
    summary, _, rest = message.partition("\n")
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", rest.strip("\n")) if p.strip()]
    trailers: tuple[tuple[str, str], ...] = ()
    if paragraphs:
        parsed = _parse_trailer_block(paragraphs[-1].strip("\n"))
        if parsed is not None:
            trailers = parsed
            paragraphs.pop()
    return summary.strip(), "\n\n".join(paragraphs).strip(), trailers


def _sig_line(sig: Signature, when: int) -> str:
    if not isinstance(sig, Signature):
        raise InvalidArgument("author/committer must be a Signature")
    name = _check_line(sig.name, "signature name")
    email = _check_line(sig.email, "signature email")
    if any(c in name + email for c in "<>"):
        raise InvalidArgument(f"invalid signature: {sig!r}")
    # Always stored in UTC (+0000): the app deals in UTC-aware datetimes only.
    return f"{name} <{email}> {when} +0000"



def _parse_log(out: bytes) -> Iterator[CommitInfo]:
    """The commits of ``git log -z --format=<_LOG_FORMAT>`` output."""
    fields = out.split(b"\0")
    if fields and fields[-1] == b"":
        fields.pop()  # terminator of the last record
    n = _LOG_FIELDS
    if len(fields) % n:
        raise StoreError("unexpected git log output (NUL in a commit message?)")
    utc = UTC
    for i in range(0, len(fields), n):
        sha, parents, an, ae, at, ct, msg = fields[i : i + n]
        sha_s = sha.decode("ascii", "replace").strip()
        if not _HEX40_RE.match(sha_s):
            raise StoreError("unexpected git log output")
        summary, body, trailers = _split_message(msg.decode("utf-8", "replace"))
        yield CommitInfo(
            sha=sha_s,
            parents=tuple(parents.decode().split()),
            author=Signature(an.decode("utf-8", "replace"), ae.decode("utf-8", "replace")),
            authored_at=datetime.fromtimestamp(int(at), utc),
            committed_at=datetime.fromtimestamp(int(ct), utc),
            summary=summary,
            body=body,
            trailers=trailers,
        )


"""The archive file: one zip holding the parts of a backup and ``manifest.json``, which names every part
with its SHA-256 and size. Written under a temporary name and renamed when complete, so an archive that
exists is a whole one; read back part by part, each checked against the manifest.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from webapp.exceptions import DomainError
from webapp.i18n import _l

FORMAT = "procdesk-backup/1"
MANIFEST = "manifest.json"
_CHUNK = 1 << 20


class DamagedArchive(DomainError):
    """The archive is not a whole, intact ProcDesk backup (the message says what is wrong)."""


class ArchiveWriter:
    """Writes parts into ``<path>.partial`` and records their hashes; :meth:`finish` adds the manifest
    and gives the file its name. Used as a context manager: on error the partial file is removed."""

    def __init__(self, path: Path):
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.parts: dict[str, dict] = {}
        self._zip = zipfile.ZipFile(self.partial, "x", compression=zipfile.ZIP_DEFLATED, compresslevel=6)

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:
            self._zip.close()
            self.partial.unlink(missing_ok=True)

    def write_lines(self, name: str, lines: Iterable[bytes]) -> int:
        """Part ``name`` from ``lines`` (bytes each); returns how many lines."""
        digest, size, count = hashlib.sha256(), 0, 0
        with self._zip.open(name, "w", force_zip64=True) as out:
            for line in lines:
                out.write(line)
                digest.update(line)
                size += len(line)
                count += 1
        self.parts[name] = {"sha256": digest.hexdigest(), "bytes": size}
        return count

    def write_file(self, name: str, source: Path) -> None:
        """Part ``name`` copied from the file ``source``."""
        digest, size = hashlib.sha256(), 0
        with open(source, "rb") as src, self._zip.open(name, "w", force_zip64=True) as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        self.parts[name] = {"sha256": digest.hexdigest(), "bytes": size}

    def write_json(self, name: str, data) -> None:
        """Part ``name`` holding ``data`` as JSON."""
        self.write_lines(name, [json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")])

    def finish(self, manifest: dict) -> Path:
        """Write the manifest (with the parts' hashes), close, fsync and rename into place."""
        manifest = {**manifest, "format": FORMAT, "parts": self.parts}
        self._zip.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
        self._zip.close()
        with open(self.partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.partial, self.path)
        return self.path


class ArchiveReader:
    """Reads an archive, checking each part it hands out against the manifest's hash and size."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise DamagedArchive(_l("There is no file %(path)s.", path=str(self.path))) from None
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise DamagedArchive(_l("%(path)s is not a ProcDesk backup, or it is truncated or damaged: it cannot "
                                    "be opened as an archive.", path=str(self.path))) from None
        self.manifest = self._read_manifest()

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read_manifest(self) -> dict:
        try:
            data = json.loads(self._zip.read(MANIFEST))
        except KeyError:
            raise DamagedArchive(_l("The archive has no manifest (%(name)s): it is not a ProcDesk backup, or it is "
                                    "incomplete.", name=MANIFEST)) from None
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError):
            raise DamagedArchive(_l("The archive's manifest is damaged.")) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("parts"), dict):
            raise DamagedArchive(_l("The archive's manifest is not one this version of ProcDesk reads (format "
                                    "%(format)s expected).", format=FORMAT))
        return data

    def has(self, name: str) -> bool:
        return name in self.manifest["parts"]

    def _member(self, name: str) -> tuple[dict, zipfile.ZipInfo]:
        expected = self.manifest["parts"].get(name)
        if not isinstance(expected, dict):
            raise DamagedArchive(_l("The manifest does not list the part %(part)s.", part=name))
        try:
            return expected, self._zip.getinfo(name)
        except KeyError:
            raise DamagedArchive(_l("The part %(part)s listed in the manifest is missing from the archive.",
                                    part=name)) from None

    def chunks(self, name: str) -> Iterator[bytes]:
        """The bytes of part ``name``, a chunk at a time; when the last was read its size and SHA-256 are
        compared with the manifest (:class:`DamagedArchive` then, or as soon as the zip finds damage)."""
        expected, member = self._member(name)
        digest, size = hashlib.sha256(), 0
        try:
            raw = self._zip.open(member)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise DamagedArchive(_l("The part %(part)s is damaged (%(problem)s).", part=name,
                                    problem=str(exc)[:200])) from None
        with raw:
            while True:
                try:
                    chunk = raw.read(_CHUNK)
                except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
                    raise DamagedArchive(_l("The part %(part)s is damaged (%(problem)s).", part=name,
                                            problem=str(exc)[:200])) from None
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                yield chunk
        if digest.hexdigest() != expected.get("sha256") or size != expected.get("bytes"):
            raise DamagedArchive(_l("The part %(part)s does not match its SHA-256 in the manifest: it was damaged "
                                    "or changed.", part=name))

    def lines(self, name: str) -> Iterator[bytes]:
        """The lines of part ``name`` (checked as :meth:`chunks`)."""
        rest = b""
        for chunk in self.chunks(name):
            *complete, rest = (rest + chunk).split(b"\n")
            for line in complete:
                yield line + b"\n"
        if rest:
            yield rest

    def extract(self, name: str, target: Path) -> None:
        """Copy part ``name`` to the file ``target``, checking its hash."""
        with open(target, "wb") as out:
            for chunk in self.chunks(name):
                out.write(chunk)

    def read_json(self, name: str):
        """Part ``name`` parsed as JSON (hash checked)."""
        data = b"".join(self.chunks(name))
        try:
            return json.loads(data)
        except ValueError:
            raise DamagedArchive(_l("The part %(part)s is damaged.", part=name)) from None

    def unlisted(self) -> list[str]:
        """Files in the archive that its manifest does not list (an intact archive has none)."""
        return sorted(set(self._zip.namelist()) - set(self.manifest["parts"]) - {MANIFEST})

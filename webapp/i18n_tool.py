"""Keep the translation catalogues complete: extract, update, check, compile.

Each component keeps its own catalogue so features can be worked on side by side:
``translations/`` for the core (``webapp``, ``api`` and shared templates) and
``<package>/translations/`` for each package in ``CATALOGUE_PACKAGES``. Templates in
``templates/<package>/`` belong to that package.

Run ``python -m webapp.i18n_tool update`` after adding strings, translate the new
Chinese entries (English ones are filled from the source text), then ``compile``.
``check`` (and the test suite) fails while any entry is untranslated.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask.cli import AppGroup
from jinja2.ext import babel_extract

from webapp.i18n_setup import CATALOGUE_PACKAGES

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("zh_Hans", "en")
CORE_PY = ("webapp", "api")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
JINJA_OPTIONS = {"extensions": "jinja2.ext.do,jinja2.ext.loopcontrols", "trimmed": "true"}


def components() -> dict[str, Path]:
    """Component name -> folder holding its ``translations``."""
    found = {"core": ROOT}
    for pkg in CATALOGUE_PACKAGES:
        if (ROOT / pkg).is_dir():
            found[pkg] = ROOT / pkg
    return found


def _sources(component: str):
    if component == "core":
        py_dirs = [ROOT / d for d in CORE_PY]
        tpl = [p for p in (ROOT / "templates").rglob("*.html")
               if p.relative_to(ROOT / "templates").parts[0] not in CATALOGUE_PACKAGES]
    else:
        py_dirs = [ROOT / component]
        tpl = list((ROOT / "templates" / component).rglob("*.html"))
    for d in py_dirs:
        for path in sorted(d.rglob("*.py")):
            if "translations" not in path.parts:
                yield "python", path
    for path in sorted(tpl):
        yield "jinja", path


def extract(component: str) -> Catalog:
    """All messages the component's code and templates use."""
    catalog = Catalog(project="ProcDesk", charset="utf-8")
    for kind, path in _sources(component):
        method = "python" if kind == "python" else babel_extract
        options = {} if kind == "python" else JINJA_OPTIONS
        for lineno, message, comments, context in extract_from_file(
                method, str(path), keywords=KEYWORDS, options=options):
            catalog.add(message, None, [(str(path.relative_to(ROOT)), lineno)],
                        auto_comments=comments, context=context)
    return catalog


def po_path(component: str, locale: str) -> Path:
    return components()[component] / "translations" / locale / "LC_MESSAGES" / "messages.po"


def _load(path: Path, locale: str) -> Catalog:
    if path.exists():
        with open(path, "rb") as fh:
            return read_po(fh, locale=locale)
    return Catalog(locale=locale, project="ProcDesk", charset="utf-8")


def update(component: str) -> dict[str, int]:
    """Bring both catalogues of a component in line with its sources; returns untranslated counts."""
    template = extract(component)
    counts = {}
    for locale in LOCALES:
        path = po_path(component, locale)
        catalog = _load(path, locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            message.flags.discard("fuzzy")
            if locale == "en" and not _translated(message):
                # English is the source language: the catalogue mirrors it.
                message.string = tuple(message.id) if isinstance(message.id, tuple) else message.id
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            write_po(fh, catalog, width=120, sort_output=True, omit_header=False)
        counts[locale] = sum(1 for m in catalog if m.id and not _translated(m))
    return counts


def _translated(message) -> bool:
    if isinstance(message.string, tuple | list):
        return all(s for s in message.string)
    return bool(message.string)


def missing() -> dict[str, list[str]]:
    """``"component/locale" -> [msgid, …]`` for every message the sources use but a catalogue lacks."""
    result = {}
    for component in components():
        wanted = extract(component)
        for locale in LOCALES:
            catalog = _load(po_path(component, locale), locale)
            gaps = []
            for message in wanted:
                if not message.id:
                    continue
                have = catalog.get(message.id, context=message.context)
                if have is None or not _translated(have) or "fuzzy" in have.flags:
                    gaps.append(message.id if isinstance(message.id, str) else message.id[0])
            if gaps:
                result[f"{component}/{locale}"] = gaps
    return result


def conflicts(locale: str = "zh_Hans") -> dict[str, dict[str, str]]:
    """Messages translated differently in two components.

    Flask-Babel merges every catalogue into one, so one English message can have only one
    translation app-wide; a conflict means some page would show the other component's text.
    Give the message context (``pgettext``) or a different English text when meanings differ.
    """
    seen: dict[tuple, dict[str, str]] = {}
    for component in components():
        path = po_path(component, locale)
        if not path.exists():
            continue
        for message in _load(path, locale):
            if message.id and _translated(message):
                key = (message.context, message.id if isinstance(message.id, str) else message.id[0])
                seen.setdefault(key, {})[component] = str(message.string)
    return {f"{ctx + '|' if ctx else ''}{msgid}": by for (ctx, msgid), by in seen.items()
            if len(set(by.values())) > 1}


def compile_all() -> int:
    """Write ``messages.mo`` next to every ``messages.po``; returns how many."""
    n = 0
    for component in components():
        for locale in LOCALES:
            path = po_path(component, locale)
            if not path.exists():
                continue
            catalog = _load(path, locale)
            with open(path.with_suffix(".mo"), "wb") as fh:
                write_mo(fh, catalog, use_fuzzy=False)
            n += 1
    return n


def apply_translations(component: str, mapping: dict[str, str], locale: str = "zh_Hans") -> int:
    """Set translations for msgids in a component's catalogue; returns how many were set."""
    path = po_path(component, locale)
    catalog = _load(path, locale)
    n = 0
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in mapping:
            value = mapping[key]
            message.string = tuple(value) if isinstance(message.id, tuple) and isinstance(value, list) else value
            message.flags.discard("fuzzy")
            n += 1
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=120, sort_output=True, omit_header=False)
    return n


i18n_cli = AppGroup("i18n", help="Translation catalogues.")


@i18n_cli.command("update")
@click.argument("component", required=False)
def update_cmd(component):
    _update(component)


@i18n_cli.command("check")
def check_cmd():
    sys.exit(_check())


@i18n_cli.command("compile")
def compile_cmd():
    click.echo(f"compiled {compile_all()} catalogues")


def _update(component=None):
    for name in ([component] if component else components()):
        counts = update(name)
        click.echo(f"{name}: untranslated zh_Hans={counts['zh_Hans']} en={counts['en']}")


def _check() -> int:
    gaps = missing()
    for key, ids in gaps.items():
        click.echo(f"{key}: {len(ids)} missing")
        for msgid in ids:
            click.echo(f"    {msgid!r}")
    return 1 if gaps else 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "update":
        _update(sys.argv[2] if len(sys.argv) > 2 else None)
    elif cmd == "translate":
        # python -m webapp.i18n_tool translate COMPONENT < mapping.json   ({"msgid": "译文", …})
        import json

        print(f"set {apply_translations(sys.argv[2], json.load(sys.stdin))} translations")
    elif cmd == "untranslated":
        for key, ids in missing().items():
            if len(sys.argv) < 3 or key.startswith(sys.argv[2] + "/"):
                for msgid in ids:
                    print(f"{key}\t{msgid!r}")
    elif cmd == "conflicts":
        for msgid, by in conflicts().items():
            print(f"{msgid!r}: {by}")
    elif cmd == "compile":
        print(f"compiled {compile_all()} catalogues")
    else:
        sys.exit(_check())

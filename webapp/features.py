"""Features declare themselves; the core builds an app from the declarations.

Each feature package (``accounts``, ``procedures``, ``satisfaction`` …) has one :class:`Feature` record,
``FEATURE`` in its ``__init__.py``: its blueprints, models, command-line groups, navigation entries,
permissions, demo loaders and signal listeners, all named by module path so that importing the
declaration imports nothing else. ``FEATURES`` in the configuration lists the enabled packages in
dependency order; that list is the only place the core learns their names. A new feature is one package
and one line there.

The OpenAPI paths of a feature are the ``OPENAPI`` section (:class:`api.openapi.ApiSection`) of any of its
blueprint modules; the catalogue of its messages is ``<package>/translations`` when that folder exists.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import SimpleNamespace

from flask import Flask, current_app, has_app_context

from webapp.permissions import Permission


@dataclass(frozen=True)
class NavEntry:
    """One item of the main navigation; shown to users with ``permission`` (None: everyone logged in).

    ``prefix``: the item is marked active while the path starts with it (None: only on ``/``).
    ``order``: position, low first (features are free to interleave)."""

    endpoint: str
    label: object
    permission: str | None = None
    prefix: str | None = None
    order: int = 100


@dataclass(frozen=True)
class Feature:
    """What one package adds to the app. Module paths are strings so declarations import nothing."""

    name: str
    blueprints: tuple[str, ...] = ()   #: modules defining a blueprint ``bp`` (and maybe ``OPENAPI``)
    models: tuple[str, ...] = ()       #: modules defining SQLAlchemy models (for metadata and Alembic)
    cli: tuple[str, ...] = ()          #: ``"module:attribute"`` of click groups added to ``flask``
    nav: tuple[NavEntry, ...] = ()
    permissions: tuple[Permission, ...] = ()
    demo: tuple[str, ...] = ()         #: modules with ``load_demo() -> list[str]``, run in this order
    listeners: tuple[str, ...] = ()    #: modules whose import connects receivers to :mod:`webapp.signals`
    setup: str | None = None           #: ``"module:function"`` called with the app, for anything else


def load(names) -> list[Feature]:
    """The :class:`Feature` records of the packages ``names``, in that order."""
    features = []
    for name in names:
        feature = importlib.import_module(name).FEATURE
        if feature.name != name:
            raise RuntimeError(f"package {name} declares feature {feature.name!r}")
        features.append(feature)
    return features


def _attribute(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def init_app(app: Flask) -> None:
    """Register every enabled feature's parts on ``app``; keeps the records in ``app.extensions``."""
    features = load(app.config["FEATURES"])
    app.extensions["procdesk.features"] = features
    for feature in features:
        for module in feature.models + feature.listeners:
            importlib.import_module(module)
    for feature in features:
        for module in feature.blueprints:
            app.register_blueprint(importlib.import_module(module).bp)
        for path in feature.cli:
            app.cli.add_command(_attribute(path))
        if feature.setup:
            _attribute(feature.setup)(app)
    app.jinja_env.globals["perm"] = SimpleNamespace(**{p.name: p for p in all_permissions(app)})


def enabled(app: Flask | None = None) -> list[Feature]:
    """The features of ``app`` (default: the current app), in dependency order."""
    return (app or current_app).extensions["procdesk.features"]


def is_enabled(name: str) -> bool:
    """Whether the current app runs feature ``name`` (False outside an app). Signal receivers are connected
    process-wide, so a receiver checks this before acting for an app that did not enable its feature."""
    if not has_app_context():
        return False
    return any(f.name == name for f in current_app.extensions.get("procdesk.features", ()))


def all_permissions(app: Flask | None = None) -> list[Permission]:
    """Every permission the enabled features declare, in declaration order."""
    return [p for feature in enabled(app) for p in feature.permissions]


def nav_entries(app: Flask | None = None) -> list[NavEntry]:
    """Every navigation entry of the enabled features, sorted by ``order``."""
    return sorted((e for feature in enabled(app) for e in feature.nav), key=lambda e: e.order)


def blueprint_modules(app: Flask | None = None):
    """The imported blueprint modules of the enabled features (for the OpenAPI document)."""
    for feature in enabled(app):
        for module in feature.blueprints:
            yield importlib.import_module(module)


def demo_loaders(app: Flask | None = None):
    """``load_demo`` functions of the enabled features, in feature order."""
    for feature in enabled(app):
        for module in feature.demo:
            yield importlib.import_module(module).load_demo

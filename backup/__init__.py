"""Backups: ``flask backup create|verify|restore`` — the database and the git store in one archive.

The top-most layer: it reads every feature's tables and the store, and after a restore runs the audit
verify and the procedure catalogue's rebuild. It also pushes every published version to the mirror
remotes in ``STORE_MIRRORS`` (:mod:`backup.mirrors`).
"""
from webapp.features import Feature

FEATURE = Feature(
    name="backup",
    cli=("backup.cli:backup_cli",),
    listeners=("backup.mirrors",),
    setup="backup.mirrors:init_app",
)

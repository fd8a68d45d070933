"""Git store for procedure documents (pure library: stdlib, GitPython and ``support`` only).

See :mod:`repo_store.store` for the design and the modules it is made of; everything
callers need is re-exported here.
"""

from . import errors
from .errors import *  # noqa: F403  (the whole StoreError family)
from .hooks import HookState, PushedFile, RefInfo, RefUpdate, parse_ref_updates
from .maintenance import MaintenanceRecord
from .store import GitStore
from .values import (
    EMPTY_TREE,
    CommitInfo,
    FileChange,
    FileVersion,
    FsckResult,
    GrepHit,
    LockFile,
    MaintenanceReport,
    Signature,
    StoreHealth,
    validate_branch,
    validate_path,
    validate_rev,
)

__all__ = [
    *errors.__all__,
    "GitStore",
    "Signature",
    "FileVersion",
    "FileChange",
    "CommitInfo",
    "GrepHit",
    "validate_path",
    "validate_rev",
    "validate_branch",
    "EMPTY_TREE",
    "StoreHealth",
    "LockFile",
    "FsckResult",
    "MaintenanceReport",
    "MaintenanceRecord",
    "HookState",
    "PushedFile",
    "RefInfo",
    "RefUpdate",
    "parse_ref_updates",
]

"""Git store for procedure documents (pure library: stdlib + GitPython only).

See :mod:`repo_store.store` for the design; everything callers need is
re-exported here.
"""

from .errors import (
    Conflict,
    InvalidArgument,
    InvalidPath,
    MergeConflict,
    NotFound,
    NothingToCommit,
    StoreCorrupt,
    StoreError,
    StoreLocked,
)
from .store import (
    EMPTY_TREE,
    CommitInfo,
    FileVersion,
    FsckResult,
    GitStore,
    GrepHit,
    LockFile,
    Signature,
    StoreHealth,
    validate_branch,
    validate_path,
    validate_rev,
)

__all__ = [
    "GitStore",
    "Signature",
    "FileVersion",
    "CommitInfo",
    "GrepHit",
    "validate_path",
    "validate_rev",
    "validate_branch",
    "EMPTY_TREE",
    "StoreError",
    "NotFound",
    "Conflict",
    "MergeConflict",
    "InvalidArgument",
    "InvalidPath",
    "NothingToCommit",
    "StoreLocked",
    "StoreCorrupt",
    "StoreHealth",
    "LockFile",
    "FsckResult",
]

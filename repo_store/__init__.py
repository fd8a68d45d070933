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
    StoreError,
)
from .store import (
    EMPTY_TREE,
    CommitInfo,
    FileVersion,
    GitStore,
    GrepHit,
    Signature,
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
]

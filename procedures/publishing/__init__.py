"""Publishing procedures (:mod:`.service` holds the entry points; the names callers use are here too)."""
from procedures.publishing.service import (
    NO_CHANGE,
    REVISE,
    WITHDRAW,
    PublishResult,
    ReleaseItem,
    ReleaseResult,
    check,
    release_review,
)

__all__ = ["PublishResult", "ReleaseItem", "ReleaseResult", "REVISE", "WITHDRAW", "NO_CHANGE", "release_review",
           "check"]

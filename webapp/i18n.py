"""Translation helpers used everywhere in ProcDesk.

Import ``_`` for strings built during a request and ``_l`` (lazy) for strings
defined at import time (form labels, module constants, domain error messages).
Source strings are English; the catalogues under ``translations/`` hold the
Simplified Chinese (default) and English texts.
"""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

__all__ = ["REQUIRED", "_", "_l", "ngettext"]

#: The one "required" message, for forms and services alike.
REQUIRED = _l("This field is required.")

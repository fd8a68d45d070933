"""Page frames: the rendered layout around a page's content, cached per process.

A logged-in page is mostly frame — ``base.html`` with the navigation, the user menu,
the language switch — and rendering it took longer than everything else a procedure
page does. The frame only changes with the template, the endpoint, the language and
the user's permissions, so :func:`render_framed` renders it once with marker
strings where the per-request values go (the content, the title, the CSRF token, the
current URL, the user's name) and afterwards only joins the cached pieces with those values, escaped
as Jinja would have escaped them.

A page whose frame would differ for another reason (a flash message waiting) is
rendered normally, and so is every page while templates reload from disk (debug).
"""
from __future__ import annotations

import re
import secrets

from flask import current_app, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup, escape

from support.caching import LockedLRU
from webapp.extensions import app_state
from webapp.security import csrf_token

#: Marker around a slot name; the per-process nonce means no rendered text can forge one.
_NONCE = secrets.token_hex(6)
_MARKER = re.compile("\ue000" + _NONCE + r":(\w+)\ue001")

#: Slots every framed page has, filled in by :func:`render_framed` itself.
FRAME_SLOTS = ("frame_csrf", "frame_next", "frame_user")


def _marker(name: str) -> Markup:
    return Markup(f"\ue000{_NONCE}:{name}\ue001")


def _cache() -> LockedLRU:
    return app_state("webapp.frames", lambda: LockedLRU(512, max_cost=16_000_000))


def _build(template: str, slot_names: tuple[str, ...], context: dict) -> tuple[str, ...]:
    html = render_template(template, **context, **{name: _marker(name) for name in slot_names + FRAME_SLOTS})
    parts = tuple(_MARKER.split(html))  # literal, slot name, literal, slot name, …, literal
    found = set(parts[1::2])
    missing = set(slot_names) - found
    if missing:  # a template that filters or drops a slot cannot be framed
        raise ValueError(f"{template} does not show the slots {sorted(missing)} as plain values")
    return parts


def render_framed(template: str, slots: dict, key: tuple = (), **context) -> str:
    """Render ``template`` whose only per-request values are ``slots`` (shown as ``{{ name }}``).

    ``key`` names whatever else the template shows beyond the frame (immutable values);
    ``context`` must be fully determined by ``key``. A ``str`` slot is escaped, a
    ``Markup`` slot is inserted as is — as Jinja's autoescaping would do.
    """
    if current_app.jinja_env.auto_reload or "_flashes" in session:
        return render_template(template, **context, **slots, **_live_frame_values())
    slot_names = tuple(sorted(slots))
    # The user's name is a slot: one frame serves everyone with the same permissions.
    frame_key = (template, slot_names, key, request.endpoint, request.script_root, str(get_locale()),
                 current_user.is_authenticated, getattr(current_user, "permissions", frozenset()))
    cache = _cache()
    parts = cache.get(frame_key)
    if parts is None:
        parts = _build(template, slot_names, context)
        cache.put(frame_key, parts, sum(len(p) for p in parts[::2]))
    values = {**slots, **_live_frame_values()}
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
        else:
            value = values[part]
            out.append(str(value) if isinstance(value, Markup) else str(escape(value)))
    return "".join(out)


def _live_frame_values() -> dict:
    return {"frame_csrf": csrf_token(), "frame_next": request.full_path.rstrip("?"),
            "frame_user": getattr(current_user, "display_name", "")}

"""Form helpers shared by every package."""
from __future__ import annotations

from wtforms.fields.choices import SelectChoice


def choices(pairs) -> list[SelectChoice]:
    """``[(value, label), …]`` → WTForms 3.3 ``SelectChoice`` objects (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]


def place_errors(form, exc, aliases: dict | None = None) -> None:
    """Show each message of a service's ``ValidationError`` at its form field.

    ``aliases`` maps a service's key to the form's field name where they differ, or to the
    field itself (a field inside a ``FieldList`` row). Messages for a field the page does
    not show — a hidden field such as the optimistic-lock ``version``, or a name the form
    does not have — are flashed instead, so a refused submit always tells the user why.
    This is the one place service errors meet forms: pages adapt keys, never place messages.
    """
    from flask import flash
    from wtforms.fields import HiddenField

    aliases = aliases or {}
    shown = False
    for name, messages in (getattr(exc, "errors", None) or {}).items():
        alias = aliases.get(name, name)
        target = getattr(form, alias, None) if isinstance(alias, str) else alias
        texts = [str(m) for m in messages]
        if target is not None and hasattr(target, "errors") and not isinstance(target, HiddenField):
            target.errors = list(target.errors or []) + texts
        else:
            for text in texts:
                flash(text, "error")
        shown = shown or bool(texts)
    if not shown:
        flash(str(exc), "error")

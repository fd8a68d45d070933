"""Service categories: a configurable, translated list used by surveys and complaints alike."""
from __future__ import annotations

from sqlalchemy import select

from audit import service as audit
from satisfaction.models import ServiceCategory
from webapp.exceptions import Conflict, NotFound, ValidationError
from webapp.extensions import db
from webapp.i18n import REQUIRED, _l

#: Seeded on first use: code, Chinese name, English name.
DEFAULT_CATEGORIES = [
    ("security", "安全", "Security"),
    ("environment", "环境（保洁、绿化）", "Environment (cleaning, greening)"),
    ("maintenance", "维修", "Maintenance and repairs"),
    ("customer_service", "客服", "Customer service"),
    ("other", "其他", "Other"),
]
FIELDS = ("code", "name", "name_en", "sort_order", "active")


def ensure_default_categories() -> None:
    """Create the default categories when there are none yet."""
    if db.session.execute(select(ServiceCategory.id).limit(1)).first() is None:
        for i, (code, name, name_en) in enumerate(DEFAULT_CATEGORIES):
            db.session.add(ServiceCategory(code=code, name=name, name_en=name_en, sort_order=i * 10))
        db.session.flush()


def list_categories(active_only: bool = True) -> list[ServiceCategory]:
    stmt = select(ServiceCategory).order_by(ServiceCategory.sort_order, ServiceCategory.id)
    if active_only:
        stmt = stmt.where(ServiceCategory.active.is_(True))
    return list(db.session.execute(stmt).scalars())


def get_category(code_or_id) -> ServiceCategory:
    """By id (int) or code (str); unknown → NotFound."""
    if isinstance(code_or_id, int):
        cat = db.session.get(ServiceCategory, code_or_id)
    else:
        cat = db.session.execute(select(ServiceCategory).where(ServiceCategory.code == code_or_id)).scalar_one_or_none()
    if cat is None:
        raise NotFound(_l("Unknown service category."))
    return cat


def active_category(raw, errors: dict, key: str) -> ServiceCategory | None:
    """The active category ``raw`` names (an id or a code, as sent), or None with the message
    under ``key`` in ``errors`` (required, or unknown)."""
    if raw is None or str(raw).strip() == "":
        errors.setdefault(key, []).append(REQUIRED)
        return None
    try:
        cat = get_category(int(raw) if str(raw).isdecimal() else str(raw).strip())
    except NotFound:
        cat = None
    if cat is None or not cat.active:
        errors.setdefault(key, []).append(_l("Unknown service category."))
        return None
    return cat


def save_category(category: ServiceCategory | None, values: dict, *, actor=None) -> ServiceCategory:
    """Create or update a category (codes unique; categories are deactivated, never deleted)."""
    code = (values.get("code") or "").strip()
    if not code or not code.replace("_", "").isalnum() or not code.isascii():
        raise ValidationError(_l("Use letters, digits and underscores."), errors={"code": [_l("Use letters, digits and underscores.")]})
    clash = db.session.execute(select(ServiceCategory.id).where(ServiceCategory.code == code)).scalar()
    if clash is not None and (category is None or clash != category.id):
        raise Conflict(_l("The code %(code)s is already used.", code=code))
    before = audit.snapshot(category, FIELDS) if category else None
    if category is None:
        category = ServiceCategory()
        db.session.add(category)
    for key in FIELDS:
        if key in values:
            setattr(category, key, values[key])
    category.code = code
    audit.record("category.updated" if before else "category.created", category, before=before,
                 after=audit.snapshot(category, FIELDS), actor=actor)
    db.session.commit()
    return category

"""Demo owner surveys: one campaign per demo project for this year, with realistic forms.

- P-LJY meets every target (about 92 % satisfied) and is still open for late forms;
- P-JHC is close to the targets and still open;
- P-YSW misses the return target and is below 85 % satisfaction: it is closed, so its
  corrective action has been opened (procedure 4.4.1).

The forms use the company's rating scale (the setting: by default QP-CS-001's 非常满意 / 满意 /
基本满意 / 不满意, the first two satisfied). Idempotent: a project that already has a survey for
the year is left alone. The figures are fixed (no randomness in the rates) so the demo reads the
same every time.
"""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from accounts.models import Project, User
from audit import service as audit
from satisfaction.categories import ensure_default_categories, list_categories
from satisfaction.surveys.importing import bulk_insert
from satisfaction.surveys.models import SurveyCampaign
from satisfaction.surveys.scale import Scale
from satisfaction.surveys.service import close_campaign, create_campaign
from webapp.dates import local_today
from webapp.extensions import db

# project code -> distributed, returned, overall rating shares (the two satisfied levels, the first
# level below them, every level further down: see _level_shares), per-category satisfied share
# adjustments, who entered the forms, close the campaign?
PLANS = {
    "P-LJY": (1130, 1000, (0.46, 0.46, 0.05, 0.03), {"maintenance": -0.04, "environment": 0.03}, "clerk", False),
    "P-JHC": (800, 690, (0.38, 0.49, 0.09, 0.04), {"security": -0.05}, "clerk", False),
    "P-YSW": (390, 300, (0.30, 0.48, 0.14, 0.08), {"maintenance": -0.15, "customer_service": -0.06},
              "depthead", True),
}
COMMENTS = ["电梯维修响应太慢", "保洁很及时，谢谢", "希望增加夜间巡逻", "绿化修剪不够及时", "客服态度好",
            "停车管理有待改进", "垃圾清运时间请固定", "报修后没人回访", "门岗服务热情", "楼道灯坏了很久"]


def _level_shares(shares, scale: Scale) -> list[float]:
    """The plan's four shares (top, second, near, far) laid onto the scale's levels, best first: the
    satisfied levels (always the top ones) take top and second, the others near and, evenly, far."""
    top, second, near, far = shares
    n_satisfied = len(scale.satisfied_values)
    n_other = len(scale.levels) - n_satisfied
    satisfied = [top, second] + [0.0] * (n_satisfied - 2) if n_satisfied > 1 else [top + second]
    other = [near] + [far / (n_other - 1)] * (n_other - 1) if n_other > 1 else [near + far]
    return satisfied + other


def _overall_values(n: int, shares, values) -> list[int]:
    """Exactly ``n`` ratings with the given shares of ``values`` (largest remainders)."""
    raw = [n * s for s in shares]
    counts = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: n - sum(counts)]:
        counts[i] += 1
    return [rating for rating, c in zip(values, counts, strict=True) for _ in range(c)]


def _rows(n: int, shares, adjust: dict, categories, start: date, rng: random.Random, scale: Scale) -> list[dict]:
    values = list(scale.values)  # best first
    overall = _overall_values(n, _level_shares(shares, scale), values)
    rng.shuffle(overall)
    now = datetime.now(UTC)
    begin = datetime.combine(start, time(9), tzinfo=UTC)
    span = max(1.0, (now - begin).total_seconds())
    rows = []
    for i, o in enumerate(overall):
        ratings = {}
        for cat in categories:
            if rng.random() < 0.04:  # some owners skip a question
                continue
            # A category mostly follows the overall rating; a weak area (negative shift) is rated lower more often.
            shift = adjust.get(cat.code, 0.0)
            k = values.index(o)
            if rng.random() < 0.16 + abs(shift) * 2:
                down = rng.random() < min(0.95, max(0.05, 0.5 - shift * 3))
                k = max(0, min(len(values) - 1, k + 1 if down else k - 1))  # one level worse or better
            ratings[cat.id] = values[k]
        rows.append({
            "overall": o, "ratings": ratings,
            "room": f"{rng.randint(1, 18)}-{rng.randint(1, 4)}-{rng.randint(1, 28)}{rng.randint(1, 4):02d}",
            "comments": rng.choice(COMMENTS) if (o not in scale.satisfied_values or rng.random() < 0.08) else "",
            "entered_at": begin + timedelta(seconds=span * min(0.95, (i + 1) / (n + 1) * 0.9)),
        })
    return rows


def load_demo() -> list[str]:
    ensure_default_categories()
    today = local_today()
    year = today.year
    distributed_on = min(today, date(year, 9, 1)) if today >= date(year, 1, 15) else today
    users = {u.login: u for u in db.session.execute(select(User).where(User.login.in_(
        ["admin", "clerk", "depthead"]))).scalars()}
    admin = users.get("admin")
    projects = {p.code: p for p in db.session.execute(select(Project).where(Project.code.in_(PLANS))).scalars()}
    categories = list_categories()
    lines = []
    for code, (distributed, returned, shares, adjust, entered_by, close) in PLANS.items():
        project = projects.get(code)
        if project is None or admin is None:
            continue
        exists = db.session.execute(select(SurveyCampaign.id).where(
            SurveyCampaign.project_id == project.id, SurveyCampaign.year == year,
            SurveyCampaign.voided_at.is_(None))).first()
        if exists:
            continue
        campaign = create_campaign({"project_id": project.id, "year": year, "households": project.households,
                                    "distributed": distributed, "distributed_on": distributed_on,
                                    "category_ids": [c.id for c in categories]}, actor=admin)
        rng = random.Random(f"procdesk-demo-{code}")
        rows = _rows(returned, shares, adjust, categories, distributed_on, rng, campaign.scale)
        ids = bulk_insert(campaign.id, rows, source="paper", batch=None, actor=users.get(entered_by))
        audit.record("survey_response.imported", campaign, actor=admin,
                     after={"batch": None, "file": "demo", "count": len(ids), "first_id": ids[0], "last_id": ids[-1]})
        db.session.commit()
        note = ""
        if close:
            _campaign, action = close_campaign(campaign, actor=admin)
            note = f", closed{' → ' + action.number if action is not None else ''}"
        lines.append(f"owner survey {year} {code}: {returned}/{distributed} forms{note}")
    return lines or ["owner surveys: already there"]

"""Demo data: 30 caring services over the last three months. Idempotent: nothing happens when
any caring service is recorded."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from accounts.models import Project, User
from satisfaction.caring import service as caring
from satisfaction.caring.models import CaringService
from webapp.dates import local_today
from webapp.extensions import db

CARING_KINDS = ["代收快递", "上门维修小件", "陪同就医", "代缴费用", "探望独居老人", "代浇花草", "搬运重物"]
COMMENTS = ["非常感谢！", "服务热情周到", "", "师傅很专业", "", "帮了大忙", ""]


def load_demo() -> list[str]:
    if db.session.execute(select(CaringService.id).limit(1)).first() is not None:
        return ["caring services: already there"]
    projects = {p.code: p for p in db.session.execute(
        select(Project).where(Project.code.in_(("P-LJY", "P-JHC")))).scalars()}
    users = {u.login: u for u in db.session.execute(
        select(User).where(User.login.in_(("clerk", "frontline", "staff")))).scalars()}
    clerk = users.get("clerk")
    if len(projects) < 2 or clerk is None:
        return ["caring services: skipped (demo projects or users missing)"]
    rng = random.Random(42)
    givers = [u for u in (clerk, users.get("frontline"), users.get("staff")) if u]
    today = local_today()
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    start = (start - timedelta(days=1)).replace(day=1)  # first day of the month two months ago
    span = (today - start).days
    for n in range(30):
        day = start + timedelta(days=rng.randint(0, span))
        code = "P-LJY" if n % 3 else "P-JHC"
        caring.create_service({
            "project_id": projects[code].id, "served_on": day, "staff_id": givers[n % len(givers)].id,
            "household": f"{rng.randint(1, 12)}栋{rng.randint(1, 3)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}",
            "service": rng.choice(CARING_KINDS), "minutes": rng.choice([10, 15, 20, 30, 45, 60, 90, 120]),
            "owner_comment": rng.choice(COMMENTS)}, actor=clerk)
    return ["caring services: 30 recorded over three months"]

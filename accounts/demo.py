"""Demo departments, projects and one user per role."""
from __future__ import annotations

from sqlalchemy import select

from accounts.models import Department, Project, Role, User
from accounts.services import ensure_default_roles, hash_password
from audit import service as audit
from webapp.demo import DEMO_PASSWORD
from webapp.extensions import db

DEPARTMENTS = [
    ("CS", "客户服务部", "Customer Service"),
    ("ENG", "工程部", "Engineering"),
    ("SEC", "安全部", "Security"),
    ("ENV", "环境部", "Environment"),
    ("ADM", "综合管理部", "Administration"),
]

PROJECTS = [
    ("P-LJY", "翠湖丽景苑", "Cuihu Lijing Garden", "滨江路 88 号", 1200),
    ("P-JHC", "金禾城", "Jinhe City", "长宁大道 1 号", 860),
    ("P-YSW", "云山湾", "Yunshan Bay", "云山南路 12 号", 420),
]

# login, display name, roles, participant category, department, projects. A name starts with the person's
# job as the company calls it: management 总经理, department heads 经理, the document controller 文控专员,
# frontline staff by their trade (客服, 维修工, 保安, 保洁); the customer representative of a review is an
# owners' representative (业委会), not company staff.
USERS = [
    ("admin", "系统管理员", ("admin",), None, "ADM", ()),
    ("controller", "文控专员 周敏", ("controller",), None, "ADM", ()),
    ("manager", "总经理 陈志远", ("manager", "participant"), "management", "ADM", ()),
    # The head of customer service also keeps its records (clerk): she plans, verifies and closes its actions.
    ("depthead", "客服部经理 王丽", ("participant", "clerk"), "dept_head", "CS", ("P-LJY", "P-JHC", "P-YSW")),
    ("frontline", "前台客服 李强", ("participant",), "frontline", "CS", ("P-LJY",)),
    ("custrep", "业委会主任 张建国", ("participant",), "customer_rep", None, ()),
    ("clerk", "客服文员 刘芳", ("clerk",), None, "CS", ("P-LJY", "P-JHC")),
    ("staff", "保洁主管 赵伟", ("reader",), None, "ENV", ("P-LJY", "P-JHC")),
]


def load_demo() -> list[str]:
    ensure_default_roles()
    lines = []
    depts = {d.code: d for d in db.session.execute(select(Department)).scalars()}
    for code, name, name_en in DEPARTMENTS:
        if code not in depts:
            depts[code] = Department(code=code, name=name, name_en=name_en)
            db.session.add(depts[code])
            audit.record("department.created", depts[code], after={"code": code, "name": name})
    projects = {p.code: p for p in db.session.execute(select(Project)).scalars()}
    for code, name, name_en, address, households in PROJECTS:
        if code not in projects:
            projects[code] = Project(code=code, name=name, name_en=name_en, address=address, households=households)
            db.session.add(projects[code])
            audit.record("project.created", projects[code], after={"code": code, "name": name,
                                                                   "households": households})
    roles = {r.code: r for r in db.session.execute(select(Role)).scalars()}
    existing = set(db.session.execute(select(User.login)).scalars())
    created = 0
    for login, name, role_codes, category, dept, project_codes in USERS:
        if login in existing:
            continue
        user = User(login=login, display_name=name, email=f"{login}@example.com",
                    password_hash=hash_password(DEMO_PASSWORD), participant_category=category,
                    department=depts.get(dept) if dept else None,
                    roles=[roles[c] for c in role_codes], projects=[projects[c] for c in project_codes])
        db.session.add(user)
        audit.record("user.created", user, after={"login": login, "roles": list(role_codes)})
        created += 1
    lines.append(f"departments: {len(DEPARTMENTS)}, projects: {len(PROJECTS)}, users created: {created}")
    return lines

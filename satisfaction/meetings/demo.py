"""Demo data: owners'-committee meetings and a preventive action. Idempotent."""
from __future__ import annotations

import io
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from accounts.models import Department, Project, User
from actions import service as actions
from actions.models import Action
from records.attachments import attach_to
from satisfaction.categories import ensure_default_categories, get_category
from satisfaction.meetings import service as meetings
from satisfaction.meetings.models import Meeting
from webapp.dates import local_today
from webapp.extensions import db

MINUTES_LJY = """## 一、物业服务中心工作汇报
客服部通报了上季度维修、保洁、秩序维护工作情况，报修及时率 98%。

## 二、业主委员会意见
- 地下车库照明不足，部分灯管损坏；
- 3 栋电梯高峰期等候时间长；
- 希望增加儿童游乐区的清洁频次。

## 三、会议决定
1. 工程部两周内完成车库照明检修；
2. 客服部跟进电梯维保单位，下次会议通报结果。
"""

MINUTES_JHC = """## 会议内容
业委会与物业服务中心就**垃圾分类**推进和**快递柜**位置进行了沟通。

- 业委会建议在 2 号门增设快递柜；
- 物业承诺加强垃圾分类督导，每周通报。
"""

def _users(*logins) -> dict[str, User]:
    return {u.login: u for u in db.session.execute(select(User).where(User.login.in_(logins))).scalars()}


def load_demo() -> list[str]:
    lines = []
    ensure_default_categories()
    projects = {p.code: p for p in db.session.execute(select(Project)).scalars()}
    users = _users("clerk", "manager", "frontline", "depthead")
    if not {"P-LJY", "P-JHC", "P-YSW"} <= set(projects) or not {"clerk", "manager"} <= set(users):
        return ["meetings, actions: skipped (demo projects or users missing)"]
    today = local_today()
    clerk, manager = users["clerk"], users["manager"]
    cat = {code: get_category(code).id for code in ("security", "environment", "maintenance", "other")}

    with force_locale(current_app.config["DEFAULT_LOCALE"]):
        if db.session.execute(select(Meeting.id).limit(1)).first() is None:
            staff_ids = [u.id for u in (clerk, users.get("depthead"), users.get("frontline")) if u]
            first = meetings.save_meeting(None, {
                "project_id": projects["P-LJY"].id, "held_on": today - timedelta(days=45),
                "title": "第三季度业主委员会座谈会", "location": "翠湖丽景苑物业服务中心会议室",
                "attendees": "张建国（业委会主任）\n李秀英（业委会委员）\n王海（业主代表）",
                "staff_ids": staff_ids, "topics": "季度工作汇报；车库照明；电梯等候；儿童游乐区清洁",
                "minutes": MINUTES_LJY,
                "issues": [
                    {"description": "地下车库照明不足，B2 层多处灯管损坏", "category": cat["maintenance"]},
                    {"description": "3 栋电梯早高峰等候时间过长", "category": cat["maintenance"]},
                    {"description": "建议增加儿童游乐区清洁和消毒频次", "category": cat["environment"]},
                ]}, actor=clerk)
            meetings.save_meeting(None, {
                "project_id": projects["P-JHC"].id, "held_on": today - timedelta(days=12),
                "title": "业主委员会月度沟通会", "location": "金禾城会所二楼",
                "attendees": "陈立（业委会副主任）\n赵敏（业主代表）", "staff_ids": [clerk.id],
                "topics": "垃圾分类；快递柜", "minutes": MINUTES_JHC,
                "issues": [{"description": "建议在 2 号门增设快递柜", "category": cat["other"]},
                           {"description": "夜间巡逻频次不够，希望加强", "category": cat["security"]}]},
                actor=clerk)
            # The minutes as signed by the committee, scanned (records.attachments).
            attach_to(meetings.ATTACHMENTS, first, FileStorage(io.BytesIO(signed_minutes_pdf()),
                                                               filename="第三季度座谈会纪要（签字版）.pdf",
                                                               content_type="application/pdf"), actor=clerk)
            suggestion = first.issues[2]
            entry = meetings.issue_to_entry(first, suggestion, "suggestion", actor=clerk)
            lines.append(f"meetings: 2 recorded, issue turned into {entry.number}")
        else:
            lines.append("meetings: already there")

        manual = db.session.execute(select(Action.id).where(Action.source_type == "manual").limit(1)).first()
        if manual is None:
            eng = db.session.execute(select(Department).where(Department.code == "ENG")).scalar_one_or_none()
            action = actions.create_manual({
                "kind": "preventive", "project_id": projects["P-YSW"].id,
                "title": "雨季前检查地下车库及设备房排水系统",
                "description": "去年雨季云山湾地下车库出现积水，业主投诉较多。今年雨季前全面检查排水沟、集水井和水泵，防止再次发生。",
                "responsible_department_id": eng.id if eng else None,
                "due_on": today + timedelta(days=30)}, actor=manager)
            lines.append(f"actions: preventive action {action.number} opened")
        else:
            lines.append("actions: already there")
    return lines


def signed_minutes_pdf() -> bytes:
    """A one-page PDF standing in for the scanned, signed minutes of a meeting."""
    text = (b"BT /F1 16 Tf 72 770 Td (Owners' committee meeting - minutes) Tj 0 -28 Td /F1 11 Tf "
            b"(Signed: committee chair, property service centre manager) Tj ET 72 600 m 300 600 l S")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)

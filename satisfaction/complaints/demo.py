"""Demo register: ~40 realistic complaints, praise and suggestions over the last three months.

Entered and moved along through the real services (with injected times), so every entry has
its timeline and audit trail. Idempotent: nothing happens when the register has entries.
"""
from __future__ import annotations

import io
import random
import struct
import zlib
from datetime import timedelta

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from accounts.models import Department, Project, User
from actions import reviews
from records.attachments import attach_to
from records.scope import project_ids
from satisfaction.categories import ensure_default_categories
from satisfaction.complaints import service
from satisfaction.complaints.models import Complaint
from webapp.db import utcnow
from webapp.extensions import db

# kind, channel, category, severity, building, room, what was raised, cause, action taken, feedback
COMPLAINTS = [
    ("phone", "maintenance", "normal", "3栋", "1502", "卫生间天花板渗水，楼上住户不在家。", "楼上1602卫生间防水层老化。",
     "联系1602业主入户，重做防水并修补天花板。", "已电话告知处理结果，业主表示认可。"),
    ("visit", "environment", "normal", "5栋", "", "5栋门前垃圾桶满溢，异味严重，连续两天未清运。", "保洁排班调整后清运时间未更新。",
     "恢复每日两次清运，班长每日巡查。", "上门告知已恢复清运。"),
    ("online", "security", "urgent", "地下车库", "B2", "车库B2区照明损坏多处，夜间很暗，担心安全。", "线路老化，部分灯具烧毁。",
     "更换灯具24套，检修线路。", "微信回复并附照片，业主满意。"),
    ("letter", "customer_service", "normal", "8栋", "0601", "来信反映前台人员态度冷淡，报修登记后无人回复。", "报修单未及时派发。",
     "客服部对前台人员进行服务礼仪培训，报修单当日派发。", "书面回复并电话致歉。"),
    ("phone", "maintenance", "normal", "2栋", "0803", "电梯经常停在8楼不动，等待时间长。", "电梯控制板故障。",
     "联系维保单位更换控制板。", "电话回访，业主认可。"),
    ("committee", "environment", "normal", "", "", "业委会反映中心花园绿化带杂草多、修剪不及时。", "绿化外包单位人员不足。",
     "约谈外包单位，增加两名绿化工，按月考核。", "在业委会例会上通报整改结果。"),
    ("visit", "security", "normal", "南门", "", "外卖和快递车辆随意进出小区，存在安全隐患。", "门岗未严格执行登记制度。",
     "门岗严格登记，设置外卖快递集中存放点。", "上门告知整改措施。"),
    ("phone", "maintenance", "urgent", "6栋", "1101", "家中突然停水，已经三个小时。", "6栋二次供水泵故障。",
     "抢修更换水泵轴承，恢复供水。", "电话回访，业主表示满意。"),
    ("online", "customer_service", "normal", "1栋", "0402", "物业费账单金额与去年不一致，无人解释。", "公摊电费分摊调整未提前公示。",
     "补发公示并逐户解释。", "电话说明分摊计算方式。"),
    ("phone", "environment", "normal", "9栋", "", "楼道内有人堆放杂物，影响通行。", "个别业主长期堆放。",
     "书面通知限期清理，逾期由物业协助清理。", "电话告知已清理完毕。"),
    ("visit", "maintenance", "normal", "4栋", "0201", "窗外空调外机支架锈蚀，担心掉落。", "支架属业主自有设施，年久锈蚀。",
     "协助联系专业单位更换支架并加固。", "上门回访确认已更换。"),
    ("phone", "security", "normal", "7栋", "", "夜间有陌生人在楼道徘徊。", "单元门禁损坏未及时维修。",
     "修复门禁，加强夜间巡逻频次。", "电话告知巡逻安排。"),
    ("letter", "environment", "normal", "", "", "游泳池水质浑浊，孩子游泳后皮肤发痒。", "过滤设备滤芯未按期更换。",
     "更换滤芯，每日检测水质并公示。", "书面回复并公示检测结果。"),
    ("online", "maintenance", "normal", "10栋", "0905", "外墙瓷砖脱落，砸坏楼下车辆。", "外墙瓷砖空鼓。",
     "设置警戒区，排查并修复空鼓瓷砖，协助保险理赔。", "电话回访。"),
    ("phone", "customer_service", "normal", "3栋", "0306", "装修审批等了一周还没批下来。", "审批流程环节过多。",
     "简化装修审批，三个工作日内办结。", "电话告知审批已完成。"),
]

PRAISE = [
    ("letter", "security", "1栋", "1201", "感谢保安队长深夜帮助送突发疾病的老人就医。"),
    ("visit", "maintenance", "5栋", "0702", "维修师傅半夜上门抢修水管，认真负责，特此表扬。"),
    ("online", "environment", "", "", "保洁阿姨每天把楼道打扫得很干净，点赞！"),
    ("phone", "customer_service", "8栋", "1003", "客服小刘帮忙找回丢失的钥匙，非常感谢。"),
    ("committee", "security", "", "", "业委会表扬春节期间安保值守到位，无安全事件。"),
    ("letter", "maintenance", "2栋", "0501", "电梯维修及时，服务态度好。"),
]

SUGGESTIONS = [
    ("online", "environment", "", "", "建议在儿童游乐区增加遮阳棚。"),
    ("committee", "security", "", "", "建议增设电动自行车集中充电桩，减少楼道充电。"),
    ("phone", "customer_service", "", "", "建议开通线上缴纳物业费。"),
    ("visit", "environment", "3栋", "", "建议垃圾分类投放点增加洗手池。"),
    ("online", "maintenance", "", "", "建议定期公示公共设施维修计划。"),
]


def _project_actor(project: Project, clerk: User, manager: User) -> User:
    return clerk if project.id in (project_ids(clerk) or set()) else manager


def load_demo() -> list[str]:
    ensure_default_categories()
    if db.session.execute(select(Complaint.id).limit(1)).first() is not None:
        return ["complaint register: already has entries, left as it is"]
    users = {u.login: u for u in db.session.execute(select(User)).scalars()}
    clerk, manager = users.get("clerk"), users.get("manager")
    projects = list(db.session.execute(select(Project).where(Project.code.in_(("P-LJY", "P-JHC", "P-YSW")))
                                       .order_by(Project.code)).scalars())
    if clerk is None or manager is None or not projects:
        return ["complaint register: demo users or projects missing, skipped"]
    departments = {d.code: d for d in db.session.execute(select(Department)).scalars()}
    dept_for = {"maintenance": "ENG", "security": "SEC", "environment": "ENV", "customer_service": "CS"}
    rng = random.Random(20260318)  # same demo every time
    now = utcnow()
    counts = {"complaint": 0, "praise": 0, "suggestion": 0}

    def enter(kind, project, channel, category, severity, building, room, text, received, handler=None):
        actor = _project_actor(project, clerk, manager)
        dept = departments.get(dept_for.get(category, "CS"))
        entry = service.create_entry(
            {"kind": kind, "project_id": project.id, "channel": channel, "received_at": received,
             "category": category, "severity": severity, "building": building, "room": room,
             "description": text, "contact_name": rng.choice(["张先生", "李女士", "王先生", "陈女士", "赵先生", ""]),
             "contact_phone": rng.choice(["138****2231", "139****0876", "", "186****5520"]),
             "handler_id": (handler or actor).id, "department_id": dept.id if dept else None},
            actor=actor, now=received + timedelta(minutes=3))
        counts[kind] += 1
        return entry, actor

    def step(entry, actor, action, at, **data):
        service.transition(entry, action, data, actor=actor, now=at)

    # 1. Complaints spread over the last three months, older ones further along the life cycle.
    for i, (channel, cat, sev, bld, room, text, cause, taken, feedback) in enumerate(COMPLAINTS + COMPLAINTS[:10]):
        project = projects[i % len(projects)]
        age_days = 88 - i * 3.5  # from ~3 months ago up to a few days ago
        received = now - timedelta(days=age_days, hours=rng.randint(0, 8))
        entry, actor = enter("complaint", project, channel, cat, sev, bld, room, text, received)
        rule_hours = 1 if sev == "urgent" else 20
        t = received + timedelta(hours=rng.uniform(0.2, rule_hours * 1.3))
        step(entry, actor, "acknowledge", t)
        if age_days < 8:
            continue  # recent: still acknowledged only
        t += timedelta(hours=rng.uniform(1, 6))
        step(entry, actor, "start", t)
        if age_days < 13:
            continue
        t += timedelta(hours=rng.uniform(4, 100 if sev == "normal" else 20))
        step(entry, actor, "resolve", t, cause=cause, action_taken=taken)
        if age_days < 18:
            continue
        t += timedelta(days=rng.uniform(1, 3))
        verdict = "neutral" if i % 7 == 3 else "satisfied"
        step(entry, actor, "follow_up", t, feedback_given=feedback, handling_satisfaction=verdict)
        if age_days > 25:
            step(entry, actor, "close", t + timedelta(hours=2))

    by_code = {p.code: p for p in projects}
    p_ljy = by_code.get("P-LJY", projects[0])
    p_jhc = by_code.get("P-JHC", projects[0])

    # 2. An urgent complaint whose resolution deadline has passed (shown red in the register).
    received = now - timedelta(hours=30)
    entry, actor = enter("complaint", p_ljy, "phone", "maintenance", "urgent", "12栋", "0101",
                         "一楼住户家中下水道反水，污水溢到客厅。", received)
    step(entry, actor, "acknowledge", received + timedelta(minutes=40))
    step(entry, actor, "start", received + timedelta(hours=1))
    # The clerk took a photo on site (records.attachments).
    attach_to(service.ATTACHMENTS, entry, FileStorage(io.BytesIO(sample_photo()), filename="下水道反水现场.png",
                                                      content_type="image/png"), actor=actor)
    # ... and one nobody has answered yet (response overdue).
    received = now - timedelta(hours=3)
    enter("complaint", p_jhc, "online", "security", "urgent", "东门", "", "东门道闸坏了，车辆排长队无人处理。", received)

    # 3. A dissatisfied follow-up that reopened the complaint (still being handled again) …
    received = now - timedelta(days=25)
    entry, actor = enter("complaint", p_ljy, "visit", "environment", "normal", "3栋", "0802",
                         "楼下餐饮店油烟直排，家里窗户都不敢开。", received)
    t = received + timedelta(hours=5)
    step(entry, actor, "acknowledge", t)
    step(entry, actor, "start", t + timedelta(hours=2))
    step(entry, actor, "resolve", t + timedelta(days=3), cause="餐饮店油烟净化器未开启。",
         action_taken="约谈商户，要求开启油烟净化器。")
    step(entry, actor, "follow_up", t + timedelta(days=6), feedback_given="电话告知已约谈商户。",
         handling_satisfaction="dissatisfied", follow_up_notes="业主表示晚上油烟依旧，要求彻底解决。")
    # … and one that was reopened, handled again and closed with a satisfied follow-up.
    received = now - timedelta(days=60)
    entry, actor = enter("complaint", p_jhc, "phone", "maintenance", "normal", "2栋", "1805",
                         "楼顶水箱噪音大，夜间无法入睡。", received)
    t = received + timedelta(hours=3)
    step(entry, actor, "acknowledge", t)
    step(entry, actor, "start", t + timedelta(hours=1))
    step(entry, actor, "resolve", t + timedelta(days=2), cause="水泵减震垫老化。", action_taken="更换减震垫。")
    step(entry, actor, "follow_up", t + timedelta(days=4), feedback_given="电话回访。",
         handling_satisfaction="dissatisfied", follow_up_notes="噪音仍然明显。")
    step(entry, actor, "resolve", t + timedelta(days=6), cause="水泵基座松动，减震垫不足以解决。",
         action_taken="加固水泵基座并加装隔音罩。")
    step(entry, actor, "follow_up", t + timedelta(days=8), feedback_given="上门回访，夜间实测噪音达标。",
         handling_satisfaction="satisfied")
    step(entry, actor, "close", t + timedelta(days=8, hours=1))

    # 4. A major complaint that starts an incident-triggered review of QP-CS-001.
    received = now - timedelta(days=18)
    entry, actor = enter("complaint", p_ljy, "visit", "security", "major", "11栋", "2101",
                         "家中被盗，监控录像缺失，多次投诉未得到有效处理。", received)
    t = received + timedelta(minutes=50)
    step(entry, actor, "acknowledge", t)
    step(entry, actor, "start", t + timedelta(hours=1))
    service.request_review(entry, _review_code(), actor=manager, now=t + timedelta(hours=3))

    # 5. Praise and suggestions: short path.
    for i, (channel, cat, bld, room, text) in enumerate(PRAISE + SUGGESTIONS):
        kind = "praise" if i < len(PRAISE) else "suggestion"
        project = projects[(i + 1) % len(projects)]
        received = now - timedelta(days=80 - i * 7, hours=rng.randint(0, 6))
        entry, actor = enter(kind, project, channel, cat, "normal", bld, room, text, received)
        if i % 4 != 3:
            step(entry, actor, "acknowledge", received + timedelta(hours=2))
            if i % 3 != 2:
                step(entry, actor, "close", received + timedelta(days=1), note="已转达相关部门。")
    return [f"complaint register: {counts['complaint']} complaints, {counts['praise']} praise, "
            f"{counts['suggestion']} suggestions"]


def _review_code() -> str:
    """QP-CS-001 (the customer-satisfaction procedure), or the catalogue's first code if it lacks it."""
    known = reviews.procedure_choices()
    if known and "QP-CS-001" not in {c for c, _t in known}:
        return known[0][0]
    return "QP-CS-001"


def sample_photo(width: int = 240, height: int = 160) -> bytes:
    """A small PNG standing in for a photo taken on site (a blue-grey gradient with a darker patch)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            stain = (x - 150) ** 2 + (y - 90) ** 2 < 1600
            shade = 120 + (x + y) * 80 // (width + height)
            row += bytes((shade // 2, shade // 2 + 10, shade // 3)) if stain else bytes((shade, shade + 15, shade + 30))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))

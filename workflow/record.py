"""The change record (评审/变更记录) of a review, as the Markdown file committed to the store.

``reviews/<year>/<number>.md`` lands on ``main`` in the same commit as the versions the review
produced (alone for a no-change review), so a plain ``git clone`` holds every review. The review
page shows this very file once the review is closed: what auditors read is what git keeps.
"""
from __future__ import annotations

import difflib

from accounts.permissions import PARTICIPANT_CATEGORIES
from webapp.dates import zone
from workflow import deciding, discussion, drafts, signoffs
from workflow.models import Review

#: The redline of one procedure in the record is cut after this many diff lines.
MAX_DIFF_LINES = 2000


def path_for(review: Review) -> str:
    year = review.number.split("-")[1]
    return f"reviews/{year}/{review.number}.md"


def _cell(value) -> str:
    return " ".join(str(value or "").split()).replace("|", "\\|") or "—"


def _block(text: str) -> list[str]:
    return [f"> {line}" if line else ">" for line in str(text or "").splitlines()] or ["> —"]


def render(review: Review, versions: dict, previous: dict) -> str:
    """The record's Markdown. ``versions``: code → the new version (``.version``, ``.commit`` may be
    empty), ``previous``: code → the version before; both from the publishing seam."""
    from workflow.service import KIND_LABELS, TRIGGER_LABELS
    from workflow.states import STATE_LABELS
    tz = zone()
    lines = [f"# {review.number} {review.title}", ""]
    lines += [f"- Kind / 类型: {review.kind} ({KIND_LABELS[review.kind]})",
              f"- Chair / 主持: {review.chair.display_name}",
              f"- Opened / 开始: {review.created_at.astimezone(tz).date().isoformat()}",
              f"- State / 状态: {STATE_LABELS['closed']}",
              f"- Effective / 生效日期: {review.effective_on.isoformat() if review.effective_on else '—'}", ""]
    lines += ["## Triggers / 触发", ""]
    for t in review.triggers:
        lines.append(f"- {TRIGGER_LABELS.get(t.source_type, t.source_type)} {t.label}".rstrip()
                     + (f": {' '.join(t.reason.split())}" if t.reason else ""))
    lines += ["", "## Participants / 参与人员", "", "| Category / 类别 | Name / 姓名 |", "|---|---|"]
    for category, label in PARTICIPANT_CATEGORIES.items():
        names = [p.user.display_name for p in review.participants if p.category == category]
        if names:
            lines.append(f"| {_cell(label)} | {_cell('、'.join(names))} |")
    lines += ["", "## Proposals / 修订提议", ""]
    props = drafts.proposals(review)
    for p in props:
        lines.append(f"- {p.author.display_name}{' (' + p.code + ')' if p.code else ''}, "
                     f"{p.created_at.astimezone(tz).date().isoformat()}:")
        lines += ["", *_block(p.text), ""]
    draft_commits = drafts.history(review)
    for d in reversed(draft_commits):
        lines.append(f"- Draft / 草稿 `{d.sha[:12]}` {d.author}, {d.at.astimezone(tz).date().isoformat()}: "
                     f"{_cell(d.summary)}")
    if not props and not draft_commits:
        lines.append("—")
    roots = discussion.thread(review)
    lines += ["", "## Discussion / 讨论评估", "",
              f"Comments / 意见: {sum(1 + len(r) for _c, r in roots)} "
              f"({sum(1 for c, _r in roots if c.resolved_at)} resolved / 已解决)", ""]
    if review.decision_summary:
        lines += [*_block(review.decision_summary), ""]
    for m in discussion.meetings(review):
        names = "、".join(a["name"] for a in m.attendees)
        lines += [f"- ReviewMeeting / 评审会 {m.held_on.isoformat()}: {names}", "", *_block(m.minutes), ""]
    lines += ["## Decision / 决定", "", "| Procedure / 规程 | Decision / 决定 | Before / 原版本 | After / 新版本 | "
              "Reason / 理由 |", "|---|---|---|---|---|"]
    for item in review.items:
        after = versions.get(item.code)
        lines.append(f"| {item.code} {_cell(item.title)} | {_cell(deciding.DECISION_LABELS.get(item.decision))} | "
                     f"{_cell(previous.get(item.code) or item.version_before)} | "
                     f"{_cell(after.version if after else '')} | {_cell(item.decision_reason)} |")
    lines += ["", "## Signatures / 电子签名", "", "| Name / 姓名 | Category / 类别 | Meaning / 含义 | Time / 时间 | "
              "Draft commit / 草稿提交 |", "|---|---|---|---|---|"]
    for s in signoffs.signoffs(review):
        state = "" if s.is_valid else " (void / 已失效)"
        lines.append(f"| {_cell(s.printed_name)} | {_cell(signoffs.category_label(s.category))} | "
                     f"{_cell(signoffs.MEANING_LABELS[s.meaning])}{state}"
                     f"{(': ' + _cell(s.reason)) if s.reason else ''} | "
                     f"{s.signed_at.astimezone(tz).isoformat(timespec='seconds')} | `{s.commit[:12]}` |")
    lines += ["", "## Redline / 修订对照", ""]
    revised = [i for i in review.items if i.decision == "revise"]
    for item in revised:
        file = drafts.draft_file(review, item.code)
        diff = list(difflib.unified_diff(file.base_markdown.splitlines(), file.markdown.splitlines(),
                                         f"{item.code} {previous.get(item.code) or item.version_before}",
                                         f"{item.code} draft", lineterm="", n=2))
        if len(diff) > MAX_DIFF_LINES:
            diff = [*diff[:MAX_DIFF_LINES], "… (cut / 截断)"]
        lines += [f"### {item.code}", "", "```diff", *diff, "```", ""]
    if not revised:
        lines.append("—")
    return "\n".join(lines).rstrip() + "\n"

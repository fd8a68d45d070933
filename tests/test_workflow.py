"""The review cycle through the pages: open, propose by editing, anchored comments, sign-offs bound to the
draft commit, decide, implement with an effective date, the change record; illegal steps and permissions."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from procedures.models import Procedure
from tests.conftest import PASSWORD
from tests.factories_publishing import BODY, procedure_text, self_approval
from tests.factories_workflow import (
    as_user,
    open_review,
    review_row,
    seed_people,
)
from webapp.dates import local_today
from webapp.extensions import db
from webapp.store import get_store

CODE = "QP-CS-001"
NEW_TEXT = procedure_text(body=BODY + "\n4.3 投诉处理完毕后三日内回访，并记录顾客评价。\n")


@pytest.fixture
def people(app, make_user, make_department):
    return seed_people(app, make_user, make_department)



def tip(app, number):
    with app.app_context():
        return get_store().head(f"reviews/{number}")


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(rf'value="([^"]*)"[^>]*name="{name}"', html)
    return m.group(1) if m else ""


def save_draft(c, number, text=NEW_TEXT, summary="增加回访要求"):
    page = c.get(f"/reviews/{number}/drafts/{CODE}/edit")
    assert page.status_code == 200
    return c.post(f"/reviews/{number}/drafts/{CODE}/edit", {
        "markdown": text, "parent": hidden(page.get_data(as_text=True), "parent"), "summary": summary})


def move(c, number, target):
    page = c.get(f"/reviews/{number}").get_data(as_text=True)
    return c.post(f"/reviews/{number}/move", {"target": target, "version": hidden(page, "version")})


def sign(c, app, number, meaning="approved", password=PASSWORD, reason="", commit=None):
    c.get(f"/reviews/{number}")
    return c.post(f"/reviews/{number}/sign", {"commit": commit or tip(app, number), "meaning": meaning,
                                              "password": password, "reason": reason})


def test_incident_review_end_to_end(people):
    app = people
    number = open_review(app)
    chair, head, front, owner, manager = (as_user(app, u) for u in ("controller", "head", "front", "owner", "manager"))

    # propose: the frontline participant edits the draft; the branch holds the commit, main does not
    assert save_draft(front, number).status_code == 302
    with app.app_context():
        store = get_store()
        draft_tip = store.head(f"reviews/{number}")
        assert "4.3 投诉处理完毕后三日内回访" in store.read(f"{CODE}.md", draft_tip).text
        assert "4.3 投诉处理完毕后三日内回访" not in store.read(f"{CODE}.md", "main").text
        assert store.history(rev=draft_tip, limit=1)[0].author.name == "客服专员 王芳"
    # readers keep reading the current version
    assert "4.3 投诉处理完毕后三日内回访" not in chair.get(f"/procedures/{CODE}").get_data(as_text=True)

    # discuss: an anchored comment by the owners' representative, a written proposal by the department head
    assert move(chair, number, "discuss").status_code == 302
    r = owner.post(f"/reviews/{number}/comments", {"code": CODE, "clause": "4.2", "body": "建议明确措施期限"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert head.post(f"/reviews/{number}/proposals", {"text": "增加月度回访抽查", "code": CODE}).status_code == 302
    draft_page = chair.get(f"/reviews/{number}/drafts/{CODE}").get_data(as_text=True)
    assert 'data-clause="4.2"' in draft_page and "建议明确措施期限" in draft_page

    # decide: sign-offs with password, bound to the draft commit
    assert move(chair, number, "decide").status_code == 302
    assert sign(manager, app, number, password="wrong").status_code == 400
    assert sign(manager, app, number).status_code == 302
    assert sign(head, app, number).status_code == 302
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    decided = chair.post(f"/reviews/{number}/decide", {"version": hidden(page, "version"),
                                                      f"decision_{CODE}": "revise", "summary": "采纳草稿"})
    assert decided.status_code == 302, decided.get_data(as_text=True)[:2000]
    assert move(chair, number, "implement").status_code == 302

    # implement with a future effective date: one commit on main with the new version and the record
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    effective = local_today() + timedelta(days=3)
    done = chair.post(f"/reviews/{number}/implement", {"version": hidden(page, "version"),
                                                       "effective": effective.isoformat()})
    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    review = review_row(app, number)
    assert review.state == "closed" and review.result_commit
    with app.app_context():
        store = get_store()
        assert store.head() == review.result_commit
        record = store.read(review.record_path, "main").text
        assert number in record and "客服专员 王芳" in record and "总经理 陈志远" in record
        proc = db.session.execute(select(Procedure).where(Procedure.code == CODE)).scalar_one()
        assert proc.version == "A/1" and proc.effective == effective
        ci = store.history(rev="main", limit=1)[0]
        assert ci.trailer("Review-Number") == number and len(ci.trailer_all("Signature")) == 2
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    assert 'data-testid="record"' in page and "A/1" in page


def test_a_new_draft_commit_voids_earlier_signoffs_and_a_stale_form_is_refused(people):
    app = people
    number = open_review(app)
    chair, manager, front = (as_user(app, u) for u in ("controller", "manager", "front"))
    save_draft(front, number)
    move(chair, number, "discuss")
    move(chair, number, "decide")
    first = tip(app, number)
    assert sign(manager, app, number).status_code == 302
    # a push to the branch with plain git (here: the store API) moves the tip
    with app.app_context():
        from repo_store import Signature
        store = get_store()
        store.commit({f"{CODE}.md": NEW_TEXT + "\n4.4 新增条款。\n"}, base=first, branch=f"reviews/{number}",
                     summary="push", author=Signature("git user", "git@example.com"))
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    assert 'data-valid="no"' in page  # the earlier sign-off is void, visibly
    # signing with the commit the page showed before is refused
    assert sign(manager, app, number, commit=first).status_code == 409


@pytest.mark.parametrize("login, status", [("front", 403), ("owner", 403)])
def test_only_the_chair_moves_the_review(people, login, status):
    app = people
    number = open_review(app)
    assert move(as_user(app, login), number, "discuss").status_code == status


def test_illegal_transitions_are_409(people):
    app = people
    number = open_review(app)
    chair = as_user(app, "controller")
    assert move(chair, number, "implement").status_code == 409
    assert move(chair, number, "decide").status_code == 409
    move(chair, number, "discuss")
    move(chair, number, "decide")
    # implement before every procedure is decided and the rule is met
    assert move(chair, number, "implement").status_code == 409


def test_non_participant_cannot_comment(people, make_user):
    app = people
    make_user("other", roles=("participant",), category="frontline")
    number = open_review(app)
    other = as_user(app, "other")
    assert other.get(f"/reviews/{number}").status_code == 200
    assert other.post(f"/reviews/{number}/comments", {"body": "hi"}).status_code == 403


def test_no_change_closes_with_the_record_only_and_moves_the_next_review(people):
    app = people
    number = open_review(app, kind="periodic")
    chair, manager, head = (as_user(app, u) for u in ("controller", "manager", "head"))
    move(chair, number, "discuss")
    move(chair, number, "decide")
    sign(manager, app, number)
    sign(head, app, number)
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    assert chair.post(f"/reviews/{number}/decide", {"version": hidden(page, "version"),
                                                   f"decision_{CODE}": "no_change"}).status_code == 302
    assert move(chair, number, "implement").status_code == 302
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    before = None
    with app.app_context():
        before = get_store().head()
    r = chair.post(f"/reviews/{number}/implement", {"version": hidden(page, "version"),
                                                    "effective": local_today().isoformat()})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    with app.app_context():
        store = get_store()
        changed = [p for _s, p in store.diff_paths(before, store.head())]
        assert changed == [review_row(app, number).record_path]
        proc = db.session.execute(select(Procedure).where(Procedure.code == CODE)).scalar_one()
        assert proc.version == "A/0" and proc.last_reviewed == local_today()
        from webapp.dates import add_months
        assert proc.next_review == add_months(local_today(), 6)


def _to_implement(app, number, chair):
    manager, head = as_user(app, "manager"), as_user(app, "head")
    move(chair, number, "discuss")
    move(chair, number, "decide")
    assert sign(manager, app, number).status_code == 302
    assert sign(head, app, number).status_code == 302
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    assert chair.post(f"/reviews/{number}/decide", {"version": hidden(page, "version"),
                                                   f"decision_{CODE}": "revise"}).status_code == 302
    assert move(chair, number, "implement").status_code == 302


def _implement(chair, number):
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    return chair.post(f"/reviews/{number}/implement", {"version": hidden(page, "version"),
                                                       "effective": local_today().isoformat()})


def test_a_real_merge_conflict_goes_to_the_chair_and_nothing_is_overwritten(people):
    from procedures.publishing import service as publishing
    from tests.factories_publishing import user

    app = people
    number = open_review(app)
    chair, front = as_user(app, "controller"), as_user(app, "front")
    draft_text = NEW_TEXT.replace("次月 5 日前", "次月 3 日前")
    assert save_draft(front, number, draft_text).status_code == 302
    # meanwhile the same clause changes on main
    with app.app_context(), self_approval(app):
        store = get_store()
        publishing.publish(CODE, procedure_text(body=BODY.replace("次月 5 日前", "次月 4 日前")), summary="直接修订",
                           base=store.head(), author=user("controller"), approved_by=None)
        main_before = store.head()
    _to_implement(app, number, chair)
    refused = _implement(chair, number)
    assert refused.status_code == 409
    with app.app_context():
        assert get_store().head() == main_before  # nothing written
    assert review_row(app, number).state == "implement"
    # the chair merges both in the editor: back to the decision, the signatures are void
    merged = NEW_TEXT.replace("次月 5 日前", "次月 3 日前（原为 4 日）")
    page = chair.get(f"/reviews/{number}/drafts/{CODE}/edit")
    assert page.status_code == 200
    r = chair.post(f"/reviews/{number}/drafts/{CODE}/edit", {"markdown": merged,
                                                            "parent": hidden(page.get_data(as_text=True), "parent")})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    review = review_row(app, number)
    assert review.state == "decide"
    assert 'data-valid="yes"' not in chair.get(f"/reviews/{number}").get_data(as_text=True)
    manager, head = as_user(app, "manager"), as_user(app, "head")
    assert sign(manager, app, number).status_code == 302
    assert sign(head, app, number).status_code == 302
    assert move(chair, number, "implement").status_code == 302
    assert _implement(chair, number).status_code == 302
    with app.app_context():
        text = get_store().read(f"{CODE}.md", "main").text
        assert "次月 3 日前（原为 4 日）" in text and "4.3 投诉处理完毕后三日内回访" in text


def test_the_change_record_file_is_what_the_page_shows(people):
    from procedures import rendering

    app = people
    number = open_review(app)
    chair, front = as_user(app, "controller"), as_user(app, "front")
    save_draft(front, number)
    _to_implement(app, number, chair)
    assert _implement(chair, number).status_code == 302
    review = review_row(app, number)
    with app.app_context():
        text = get_store().read(review.record_path, "main").text
        html = str(rendering.render(text).html)
    assert review.record_path == f"reviews/{number.split('-')[1]}/{number}.md"
    page = chair.get(f"/reviews/{number}/record").get_data(as_text=True)
    assert html in page
    assert html in chair.get(f"/reviews/{number}").get_data(as_text=True)
    for expected in ("客服专员 王芳", "业主代表 赵强", "A/0", "A/1", "```diff"):
        assert expected in text


@pytest.mark.parametrize("login", ["front", "owner", "head"])
def test_participants_cannot_run_the_review(people, login):
    app = people
    number = open_review(app)
    c = as_user(app, login)
    page = c.get(f"/reviews/{number}").get_data(as_text=True)
    version = hidden(page, "version")
    assert c.post(f"/reviews/{number}/cancel", {"reason": "x", "version": version}).status_code == 403
    assert c.post(f"/reviews/{number}/decide", {f"decision_{CODE}": "no_change"}).status_code == 403
    assert c.post(f"/reviews/{number}/meetings", {"held_on": local_today().isoformat(), "attendees": "1",
                                                  "minutes": "x"}).status_code == 403
    assert c.post(f"/reviews/{number}/implement", {"effective": local_today().isoformat()}).status_code == 403


def test_readers_without_review_permission_see_nothing(people, make_user):
    app = people
    make_user("reader", roles=("reader",))
    number = open_review(app)
    c = as_user(app, "reader")
    assert c.get(f"/reviews/{number}").status_code == 403
    assert c.get("/reviews/").status_code == 403


def test_cancel_needs_a_reason_and_frees_the_procedure(people):
    app = people
    number = open_review(app)
    chair = as_user(app, "controller")
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    assert chair.post(f"/reviews/{number}/cancel", {"reason": "", "version": hidden(page, "version")}).status_code == 400
    assert chair.post(f"/reviews/{number}/cancel", {"reason": "重复评审", "version": hidden(page, "version")}
                      ).status_code == 302
    assert review_row(app, number).state == "cancelled"
    again = open_review(app)  # the procedure may be reviewed again
    assert again != number
    assert move(chair, number, "discuss").status_code == 409


def test_a_stale_form_cannot_move_the_review(people):
    app = people
    number = open_review(app)
    chair = as_user(app, "controller")
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    old = hidden(page, "version")
    assert chair.post(f"/reviews/{number}/move", {"target": "discuss", "version": old}).status_code == 302
    assert chair.post(f"/reviews/{number}/move", {"target": "decide", "version": old}).status_code == 409


def test_rejection_blocks_adoption_and_needs_a_reason(people):
    app = people
    number = open_review(app)
    chair, front = as_user(app, "controller"), as_user(app, "front")
    save_draft(front, number)
    move(chair, number, "discuss")
    move(chair, number, "decide")
    assert sign(front, app, number, meaning="rejected").status_code == 400
    assert sign(front, app, number, meaning="rejected", reason="期限不合理").status_code == 302
    sign(as_user(app, "manager"), app, number)
    sign(as_user(app, "head"), app, number)
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    chair.post(f"/reviews/{number}/decide", {"version": hidden(page, "version"), f"decision_{CODE}": "revise"})
    assert move(chair, number, "implement").status_code == 409


def test_anchored_comment_moves_with_a_new_draft_or_becomes_outdated(people):
    app = people
    number = open_review(app)
    chair, owner, front = as_user(app, "controller"), as_user(app, "owner"), as_user(app, "front")
    move(chair, number, "discuss")
    assert owner.post(f"/reviews/{number}/comments", {"code": CODE, "clause": "4.2", "body": "保留"}).status_code == 302
    assert owner.post(f"/reviews/{number}/comments", {"code": CODE, "clause": "4.1", "body": "期限太长"}
                      ).status_code == 302
    # the new draft inserts a clause above 4.2 (renumbering it to 4.3) and rewrites 4.1
    body = BODY.replace("4.1 客服中心每月汇总投诉，次月 5 日前报送品质部。", "4.1 客服中心每周汇总投诉。\n\n4.2 新增的条款。") \
        .replace("4.2 满意率低于", "4.3 满意率低于")
    assert save_draft(front, number, procedure_text(body=body)).status_code == 302
    page = chair.get(f"/reviews/{number}/drafts/{CODE}").get_data(as_text=True)
    assert page.count('data-outdated="yes"') == 1 and page.count('data-outdated="no"') == 1
    assert 'data-clause="4.3"' in page


def test_the_procedure_page_shows_under_review_and_the_procedure_s_reviews(people, second_app):
    app = people
    reader = as_user(app, "front")
    assert 'data-testid="under-review"' not in reader.get(f"/procedures/{CODE}").get_data(as_text=True)
    number = open_review(app)
    # another worker (its own per-process caches) sees the change on its next read
    for c in (reader, as_user(second_app, "front")):
        page = c.get(f"/procedures/{CODE}").get_data(as_text=True)
        assert 'data-testid="under-review"' in page and number in page
    chair = as_user(app, "controller")
    page = chair.get(f"/reviews/{number}").get_data(as_text=True)
    chair.post(f"/reviews/{number}/cancel", {"reason": "重复", "version": hidden(page, "version")})
    page = reader.get(f"/procedures/{CODE}").get_data(as_text=True)
    assert 'data-testid="under-review"' not in page and 'data-testid="procedure-reviews"' in page

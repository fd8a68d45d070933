"""The audit log reads as a quality manager reads: labels, values as text, before/after, filters, exports.

The completeness test (issue 12 §6) collects every action the code can record by reading the source
(every call of ``audit.service.record`` in every feature package; an action that is not a literal is
enumerated below, from the code's own tables), then requires a label for each and renders the log in
Chinese and in English with an entry of every action: no row may show a code or an untranslated text.
"""
from __future__ import annotations

import ast
import csv
import functools
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from audit import labels
from audit.models import AuditEntry
from audit.service import SYSTEM, record
from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
ROW_LABEL = re.compile(r'data-action="([^"]+)" data-known="(yes|no)" data-testid="action-label">([^<]*)<')


# ---------------------------------------------------------------------------------------------
# every action the code can record, read from the source
# ---------------------------------------------------------------------------------------------


def _sources() -> dict[str, str]:
    from webapp.config import FEATURES

    found = {}
    for package in ("webapp", *FEATURES):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "translations" not in path.parts:
                found[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    return found


SOURCES = _sources()


@functools.cache
def _tree(rel: str):
    return ast.parse(SOURCES[rel])


@functools.cache
def _parents_of(rel: str) -> dict:
    return {child: node for node in ast.walk(_tree(rel)) for child in ast.iter_child_nodes(node)}


@functools.cache
def _calls(rel: str) -> list[ast.Call]:
    return [node for node in ast.walk(_tree(rel)) if isinstance(node, ast.Call)]


def _modules(needle: str):
    """``(path, tree)`` of the modules whose source mentions ``needle`` (only those are parsed)."""
    for rel, text in SOURCES.items():
        if needle in text:
            yield rel, _tree(rel)


def _recorders(rel: str, tree) -> tuple[set[str], set[str]]:
    """Names bound to the audit service module, and names bound to its ``record`` function, in a module."""
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "audit":
            modules |= {a.asname or a.name for a in node.names if a.name == "service"}
        elif isinstance(node, ast.ImportFrom) and node.module == "audit.service":
            functions |= {a.asname or a.name for a in node.names if a.name == "record"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == "audit.service" and a.asname}
    if rel == "audit/service.py":
        functions.add("record")
    return modules, functions


def _function_of(node, parents) -> ast.FunctionDef | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def _literals(expr, tree, function, *, partial: bool = False) -> set[str] | None:
    """The strings ``expr`` can be: literals, both sides of ``a if c else b``, a module constant or a
    variable of the function assigned such values; None when it cannot be told from the code
    (``partial``: the part that can be told)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        a = _literals(expr.body, tree, function, partial=partial)
        b = _literals(expr.orelse, tree, function, partial=partial)
        return None if a is None or b is None else a | b
    if isinstance(expr, ast.Name):
        scopes = [function] if function is not None else []
        for scope in [*scopes, tree]:
            values = [n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)
                      and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)]
            if scope is tree:
                values = [n.value for n in tree.body if isinstance(n, ast.Assign)
                          and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)]
            if values:
                found = [_literals(v, tree, function, partial=partial) for v in values]
                return None if any(f is None for f in found) else set().union(*found)
    return set() if partial else None


def _call_literals(name: str, position: int, keyword: str | None = None, *, via: tuple[str, ...] = ()) -> set[str]:
    """Literal strings passed as argument ``position`` (or ``keyword``) of calls to ``name`` anywhere
    (``via``: only as ``<one of via>.name(…)`` or a bare ``name(…)``). A parameter of the calling
    function passed on is skipped: the calls of that function count."""
    found: set[str] = set()
    for rel, tree in _modules(name + "("):
        parents = _parents_of(rel)
        for node in _calls(rel):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if callee != name or via and isinstance(node.func, ast.Attribute) and not (
                    isinstance(node.func.value, ast.Name) and node.func.value.id in via):
                continue
            args = [k.value for k in node.keywords if k.arg == keyword] if keyword else []
            if len(node.args) > position:
                args.append(node.args[position])
            for arg in args:
                if isinstance(arg, ast.Tuple) and arg.elts:
                    arg = arg.elts[0]
                function = _function_of(node, parents)
                if function is not None and isinstance(arg, ast.Name) and arg.id in {
                        a.arg for a in function.args.args + function.args.kwonlyargs}:
                    continue
                values = _literals(arg, tree, function)
                assert values is not None, f"{name}() is called with an action this test cannot read: " \
                                           f"{ast.unparse(arg)}"
                found |= values
    return found


def _keyword_literals(keyword: str) -> set[str]:
    """Literal values given as ``keyword=`` to any call (``VoidRules(audit_as=…)``)."""
    found = set()
    for rel, _tree in _modules(keyword + "="):
        for node in _calls(rel):
            for k in node.keywords:
                if k.arg == keyword and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                    found.add(k.value.value)
    return found


def _review_steps():
    from workflow.service import EVENT_LABELS

    return {f"review.{a}" for a in _call_literals("record_step", 1) | set(EVENT_LABELS)}


def _complaint_steps():
    from satisfaction.complaints.service import ACTIONS

    return {f"complaint.{a}" for a in ACTIONS}


def _action_steps():
    from actions.service import TRANSITIONS

    return {f"action.{a}" for a in TRANSITIONS}


def _reference_saves():
    from accounts.admin_views import REFERENCE

    return {f"{model.__tablename__.rstrip('s')}.{verb}" for model, *_rest in REFERENCE.values()
            for verb in ("created", "updated")}


def _publishing():
    return (_call_literals("Change", 0, via=("after",)) | _call_literals("finish", 0, via=("after",))
            | _call_literals("finish_all", 99, "record", via=("after",)))


#: (module, function) of each ``record`` call whose action is no literal -> where its actions come from.
#: A new such call fails the test until it is listed here.
DYNAMIC = {
    ("workflow/service.py", "record_step"): _review_steps,
    ("satisfaction/complaints/service.py", "transition"): _complaint_steps,
    ("actions/service.py", "transition"): _action_steps,
    ("accounts/services.py", "save_reference"): _reference_saves,
    ("procedures/publishing/after.py", "finish_all"): _publishing,
    ("records/voiding.py", "void"): lambda: _keyword_literals("audit_as"),
    ("satisfaction/surveys/service.py", "_set_status"): lambda: _keyword_literals("audit_as"),
}


@functools.cache
def recordable_actions() -> tuple[frozenset[str], tuple[str, ...]]:
    """Every action code the code can record, and the calls this test cannot read (should be none)."""
    actions: set[str] = set()
    unreadable = []
    for rel, tree in _modules("audit"):
        modules, functions = _recorders(rel, tree)
        if not modules and not functions:
            continue
        parents = _parents_of(rel)
        for node in _calls(rel):
            f = node.func
            if not ((isinstance(f, ast.Attribute) and f.attr == "record" and isinstance(f.value, ast.Name)
                     and f.value.id in modules) or (isinstance(f, ast.Name) and f.id in functions)):
                continue
            arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "action"), None)
            function = _function_of(node, parents)
            values = _literals(arg, tree, function) if arg is not None else None
            if values is None:
                source = DYNAMIC.get((rel, function.name if function else ""))
                if source is None:
                    unreadable.append(f"{rel}:{node.lineno} {ast.unparse(arg) if arg is not None else '?'}")
                    continue
                values = source() | _literals(arg, tree, function, partial=True)
            actions |= values
    return frozenset(actions), tuple(unreadable)


def test_the_source_scan_finds_the_known_recording_calls():
    """The scan itself works: literal, conditional, constant, enumerated and keyword-given actions."""
    actions, unreadable = recordable_actions()
    assert not unreadable, "record() calls whose action this test cannot enumerate (add them to DYNAMIC):\n" + \
        "\n".join(unreadable)
    for code in ("user.created", "category.created", "category.updated", "procedure.committed_outside_app",
                 "review.comment_reopened", "complaint.follow_up", "action.take_action", "action.reopened",
                 "role.updated", "procedure.review_recorded", "procedure.withdrawn", "survey_campaign.reopened",
                 "caring.voided"):
        assert code in actions, code
    assert len(actions) >= 80


def test_every_action_the_code_can_record_has_a_label():
    actions, _unreadable = recordable_actions()
    missing = sorted(actions - set(labels.ACTIONS))
    assert not missing, f"actions with no label in audit/labels.py ACTIONS: {missing}"
    stale = sorted(set(labels.ACTIONS) - actions - labels.RETIRED_ACTIONS)
    assert not stale, f"labels of actions no code records (move them to RETIRED_ACTIONS if old logs hold them): {stale}"
    assert set(labels.FAMILY_OBJECT) >= {labels.family(a) for a in actions}


def test_every_object_type_has_a_label(app):
    """Every model's table (what ``record(obj)`` names) and every object type given by name."""
    given = _keyword_literals("object_type") | {"system", "git_commit"}
    with app.app_context():
        tables = {mapper.local_table.name for mapper in db.Model.registry.mappers}
    missing = sorted((tables | given) - set(labels.OBJECT_TYPES) - labels.UNLABELLED_TABLES)
    assert not missing, f"object types with no label in audit/labels.py OBJECT_TYPES: {missing}"


def _features_value_labels() -> dict:
    """The features' own lists of coded values, which :data:`audit.labels.VALUES` repeats."""
    from accounts.permissions import PARTICIPANT_CATEGORIES
    from actions import proposals
    from actions import service as actions
    from management import service as management
    from satisfaction.complaints import service as complaints
    from satisfaction.surveys.models import CAMPAIGN_STATUSES
    from workflow import service as workflow
    from workflow.signoffs import MEANING_LABELS
    from workflow.states import STATE_LABELS

    return {
        ("complaints", "kind"): complaints.KIND_LABELS, ("complaints", "channel"): complaints.CHANNEL_LABELS,
        ("complaints", "severity"): complaints.SEVERITY_LABELS, ("complaints", "status"): complaints.STATUS_LABELS,
        ("complaints", "handling_satisfaction"): complaints.SATISFACTION_LABELS,
        ("corrective_actions", "kind"): actions.KINDS, ("corrective_actions", "status"): actions.STATUSES,
        ("corrective_actions", "source_type"): actions.SOURCE_TYPES, ("action_proposals", "kind"): actions.KINDS,
        ("action_proposals", "status"): proposals.STATUSES,
        ("survey_campaigns", "status"): dict.fromkeys(CAMPAIGN_STATUSES),
        ("reviews", "state"): STATE_LABELS, ("reviews", "kind"): workflow.KIND_LABELS,
        ("reviews", "trigger"): workflow.TRIGGER_LABELS, ("reviews", "meaning"): MEANING_LABELS,
        ("reviews", "category"): PARTICIPANT_CATEGORIES, ("users", "participant_category"): PARTICIPANT_CATEGORIES,
        ("management_reviews", "state"): management.STATE_LABELS,
    }


def test_coded_values_read_as_the_features_own_words(app):
    """A complaint's status reads 已回访, not ``followed_up``: the audit log's value labels are the
    features' own words, code for code (a new status fails here until it has its label)."""
    theirs = _features_value_labels()
    assert set(theirs) == set(labels.VALUES)
    with app.test_request_context(), force_locale("en"):
        for key, values in theirs.items():
            assert set(values) == set(labels.VALUES[key]), key
            for code, label in values.items():
                if label is not None:
                    assert str(labels.VALUES[key][code]) == str(label), (key, code)
    with app.test_request_context(), force_locale("zh_Hans"):
        from audit.display import as_text

        assert CJK.search(as_text("followed_up", "status", "complaints"))
        assert as_text("followed_up", "status", "users") == "followed_up"


def _entry_per_action(app):
    with app.app_context():
        for code in labels.ACTIONS:
            family = labels.family(code)
            record(code, None, object_type=labels.FAMILY_OBJECT[family], object_id="7", actor=SYSTEM,
                   actor_login="tester", after={"status": "open"})
        db.session.commit()


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_the_log_shows_no_untranslated_action_name(app, client, make_user, locale):
    """Issue 12 §6: an entry of every action, rendered in Chinese and English: each row shows the
    action's translation — never its code, never a made-up label, never English in the Chinese page."""
    _entry_per_action(app)
    make_user("qm", roles=("manager",), locale=locale)
    client.login("qm")
    page = client.get("/audit/?per_page=200")
    assert page.status_code == 200
    shown = {code: (known, text) for code, known, text in ROW_LABEL.findall(page.get_data(as_text=True))}
    actions, _unreadable = recordable_actions()
    assert actions <= set(shown), sorted(actions - set(shown))
    with app.test_request_context(), force_locale("en"):
        english = {code: str(label) for code, label in labels.ACTIONS.items()}
    for code in actions:
        known, text = shown[code]
        assert known == "yes" and text and text != code and "." not in text.replace("…", ""), (code, text)
        if locale == "zh_Hans":
            assert CJK.search(text) and text != english[code], (code, text)
        else:
            assert text == english[code], (code, text)
    # one action at a time, as a filter
    for code in sorted(actions)[:: max(1, len(actions) // 12)]:
        body = client.get(f"/audit/?action={code}").get_data(as_text=True)
        found = ROW_LABEL.findall(body)
        assert found and {c for c, _k, _t in found} == {code} and found[0][2] == shown[code][1]


def test_an_unknown_action_still_reads_as_words(app):
    with app.test_request_context(), force_locale("zh_Hans"):
        label = labels.action_label("complaint.frobnicated_twice")
        assert not label.known and "frobnicated twice" in label.text
        assert label.text.startswith(str(labels.OBJECT_TYPES["complaints"]))
        assert labels.action_label("complaint.created").known


# ---------------------------------------------------------------------------------------------
# values, before/after, seal
# ---------------------------------------------------------------------------------------------


def _manager(client, make_user, locale=None):
    make_user("qm", roles=("manager",), display_name="质量经理", locale=locale)
    client.login("qm")
    return client


def _add(app, action="complaint.updated", object_type="complaints", object_id="12", *, before=None, after=None,
         reason="", actor_login="tester", at=None):
    with app.app_context():
        entry = record(action, None, object_type=object_type, object_id=object_id, actor=SYSTEM,
                       actor_login=actor_login, before=before, after=after, reason=reason)
        if at is not None:  # an entry's time is sealed: re-seal after moving it (tests only)
            from audit.service import audit_key, chain_hash

            entry.at = at
            entry.hash = chain_hash(audit_key(), entry)
        db.session.commit()
        return entry.id


def test_values_read_as_text_dates_numbers_and_nested_values(app, client, make_user):
    entry = _add(app, "complaint.created", object_id="12", after={
        "number": "TS-P-1-2026-0001", "contact_name": "张三", "received_at": "2026-09-03T20:35:46.939140+00:00",
        "households": 123456, "project_id": 20260, "active": True, "rating_scale": [{"value": 4, "name": "非常满意"}],
        "description": "漏水" * 200})
    _manager(client, make_user)
    listing = client.get("/audit/").get_data(as_text=True)
    assert "TS-P-1-2026-0001" in listing  # the object's reference
    body = client.get(f"/audit/{entry}").get_data(as_text=True)
    assert "张三" in body and "\\u5f20" not in body and "\\\\u" not in body
    assert "2026-09-04 04:35" in body  # UTC 20:35 is 04:35 next morning in Shanghai, Chinese date order
    assert "123,456" in body and "20260" in body and "20,260" not in body  # ids stay plain
    with app.test_request_context(), force_locale("zh_Hans"):
        yes, value_label = str(labels.FIELDS["active"]), str(labels.NESTED_FIELDS[("rating_scale", "value")])
        from webapp.i18n import _

        assert _("Yes") in body and f"{value_label}: 4" in body and value_label != "value"
        assert str(labels.FIELDS["contact_name"]) in body and yes in body
    assert 'class="a-long"' in body  # the long description is cut, with "show all"
    assert body.count("漏水" * 200) == 1


def test_a_json_encoded_string_is_shown_decoded(app, client, make_user):
    entry = _add(app, before={"contact_name": '"\\u5f20\\u4e09"'}, after={"contact_name": "李四"})
    _manager(client, make_user)
    body = client.get(f"/audit/{entry}").get_data(as_text=True)
    assert "张三" in body and "李四" in body and "u5f20" not in body


def test_before_and_after_of_a_real_change_with_changed_fields_marked(app, client, logged_in):
    admin = logged_in("admin")
    admin.post("/admin/departments/new", {"code": "CS", "name": "客服部", "name_en": "CS", "active": "y"})
    with app.app_context():
        dept_id = db.session.execute(select(AuditEntry.object_id).where(
            AuditEntry.action == "department.created")).scalar_one()
    admin.post(f"/admin/departments/{dept_id}", {"code": "CS", "name": "张三服务部", "name_en": "CS", "active": "y"})
    with app.app_context():
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "department.updated")).scalar_one()
        entry_id, entry_hash = entry.id, entry.hash
    body = admin.get(f"/audit/{entry_id}").get_data(as_text=True)
    rows = dict(re.findall(r'data-field="(\w+)" data-kind="(\w+)"', body))
    assert rows["name"] == "changed" and rows["code"] == "same"
    assert "客服部" in body and "张三服务部" in body
    assert entry_hash in body and 'data-testid="seal-content" data-ok="yes"' in body
    assert 'data-testid="seal-link" data-ok="yes"' in body
    assert 'action="/audit/verify"' in body  # the whole chain, one click away
    # the list links to it, and to the object's history
    listing = admin.get("/audit/?object_type=departments").get_data(as_text=True)
    assert f'href="/audit/{entry_id}?object_type=departments"' in listing
    assert f"/audit/?object_type=departments&amp;object_id={dept_id}" in listing
    # an edited entry says so on its own page
    with app.app_context():
        db.session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(reason="tampered"))
        db.session.commit()
    body = admin.get(f"/audit/{entry_id}").get_data(as_text=True)
    assert 'data-testid="seal-content" data-ok="no"' in body


def test_a_creation_shows_its_values_once(app, client, make_user):
    entry = _add(app, "user.created", "users", "3", after={"login": "li", "roles": ["clerk", "reader"]})
    _manager(client, make_user)
    body = client.get(f"/audit/{entry}").get_data(as_text=True)
    assert re.findall(r'data-field="(\w+)" data-kind="(\w+)"', body) == [("login", "recorded"), ("roles", "recorded")]
    assert "clerk、reader" in body


def test_entries_and_missing_entries(app, client, make_user):
    _manager(client, make_user)
    assert client.get("/audit/999999").status_code == 404
    assert client.get("/audit/99999999999999999999").status_code == 404
    assert client.get("/audit/2147483648").status_code == 404


# ---------------------------------------------------------------------------------------------
# filters, pages
# ---------------------------------------------------------------------------------------------


def _ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)" data-testid="audit-entry">', body)]


def test_each_filter(app, client, make_user):
    shanghai_late = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 2 March 01:30 in Shanghai
    a = _add(app, "complaint.created", "complaints", "1", after={"number": "TS-1", "contact_name": "王五"},
             actor_login="alice", at=datetime(2026, 2, 10, 3, 0, tzinfo=UTC))
    b = _add(app, "complaint.acknowledge", "complaints", "1", before={"status": "received"},
             after={"status": "acknowledged"}, actor_login="bob", at=shanghai_late)
    c = _add(app, "action.opened", "corrective_actions", "5", after={"title": "整改"}, actor_login="alice",
             reason="满意率低于目标", at=datetime(2026, 4, 1, 3, 0, tzinfo=UTC))
    d = _add(app, "procedure.review_recorded", "review", "9", after={"summary": "R-9"}, actor_login="bob",
             at=datetime(2026, 4, 2, 3, 0, tzinfo=UTC))
    _manager(client, make_user)

    def ids(query):
        r = client.get("/audit/?" + query)
        assert r.status_code == 200, (query, r.status_code)
        return [i for i in _ids(r.get_data(as_text=True)) if i in (a, b, c, d)]

    assert ids("actor_login=alice") == [c, a]
    assert ids("object_type=complaints") == [b, a]
    assert ids("object_type=reviews") == [d]  # the release names its review "review"
    assert ids("object_type=complaints&object_id=1") == [b, a]
    assert ids("object_id=5") == [c]
    assert ids("action=complaint.acknowledge") == [b]
    assert ids("action=complaint.") == [b, a]
    assert ids("q=王五") == [a] and ids("q=ts-1") == [a] and ids("q=满意率") == [c] and ids("q=100%25") == []
    assert ids("from=2026-03-02") == [d, c, b]  # the company's day, not UTC's
    assert ids("to=2026-03-01") == [a]
    assert ids("from=2026-03-02&to=2026-04-01") == [c, b]
    assert ids("from=0001-01-01&to=9999-12-31") == [d, c, b, a]
    # the chosen filters are shown again and carried by the export links
    body = client.get("/audit/?actor_login=alice&action=complaint.&from=2026-01-01").get_data(as_text=True)
    assert 'href="/audit/export.xlsx?actor_login=alice&amp;action=complaint.&amp;from=2026-01-01"' in body
    assert '<option value="complaint." selected>' in body and 'value="2026-01-01"' in body


def test_pages_with_a_total_keep_the_filters(app, client, make_user):
    with app.app_context():
        for i in range(120):
            record("complaint.updated", None, object_type="complaints", object_id=str(i % 3), actor=SYSTEM,
                   actor_login="tester", before={"room": str(i)}, after={"room": str(i + 1)})
        db.session.commit()
    _manager(client, make_user)
    first = client.get("/audit/?action=complaint.updated").get_data(as_text=True)
    assert 'data-total="120"' in first and len(_ids(first)) == 50
    nxt = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "action=complaint.updated" in nxt and "page=2" in nxt
    third = client.get(nxt.replace("page=2", "page=3")).get_data(as_text=True)
    assert len(_ids(third)) == 20 and 'rel="next"' not in third
    assert set(_ids(first)).isdisjoint(_ids(third))


@pytest.mark.parametrize("query, field", [
    ("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=2026-05-01&to=2026-04-01", "to"),
    ("action=%3Cscript%3E", "action"), ("q=" + "x" * 101, "q"), ("object_id=" + "9" * 121, "object_id"),
])
def test_bad_filter_input_is_a_message_not_an_error(app, client, make_user, query, field):
    _add(app)
    _manager(client, make_user)
    for url in ("/audit/?", "/audit/export.xlsx?", "/audit/export.csv?"):
        r = client.get(url + query)
        assert r.status_code == 400, (url, query)
        body = r.get_data(as_text=True)
        assert 'data-testid="audit-filter-errors"' in body and 'class="error"' in body
        assert 'data-testid="audit-entry"' not in body  # never an unfiltered log shown as filtered

    assert client.get("/audit/?actor_login=%00").status_code == 400


# ---------------------------------------------------------------------------------------------
# exports
# ---------------------------------------------------------------------------------------------


def _export_headers(app):
    from webapp.i18n import _

    with app.test_request_context(), force_locale("zh_Hans"):
        return [_("Entry"), _("Time"), _("User"), _("Login"), _("Action"), _("Action code"), _("Object type"),
                _("Object ID"), _("Object"), _("Change"), _("Reason"), _("Git commit"), _("Previous hash"),
                _("Hash")], str(labels.ACTIONS["complaint.acknowledge"]), \
            f'{labels.value_label("complaints", "status", "received")} → ' \
            f'{labels.value_label("complaints", "status", "acknowledged")}'


def test_export_xlsx_and_csv_of_the_filtered_log(app, client, make_user):
    from openpyxl import load_workbook

    _add(app, "complaint.created", "complaints", "1", after={"number": "TS-1", "contact_name": "张三"})
    _add(app, "complaint.acknowledge", "complaints", "1", before={"status": "received"},
         after={"status": "acknowledged"}, reason="=cmd|' /C calc'!A0")
    _add(app, "action.opened", "corrective_actions", "5", after={"title": "整改"})
    _manager(client, make_user)
    headers, acknowledged, status_change = _export_headers(app)
    with app.app_context():
        entries = {e.action: e for e in db.session.execute(select(AuditEntry)).scalars()}

    r = client.get("/audit/export.xlsx?object_type=complaints")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    at = next(i for i, row in enumerate(rows) if row[:3] == headers[:3])
    assert rows[at] == headers
    data = rows[at + 1:]
    assert [row[5] for row in data] == ["complaint.acknowledge", "complaint.created"]
    ack, created = data
    assert ack[4] == acknowledged and isinstance(ack[1], datetime)
    assert status_change in ack[9] and ack[10].startswith("'=")  # never a formula
    assert "张三" in created[9] and created[8] == "TS-1"
    assert ack[12] == entries["complaint.acknowledge"].prev_hash and ack[13] == entries["complaint.acknowledge"].hash

    r = client.get("/audit/export.csv?object_type=complaints&action=complaint.created")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert table[0] == headers and len(table) == 2
    assert table[1][5] == "complaint.created" and "张三" in table[1][9]
    assert table[1][13] == entries["complaint.created"].hash


def test_an_export_too_big_is_refused_with_a_message(app, client, make_user, monkeypatch):
    from audit import views

    monkeypatch.setattr(views, "EXPORT_LIMIT", 2)
    for _i in range(3):
        _add(app)
    _manager(client, make_user)
    r = client.get("/audit/export.xlsx?action=complaint.updated")
    assert r.status_code == 303 and r.headers["Location"].endswith("/audit/?action=complaint.updated")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in page
    assert client.get("/audit/export.csv?object_id=12&action=complaint.updated&from=2000-01-01").status_code == 303


def test_who_may_read_and_export_the_log(app, client, make_user):
    entry = _add(app)
    make_user("reader1", roles=("reader",))
    client.login("reader1")
    for url in ("/audit/", f"/audit/{entry}", "/audit/export.xlsx", "/audit/export.csv"):
        assert client.get(url).status_code == 403, url
    client.logout()
    make_user("ctl", roles=("controller",))
    client.login("ctl")
    for url in ("/audit/", f"/audit/{entry}", "/audit/export.xlsx", "/audit/export.csv"):
        assert client.get(url).status_code == 200, url

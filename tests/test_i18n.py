"""Languages: Chinese by default, English on request, complete catalogues."""
from __future__ import annotations

import re

from babel.messages.pofile import read_po
from sqlalchemy import select

from accounts.models import User
from webapp.extensions import db
from webapp.i18n_tool import components, conflicts, missing, po_path


def test_catalogues_are_complete():
    gaps = missing()
    assert gaps == {}, "untranslated messages (run `make i18n` and translate): " + repr(gaps)


def test_one_translation_per_message_across_catalogues():
    # The catalogues are merged at run time, so a message must mean the same everywhere.
    assert conflicts() == {}, "translated differently in two catalogues: " + repr(conflicts())


_CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
_ASCII_PUNCT_BY_CJK = re.compile(rf"{_CJK}\s*[,:;()!?]|[,:;()!?]\s*{_CJK}")
# Placeholders, HTML entities and URLs keep their ASCII characters.
_LITERAL = re.compile(r"%\([^)]*\)[#0 +-]*\d*[sdfrxX]|\{[^}]*\}|&[#\w]+;|https?://\S+")
# Syntax the user has to type as shown (YAML front matter).
_SYNTAX_EXAMPLES = ("“字段: 值”",)


def test_chinese_text_uses_full_width_punctuation():
    found = []
    for component in components():
        path = po_path(component, "zh_Hans")
        if not path.exists():
            continue
        with open(path, "rb") as fh:
            catalog = read_po(fh, locale="zh_Hans")
        for message in catalog:
            texts = message.string if isinstance(message.string, tuple | list) else [message.string]
            for text in filter(None, texts):
                bare = _LITERAL.sub(" ", text)
                for example in _SYNTAX_EXAMPLES:
                    bare = bare.replace(example, " ")
                if _ASCII_PUNCT_BY_CJK.search(bare):
                    found.append(f"{component}: {text}")
    assert found == [], "use ，：；（）！？ in Chinese text:\n" + "\n".join(found)


def test_chinese_is_the_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录" in html and 'lang="zh-CN"' in html


def test_login_page_switches_language_by_link(client):
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in to ProcDesk" in html and 'lang="en"' in html


def test_language_choice_is_saved_for_the_user(app, logged_in):
    client = logged_in("reader")
    assert "退出" in client.get("/").get_data(as_text=True)
    r = client.post("/language", {"lang": "en", "next": "/profile"})
    assert r.status_code == 302 and r.headers["Location"] == "/profile"
    assert "Log out" in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(User.locale).where(User.login == "reader")).scalar() == "en"
    client.logout()
    client.login("reader")
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_numbers_and_dates_formatting(app):
    from datetime import UTC, date, datetime

    from flask_babel import force_locale

    from webapp.formatting import fmt_date, fmt_datetime, fmt_number, fmt_percent

    with app.test_request_context():
        with force_locale("zh_Hans"):
            assert fmt_datetime(datetime(2026, 3, 1, 23, 5, tzinfo=UTC)) == "2026-03-02 07:05"
            assert fmt_date(date(2026, 3, 1)) == "2026-03-01"
            assert fmt_date(datetime(2026, 3, 1, 17, 5, tzinfo=UTC)) == "2026-03-02"
            assert fmt_datetime(datetime(2026, 3, 1, 23, 5)) == "2026-03-02 07:05"  # naive is UTC
            assert fmt_date(None) == fmt_datetime(None) == ""
            assert fmt_percent(0.8567) == "85.7%"
            assert fmt_number(12345) == "12,345"
            assert fmt_percent(None) == "—"
        with force_locale("en"):
            assert fmt_date(date(2026, 3, 1)) == "1 Mar 2026"
            assert fmt_date(date(2025, 9, 30)) == "30 Sep 2025"
            assert fmt_datetime(datetime(2025, 12, 31, 20, 0, tzinfo=UTC)) == "1 Jan 2026, 04:00"

"""Text that is not clean Unicode is refused at the request boundary (issue 8, rule c)."""
from __future__ import annotations

import io
import json

import pytest

from webapp.textguard import bad_text_message, find_bad_text


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\ufffd",
                                   "\uffff"])
def test_unclean_text_has_a_reason(value):
    assert bad_text_message(value) is not None


@pytest.mark.parametrize("value", ["", "顾客满意控制作业规程", "line\nline", "tab\there", "crlf\r\n", "emoji 🙂",
                                   "ＡＢＣ，。", "\u3000全角空格"])
def test_clean_text_passes(value):
    assert bad_text_message(value) is None


def test_json_walk_names_keys_values_and_list_items():
    errors = find_bad_text({"title": "ok", "items": ["ok", "\x01"], "nested": {"k\ud800": 1, "v": "\ud800"}})
    # A bad key is named with an escape, so the answer itself is clean JSON.
    assert set(errors) == {"items[1]", "nested.k\\ud800", "nested.v"}


def test_json_walk_stops_at_depth():
    deep: list = []
    node = deep
    for _ in range(200):
        node.append([])
        node = node[0]
    messages = [str(m) for ms in find_bad_text(deep).values() for m in ms]
    assert messages == ["The JSON document is nested too deeply."]


def _me(client, make_user):
    make_user("alice", roles=("manager",))
    assert client.login("alice").status_code == 302
    client.get("/")


def test_form_field_with_control_character_is_400_naming_the_field(client, make_user):
    _me(client, make_user)
    resp = client.post("/profile", {"display_name": "Alice\x07", "email": "", "locale": "en"})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "display_name" in body and "U+0007" in body


def test_multipart_field_with_invalid_utf8_bytes_is_400(client, make_user):
    _me(client, make_user)
    boundary = "XyZ"
    raw = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{client.csrf}\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"display_name\"\r\n\r\n").encode() + \
        b"Al\xed\xa0\x80ice\r\n" + f"--{boundary}--\r\n".encode()
    resp = client.http.post("/profile", data=raw, content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 400
    assert "display_name" in resp.get_data(as_text=True)


def test_upload_file_name_is_checked(client, make_user):
    _me(client, make_user)
    resp = client.post("/profile", {"display_name": "Alice", "f": (io.BytesIO(b"x"), "bad\x01.md")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400


@pytest.mark.parametrize("raw", [b'{"display_name": "\\ud800"}', b'{"display_name": "\xed\xa0\x80"}',
                                 b'{"display_name\\u0000": "x"}'])
def test_json_body_is_400_with_field_errors(client, make_user, raw):
    _me(client, make_user)
    resp = client.http.post("/api/v1/complaints", data=raw, content_type="application/json",
                            headers={"X-CSRFToken": client.csrf})
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "bad_request" and body["errors"]


def test_deeply_nested_json_is_400_not_500(client, make_user):
    _me(client, make_user)
    raw = b"[" * 100_000 + b"]" * 100_000
    resp = client.http.post("/api/v1/complaints", data=raw, content_type="application/json",
                            headers={"X-CSRFToken": client.csrf})
    assert resp.status_code == 400


def test_query_string_is_checked(client, make_user):
    _me(client, make_user)
    resp = client.get("/procedures/search?q=%01")
    assert resp.status_code == 400


def test_anonymous_api_write_still_gets_401_first(client):
    resp = client.http.post("/api/v1/complaints", data=json.dumps({"x": "\x01"}), content_type="application/json")
    assert resp.status_code == 401


def test_clean_requests_are_untouched(client, make_user):
    _me(client, make_user)
    assert client.get("/procedures/search?q=顾客").status_code == 200


def test_urlencoded_escapes_that_are_not_utf8_are_400(client, make_user):
    # Werkzeug would keep "%ED%A0%80" as literal text; the guard reads the raw form once more.
    _me(client, make_user)
    raw = f"csrf_token={client.csrf}&display_name=Al%ED%A0%80ice&email=&locale=en"
    resp = client.http.post("/profile", data=raw, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400
    assert "display_name" in resp.get_data(as_text=True)
    assert client.get("/procedures/search?q=%ED%A0%80").status_code == 400
    # Valid escapes (Chinese) pass.
    assert client.get("/procedures/search?q=%E9%A1%BE%E5%AE%A2").status_code == 200


@pytest.mark.parametrize(("query", "status"), [
    ("%E9%A1%BE+%E5%AE%A2%41", 200),       # valid runs separated by ASCII
    ("%E9%A1a%BE", 400),                   # a multi-byte sequence broken by an ASCII character
    ("%E9%A1", 400),                       # cut short at the end
    ("%zz%E9%A1%BE", 200),                 # a stray "%" is text, not an escape
    ("%41%42%43", 200),                    # escapes of ASCII never break UTF-8
])
def test_escape_runs_are_checked_as_utf8(client, make_user, query, status):
    _me(client, make_user)
    assert client.get(f"/procedures/search?q={query}").status_code == status


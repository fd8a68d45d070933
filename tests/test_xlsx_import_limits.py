"""Issue 8, item 6: the survey XLSX import under attack and with damaged files.

Every workbook here is built for real: openpyxl writes a valid one, then its zip members are
rewritten (declared dimension, shared strings, high-ratio members, DTDs, broken headers …) and
the result is uploaded through the real import page. Each attack must answer 400 with a
message on the upload field, write nothing, and stay within a small CPU time and memory bound.
"""
from __future__ import annotations

import io
import random
import re
import struct
import time
import tracemalloc
import zipfile
from types import SimpleNamespace

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from satisfaction.surveys.models import SurveyAnswer, SurveyResponse
from webapp.extensions import db

HEADER = ("房号", "总体评价", "安全", "维修", "意见建议")
SHEET = "xl/worksheets/sheet1.xml"
SST_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
SST_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

TOO_LARGE = "文件解压后过大"
ABNORMAL = "文件的压缩方式异常"
DAMAGED = "文件已损坏，无法读取"
NOT_XLSX = "这不是 XLSX 文件"
PROTECTED = "此文件设有密码保护"
HAS_DTD = "文档类型声明"
TOO_MANY_CELLS = "文件中的单元格远多于"
TOO_MANY_PARTS = "文件包含的部件过多"
CONTROL = "文本中含有不允许的控制字符"
NOT_UNICODE = "文本不是有效的 Unicode"


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture
def world(app, make_project, make_user, client):
    """Project P1 with a campaign of 30,000 forms distributed, rated 1–5; clerk1 logged in on it."""
    from accounts.models import Project, User
    from satisfaction.categories import ensure_default_categories
    from satisfaction.surveys.service import create_campaign
    from webapp.dates import local_today

    make_project("P1", households=30_000)
    make_user("clerk1", roles=("clerk",), projects=("P1",))
    make_user("boss", roles=("admin",))
    with app.app_context():
        from satisfaction.settings import update_settings
        from satisfaction.surveys.scale import legacy_levels

        ensure_default_categories()
        db.session.commit()
        update_settings({"rating_scale": legacy_levels(4)}, reason="a 1–5 form")  # the sheets rate 1–5
        boss = db.session.execute(select(User).where(User.login == "boss")).scalar_one()
        project = db.session.execute(select(Project).where(Project.code == "P1")).scalar_one()
        campaign = create_campaign({"project_id": project.id, "year": local_today().year, "period": "",
                                    "distributed": 30_000, "distributed_on": local_today(),
                                    "category_ids": ["security", "maintenance"]}, actor=boss).id
    assert client.login("clerk1").status_code == 302
    client.get(f"/satisfaction/surveys/{campaign}/import")  # the CSRF token of this session
    return SimpleNamespace(campaign=campaign)


def workbook(rows, header=HEADER) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def zip_of(parts: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``parts`` {name: bytes, or an iterable of byte chunks written as a stream}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, body in parts.items():
            if isinstance(body, bytes):
                z.writestr(name, body)
            else:
                with z.open(name, "w") as out:
                    for chunk in body:
                        out.write(chunk)
    return buf.getvalue()


def with_shared_strings(data: bytes, sst: bytes | None = None) -> bytes:
    """Move every inline string of the sheet into a shared strings part (as Excel and WPS write them);
    ``sst`` replaces the generated part."""
    parts = members(data)
    strings: list[bytes] = []

    def to_shared(match):
        strings.append(match.group(3))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (match.group(1), match.group(2) or b"", len(strings) - 1)

    parts[SHEET] = re.sub(rb'<c r="([A-Z]+[0-9]+)"( s="[0-9]+")? t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>',
                          to_shared, parts[SHEET])
    if sst is None:
        sst = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="%s" count="%d" uniqueCount="%d">'
               % (MAIN_NS.encode(), len(strings), len(strings))
               + b"".join(b"<si><t>%s</t></si>" % s for s in strings) + b"</sst>")
    parts["xl/sharedStrings.xml"] = sst
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdSst" Type="%s" Target="sharedStrings.xml"/></Relationships>' % SST_TYPE.encode())
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/></Types>' % SST_CONTENT.encode())
    return zip_of(parts)


def with_dimension(data: bytes, ref: str = "A1:XFD1048576") -> bytes:
    parts = members(data)
    sheet, n = re.subn(rb"<dimension ref=\"[^\"]*\" ?/>", b'<dimension ref="%s"/>' % ref.encode(), parts[SHEET])
    if not n:  # write-only workbooks have none: declare one where Excel puts it
        sheet, n = re.subn(rb"<sheetViews>", b'<dimension ref="%s"/><sheetViews>' % ref.encode(), parts[SHEET],
                           count=1)
    assert n == 1
    parts[SHEET] = sheet
    return zip_of(parts)


def replace_in(data: bytes, name: str, old: bytes, new: bytes) -> bytes:
    parts = members(data)
    assert old in parts[name], (name, old)
    parts[name] = parts[name].replace(old, new, 1)
    return zip_of(parts)


def upload(client, campaign_id, data: bytes, name="forms.xlsx"):
    """POST the import form. The multipart body is built here: Werkzeug's test client spools large
    bodies to a temporary file it never closes (a ResourceWarning, an error under filterwarnings)."""
    boundary = "----procdesk-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{client.csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.http.post(f"/satisfaction/surveys/{campaign_id}/import", data=body,
                            content_type=f"multipart/form-data; boundary={boundary}")


def timed_upload(client, campaign_id, data: bytes):
    """(response, CPU seconds) of one upload: CPU time, so a busy machine does not make it flaky."""
    started = time.process_time()
    response = upload(client, campaign_id, data)
    return response, time.process_time() - started


def measured_upload(client, campaign_id, data: bytes):
    """(response, peak bytes allocated by Python) of one upload (tracemalloc slows it down: no timing)."""
    tracemalloc.start()
    try:
        response = upload(client, campaign_id, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response, peak


def forms_count(app) -> int:
    with app.app_context():
        return (db.session.execute(select(func.count()).select_from(SurveyResponse)).scalar()
                + db.session.execute(select(func.count()).select_from(SurveyAnswer)).scalar())


def assert_refused(app, response, message):
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:3000]
    # On the upload field itself, not only in the page's flash.
    field = re.search(r'<div class="field has-error">.*?</div>\s*</div>', html, re.S)
    assert field is not None and 'name="file"' in field.group(0), html[:3000]
    assert message in field.group(0), (message, field.group(0))
    assert forms_count(app) == 0


MB = 1024 * 1024


# ---------------------------------------------------------------- declared dimensions

def test_a_declared_full_sheet_dimension_costs_nothing(app, world, client):
    """A workbook declaring A1:XFD1048576 made every row 16,384 cells wide (20,000 rows: 16.8 s, and a
    killed worker). Only the template's columns are read now, whatever the sheet declares."""
    rows = [(f"1-{i}", 5, 4, "满意", "好") for i in range(20_000)]
    data = with_dimension(workbook(rows))
    assert len(data) < 400_000

    response, cpu = timed_upload(client, world.campaign, data)
    assert_refused(app, response, "每次最多导入 10000 份")
    assert cpu < 3, cpu

    # Let all 20,000 rows be read: a bad last row is reported, nothing is written, still fast.
    app.config["SURVEY_IMPORT_MAX_ROWS"] = 20_000
    response, cpu = timed_upload(client, world.campaign, with_dimension(workbook([*rows[:-1], ("1-x", 5, 4, 9, "")])))
    assert response.status_code == 400
    assert re.search("第 20001 行「维修」列：[^<]*5/4/3/2/1[^<]*“9”", response.get_data(as_text=True))
    assert forms_count(app) == 0
    assert cpu < 3, cpu


def test_declared_dimension_and_far_rows_and_columns_still_import_the_right_cells(app, world, client):
    data = with_dimension(workbook([(f"1-{i}", 5, 4, "满意", "好") for i in range(2_000)]))
    started = time.process_time()
    response = upload(client, world.campaign, data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert time.process_time() - started < 5
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(SurveyResponse)).scalar() == 2_000

    # A row at the very bottom of the sheet and a cell in its last column: the gap costs nothing,
    # the far cell is ignored (it is in no column of the template).
    parts = members(workbook([("9-1", 4, 4, 4, "")]))
    parts[SHEET] = parts[SHEET].replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>9-2</t></is></c><c r="B1048576"><v>3</v></c>'
        b'<c r="XFD1048576" t="inlineStr"><is><t>far away</t></is></c></row></sheetData>')
    started = time.process_time()
    response = upload(client, world.campaign, zip_of(parts))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert time.process_time() - started < 2
    with app.app_context():
        last = list(db.session.execute(select(SurveyResponse).order_by(SurveyResponse.id.desc()).limit(2)).scalars())
        assert [(r.room, r.overall) for r in last] == [("9-2", 3), ("9-1", 4)]


# ---------------------------------------------------------------- zip bombs and cell floods

def test_a_shared_strings_zip_bomb_is_refused_before_it_is_unpacked(app, world, client):
    """205 KB of upload unpacking to 200 MB of shared strings peaked at 1.2 GB; now refused from the
    zip's directory, without unpacking anything."""
    base = with_shared_strings(workbook([("1-1", 5, 4, 4, "好")]))
    parts = members(base)

    def bomb():
        yield b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="%s"><si><t>' % MAIN_NS.encode()
        for _ in range(200):
            yield b"A" * MB
        yield b"</t></si></sst>"

    parts["xl/sharedStrings.xml"] = bomb()
    data = zip_of(parts)
    assert len(data) < 400_000
    response, cpu = timed_upload(client, world.campaign, data)
    assert_refused(app, response, TOO_LARGE)
    assert cpu < 1, cpu
    response, peak = measured_upload(client, world.campaign, data)
    assert_refused(app, response, TOO_LARGE)
    assert peak < 10 * MB, peak


def test_a_member_with_an_abnormal_ratio_is_refused(app, world, client):
    parts = members(with_shared_strings(workbook([("1-1", 5, 4, 4, "好")])))
    parts["xl/sharedStrings.xml"] = parts["xl/sharedStrings.xml"].replace(b"</sst>", b" " * (20 * MB) + b"</sst>")
    response, peak = measured_upload(client, world.campaign, zip_of(parts))
    assert_refused(app, response, ABNORMAL)
    assert peak < 10 * MB, peak


def test_the_total_unpacked_size_is_capped(app, world, client):
    """Parts that each pass the ratio check but together unpack to more than the setting allows."""
    app.config["SURVEY_IMPORT_MAX_UNPACKED_BYTES"] = 4 * MB
    parts = members(workbook([("1-1", 5, 4, 4, "好")]))
    noise = random.Random(8)
    for i in range(5):
        parts[f"xl/media/image{i}.png"] = noise.randbytes(MB)  # deflate cannot shrink it at all
    assert_refused(app, upload(client, world.campaign, zip_of(parts)), "超过 4 MB")


def _string_flood(n: int) -> bytes:
    parts = members(with_shared_strings(workbook([("1-1", 5, 4, 4, "好")])))
    parts["xl/sharedStrings.xml"] = parts["xl/sharedStrings.xml"].replace(
        b"</sst>", b"".join(b"<si><t>%x</t></si>" % i for i in range(n)) + b"</sst>")
    return zip_of(parts)


def _cell_flood(n: int) -> bytes:
    parts = members(workbook([("1-1", 5, 4, 4, "好")]))
    styles = random.Random(8)  # random style numbers: a flood deflate cannot shrink 100 times
    flood = b"".join(b'<c s="%d"/>' % styles.randrange(1000) for _ in range(n))
    parts[SHEET] = parts[SHEET].replace(b"</sheetData>", b'<row r="3">' + flood + b"</row></sheetData>")
    return zip_of(parts)


@pytest.mark.parametrize("flood", [_string_flood, _cell_flood])
def test_a_flood_of_shared_strings_or_cells_stops_at_the_element_budget(app, world, client, flood):
    """Within the size caps and ratios, a part can still hold a million tiny elements: reading stops
    at a budget of XML elements set from SURVEY_IMPORT_MAX_ROWS (100 per form), so time and memory
    are bounded by what the largest allowed file costs."""
    response, cpu = timed_upload(client, world.campaign, flood(1_200_000))
    assert_refused(app, response, TOO_MANY_CELLS)
    assert cpu < 5, cpu
    # Memory, measured at a tenth of the scale (tracemalloc is slow): the budget shrinks with the rows.
    app.config["SURVEY_IMPORT_MAX_ROWS"] = 1_000
    response, peak = measured_upload(client, world.campaign, flood(120_000))
    assert_refused(app, response, "远多于 1000 份调查表所需")
    assert peak < 15 * MB, peak


def test_too_many_parts_are_refused_from_the_central_directory(app, world, client):
    parts = members(workbook([("1-1", 5, 4, 4, "好")]))
    for i in range(300):
        parts[f"xl/media/image{i}.png"] = b"x"
    assert_refused(app, upload(client, world.campaign, zip_of(parts)), TOO_MANY_PARTS)


# ---------------------------------------------------------------- XML entities

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
                  + b"".join(b'<!ENTITY %c "%s">' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10)
                             for i in range(9))
                  + b']><sst xmlns="' + MAIN_NS.encode() + b'"><si><t>&j;</t></si></sst>')


def _with_dtd(part: str, xml: bytes | None = None) -> bytes:
    """The workbook with ``part`` replaced by ``xml``, or with a harmless-looking DTD put in front of it."""
    parts = members(with_shared_strings(workbook([("1-1", 5, 4, 4, "好")])))
    if xml is None:
        body = parts[part]
        root = re.search(rb"<(?![?!])", body).start()
        xml = body[:root] + b'<!DOCTYPE x [<!ENTITY lol "lol">]>' + body[root:]
    parts[part] = xml
    return zip_of(parts)


def test_xml_with_a_dtd_is_refused_before_any_entity_expands(app, world, client):
    """openpyxl parses with the standard library's expat unless defusedxml is installed (it is not);
    the import's own reader refuses any DTD, so neither entity bombs nor external entities expand."""
    response, cpu = timed_upload(client, world.campaign, _with_dtd("xl/sharedStrings.xml", BILLION_LAUGHS))
    assert_refused(app, response, HAS_DTD)
    assert cpu < 1, cpu
    response, peak = measured_upload(client, world.campaign, _with_dtd("xl/sharedStrings.xml", BILLION_LAUGHS))
    assert_refused(app, response, HAS_DTD)
    assert peak < 10 * MB, peak
    external = (b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b'<sst xmlns="' + MAIN_NS.encode() + b'"><si><t>&e;</t></si></sst>')
    assert_refused(app, upload(client, world.campaign, _with_dtd("xl/sharedStrings.xml", external)), HAS_DTD)
    for part in (SHEET, "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels"):
        assert_refused(app, upload(client, world.campaign, _with_dtd(part)), HAS_DTD)


# ---------------------------------------------------------------- malformed files

def _good():
    return workbook([("1-1", 5, 4, 4, "好"), ("1-2", 4, 4, 4, "")])


def _encrypted_flag(data: bytes) -> bytes:
    """Set the 'encrypted' bit on every member, in the local headers and the central directory."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for match in re.finditer(re.escape(sig), data):
            (flags,) = struct.unpack_from("<H", out, match.start() + offset)
            struct.pack_into("<H", out, match.start() + offset, flags | 1)
    return bytes(out)


def _lying_size(data: bytes) -> bytes:
    """The sheet's central-directory entry claims it unpacks to 100 bytes."""
    out = bytearray(data)
    name = SHEET.encode()
    entry = next(m.start() for m in re.finditer(re.escape(b"PK\x01\x02"), data)
                 if data[m.start() + 46:m.start() + 46 + len(name)] == name)
    struct.pack_into("<L", out, entry + 24, 100)
    return bytes(out)


def _corrupt_member(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(SHEET)
    out = bytearray(data)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 20, start + min(info.compress_size, 400), 7):
        out[i] ^= 0x5A
    return bytes(out)


def _parts_without(*names):
    parts = members(_good())
    for name in names:
        del parts[name]
    return zip_of(parts)


def _with_part(name, body):
    parts = members(_good())
    parts[name] = body
    return zip_of(parts)


MALFORMED = {
    "plain text": (lambda: b"room,overall\n1-1,5\n", NOT_XLSX),
    "truncated zip": (lambda: _good()[: len(_good()) // 2], NOT_XLSX),
    "truncated end": (lambda: _good()[:-10], NOT_XLSX),
    "encrypted office file": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, PROTECTED),
    "encrypted zip members": (lambda: _encrypted_flag(_good()), PROTECTED),
    "a zip of something else": (lambda: zip_of({"notes.txt": b"hello"}), NOT_XLSX),
    "a word document": (lambda: zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
                        NOT_XLSX),
    "no workbook part": (lambda: _parts_without("xl/workbook.xml"), NOT_XLSX),
    "no root relationships": (lambda: _parts_without("_rels/.rels"), NOT_XLSX),
    "no worksheet": (lambda: _parts_without(SHEET), NOT_XLSX),
    "path outside the package": (lambda: _with_part("xl/../../etc/x.xml", b"<x/>"), NOT_XLSX),
    "bzip2 compressed": (lambda: zip_of(members(_good()), zipfile.ZIP_BZIP2), NOT_XLSX),
    "corrupted deflate data": (lambda: _corrupt_member(_good()), DAMAGED),
    "size that lies": (lambda: _lying_size(_good()), DAMAGED),
    "sheet xml cut short": (lambda: _with_part(SHEET, members(_good())[SHEET][:-40]), DAMAGED),
    "invalid UTF-8 (a surrogate)": (lambda: replace_in(_good(), SHEET, "好".encode(), b"\xed\xa0\x80"), DAMAGED),
    "a surrogate character reference": (lambda: replace_in(_good(), SHEET, "好".encode(), b"&#xD800;"), DAMAGED),
    "a NUL character reference": (lambda: replace_in(_good(), SHEET, "好".encode(), b"&#0;"), DAMAGED),
    "an undefined entity": (lambda: replace_in(_good(), SHEET, "好".encode(), b"&nope;"), DAMAGED),
    "a bad cell reference": (lambda: replace_in(_good(), SHEET, b'r="A2"', b'r="2A"'), DAMAGED),
    "a bad row number": (lambda: replace_in(_good(), SHEET, b'<row r="2"', b'<row r="-2"'), DAMAGED),
    "shared string out of range": (lambda: replace_in(with_shared_strings(_good()), SHEET, b"<v>0</v>",
                                                      b"<v>99999</v>"), DAMAGED),
    "only a chart sheet": (lambda: replace_in(_good(), "xl/_rels/workbook.xml.rels", b"/worksheet\"",
                                              b"/chartsheet\""), "工作簿中没有工作表"),
}


def test_malformed_files_answer_400_with_a_message(app, world, client):
    for case, (build, message) in MALFORMED.items():
        try:
            assert_refused(app, upload(client, world.campaign, build()), message)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from None


def test_duplicate_part_names_are_refused(app, world, client):
    parts = members(_good())
    buf = io.BytesIO(zip_of(parts))
    with zipfile.ZipFile(buf, "a") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr(SHEET, parts[SHEET].replace(b"1-1", b"evil"))
    assert_refused(app, upload(client, world.campaign, buf.getvalue()), NOT_XLSX)


# ---------------------------------------------------------------- text in cells

@pytest.mark.parametrize("shared", [False, True])
def test_control_characters_and_replacement_characters_in_cells_are_named_by_row_and_column(
        app, world, client, shared):
    data = workbook([("1-1", 5, 4, 4, "好"), ("1-\x85", 5, 4, 4, "好"), ("1-3", 5, 4, 4, "坏\ufffd了"),
                     ("1-4", "5\x9f", 4, 4, "")])
    if shared:
        data = with_shared_strings(data)
    response = upload(client, world.campaign, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:2000]
    assert "第 3 行「房号」列：文本中含有不允许的控制字符（U+0085）" in html
    assert "第 4 行「意见建议」列：" + NOT_UNICODE in html
    assert "第 5 行「总体评价」列：文本中含有不允许的控制字符（U+009F）" in html
    assert "未导入任何数据" in html
    assert forms_count(app) == 0


def test_a_control_character_in_the_header_is_refused_without_echoing_it(app, world, client):
    data = workbook([("1-1", 5, 4, 4, "好")], header=("房号", "总体评价", "安全\x85", "维修", "意见建议"))
    response = upload(client, world.campaign, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "第 1 行「C」列：文本中含有不允许的控制字符（U+0085）" in html
    assert "\x85" not in html
    assert forms_count(app) == 0


def test_shared_strings_rich_text_and_phonetic_runs_read_like_excel(app, world, client):
    """A legitimate Excel/WPS file: shared strings with rich-text runs and phonetic hints."""
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="MAIN">'
           "<si><t>房号</t></si><si><t>总体评价</t></si><si><t>安全</t></si><si><t>维修</t></si>"
           "<si><t>意见建议</t></si>"
           '<si><r><rPr><b/></rPr><t>3-</t></r><r><t xml:space="preserve">101</t></r></si>'
           "<si><t>电梯</t><rPh sb=\"0\" eb=\"2\"><t>ディアンティ</t></rPh><phoneticPr fontId=\"1\"/></si>"
           "<si><t>满意</t></si></sst>").replace("MAIN", MAIN_NS).encode()
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="MAIN"><dimension ref="A1:E2"/><sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
             '<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>'
             '<row r="2"><c r="A2" t="s"><v>5</v></c><c r="B2"><f>2+3</f><v>5</v></c><c r="C2" t="s"><v>7</v></c>'
             '<c r="D2" t="str"><v>4</v></c><c r="E2" t="s"><v>6</v></c></row>'
             "</sheetData></worksheet>").replace("MAIN", MAIN_NS).encode()
    parts = members(with_shared_strings(_good(), sst))
    parts[SHEET] = sheet
    response = upload(client, world.campaign, zip_of(parts))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        form = db.session.execute(select(SurveyResponse)).scalar_one()
        assert (form.room, form.overall, form.comments) == ("3-101", 5, "电梯")
        assert sorted(form.ratings().values()) == [4, 4]

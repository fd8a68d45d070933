"""Baseline for the benchmarks: the cheapest Flask page there is, a fixed 8 KB of HTML.

Served under exactly the same gunicorn settings as ProcDesk, it tells what the machine,
gunicorn, Flask and wrk cost by themselves; ProcDesk figures are quoted as a ratio of it.
"""
from flask import Flask

_ROW = "<p>规程台基准页面 baseline page: a fixed paragraph of mixed Chinese and English text.</p>\n"
PAGE = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>baseline</title></head><body>\n"
        + _ROW * (8192 // len(_ROW.encode())) + "</body></html>\n")

app = Flask(__name__)


@app.get("/")
def page():
    return PAGE

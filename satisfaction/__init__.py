"""Customer-satisfaction records: surveys, complaints & praise, committee meetings, caring services."""
from records.permissions import RECORDS_READ
from webapp.features import Feature, NavEntry
from webapp.i18n import _l

_PARTS = ("complaints", "surveys", "meetings", "caring", "analysis")

FEATURE = Feature(
    name="satisfaction",
    blueprints=("satisfaction.views", *(f"satisfaction.{part}.{kind}" for part in _PARTS for kind in ("views", "api"))),
    models=("satisfaction.models", *(f"satisfaction.{part}.models" for part in _PARTS)),
    nav=(NavEntry("satisfaction.index", _l("Satisfaction"), RECORDS_READ, "/satisfaction", order=40),),
    demo=("satisfaction.demo", "satisfaction.surveys.demo", "satisfaction.complaints.demo",
          "satisfaction.meetings.demo", "satisfaction.caring.demo"),
    listeners=("satisfaction.analysis.home", "satisfaction.complaints.home"),
    setup="satisfaction.setup:init_app",
)

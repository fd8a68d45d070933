"""Events between features: "something happened" without the emitter importing the listener.

A feature sends a signal from its service function; another feature connects a receiver in its
``listeners`` module (named in its :class:`webapp.features.Feature` record and imported once when an app
is built). The core defines the signals so neither side imports the other.

**Receivers run synchronously, inside the sender's database transaction.** A receiver adds its rows to
``db.session`` and records its audit entries there, and must not commit: the sender commits once, so the
emitting change, everything the receivers did and every audit entry land together or not at all. A
receiver that raises aborts the sender's change as well (the sender's caller rolls back), which is what
we want for rules such as "satisfaction below target opens a corrective action".

Senders pass the record as ``sender`` and keyword arguments as documented on each signal; receivers must
accept ``**extra`` so that new keyword arguments do not break them. Where a signal says what receivers
return, the sender reads it from ``send()`` (a list of ``(receiver, value)`` pairs) and skips ``None``.

Besides events there are questions: a page asks "who can show this?" (``review_page_wanted``) and the
feature that can answers with a value. Receivers of questions only read.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A record asks for an incident-triggered review of a procedure (review rule 2: a major complaint, a
#: corrective action or an owners'-committee issue). sender: the record; kwargs: ``procedure_code`` (str),
#: ``reason`` (str), ``source_type`` (str, e.g. ``"complaint"``), ``source_id`` (int), ``actor`` (User), and
#: optionally ``label`` (str, the record's number). The workflow opens an incident review (or adds the
#: record to the review already open for the procedure) and returns it.
review_requested = _signals.signal("review-requested")

#: A survey campaign was closed with a satisfaction rate below its target (procedure 4.4: open a corrective
#: or preventive action). sender: the campaign; kwargs: ``rate`` and ``target`` (float ratios, 0.8 for 80 %),
#: ``title`` (str, at most 200 characters) and ``description`` (str) of the problem, written in the company's
#: language, ``actor`` (User). A receiver returns the action it opened now, or None (the actions feature
#: opens one per campaign, ever).
campaign_below_target = _signals.signal("campaign-below-target")

#: A survey campaign was closed and its satisfaction rates measured (procedure 4.3: decide from the data).
#: sender: the campaign; kwargs: ``label`` (str, the survey's name with its project, in the company's
#: language), ``target`` (float ratio), ``measures`` (list of dicts, one for the campaign as a whole — its
#: ``category`` None — and one per rated service category: ``category`` (code or None), ``name`` (str, what
#: was measured), ``project`` (str, the project's name), ``satisfied`` and ``answered`` (int, this campaign),
#: ``years`` ({year: (satisfied, answered)}, the project's closed surveys of this year and the two before)),
#: ``actor`` (User). The actions feature answers with the proposals it made (a rate "met, not yet certain",
#: falling two years in a row, a category below target), each at most once per source.
satisfaction_measured = _signals.signal("satisfaction-measured")

#: A new version of a procedure became the current one on ``main`` through ProcDesk's publishing (an edit or
#: an adopted review draft; not a withdrawal, not a ``git push`` that sync mirrors later). sender: the
#: procedure code (str); kwargs: ``version`` (str), ``commit`` (str, the commit sha), ``actor`` (User).
version_published = _signals.signal("version-published")

#: Question from the procedure pages: where can review ``#id`` (a version's ``Review:`` trailer) be read?
#: sender: the review id (int); no kwargs. A receiver returns the URL of that review's page (str), or None
#: when it does not know the review. Without an answer the pages show the bare ``#id``.
review_page_wanted = _signals.signal("review-page-wanted")

#: Question from the procedure pages: which reviews cover procedure ``code``? sender: the code (str); no
#: kwargs. A receiver returns a :class:`ProcedureReviews`-like object with ``stamp`` (str: changes whenever
#: any review changes, for the pages' caches and ETags), ``open`` (dict with ``number``, ``url``,
#: ``state_label``, ``kind`` — the open review, or None) and ``reviews`` (the same dicts, newest first), or
#: None. Must be cheap: it is asked on every read of a procedure.
procedure_reviews_wanted = _signals.signal("procedure-reviews-wanted")

#: Question from a record's page (a complaint, a corrective action, a meeting issue): which reviews did it
#: trigger? sender: ``(source_type, source_id)``; no kwargs. A receiver returns a list of dicts with
#: ``number``, ``url``, ``state``, ``state_label`` (translated), ``kind``, ``title`` and ``versions`` (["QP-CS-001 A/3"], the versions
#: the review produced), or None. Without an answer the record shows no reviews.
reviews_of_record = _signals.signal("reviews-of-record")

#: Question from the home page: what should this user see there? sender: the user; no kwargs. A receiver
#: returns rendered HTML (Markup) for one panel, or None. Receivers only read (and may use their caches).
home_panels_wanted = _signals.signal("home-panels-wanted")

#: Question from the home page (the workbench): what waits for this user? sender: the user; no kwargs. A
#: receiver returns a :class:`webapp.workbench.WorkItem` or a list of them (a label, a count, the URL of a
#: list filtered to exactly the counted rows), or None. Receivers only read, and count with one or two
#: aggregate queries per box (never a query per row): the home page is every user's first page.
work_items_wanted = _signals.signal("work-items-wanted")

#: ``flask demo load`` committed every feature's demo data. sender: the app; receivers may return a line
#: for the command to print (the audit feature anchors the log, as the nightly cron would). Sent after the
#: commit, so a receiver commits its own work.
demo_loaded = _signals.signal("demo-loaded")

"""The dashboard's index on the register (declared here, beside the query that needs it).

``ix_complaints_received_version_updated`` lets a month's fingerprint (entries, the sum of their
version counters, the latest change: :func:`satisfaction.analysis.figures.month_fingerprint`) be
read from the index alone, a few milliseconds for a month of every project, instead of the rows.
"""
from sqlalchemy import Index

from satisfaction.complaints.models import Complaint

FINGERPRINT_INDEX = Index("ix_complaints_received_version_updated",
                          Complaint.received_at, Complaint.version, Complaint.updated_at)

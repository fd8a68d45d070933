"""Imports every model module so SQLAlchemy's metadata knows all tables."""
from accounts.models import ApiToken, Department, LoginAttempt, Project, Role, User  # noqa: F401
from audit.models import AuditEntry  # noqa: F401

"""Domain errors raised by services (never by ``abort``).

One place, :mod:`webapp.errors`, maps them to HTTP status codes for pages and
the JSON API. Messages are lazy translation strings so the request's language
applies when they are shown.
"""
from __future__ import annotations


class DomainError(Exception):
    """Base class: a problem the user can understand and fix (4xx)."""

    status_code = 400

    def __init__(self, message=None, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self):
        return str(self.message) if self.message is not None else self.__class__.__name__


class ValidationError(DomainError):
    """Input was rejected. ``errors`` maps a field (or ``row:col``) to messages."""

    status_code = 400

    def __init__(self, message=None, errors=None, **details):
        super().__init__(message, **details)
        self.errors = errors or {}


class NotFound(DomainError):
    status_code = 404


class PermissionDenied(DomainError):
    status_code = 403


class Conflict(DomainError):
    """Someone else changed the thing first; ``details`` says what both sides are."""

    status_code = 409


class InvalidTransition(DomainError):
    """A state machine was asked for a move its current state does not allow."""

    status_code = 409

"""Errors a user can act on: the CLI prints them as one line, never as a traceback."""

from __future__ import annotations


class MedprepError(Exception):
    """Base class: a problem with the user's input or environment, with the fix in the message."""


class BadFileError(MedprepError):
    """A whole file cannot be read: names the file, the record or position, and the fix."""


class SourceNotFoundError(MedprepError):
    """No file of a source was found: says which file to put where, and where to get it."""


class GateFailedError(MedprepError):
    """A Great Expectations gate failed: names the expectations and shows examples."""


class ConfigError(MedprepError):
    """A bad parameter (source list, weights, sample size, field mapping)."""


class QuarantineShareError(BadFileError):
    """A source's files are mostly garbage: its quarantined share exceeds --max-quarantine-share."""

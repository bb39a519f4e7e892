"""Logging that works both inside a Prefect run and when a task's ``.fn`` is called directly."""

from __future__ import annotations

import logging


def log() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run logger when there is a run context, else the `medprep` logger."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("medprep")

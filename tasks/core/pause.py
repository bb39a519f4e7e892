"""A test-only pause point, so a test can SIGKILL a real run at a known place in the flow.

With ``MEDPREP_TEST_PAUSE_AT=<point>`` in the environment, ``pause_at(point)`` logs
``paused at <point>`` and sleeps; a test waits for that line and kills the process
(tests/flows/test_hostile_runs.py). Points: ``<stage>`` as the flow is about to start that stage
(tasks/core/report.py, ``Progress``) and ``swap`` in the middle of the final swap (after the first
item is in place, the others not yet; tasks/export/outputs.py). Unset (every normal run): one
environment lookup, nothing else.
"""

from __future__ import annotations

import os
import time

ENV = "MEDPREP_TEST_PAUSE_AT"


def pause_at(point: str) -> None:
    """Sleep (until killed) when ``$MEDPREP_TEST_PAUSE_AT`` names ``point``."""
    if os.environ.get(ENV) != point:
        return
    from tasks.core.logs import log

    log().warning("paused at %s (%s is set: a test run, waiting to be killed)", point, ENV)
    time.sleep(3600)

"""tasks/core/runner.py: the task-runner choice is checked before Prefect starts."""

from __future__ import annotations

import pytest

from tasks.core.errors import ConfigError
from tasks.core.runner import TASK_RUNNER_ENV, make_task_runner, runner_spec


def test_spec_from_argument_then_environment(monkeypatch):
    monkeypatch.delenv(TASK_RUNNER_ENV, raising=False)
    assert runner_spec(None) == ("thread", None)
    monkeypatch.setenv(TASK_RUNNER_ENV, "dask:tcp://sched:8786")
    assert runner_spec(None) == ("dask", "tcp://sched:8786")
    assert runner_spec("thread") == ("thread", None)  # the argument wins over the environment


@pytest.mark.parametrize("bad", ["threads", "ray", "thread:tcp://x:1"])
def test_unknown_runner_is_one_config_error(bad):
    with pytest.raises(ConfigError, match="task runner"):
        runner_spec(bad)


def test_dask_spec_builds_a_dask_runner_with_the_address():
    pytest.importorskip("prefect_dask")
    runner = make_task_runner("dask:tcp://127.0.0.1:8786")
    assert type(runner).__name__ == "DaskTaskRunner" and runner.address == "tcp://127.0.0.1:8786"
    assert type(make_task_runner("thread")).__name__ == "ThreadPoolTaskRunner"

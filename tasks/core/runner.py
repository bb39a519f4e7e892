"""Which Prefect task runner the `prepare` flow's tasks run on: threads here, or a Dask cluster.

``MEDPREP_TASK_RUNNER`` (or the CLI's ``--task-runner``) takes:

- ``thread`` (default): Prefect's ThreadPoolTaskRunner, every task in the flow's process;
- ``dask``: a Dask ``LocalCluster`` started for the run (worker processes on this machine);
- ``dask:ADDRESS``: an existing Dask scheduler, e.g. ``dask:tcp://scheduler:8786``.

The per-file tasks (parse, label) fan out over the runner; the pool, gate, sample and write
steps run once each. Dask needs the ``dask`` extra (``prefect-dask``); imported only when chosen.
"""

from __future__ import annotations

import os

from tasks.core.errors import ConfigError

TASK_RUNNER_ENV = "MEDPREP_TASK_RUNNER"
KINDS = ("thread", "dask")


def runner_spec(spec: str | None = None) -> tuple[str, str | None]:
    """``spec`` (else $MEDPREP_TASK_RUNNER, else thread) -> (kind, scheduler address or None).

    Raises ConfigError for an unknown kind, or for dask when prefect-dask is not installed."""
    raw = (spec if spec is not None else os.environ.get(TASK_RUNNER_ENV, "")).strip() or "thread"
    kind, _, address = raw.partition(":")
    kind = kind.lower()
    if kind not in KINDS:
        raise ConfigError(f"task runner {raw!r}: use thread, dask (a local cluster) or dask:ADDRESS "
                          "(an existing scheduler, e.g. dask:tcp://scheduler:8786)")
    if kind == "thread" and address:
        raise ConfigError(f"task runner {raw!r}: thread takes no address")
    if kind == "dask":
        import importlib.util

        if importlib.util.find_spec("prefect_dask") is None:
            raise ConfigError(f"task runner {raw!r} needs prefect-dask: pip install 'medprep[dask]'")
    return kind, (address or None)


def make_task_runner(spec: str | None = None):
    """The Prefect task runner ``spec`` names (see :func:`runner_spec`)."""
    kind, address = runner_spec(spec)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=address) if address else DaskTaskRunner()
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner()

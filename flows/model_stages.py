"""Model stages on their own, on an already prepared output folder (issue 15 item 7).

``passrate``: the pass-rate filter (tasks/model/passrate_outputs.py) on ``<out_dir>/processed``:
scores each verifiable prompt on the policy endpoint, quarantines those outside the band, rewrites
processed/, quarantine/, rl/ and the card's "Pass-rate filter" section atomically. The client's
content cache sits in ``<out_dir>/.work/model-cache``, so a rerun asks the server nothing.

``chains``: the chain stage (tasks/model/chain_outputs.py) on the same folder: reasoning written by a
model for the records without one, kept under the same checks as inside ``prepare``.

``verify``: verify-references (tasks/model/verify_outputs.py) on the same folder: the judge scores
each record's own answer against its short reference answer; ``verify_threshold`` quarantines those
below it.
"""

from __future__ import annotations

from prefect import flow

from tasks.core.locking import output_lock
from tasks.model.stage import chain_outputs_task, judge_endpoint, passrate_outputs, policy_endpoint, verify_outputs_task


@flow(name="passrate", log_prints=True)
def passrate(
    out_dir: str = "data",
    policy_url: str | None = None,
    policy_model: str | None = None,
    pass_samples: int = 4,
    pass_band: str = "0,1",
    pass_temperature: float = 1.0,
    pass_max_tokens: int = 1024,
    judge_url: str | None = None,
    judge_model: str | None = None,
    export_rl: bool = True,
) -> dict:
    """Filter a prepared sample by the policy's pass rate (key from ``MEDPREP_API_KEY``, never a parameter).

    ``pass_band`` is "LO,HI" (kept when LO < rate < HI; brackets keep an end: "[0,0.75)"). With
    ``judge_url`` / ``judge_model`` the judge scores well-formed answers instead of the lexical reward."""
    from tasks.core.errors import ConfigError
    from tasks.model.passrate import Band

    policy = policy_endpoint(policy_url, policy_model)
    if policy is None:
        raise ConfigError("passrate needs policy_url and policy_model (an OpenAI-compatible endpoint)")
    if pass_samples < 1:
        raise ConfigError(f"pass_samples must be at least 1, got {pass_samples}")
    Band.parse(pass_band)
    with output_lock(out_dir):
        return passrate_outputs(out_dir, policy, samples=pass_samples, band=pass_band, temperature=pass_temperature,
                                max_tokens=pass_max_tokens, judge=judge_endpoint(judge_url, judge_model),
                                export_rl=export_rl)


@flow(name="chains", log_prints=True)
def chains(
    out_dir: str = "data",
    chain_url: str | None = None,
    chain_model: str | None = None,
    chain_temperature: float = 0.7,
    chain_max_tokens: int = 1024,
    judge_url: str | None = None,
    judge_model: str | None = None,
    export_rl: bool = True,
) -> dict:
    """Write reasoning chains for a prepared sample's records without one (key from ``MEDPREP_API_KEY``).

    A chain is kept when it is complete, the gate accepts the record with it and (with ``judge_url``)
    the judge accepts its final answer; a rejected generation is quarantined, its record unchanged."""
    from tasks.core.errors import ConfigError

    writer = policy_endpoint(chain_url, chain_model, "chain")
    if writer is None:
        raise ConfigError("chains needs chain_url and chain_model (an OpenAI-compatible endpoint)")
    if chain_max_tokens < 1:
        raise ConfigError(f"chain_max_tokens must be positive, got {chain_max_tokens}")
    with output_lock(out_dir):
        return chain_outputs_task(out_dir, writer, judge=judge_endpoint(judge_url, judge_model),
                                  temperature=chain_temperature, max_tokens=chain_max_tokens, export_rl=export_rl)


@flow(name="verify", log_prints=True)
def verify(
    out_dir: str = "data",
    judge_url: str | None = None,
    judge_model: str | None = None,
    judge_votes: int = 1,
    verify_threshold: float | None = None,
    export_rl: bool = True,
) -> dict:
    """Judge a prepared sample's own reference answers (key from ``MEDPREP_API_KEY``, never a parameter)."""
    from tasks.core.errors import ConfigError

    judge = judge_endpoint(judge_url, judge_model)
    if judge is None:
        raise ConfigError("verify needs judge_url and judge_model (an OpenAI-compatible endpoint)")
    if judge_votes < 1:
        raise ConfigError(f"judge_votes must be at least 1, got {judge_votes}")
    if verify_threshold is not None and not 0 <= verify_threshold <= 1:
        raise ConfigError(f"verify_threshold must lie in 0-1, got {verify_threshold}")
    with output_lock(out_dir):
        return verify_outputs_task(out_dir, judge, votes=judge_votes, threshold=verify_threshold, export_rl=export_rl)

"""Model stages on their own, on an already prepared output folder (issue 15 item 7).

``passrate``: the pass-rate filter (tasks/model/passrate_outputs.py) on ``<out_dir>/processed``:
scores each verifiable prompt on the policy endpoint, quarantines those outside the band, rewrites
processed/, quarantine/, rl/ and the card's "Pass-rate filter" section atomically. The client's
content cache sits in ``<out_dir>/.work/model-cache``, so a rerun asks the server nothing.
"""

from __future__ import annotations

from prefect import flow

from tasks.core.locking import output_lock
from tasks.model.stage import judge_endpoint, passrate_outputs, policy_endpoint


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

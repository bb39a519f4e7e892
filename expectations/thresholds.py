"""The gates' thresholds: the one place to read and tune them (docs/gates.md).

Plain numbers, no Great Expectations import, so the command line can read its defaults and
check its flags before anything heavy starts. expectations/prepare.py builds the suites from
them; a change here re-keys the gate's cache, so the next run validates again.
"""

from __future__ import annotations

from tasks.core import schema as S

# characters per field: (min, max). A record outside the bounds fails the gate. Reasoning may be
# null (records without reasoning are not held to its bounds).
LENGTH_BOUNDS = {
    S.QUESTION: (1, 20_000),
    S.REASONING: (1, 100_000),
    S.ANSWER: (1, 20_000),
}
# share of records that must lie within LENGTH_BOUNDS (Great Expectations' `mostly`); 1.0 = all
LENGTH_MOSTLY = 1.0
# share of records with a verifiable ground truth (a short reference answer or options), per
# stage: (min, max). The sample's minimum is 1.0 when the run asks for --rl-ground-truth verifiable.
REFERENCE_SHARE = {
    "pool": (0.0, 1.0),
    "sample": (0.0, 1.0),
}
# distinct risk levels a stage must hold (RL data needs high- and low-risk scenarios): (min, max)
RISK_LEVELS_PRESENT = (2, 3)
# largest share of a source's records quarantined while parsing before the run fails (a file
# that is 40 % garbage is a broken file, not data): default of --max-quarantine-share
MAX_QUARANTINE_SHARE = 0.2


def check_max_quarantine_share(value: float) -> None:
    """--max-quarantine-share / max_quarantine_share must be a share in [0, 1]."""
    from tasks.core.errors import ConfigError

    if not 0 <= value <= 1:
        raise ConfigError(f"--max-quarantine-share must be a share in [0, 1] (e.g. 0.2), got {value}")

"""What a sample asks for, and the one rule on its values — importable without Prefect, so the CLI
refuses a bad size or share before any server starts."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.core.errors import ConfigError

RECOMMENDED = (2_000, 10_000)  # the seed guide's range for RL data
# which records the RL sample wants (a record is verifiable when it has a short reference answer
# or a multiple-choice form): see tasks/sample.py and tasks/export/rl/export.py
GROUND_TRUTH_MODES = ("verifiable", "prefer", "any")


@dataclass(frozen=True)
class SampleConfig:
    """How to draw the sample.

    Attributes:
        size: records wanted (default 5,000; 2,000–10,000 unless ``allow_out_of_range``).
        seed: drives every random choice; same pool + seed -> same files.
        weights: source -> share of the sample, or None for the pool's natural mix.
        min_high: minimum share of high-risk records within each source (when the pool has them).
        min_low: minimum share of low-risk records within each source.
        val_fraction: share of each stratum that goes to validation.
        allow_out_of_range: permit a size outside 2,000–10,000 (the data card flags it).
        rl_ground_truth: ``verifiable`` draws only records with a verifiable ground truth (a short
            reference answer or a multiple-choice answer); ``prefer`` (default) draws at least
            ``min_verifiable`` of the sample from them, as far as the pool has them; ``any`` ignores
            verifiability (the natural mix, as before).
        min_verifiable: the verifiable share ``prefer`` aims for (default 0.8).
    """

    size: int = 5_000
    seed: int = 42
    weights: dict[str, float] | None = None
    min_high: float = 0.2
    min_low: float = 0.2
    val_fraction: float = 0.05
    allow_out_of_range: bool = False
    rl_ground_truth: str = "prefer"
    min_verifiable: float = 0.8

    def check(self) -> None:
        """Raise ConfigError on values that cannot work."""
        if self.size < 1:
            raise ConfigError(f"sample size must be positive, got {self.size}")
        lo, hi = RECOMMENDED
        if not (lo <= self.size <= hi) and not self.allow_out_of_range:
            raise ConfigError(
                f"sample size {self.size} is outside the recommended {lo:,}-{hi:,} for RL data; "
                "pass --allow-out-of-range (flow parameter allow_out_of_range=True) to use it anyway"
            )
        if not (0 <= self.min_high <= 1 and 0 <= self.min_low <= 1 and self.min_high + self.min_low <= 1):
            raise ConfigError("min_high and min_low must be shares in [0, 1] that sum to at most 1")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.rl_ground_truth not in GROUND_TRUTH_MODES:
            raise ConfigError(f"rl_ground_truth must be one of {', '.join(GROUND_TRUTH_MODES)}, got {self.rl_ground_truth!r}")
        if not 0 <= self.min_verifiable <= 1:
            raise ConfigError(f"min_verifiable must be a share in [0, 1], got {self.min_verifiable}")

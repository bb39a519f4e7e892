"""Which sources a run reads, with what weights: ``medical-o1``, ``a,b`` or ``a:0.7,b:0.3``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tasks.core.errors import ConfigError
from tasks.ingest.sources import REGISTRY, Registry

ENV_VAR = "DATASET_CHOICE"  # the seed guide's users export this


@dataclass(frozen=True)
class SourcePlan:
    """The sources of one run.

    Attributes:
        sources: registry keys in the order given.
        weights: source -> share of the sample (sums to 1), or None to keep the pool's natural mix.
        mode: "named" (every listed source must have data), "auto" (none named: priority order
            until one has data) or "all" (every registered source that has data).
    """

    sources: tuple[str, ...]
    weights: dict[str, float] | None
    mode: str = "named"

    @property
    def required(self) -> bool:
        """Whether a source without files is an error."""
        return self.mode == "named"


def parse_sources(value: str | list[str] | None, registry: Registry = REGISTRY) -> SourcePlan:
    """Parse a source list; None/"" -> $DATASET_CHOICE, else priority auto-load; "all" -> every source with data.

    ``registry`` is the run's (built-ins plus user-defined sources)."""
    if value is None or value == "" or value == []:
        value = os.environ.get(ENV_VAR) or None
    if value is None:
        return SourcePlan(tuple(s.name for s in registry.by_priority()), None, mode="auto")
    if value == "all":
        return SourcePlan(tuple(registry.names()), None, mode="all")
    items = value if isinstance(value, list) else [v for v in str(value).split(",")]
    names: list[str] = []
    raw_weights: dict[str, float] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, _, weight = item.partition(":")
        name = name.strip()
        registry[name]  # raises ConfigError naming the known sources
        if name in names:
            raise ConfigError(f"source {name!r} is listed twice in {value!r}")
        names.append(name)
        if weight:
            try:
                w = float(weight)
            except ValueError:
                raise ConfigError(f"weight {weight!r} of {name!r} is not a number (use e.g. {name}:0.5)") from None
            if w <= 0:
                raise ConfigError(f"weight of {name!r} must be > 0, got {w}")
            raw_weights[name] = w
    if not names:
        raise ConfigError(f"no source named in {value!r}; known: {', '.join(registry.names())}")
    if raw_weights and len(raw_weights) != len(names):
        missing = [n for n in names if n not in raw_weights]
        raise ConfigError(f"give a weight to every source or to none; missing for {missing}")
    total = sum(raw_weights.values())
    weights = {n: raw_weights[n] / total for n in names} if raw_weights else None
    return SourcePlan(tuple(names), weights)

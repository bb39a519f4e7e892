"""What the model stages share: the ``model`` meta column, quarantine rows, stage configuration.

A stage reads a canonical frame (the sample: canonical columns + ``split``), returns the frame it
keeps (with ``model`` fields filled) and the records it rejects as quarantine rows (original
record as JSON in ``raw``, a reason). Nothing is ever dropped without a quarantine row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tasks.core import schema as S
from tasks.model.client import Endpoint, Sampling


@dataclass(frozen=True)
class ModelConfig:
    """Which stages run and how. An endpoint left None switches its stage off."""

    judge: Endpoint | None = None
    policy: Endpoint | None = None
    writer: Endpoint | None = None  # chain generation
    cache_dir: str | None = None
    judge_votes: int = 1
    verify_threshold: float | None = None  # quarantine records whose own response scores below
    pass_samples: int = 4
    pass_band: tuple[float, float] = (0.0, 1.0)  # kept when low < rate < high
    pass_sampling: Sampling = field(default_factory=lambda: Sampling(temperature=1.0, max_tokens=512, seed=0))
    chain_sampling: Sampling = field(default_factory=lambda: Sampling(temperature=0.7, max_tokens=1024, seed=0))

    @property
    def active(self) -> bool:
        return any((self.judge, self.policy, self.writer))


def with_model_column(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with an all-null ``model`` struct when it has none yet."""
    if S.MODEL in frame.columns:
        return frame
    return frame.with_columns(pl.lit(None, dtype=S.MODEL_DTYPE).alias(S.MODEL))


def set_model_fields(frame: pl.DataFrame, values: dict[str, pl.Series | pl.Expr | Any]) -> pl.DataFrame:
    """Fill some ``model`` fields (row-aligned Series, expressions or scalars), keeping the others."""
    frame = with_model_column(frame)
    fields = []
    for name, dtype in S.MODEL_DTYPE.to_schema().items():
        if name in values:
            v = values[name]
            expr = v if isinstance(v, pl.Expr) else (pl.lit(v) if not isinstance(v, pl.Series) else pl.lit(v))
            fields.append(expr.cast(dtype).alias(name))
        else:
            fields.append(pl.col(S.MODEL).struct.field(name).cast(dtype).alias(name))
    return frame.with_columns(pl.struct(fields).alias(S.MODEL))


def quarantine_rows(frame: pl.DataFrame, reasons: list[str]) -> pl.DataFrame:
    """Quarantine rows for ``frame``'s records (``raw`` = the record as JSON, model fields included)."""
    if frame.is_empty():
        return S.empty_quarantine()
    raws = [json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) for r in frame.drop("split", strict=False).to_dicts()]
    return pl.DataFrame({
        S.SOURCE: frame.get_column(S.SOURCE), S.SOURCE_FILE: frame.get_column(S.SOURCE_FILE),
        S.SOURCE_ROW: frame.get_column(S.SOURCE_ROW), S.REASON: reasons, S.RAW: raws,
    }, schema=S.QUARANTINE_SCHEMA)


def write_frames(frame: pl.DataFrame, bad: pl.DataFrame, work: str | Path, name: str) -> tuple[str, str]:
    """Write a stage's kept frame and quarantine as Parquet in ``work``; returns both paths."""
    from tasks.core.storage import PARQUET_OPTS, write_atomic

    work = Path(work)
    kept = write_atomic(work / f"{name}.parquet", lambda p: frame.write_parquet(p, **PARQUET_OPTS))
    quar = write_atomic(work / f"{name}.quarantine.parquet", lambda p: bad.write_parquet(p, **PARQUET_OPTS))
    return str(kept), str(quar)


def describe(endpoint: Endpoint, **extra: Any) -> str:
    """``model`` + extras as one compact string for meta (never the key)."""
    parts = {"model": endpoint.model, **{k: v for k, v in extra.items() if v is not None}}
    return json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

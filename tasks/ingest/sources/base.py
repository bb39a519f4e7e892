"""What a source is: a declarative :class:`SourceSpec` plus a pure ``parse``.

A source module (``tasks/ingest/sources/<key>.py``) declares where its files come from, how to recognise
them (published names, glob patterns, and the field names that identify its content when a user
renamed the file), which raw fields it reads and how they map to the canonical record. Its
``parse`` turns the raw frame into canonical content columns; :func:`finish` then does what every
source shares (trim, quarantine bad records with a reason, language, stable id, cast to schema).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl
import polars_hash  # noqa: F401  (registers the .chash namespace)

from expectations.thresholds import LENGTH_BOUNDS
from tasks.core import schema as S
from tasks.core.text import CJK_PATTERN

ParseFn = Callable[[pl.DataFrame], pl.LazyFrame]


@dataclass(frozen=True)
class SourceSpec:
    """One dataset the pipeline knows how to read.

    Attributes:
        name: registry key used on the command line and in deployments (``medical-o1``).
        title: human name for logs and the data card.
        modelscope_id: ``namespace/name`` on ModelScope, or None when it is not downloadable.
        files: file names as published; detection looks for these first.
        patterns: glob patterns (matched against the file name) for renamed or split copies.
        signature: raw field names whose presence identifies this source's files by content.
        exclude: raw field names whose presence means the file belongs to another source.
        read_schema: raw top-level fields to read, with their dtypes; others are ignored.
        fields: raw field -> canonical column, for docs, ``medprep sources`` and the data card.
        parse: pure function raw frame (with ``source_row``) -> canonical content columns.
        encoding: text encoding of CSV files.
        license: licence as published.
        homepage: where a user downloads the files by hand.
        priority: order for auto-load when no source is named (lower first); None = never.
        has_reasoning: whether records carry a reasoning chain (for ``<think>`` output).
        notes: format notes shown in errors and ``medprep sources``.
        format: force a reader ('json', 'jsonl', 'csv', 'parquet') instead of sniffing.
        claims_patterns: files whose path under raw_dir matches ``patterns`` belong to this source
            without a content check (user-defined sources list their files this way).
    """

    name: str
    title: str
    modelscope_id: str | None
    files: tuple[str, ...]
    signature: frozenset[str]
    read_schema: Mapping[str, pl.DataType]
    fields: Mapping[str, str]
    parse: ParseFn
    patterns: tuple[str, ...] = ()
    exclude: frozenset[str] = frozenset()
    encoding: str = "utf-8"
    license: str = "unknown"
    homepage: str = ""
    priority: int | None = None
    has_reasoning: bool = True
    notes: str = ""
    extensions: tuple[str, ...] = (".json", ".jsonl", ".csv", ".parquet")
    format: str | None = None
    claims_patterns: bool = False

    @property
    def url(self) -> str:
        """Where to get the files by hand."""
        if self.homepage:
            return self.homepage
        if self.modelscope_id:
            return f"https://modelscope.cn/datasets/{self.modelscope_id}/files"
        return ""


class Registry:
    """Explicit source registry: adding a source is one module + one ``register`` line."""

    def __init__(self) -> None:
        self._specs: dict[str, SourceSpec] = {}

    def register(self, spec: SourceSpec) -> SourceSpec:
        """Add a source; a second source with the same name is a programming error."""
        if spec.name in self._specs:
            raise ValueError(f"source {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def __getitem__(self, name: str) -> SourceSpec:
        from tasks.core.errors import ConfigError

        try:
            return self._specs[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(str(name), list(self._specs), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(
                f"unknown source {name!r}; {hint}known sources: {', '.join(self._specs)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self):
        return iter(self._specs.values())

    def names(self) -> list[str]:
        """Registered source keys in registration order."""
        return list(self._specs)

    def by_priority(self) -> list[SourceSpec]:
        """Sources that take part in auto-load, highest priority first."""
        return sorted((s for s in self if s.priority is not None), key=lambda s: s.priority)


_THINK_TAG = r"</?think>"


def _blank(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col).str.strip_chars().str.len_chars() == 0)


def language_expr(col: str = S.QUESTION) -> pl.Expr:
    """'zh' when at least 10% of the characters are CJK ideographs, else 'en'."""
    cjk = pl.col(col).str.count_matches(CJK_PATTERN).cast(pl.Float64)
    total = pl.col(col).str.len_chars().cast(pl.Float64)
    return pl.when(cjk >= 0.1 * total).then(pl.lit("zh")).otherwise(pl.lit("en"))


def id_expr() -> pl.Expr:
    """Stable id: first 16 hex chars of sha256(source \\x1f question \\x1f answer)."""
    joined = pl.concat_str([pl.col(S.SOURCE), pl.col(S.QUESTION), pl.col(S.ANSWER)], separator="\x1f")
    return joined.chash.sha2_256().str.slice(0, 16)


OPTION_LETTERS = "ABCDEFGHIJ"
# MedQA-style ``options``: an object keyed by letter (``{"A": "...", "B": "...", ...}``)
OPTIONS_DTYPE = pl.Struct({letter: pl.String for letter in OPTION_LETTERS})


def choices_expr(question: str, options: str, answer_idx: str) -> pl.Expr:
    """MedQA-style ``question`` / ``options`` (letter -> text) / ``answer_idx`` (a letter) ->
    the canonical :data:`~tasks.core.schema.CHOICES` struct, vectorised.

    Options are read A, B, C … in order and must be contiguous from A; a record whose answer
    letter does not name a present option, or that has fewer than two options, gets null choices
    (it stays a good open-ended record; the multiple-choice form is simply not offered).
    """
    texts = [pl.col(options).struct.field(k).str.strip_chars() for k in OPTION_LETTERS]
    present = [t.is_not_null() & (t.str.len_chars() > 0) for t in texts]
    n = pl.sum_horizontal([p.cast(pl.Int64) for p in present])
    contiguous = pl.sum_horizontal([p.cast(pl.Int64) for p in present[:1]])  # A present
    for k in range(1, len(texts)):  # no option after a gap
        contiguous = contiguous + (present[k] & present[k - 1]).cast(pl.Int64)
    letter = pl.col(answer_idx).str.strip_chars().str.to_uppercase()
    index = pl.lit(OPTION_LETTERS).str.find(letter, literal=True).cast(pl.Int64)
    ok = (
        pl.col(options).is_not_null() & (n >= 2) & (contiguous == n)
        & (letter.str.len_chars() == 1) & index.is_not_null() & (index < n)
    )
    struct = pl.struct(
        pl.col(question).str.strip_chars().alias("question"),
        pl.concat_list(texts).list.drop_nulls().list.head(n).alias("options"),
        index.alias("answer"),
    )
    return pl.when(ok.fill_null(False)).then(struct).otherwise(pl.lit(None, dtype=S.CHOICES_DTYPE))


# Reasons a record is quarantined: (reason, condition). Checked in order; the first that fires wins.
QUARANTINE_RULES: list[tuple[str, pl.Expr]] = [
    ("empty question", _blank(S.QUESTION)),
    ("empty answer", _blank(S.ANSWER)),
    ("answer contains <think> tags", pl.col(S.ANSWER).str.contains(_THINK_TAG).fill_null(False)),
    ("reasoning contains <think> tags", pl.col(S.REASONING).str.contains(_THINK_TAG).fill_null(False)),
    # U+0000 never belongs in training text; Polars' JSON reader also turns a lone surrogate
    # (``"\ud800"``, not valid Unicode) into it, and the record-by-record path does the same
    ("text contains NUL or a lone surrogate",
     pl.any_horizontal([pl.col(c).str.contains("\x00", literal=True).fill_null(False)
                        for c in (S.QUESTION, S.ANSWER, S.REASONING)])),
    # over the gate's length bound (expectations/thresholds.py): one such record is quarantined
    # here, so it never fails the gate, and with it the whole run
    *[(f"{name} longer than {hi:,} characters", pl.col(col).str.len_chars().gt(hi).fill_null(False))
      for col, name in ((S.QUESTION, "question"), (S.ANSWER, "answer"), (S.REASONING, "reasoning"))
      for _, hi in [LENGTH_BOUNDS[col]]],
]

_DEFAULTS: dict[str, pl.Expr] = {
    S.HISTORY: pl.lit([], dtype=S.SCHEMA[S.HISTORY]),
    S.REASONING: pl.lit(None, dtype=pl.String),
    S.REFERENCE_ANSWER: pl.lit(None, dtype=pl.String),
    S.SPECIALTY: pl.lit(None, dtype=pl.String),
    S.RISK_LEVEL: pl.lit(None, dtype=pl.String),
    S.RISK_REASONS: pl.lit(None, dtype=S.SCHEMA[S.RISK_REASONS]),
    S.QUALITY_SCORE: pl.lit(None, dtype=pl.Float64),
    S.INSTRUCTION: pl.lit(None, dtype=pl.String),
    S.CHOICES: pl.lit(None, dtype=S.CHOICES_DTYPE),
}


def finish(
    content: pl.LazyFrame, source: str, source_file: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shared tail of every parser -> (canonical records, quarantined records with reasons)."""
    names = content.collect_schema().names()
    text_cols = [c for c in (S.QUESTION, S.ANSWER, S.REASONING, S.REFERENCE_ANSWER) if c in names]
    frame = content.with_columns(
        [pl.col(c).cast(pl.String).str.strip_chars() for c in text_cols]
        + [e.alias(c) for c, e in _DEFAULTS.items() if c not in names]
        + [pl.lit(source).alias(S.SOURCE), pl.lit(source_file).alias(S.SOURCE_FILE)]
    ).with_columns(
        # an empty reasoning / reference is "none", not a record error
        [
            pl.when(_blank(c)).then(None).otherwise(pl.col(c)).alias(c)
            for c in (S.REASONING, S.REFERENCE_ANSWER, S.SPECIALTY, S.INSTRUCTION)
        ]
    )
    reason = pl.lit(None, dtype=pl.String)
    for text, cond in reversed(QUARANTINE_RULES):
        reason = pl.when(cond).then(pl.lit(text)).otherwise(reason)
    frame = frame.with_columns(reason.alias(S.REASON)).collect()

    bad = frame.filter(pl.col(S.REASON).is_not_null()).select(
        pl.col(S.SOURCE),
        pl.col(S.SOURCE_FILE),
        pl.col(S.SOURCE_ROW).cast(pl.Int64),
        pl.col(S.REASON),
        pl.struct([S.QUESTION, S.ANSWER]).struct.json_encode().alias(S.RAW),
    )
    good = S.cast_to_schema(
        frame.lazy()
        .filter(pl.col(S.REASON).is_null())
        .with_columns(language_expr().alias(S.LANGUAGE))
        .with_columns(id_expr().alias(S.ID))
    ).collect()
    return good, bad


def tag_quarantine(bad: pl.DataFrame, source: str, source_file: str) -> pl.DataFrame:
    """Fill in source and file on reader-level quarantine rows."""
    return bad.with_columns(pl.lit(source).alias(S.SOURCE), pl.lit(source_file).alias(S.SOURCE_FILE))


def with_originals(bad: pl.DataFrame, raw: pl.DataFrame, originals: Callable | None = None) -> pl.DataFrame:
    """Rule-rejected rows get the record as it was in the file in ``raw``: its text as written
    (``originals``: rows -> {row: text}, JSON and JSON Lines), else the source fields as read, as
    JSON (CSV, Parquet). Bounded like every quarantine copy (``readers.common.clip``)."""
    from tasks.ingest.readers.common import clip_expr

    if bad.height == 0:
        return bad
    rows = bad.get_column(S.SOURCE_ROW).drop_nulls().unique().sort()
    found = None
    if originals is not None:
        texts = originals(rows.to_list())
        found = pl.DataFrame(
            {S.SOURCE_ROW: list(texts), "_orig": list(texts.values())},
            schema={S.SOURCE_ROW: pl.Int64, "_orig": pl.String},
        )
    if found is None or found.height < rows.len():
        fields = [c for c in raw.columns if c != S.SOURCE_ROW]
        fallback = raw.filter(pl.col(S.SOURCE_ROW).is_in(rows.implode())).select(
            pl.col(S.SOURCE_ROW).cast(pl.Int64), pl.struct(fields).struct.json_encode().alias("_orig")
        )
        found = fallback if found is None else pl.concat([found, fallback.join(found, on=S.SOURCE_ROW, how="anti")])
    return (
        bad.join(found.unique(S.SOURCE_ROW), on=S.SOURCE_ROW, how="left")
        .with_columns(pl.coalesce(clip_expr(pl.col("_orig")), pl.col(S.RAW)).alias(S.RAW))
        .select(bad.columns)
    )


def parse_file_frames(
    spec: SourceSpec, raw: pl.DataFrame, reader_bad: pl.DataFrame, source_file: str,
    originals: Callable | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run a spec's pure parse and the shared tail -> (records, all quarantined, each with the
    record as it was in the file: see :func:`with_originals`)."""
    good, bad = finish(spec.parse(raw), spec.name, source_file)
    bad = with_originals(bad, raw, originals)
    return good, pl.concat([tag_quarantine(reader_bad, spec.name, source_file), bad]).sort(S.SOURCE_ROW)


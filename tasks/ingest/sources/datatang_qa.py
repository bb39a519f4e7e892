"""datatang-qa: DatatangBeijing/203029Groups-ChineseMedicalQuestionAnsweringData (multi-turn, zh).

Published format unconfirmed; the layout read and its config keys: ``docs/sources.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import polars as pl

from tasks.core import schema as S
from tasks.core.errors import BadFileError, ConfigError
from tasks.ingest.sources.base import SourceSpec

DEFAULT_PATIENT = ("patient", "user", "human", "患者", "病人", "用户", "提问者")
DEFAULT_DOCTOR = ("doctor", "assistant", "gpt", "医生", "大夫", "回答者")


@dataclass(frozen=True)
class DialogueLayout:
    """Where the turns of one multi-turn record are, and which speakers ask and answer."""

    turns: str = "dialogue"
    role: str = "role"
    content: str = "content"
    patient: tuple[str, ...] = DEFAULT_PATIENT
    doctor: tuple[str, ...] = DEFAULT_DOCTOR
    extra: Mapping[str, pl.DataType] = field(default_factory=dict)  # other top-level fields to read

    def describe(self) -> str:
        """The expected record shape, for errors and docs."""
        return (
            f'{{"{self.turns}": [{{"{self.role}": <one of {list(self.patient)} or {list(self.doctor)}>, '
            f'"{self.content}": "..."}}, ...]}}'
        )

    def read_schema(self) -> dict[str, pl.DataType]:
        """Top-level fields to read."""
        turn = pl.Struct({self.role: pl.String, self.content: pl.String})
        return {**self.extra, self.turns: pl.List(turn)}


CONFIG_KEYS = ("turns", "role", "content", "patient", "doctor")


def layout_from_config(cfg: Mapping | None, base: DialogueLayout | None = None) -> DialogueLayout:
    """A layout from a config dict (keys: turns, role, content, patient, doctor); missing = base."""
    base = base or DialogueLayout()
    if not cfg:
        return base
    unknown = set(cfg) - set(CONFIG_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown dialogue mapping keys {sorted(unknown)}; known: {', '.join(CONFIG_KEYS)}"
        )
    kw: dict = {}
    for key in ("turns", "role", "content"):
        if key in cfg:
            if not isinstance(cfg[key], str) or not cfg[key]:
                raise ConfigError(f"dialogue mapping {key!r} must be a field name, got {cfg[key]!r}")
            kw[key] = cfg[key]
    for key in ("patient", "doctor"):
        if key in cfg:
            vals = [cfg[key]] if isinstance(cfg[key], str) else list(cfg[key])
            if not vals or not all(isinstance(v, str) and v.strip() for v in vals):
                raise ConfigError(f"dialogue mapping {key!r} must be a role value or a list of them")
            kw[key] = tuple(vals)
    layout = replace(base, **kw)
    overlap = {v.strip().lower() for v in layout.patient} & {v.strip().lower() for v in layout.doctor}
    if overlap:
        raise ConfigError(f"role values {sorted(overlap)} are listed as both patient and doctor")
    return layout


def _norm(values: tuple[str, ...]) -> list[str]:
    return [v.strip().lower() for v in values]


def make_parse(layout: DialogueLayout, source: str = "datatang-qa"):
    """A pure parse for ``layout``: raw records -> question, answer, history (vectorised)."""

    def parse(raw: pl.DataFrame) -> pl.LazyFrame:
        _check_layout(raw, layout, source)
        role = pl.element().struct.field(layout.role).str.strip_chars().str.to_lowercase()
        code = (
            pl.when(role.is_in(_norm(layout.patient))).then(pl.lit("u"))
            .when(role.is_in(_norm(layout.doctor))).then(pl.lit("a"))
            .otherwise(pl.lit("o"))
        )
        turns = pl.col(layout.turns)
        codes = turns.list.eval(code).list.join("")
        # last "patient then doctor" pair: first "au" in the reversed role string
        back = codes.str.reverse().str.find("au", literal=True)
        at = (codes.str.len_chars() - back - 2).cast(pl.Int64)
        text = lambda i: turns.list.get(i, null_on_oob=True).struct.field(layout.content)  # noqa: E731
        history = turns.list.slice(0, at.fill_null(0)).list.eval(
            pl.struct(
                pl.when(role.is_in(_norm(layout.patient)))
                .then(pl.lit("user"))
                .when(role.is_in(_norm(layout.doctor)))
                .then(pl.lit("assistant"))
                .alias("role"),
                pl.element().struct.field(layout.content).str.strip_chars().alias("content"),
            ).filter(role.is_in(_norm(layout.patient) + _norm(layout.doctor)))
        )
        return raw.lazy().select(
            pl.col(S.SOURCE_ROW),
            text(at).alias(S.QUESTION),
            text(at + 1).alias(S.ANSWER),
            history.cast(S.SCHEMA[S.HISTORY]).alias(S.HISTORY),
        )

    return parse


def _check_layout(raw: pl.DataFrame, layout: DialogueLayout, source: str) -> None:
    """A file read with the wrong mapping fails with what was expected, not 'empty question' × N."""
    if raw.height == 0:
        return
    hint = (
        f"{source}: expected one dialogue per record, {layout.describe()}. "
        "Fix: set the mapping (config keys turns, role, content, patient, doctor) in a user-defined "
        "source, e.g. --source-config with {\"dialogue\": {...}}."
    )
    if layout.turns not in raw.columns or raw[layout.turns].null_count() == raw.height:
        raise BadFileError(f"no record has a {layout.turns!r} list of turns. {hint}")
    roles = raw.select(
        pl.col(layout.turns).explode().struct.field(layout.role).str.strip_chars().str.to_lowercase()
    ).to_series()
    known = set(_norm(layout.patient)) | set(_norm(layout.doctor))
    if roles.is_in(list(known)).sum() == 0:
        seen = roles.drop_nulls().unique().sort().head(10).to_list()
        raise BadFileError(f"no turn has a known {layout.role!r} value (seen: {seen or 'none'}). {hint}")


def make_spec(layout: DialogueLayout | None = None, **overrides) -> SourceSpec:
    """The datatang-qa spec for a layout; ``overrides`` replace any other SourceSpec field."""
    layout = layout or DialogueLayout()
    fields = {
        f"{layout.turns}[-2].{layout.content} (last patient turn before a doctor turn)": S.QUESTION,
        f"{layout.turns}[-1].{layout.content} (the doctor turn after it)": S.ANSWER,
        f"{layout.turns}[:-2]": S.HISTORY,
    }
    kw = dict(
        name="datatang-qa",
        title="Chinese medical QA, 203,029 groups (Datatang)",
        modelscope_id="DatatangBeijing/203029Groups-ChineseMedicalQuestionAnsweringData",
        files=("ChineseMedicalQuestionAnsweringData.jsonl", "ChineseMedicalQuestionAnsweringData.json"),
        patterns=("*203029*", "*[Dd]atatang*.json*", "*MedicalQuestionAnswering*.json*"),
        signature=frozenset({layout.turns, layout.role, layout.content}),
        read_schema=layout.read_schema(),
        fields=fields,
        parse=make_parse(layout, overrides.get("name", "datatang-qa")),
        license="unconfirmed (Datatang commercial sample; check the ModelScope page)",
        priority=2,
        has_reasoning=False,
        notes=f"format unconfirmed; reads multi-turn JSON/JSONL {layout.describe()}",
    )
    kw.update(overrides)
    return SourceSpec(**kw)


LAYOUT = DialogueLayout()
SPEC = make_spec(LAYOUT)

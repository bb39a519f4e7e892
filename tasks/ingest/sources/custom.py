"""User-defined sources, built per run from a config (dict list, or a JSON/TOML file).

The config keys and an example: ``docs/sources.md``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import polars as pl

from tasks.core import schema as S
from tasks.core.errors import ConfigError
from tasks.ingest.sources.base import OPTIONS_DTYPE, SourceSpec, choices_expr
from tasks.ingest.sources.datatang_qa import layout_from_config, make_parse

TARGETS: dict[str, pl.DataType] = {
    S.QUESTION: pl.String,
    S.ANSWER: pl.String,
    S.REASONING: pl.String,
    S.REFERENCE_ANSWER: pl.String,
    S.SPECIALTY: pl.String,
    S.QUALITY_SCORE: pl.Float64,
    S.INSTRUCTION: pl.String,
}
FORMATS = ("json", "jsonl", "csv", "parquet")
KEYS = {"name", "title", "files", "format", "encoding", "fields", "has_reasoning", "license", "priority", "dialogue", "homepage",
        "choices"}
CHOICE_KEYS = {"options", "answer", "question"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

EXAMPLE = '{"name": "my-qa", "files": ["my_qa/*.jsonl"], "fields": {"prompt": "question", "response": "answer"}}'


def _err(name: object, msg: str) -> ConfigError:
    return ConfigError(f"custom source {name!r}: {msg}. Example config: {EXAMPLE}")


def _read_schema(fields: Mapping[str, str]) -> dict[str, pl.DataType]:
    """Top-level fields to read; ``a.b`` reads field ``a`` as an object holding ``b``."""
    schema: dict[str, pl.DataType] = {}
    nested: dict[str, dict[str, pl.DataType]] = {}
    for src, dst in fields.items():
        top, _, sub = src.partition(".")
        if sub:
            nested.setdefault(top, {})[sub] = TARGETS[dst]
        else:
            schema[top] = TARGETS[dst]
    for top, subs in nested.items():
        if top in schema:
            raise ConfigError(f"field {top!r} is mapped both whole and as {top}.<sub>")
        schema[top] = pl.Struct(subs)
    return schema


def _expr(src: str, dst: str) -> pl.Expr:
    top, _, sub = src.partition(".")
    e = pl.col(top).struct.field(sub) if sub else pl.col(top)
    return e.cast(TARGETS[dst], strict=False).alias(dst)


def _make_parse(fields: Mapping[str, str], layout=None, name: str = "custom", choices: Mapping[str, str] | None = None):
    dialogue = make_parse(layout, name) if layout is not None else None
    extra = []
    if choices:
        stem = choices.get("question") or next(s for s, d in fields.items() if d == S.QUESTION)
        extra = [choices_expr(stem, choices["options"], choices["answer"]).alias(S.CHOICES)]

    def parse(raw: pl.DataFrame) -> pl.LazyFrame:
        mapped = raw.lazy().select(pl.col(S.SOURCE_ROW), *[_expr(s, d) for s, d in fields.items()], *extra)
        if dialogue is None:
            return mapped
        return pl.concat([dialogue(raw), mapped.drop(S.SOURCE_ROW)], how="horizontal")

    return parse


def spec_from_config(cfg: Mapping) -> SourceSpec:
    """Validate one user config and build its SourceSpec (not registered)."""
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"a custom source config must be an object, got {type(cfg).__name__}. Example: {EXAMPLE}")
    name = cfg.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise _err(name, "'name' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    unknown = set(cfg) - KEYS
    if unknown:
        raise _err(name, f"unknown keys {sorted(unknown)}; known: {', '.join(sorted(KEYS))}")
    files = cfg.get("files")
    files = [files] if isinstance(files, str) else files
    if not files or not all(isinstance(f, str) and f.strip() for f in files):
        raise _err(name, "'files' must be a glob pattern or a list of them (relative to raw_dir)")
    leaving = [f for f in files if f.startswith(("/", "\\", "~")) or ".." in re.split(r"[\\/]", f) or re.match(r"^[A-Za-z]:", f)]
    if leaving:
        raise _err(name, f"'files' must stay inside raw_dir (relative globs, no '..', no absolute path), got {leaving}")
    fmt = cfg.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise _err(name, f"'format' must be one of {', '.join(FORMATS)} (or left out to sniff), got {fmt!r}")
    fields = cfg.get("fields") or {}
    if not isinstance(fields, Mapping) or not all(isinstance(k, str) and k for k in fields):
        raise _err(name, "'fields' must map source field names to canonical columns")
    bad = {k: v for k, v in fields.items() if v not in TARGETS}
    if bad:
        raise _err(name, f"fields {bad} map to unknown columns; targets: {', '.join(TARGETS)}")
    targets = list(fields.values())
    dup = sorted({t for t in targets if targets.count(t) > 1})
    if dup:
        raise _err(name, f"several fields map to {dup}")
    layout = None
    if cfg.get("dialogue") is not None:
        if not isinstance(cfg["dialogue"], Mapping):
            raise _err(name, "'dialogue' must be an object with keys turns, role, content, patient, doctor")
        layout = layout_from_config(cfg["dialogue"])
        clash = {S.QUESTION, S.ANSWER} & set(targets)
        if clash:
            raise _err(name, f"with 'dialogue' the turns give question and answer; do not map {sorted(clash)}")
    elif not {S.QUESTION, S.ANSWER} <= set(targets):
        raise _err(name, "'fields' must map one field to 'question' and one to 'answer'")

    read_schema = _read_schema(fields)
    signature = {s.partition(".")[0] for s in fields}
    choices = cfg.get("choices")
    if choices is not None:
        if (not isinstance(choices, Mapping) or not {"options", "answer"} <= set(choices) or set(choices) - CHOICE_KEYS
                or not all(isinstance(v, str) and v and "." not in v for v in choices.values())):
            raise _err(name, "'choices' must be {\"options\": <field of letter -> text>, \"answer\": <field with the "
                             "right letter>} (optionally \"question\": <field of the multiple-choice stem>), top-level fields")
        if layout is not None:
            raise _err(name, "'choices' cannot be combined with 'dialogue'")
        for key, dtype in (("options", OPTIONS_DTYPE), ("answer", pl.String), ("question", pl.String)):
            field = choices.get(key)
            if field and field in read_schema and key != "question":
                raise _err(name, f"field {field!r} is both mapped in 'fields' and used as choices.{key}")
            if field:
                read_schema.setdefault(field, dtype)
        signature |= {choices["options"], choices["answer"]}
    if layout is not None:
        if layout.turns in read_schema:
            raise _err(name, f"field {layout.turns!r} is both the turn list and a mapped field")
        read_schema = {**read_schema, **layout.read_schema()}
        signature |= {layout.turns, layout.role, layout.content}
    names = tuple(PurePosixPath(f).name for f in files)
    has_reasoning = cfg.get("has_reasoning", S.REASONING in targets)
    priority = cfg.get("priority")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise _err(name, f"'priority' must be an integer or null, got {priority!r}")
    encoding = cfg.get("encoding") or "utf-8"
    try:
        "".encode(encoding)
    except LookupError:
        raise _err(name, f"unknown encoding {encoding!r}") from None
    desc = ", ".join(f"{k}->{v}" for k, v in fields.items())
    return SourceSpec(
        name=name,
        title=str(cfg.get("title") or f"{name} (user-defined)"),
        modelscope_id=None,
        files=tuple(n for n in names if not any(c in n for c in "*?[")),
        patterns=tuple(files),  # globs relative to raw_dir: they select the files
        claims_patterns=True,
        format=fmt,
        signature=frozenset(signature),
        read_schema=read_schema,
        fields={**({f"{layout.turns} (turns)": "question, answer, history"} if layout else {}), **fields,
                **({f"{choices['options']} + {choices['answer']}": S.CHOICES} if choices else {})},
        parse=_make_parse(dict(fields), layout, name, dict(choices) if choices else None),
        encoding=encoding,
        license=str(cfg.get("license") or "unknown"),
        homepage=str(cfg.get("homepage") or ""),
        priority=priority,
        has_reasoning=bool(has_reasoning),
        notes=f"user-defined ({fmt or 'format sniffed'}; files {', '.join(files)}; {desc or 'dialogue'})",
    )


def load_configs(path: str | Path) -> list[dict]:
    """Read a list of source configs from a JSON or TOML file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"source config file {p} not found")
    try:
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        else:
            data = json.loads(p.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{p}: not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'} ({err})") from None
    if isinstance(data, Mapping):
        if "sources" in data or "source" in data:
            data = data.get("sources", data.get("source"))
        elif "name" in data:
            data = [data]
    if not isinstance(data, list):
        raise ConfigError(
            f"{p}: expected a list of source configs (JSON list, or [[sources]] tables in TOML)"
        )
    return data


def custom_specs(configs: list[dict] | str | Path | None) -> list[SourceSpec]:
    """Validate user source configs and build their specs (all are checked before any is used);
    a name that a built-in source or another config already has is refused."""
    from tasks.ingest.sources import BUILTINS

    if configs is None or configs == [] or configs == "":
        return []
    if isinstance(configs, (str, Path)):
        configs = load_configs(configs)
    if isinstance(configs, Mapping):
        configs = [configs]
    specs = [spec_from_config(c) for c in configs]
    taken = {s.name for s in BUILTINS}
    for spec in specs:
        if spec.name in taken:
            raise ConfigError(
                f"custom source {spec.name!r}: that name is already taken "
                f"({', '.join(sorted(taken))}); choose another name"
            )
        taken.add(spec.name)
    return specs

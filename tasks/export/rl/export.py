"""RL export: ``data/processed/{train,val}.jsonl`` → prompt datasets for verl, OpenRLHF and TRL.

Input is the contract shape of DESIGN.md ("Outputs")::

    {"input": question, "output": "<think>\\n{reasoning}\\n</think>\\n\\n{answer}" | answer,
     "meta": {id, source, language, specialty, risk_level, risk_reasons, reference_answer,
              has_reasoning, quality_score, history}}

Output under ``out_dir`` (every file written atomically, byte-identical for identical input)::

    verl/train.parquet, verl/val.parquet       data_source, prompt, ability, reward_model, extra_info
    openrlhf/train.jsonl, openrlhf/val.jsonl   input (chat list), label, datasource (+ id, …)
    trl/train.parquet, trl/val.parquet         prompt (chat list), ground_truth, answer, + labels
    reward.py                                  copy of tasks/export/rl/reward.py (stdlib only)
    verl_ppo.sh, openrlhf_ppo.sh               launch scripts (see tasks/export/rl/launch.py)
    response_only/{verl,openrlhf,trl}/…        (ground_truth=prefer) prompts whose only ground
                                               truth is a whole reference response, same columns
    manifest.json                              the summary, with paths relative to out_dir

Rules
    * Prompt = [system] + history turns + [user: question]. The system prompt asks for the
      reasoning in ``<think>…</think>`` and then the answer; by default it is Chinese for
      ``language == "zh"`` rows and English otherwise (``system_prompt`` overrides it for all
      rows; ``""`` means no system message).
    * Ground truth = ``meta.reference_answer`` when non-blank (``ground_truth_kind =
      "reference_answer"``), else the right option's text for a record with options (also
      ``"reference_answer"``), else the answer part of ``output`` (``"response"``). Rows with
      neither are dropped and counted (``dropped_no_ground_truth``).
    * Multiple choice (``question_form``): a record with ``meta.choices`` (MedQA-style options)
      gives an open-ended prompt (``open``), a lettered prompt with the letter as ground truth
      (``mc``; ``ground_truth_kind = "choice"``, options re-ordered with the seed so the right
      letter is uniform — tasks/export/rl/choices.py), or both (``both``, the default; the two
      rows share the record's id and differ in ``question_form``).
    * Verifiability (``ground_truth``): ``choice`` and ``reference_answer`` rows are verifiable;
      ``response`` rows (a whole doctor reply as ground truth, scored by token F1) are not.
      ``any`` writes every row into the main files (as before); ``prefer`` (default) writes the
      verifiable rows into the main files and the response rows into ``response_only/`` in the
      same three formats, so a trainer chooses whether to add them; ``verifiable`` leaves the
      response rows out (counted as ``dropped_not_verifiable``).
    * Prompts whose estimated length exceeds ``max_prompt_tokens`` are dropped and counted
      (``dropped_too_long``), never truncated. Estimate (no tokenizer download is possible):
      every CJK character (ideographs, kana, hangul, CJK and full-width punctuation) counts 1;
      every other whitespace-separated run counts 1.3 (rounded up per message); plus
      ``TOKENS_PER_MESSAGE`` per message for the chat template. It is roughly right for
      Qwen/Llama-3 tokenizers on prose (±30 %), low on number/symbol-heavy text; verl's own
      ``data.filter_overlong_prompts`` (on in the launch script) is the exact second check.
    * Each split summary carries ``reference_answer_agreement``: the mean reward correctness of
      the dataset's own answer against its short reference answer — how well the lexical reward
      recognises answers known to be right (near 1: fits; low: many paraphrases, noisy reward).
    * Row order is the input order; ``extra_info.index`` is the 0-based position in the
      exported split.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import RL_EXPORT
from tasks.core.errors import MedprepError
from tasks.core.storage import sha256_file, swap_in, write_atomic, write_ndjson
from tasks.core.storage import write_text as storage_write_text
from tasks.core.text import CJK_WIDE
from tasks.export.rl.choices import correct_option, mc_rows
from tasks.export.rl.launch import command, write_launch_files
from tasks.export.rl.reward import correctness

SPLITS = ("train", "val")
GROUND_TRUTH_MODES = ("verifiable", "prefer", "any")
QUESTION_FORMS = ("open", "mc", "both")
KINDS = ("choice", "reference_answer", "response")
VERIFIABLE_KINDS = ("choice", "reference_answer")
RESPONSE_ONLY_DIR = "response_only"
ABILITY = "medical"
TOKENS_PER_MESSAGE = 4  # ChatML-style <|im_start|>role\n … <|im_end|>\n
TOKENS_GENERATION_PROMPT = 3  # <|im_start|>assistant\n

SYSTEM_PROMPTS: dict[str, str] = {
    "zh": (
        "你是一名严谨的医学助手。请先在 <think> 与 </think> 之间逐步推理，"
        "然后在 </think> 之后给出简洁、明确的最终答案。"
        "如果是选择题，答案请以选项字母开头。"
    ),
    "en": (
        "You are a careful medical assistant. First reason step by step inside <think> and "
        "</think>, then give a concise, definite final answer after </think>. For a "
        "multiple-choice question, start the answer with the option letter."
    ),
}

# ---------------------------------------------------------------------------- input schema
TURN = pl.Struct({"role": pl.String, "content": pl.String})
META = pl.Struct(
    {
        "id": pl.String,
        "source": pl.String,
        "language": pl.String,
        "specialty": pl.String,
        "risk_level": pl.String,
        "risk_reasons": pl.List(pl.String),
        "reference_answer": pl.String,
        "has_reasoning": pl.Boolean,
        "quality_score": pl.Float64,
        "history": pl.List(TURN),
        "choices": pl.Struct({"question": pl.String, "options": pl.List(pl.String), "answer": pl.Int64}),
        "model": S.MODEL_DTYPE,  # only when a model stage ran (tasks/model/); null otherwise
    }
)
PROCESSED_SCHEMA: dict[str, pl.DataType] = {"input": pl.String, "output": pl.String, "meta": META}

# --------------------------------------------------------------------------- output schemas
_A_TURN = pa.struct([("role", pa.string()), ("content", pa.string())])
VERL_SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(_A_TURN)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        (
            "extra_info",
            pa.struct(
                [
                    ("split", pa.string()),
                    ("index", pa.int64()),
                    ("id", pa.string()),
                    ("risk_level", pa.string()),
                    ("language", pa.string()),
                    ("source", pa.string()),
                    ("specialty", pa.string()),
                    ("ground_truth_kind", pa.string()),
                    ("question_form", pa.string()),
                ]
            ),
        ),
    ]
)
TRL_SCHEMA = pa.schema(
    [
        ("prompt", pa.list_(_A_TURN)),
        ("ground_truth", pa.string()),
        ("answer", pa.string()),
        ("ground_truth_kind", pa.string()),
        ("id", pa.string()),
        ("source", pa.string()),
        ("language", pa.string()),
        ("risk_level", pa.string()),
        ("specialty", pa.string()),
        ("question_form", pa.string()),
    ]
)

# Pinned writer options: same input + same pyarrow version → same bytes (no timestamps are written).
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 65536,
    "version": "2.6",
    "data_page_version": "1.0",
}

# ------------------------------------------------------------------------ token estimate
_CJK_CLASS = CJK_WIDE
_CJK_RE = f"[{_CJK_CLASS}]"
_WORD_RE = f"[^\\s{_CJK_CLASS}]+"
_CJK_PY = re.compile(_CJK_RE)
_WORD_PY = re.compile(_WORD_RE)


def estimate_tokens(text: str | None) -> int:
    """Estimated tokens of one text: CJK chars ×1 + other words ×1.3, rounded up (integer maths)."""
    if not text:
        return 0
    return len(_CJK_PY.findall(text)) + (13 * len(_WORD_PY.findall(text)) + 9) // 10


def estimate_tokens_expr(expr: pl.Expr) -> pl.Expr:
    """Vectorised :func:`estimate_tokens` (same rule, same result)."""
    words = expr.str.count_matches(_WORD_RE).fill_null(0).cast(pl.Int64)
    cjk = expr.str.count_matches(_CJK_RE).fill_null(0).cast(pl.Int64)
    return cjk + (13 * words + 9) // 10


def estimate_prompt_tokens(messages: list[dict[str, str]]) -> int:
    """Estimated tokens of a chat prompt with the generation prompt (same rule as the export)."""
    return sum(estimate_tokens(m.get("content")) + TOKENS_PER_MESSAGE for m in messages) + TOKENS_GENERATION_PROMPT


class RLExportError(MedprepError):
    """The RL export cannot run: missing or unreadable processed files, or a bad parameter."""


# --------------------------------------------------------------------------------- reading
def read_processed(path: str | Path) -> pl.DataFrame:
    """Read one processed JSONL file into flat columns (unknown meta keys are ignored)."""
    path = Path(path)
    if not path.is_file():
        raise RLExportError(f"{path} not found: run `medprep prepare` first (it writes {path.parent}/train.jsonl and val.jsonl)")
    if path.stat().st_size == 0:
        frame = pl.DataFrame(schema=PROCESSED_SCHEMA)
    else:
        try:
            frame = pl.read_ndjson(path, schema=PROCESSED_SCHEMA)
        except Exception as err:  # polars raises ComputeError / SchemaError on bad lines
            raise RLExportError(f"{path} is not valid processed JSONL ({type(err).__name__}: {err}); re-run `medprep prepare`") from err
    return frame.unnest("meta").rename({"input": "question"})


def _ground_truth_rows(frame: pl.DataFrame, question_form: str, seed: int) -> pl.DataFrame:
    """Open-ended and/or multiple-choice rows with ``ground_truth``, its kind and ``question_form``,
    in input order (a record's open row before its multiple-choice row)."""
    answer = pl.col("output").fill_null("").str.replace(r"(?s)^\s*<think>.*?</think>\s*", "").str.strip_chars()
    ref = pl.col("reference_answer").str.strip_chars()
    has_ref = ref.is_not_null() & (ref.str.len_chars() > 0)
    option = correct_option(pl.col("choices")).str.strip_chars()
    has_option = option.is_not_null() & (option.str.len_chars() > 0)
    base = frame.with_row_index("_pos").with_columns(
        answer.alias("answer"),
        pl.col("history").fill_null(pl.lit([], dtype=pl.List(TURN))),
        pl.col("question").fill_null(""),
    )
    open_rows = base.filter(pl.col("choices").is_null()) if question_form == "mc" else base
    open_rows = open_rows.with_columns(
        pl.when(has_ref).then(ref).when(has_option).then(option).otherwise(pl.col("answer")).alias("ground_truth"),
        pl.when(has_ref | has_option).then(pl.lit("reference_answer")).otherwise(pl.lit("response")).alias("ground_truth_kind"),
        pl.lit("open").alias("question_form"),
    )
    parts = [open_rows]
    if question_form in ("mc", "both"):
        mc = mc_rows(base.filter(pl.col("choices").is_not_null()), seed).drop("choice_answer", "mc_letter_index")
        parts.append(mc.with_columns(
            pl.lit([], dtype=pl.List(TURN)).alias("history"),  # the lettered item stands alone
            pl.lit("choice").alias("ground_truth_kind"),
            pl.lit("mc").alias("question_form"),
        ).select(open_rows.columns))
    return pl.concat(parts).sort("_pos", "question_form", descending=[False, True]).drop("_pos")


def build_rows(
    frame: pl.DataFrame,
    split: str,
    max_prompt_tokens: int,
    system_prompt: str | None,
    question_form: str = "both",
    seed: int = 42,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Prompt, ground truth and labels for one split; returns ``(rows, split summary)``.

    ``rows`` holds every exportable row, verifiable or not (``ground_truth_kind``); the caller
    routes them by ``ground_truth`` mode.
    """
    if question_form not in QUESTION_FORMS:
        raise RLExportError(f"question_form must be one of {', '.join(QUESTION_FORMS)}, got {question_form!r}")
    if system_prompt is None:
        system = pl.when(pl.col("language") == "zh").then(pl.lit(SYSTEM_PROMPTS["zh"])).otherwise(pl.lit(SYSTEM_PROMPTS["en"]))
    else:
        system = pl.lit(system_prompt)
    with_system = system_prompt != ""

    rows = _ground_truth_rows(frame, question_form, seed).with_columns(system.alias("_system"))
    parts = [pl.col("history"), pl.struct(pl.lit("user").alias("role"), pl.col("question").alias("content"))]
    n_messages = pl.col("history").list.len().cast(pl.Int64) + 1
    est = estimate_tokens_expr(pl.col("question")) + estimate_tokens_expr(
        pl.col("history").list.eval(pl.element().struct.field("content").fill_null("")).list.join("\n")
    )
    if with_system:
        parts.insert(0, pl.struct(pl.lit("system").alias("role"), pl.col("_system").alias("content")))
        n_messages = n_messages + 1
        est = est + estimate_tokens_expr(pl.col("_system"))
    rows = rows.with_columns(
        pl.concat_list(parts).alias("prompt"),
        (est + TOKENS_PER_MESSAGE * n_messages + TOKENS_GENERATION_PROMPT).alias("prompt_tokens_est"),
    )

    n_in = frame.height
    no_gt = rows["ground_truth"].is_null() | (rows["ground_truth"].str.len_chars() == 0)
    too_long = (rows["prompt_tokens_est"] > max_prompt_tokens) & ~no_gt
    rows = rows.filter(~no_gt & ~too_long).with_columns(pl.lit(split).alias("split"))
    kinds = dict(sorted(rows["ground_truth_kind"].value_counts().iter_rows()))
    forms = dict(sorted(rows["question_form"].value_counts().iter_rows()))
    # How well the reward recognises answers known to be right: the dataset's own answer scored
    # against its short reference answer. Near 1 → the lexical reward fits this data; low → many
    # paraphrases, expect a noisy reward (see tasks/export/rl/reward.py, failure modes).
    with_ref = rows.filter(pl.col("ground_truth_kind") == "reference_answer").select("answer", "ground_truth")
    agreement = [correctness(a, g) for a, g in with_ref.iter_rows() if a]
    summary = {
        "input_rows": n_in,
        "rows": rows.height,
        "dropped_too_long": int(too_long.sum()),
        "dropped_no_ground_truth": int(no_gt.sum()),
        "ground_truth_kind": {k: int(kinds.get(k, 0)) for k in KINDS},
        "question_form": {k: int(forms.get(k, 0)) for k in ("open", "mc")},
        "prompt_tokens_est_max": int(rows["prompt_tokens_est"].max() or 0),
        "reference_answer_agreement": round(sum(agreement) / len(agreement), 4) if agreement else None,
    }
    return rows, summary


def route(rows: pl.DataFrame, ground_truth: str) -> tuple[pl.DataFrame, pl.DataFrame | None, int]:
    """Split rows by ``ground_truth`` mode -> (main rows, response-only rows or None, dropped).

    Each output gets its own 0-based ``index`` (the position in its file)."""
    def indexed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.drop("index", strict=False).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))

    if ground_truth == "any":
        return indexed(rows), None, 0
    verifiable = pl.col("ground_truth_kind").is_in(VERIFIABLE_KINDS)
    main, rest = rows.filter(verifiable), rows.filter(~verifiable)
    if ground_truth == "verifiable":
        return indexed(main), None, rest.height
    return indexed(main), indexed(rest), 0


def by_source(rows: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Rows per source and ground-truth kind (every row, before routing)."""
    counts = rows.group_by("source", "ground_truth_kind").len().sort("source", "ground_truth_kind")
    out: dict[str, dict[str, int]] = {}
    for src, kind, n in counts.iter_rows():
        out.setdefault(src, {k: 0 for k in KINDS})[kind] = int(n)
    return out


# ------------------------------------------------------------------------ format builders
PASS_RATE = "pass_rate"  # the pass-rate stage's rate (tasks/model/passrate.py), exported only when it ran


def with_pass_rate(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (read_processed) with a ``pass_rate`` column when the pass-rate stage ran on it."""
    policy = pl.col("model").struct.field("policy")
    if frame.is_empty() or not frame.select(policy.is_not_null().any()).item():
        return frame
    return frame.with_columns(pl.col("model").struct.field(PASS_RATE).alias(PASS_RATE))


def _rate_schema(schema: pa.Schema, rows: pl.DataFrame, in_struct: str | None = None) -> pa.Schema:
    """``schema`` plus a float64 ``pass_rate`` (inside ``in_struct`` when given) when rows carry one."""
    if PASS_RATE not in rows.columns:
        return schema
    if in_struct is None:
        return schema.append(pa.field(PASS_RATE, pa.float64()))
    i = schema.get_field_index(in_struct)
    inner = schema.field(i).type
    return schema.set(i, pa.field(in_struct, pa.struct([*inner, pa.field(PASS_RATE, pa.float64())])))


def to_verl(rows: pl.DataFrame) -> pa.Table:
    """verl RLHFDataset rows (see module docstring)."""
    rate = [PASS_RATE] if PASS_RATE in rows.columns else []
    frame = rows.select(
        pl.col("source").alias("data_source"),
        pl.col("prompt"),
        pl.lit(ABILITY).alias("ability"),
        pl.struct(pl.lit("rule").alias("style"), pl.col("ground_truth")).alias("reward_model"),
        pl.struct(
            "split", "index", "id", "risk_level", "language", "source", "specialty", "ground_truth_kind", "question_form",
            *rate,
        ).alias("extra_info"),
    )
    return _arrow(frame, _rate_schema(VERL_SCHEMA, rows, "extra_info"))


def to_trl(rows: pl.DataFrame) -> pa.Table:
    """TRL GRPO/RLOO rows: conversational ``prompt``; every other column reaches reward functions."""
    schema = _rate_schema(TRL_SCHEMA, rows)
    return _arrow(rows.select([f.name for f in schema]), schema)


def to_openrlhf(rows: pl.DataFrame) -> pl.DataFrame:
    """OpenRLHF PromptDataset rows: ``--data.input_key input --data.label_key label --data.apply_chat_template``."""
    return rows.select(
        pl.col("prompt").alias("input"),
        pl.col("ground_truth").alias("label"),
        pl.col("source").alias("datasource"),
        "id",
        "language",
        "risk_level",
        "ground_truth_kind",
        "question_form",
        *([PASS_RATE] if PASS_RATE in rows.columns else []),
    )


def _arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    return frame.to_arrow().cast(schema)


# --------------------------------------------------------------------------------- writing
# atomic (temp + rename) writers shared with the rest of the pipeline: tasks/core/storage.py
def write_parquet(table: pa.Table, path: Path) -> None:
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, **PARQUET_OPTIONS))


def write_jsonl(frame: pl.DataFrame, path: Path) -> None:
    write_ndjson(frame, path)


def write_text(text: str, path: Path) -> None:
    storage_write_text(path, text)


def copy_file(src: Path, path: Path) -> None:
    write_atomic(path, lambda tmp: shutil.copyfile(src, tmp))


# ------------------------------------------------------------------------------------ main
REWARD_SOURCE = Path(__file__).with_name("reward.py")


def _write_formats(rows: pl.DataFrame, base: Path, out_dir: Path, split: str, exports: dict[str, dict[str, Any]]) -> None:
    targets = {
        "verl": (base / "verl" / f"{split}.parquet", lambda p: write_parquet(to_verl(rows), p)),
        "openrlhf": (base / "openrlhf" / f"{split}.jsonl", lambda p: write_jsonl(to_openrlhf(rows), p)),
        "trl": (base / "trl" / f"{split}.parquet", lambda p: write_parquet(to_trl(rows), p)),
    }
    for name, (path, write) in targets.items():
        write(path)
        exports.setdefault(name, {})[split] = {"path": path.relative_to(out_dir).as_posix(), "rows": rows.height, "sha256": sha256_file(path)}


def _sum(dicts: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def run_export(
    processed_dir: str | Path = "data/processed",
    out_dir: str | Path = "data/rl",
    max_prompt_tokens: int = 1024,
    system_prompt: str | None = None,
    max_response_tokens: int = 2048,
    ground_truth: str = "prefer",
    question_form: str = "both",
    seed: int = 42,
) -> dict[str, Any]:
    """Write every RL export and launch file; return the summary (also in ``manifest.json``)."""
    if max_prompt_tokens <= 0:
        raise RLExportError(f"max_prompt_tokens must be positive, got {max_prompt_tokens}")
    if ground_truth not in GROUND_TRUTH_MODES:
        raise RLExportError(f"ground_truth must be one of {', '.join(GROUND_TRUTH_MODES)}, got {ground_truth!r}")
    if question_form not in QUESTION_FORMS:
        raise RLExportError(f"question_form must be one of {', '.join(QUESTION_FORMS)}, got {question_form!r}")
    processed_dir, out_dir = Path(processed_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    splits: dict[str, Any] = {}
    exports: dict[str, dict[str, Any]] = {"verl": {}, "openrlhf": {}, "trl": {}}
    response_exports: dict[str, dict[str, Any]] = {}
    sources: list[dict[str, dict[str, int]]] = []
    frames = {split: read_processed(processed_dir / f"{split}.jsonl") for split in SPLITS}
    if any(PASS_RATE in with_pass_rate(f).columns for f in frames.values()):  # one schema for both splits
        frames = {k: f.with_columns(pl.col("model").struct.field(PASS_RATE).alias(PASS_RATE)) for k, f in frames.items()}
    for split in SPLITS:
        rows, split_summary = build_rows(frames[split], split, max_prompt_tokens, system_prompt, question_form, seed)
        main, response_only, dropped = route(rows, ground_truth)
        split_summary.update(rows=main.height, response_only_rows=0 if response_only is None else response_only.height,
                             dropped_not_verifiable=dropped)
        splits[split] = split_summary
        sources.append(by_source(rows))
        _write_formats(main, out_dir, out_dir, split, exports)
        if response_only is not None:
            _write_formats(response_only, out_dir / RESPONSE_ONLY_DIR, out_dir, split, response_exports)

    total = {k: sum(s[k] for s in splits.values()) for k in ("input_rows", "rows", "response_only_rows", "dropped_too_long",
                                                             "dropped_no_ground_truth", "dropped_not_verifiable")}
    if not total["rows"] + total["response_only_rows"]:
        raise RLExportError(
            f"no RL prompt left to export from {processed_dir}: {total['input_rows']} records, "
            f"{total['dropped_too_long']} over {max_prompt_tokens} estimated prompt tokens, "
            f"{total['dropped_no_ground_truth']} without a ground truth, {total['dropped_not_verifiable']} without a "
            "verifiable ground truth. Fix: raise --max-prompt-tokens, or --rl-ground-truth prefer / any."
        )

    reward_path = out_dir / "reward.py"
    copy_file(REWARD_SOURCE, reward_path)
    launch = write_launch_files(out_dir, max_prompt_tokens=max_prompt_tokens, max_response_tokens=max_response_tokens)

    kinds = _sum([s["ground_truth_kind"] for s in splits.values()])
    per_source = {}
    for src, k in sorted(_sum_nested(sources).items()):
        n = sum(k.values())
        v = k["choice"] + k["reference_answer"]
        per_source[src] = {**k, "prompts": n, "verifiable": v, "verifiable_share": round(v / n, 4) if n else 0.0}
    n_all = sum(kinds.values())
    n_ver = kinds["choice"] + kinds["reference_answer"]
    warnings = []
    if ground_truth != "any" and not n_ver:
        warnings.append("no prompt has a verifiable ground truth (short answer or option letter): the main RL files are empty; "
                        + ("train on response_only/ or " if ground_truth == "prefer" else "") + "use --rl-ground-truth any")
    summary: dict[str, Any] = {
        "max_prompt_tokens": max_prompt_tokens,
        "token_estimate": f"CJK chars x1 + other words x1.3 (ceil) + {TOKENS_PER_MESSAGE}/message + {TOKENS_GENERATION_PROMPT}",
        "system_prompt": "default (zh/en by language)" if system_prompt is None else system_prompt,
        "ground_truth": ground_truth,
        "question_form": question_form,
        "seed": seed,
        **total,
        "ground_truth_kind": kinds,
        "question_forms": _sum([s["question_form"] for s in splits.values()]),
        "verifiable": {"prompts": n_all, "verifiable": n_ver, "share": round(n_ver / n_all, 4) if n_all else 0.0,
                       "by_source": per_source},
        "warnings": warnings,
        "splits": splits,
        "exports": exports,
        "response_only_exports": response_exports,
        "reward_module": {"path": "reward.py", "sha256": sha256_file(reward_path)},
        "launch": launch,
    }
    # manifest.json holds paths relative to out_dir only, so identical input gives identical bytes
    write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n", out_dir / "manifest.json")
    return placed(summary, out_dir)


def _sum_nested(parts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for part in parts:
        for src, kinds in part.items():
            acc = out.setdefault(src, {k: 0 for k in KINDS})
            for k, v in kinds.items():
                acc[k] += v
    return out


@task(name="export-rl", cache_policy=RL_EXPORT, persist_result=True)
def export_rl(
    processed_dir: str = "data/processed",
    out_dir: str = "data/rl",
    max_prompt_tokens: int = 1024,
    system_prompt: str | None = None,
    ground_truth: str = "prefer",
    question_form: str = "both",
    seed: int = 42,
) -> dict[str, Any]:
    """Prefect task: the RL exports from ``processed_dir`` into ``out_dir``; returns the summary.

    Summary keys: ``out_dir``, ``rows`` (main files), ``response_only_rows``, ``dropped_too_long``,
    ``dropped_no_ground_truth``, ``dropped_not_verifiable``, ``ground_truth_kind`` {choice,
    reference_answer, response}, ``question_forms`` {open, mc}, ``verifiable`` {prompts,
    verifiable, share, by_source}, ``response_only_exports``, ``warnings``, ``splits`` {train, val: per-split
    counts}, ``exports`` {verl, openrlhf, trl: {train, val: {path (relative to out_dir), rows,
    sha256}}}, ``reward_module`` {path, sha256}, ``launch`` {verl, openrlhf: {path, command,
    reward_function}}, ``commands`` (the launch commands, for printing), ``max_prompt_tokens``,
    ``token_estimate``, ``system_prompt``. Cached by content (tasks/core/caching.py): the export
    reruns when processed_dir's files or the parameters change, or an export file is gone.
    """
    # written beside out_dir, then swapped in whole: a failed export leaves the previous one
    out = Path(out_dir)
    stage = out.parent / f".staging-{out.name}"
    shutil.rmtree(stage, ignore_errors=True)
    summary = run_export(processed_dir, stage, max_prompt_tokens, system_prompt,
                         ground_truth=ground_truth, question_form=question_form, seed=seed)
    swap_in(stage, out)
    return placed(summary, out)


def placed(summary: dict[str, Any], out: Path) -> dict[str, Any]:
    """The summary of an export that now lives in ``out``: its paths stay relative to ``out_dir``
    (the one place they are anchored), and the launch commands name ``out``."""
    summary = {**summary, "out_dir": str(out), "launch": {k: dict(v) for k, v in summary["launch"].items()}}
    summary["commands"] = [command(out, info["path"]) for info in summary["launch"].values()]
    for info, cmd in zip(summary["launch"].values(), summary["commands"]):
        info["command"] = cmd
    return summary

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
    manifest.json                              the summary, with paths relative to out_dir

Rules
    * Prompt = [system] + history turns + [user: question]. The system prompt asks for the
      reasoning in ``<think>…</think>`` and then the answer; by default it is Chinese for
      ``language == "zh"`` rows and English otherwise (``system_prompt`` overrides it for all
      rows; ``""`` means no system message).
    * Ground truth = ``meta.reference_answer`` when non-blank (``ground_truth_kind =
      "reference_answer"``), else the answer part of ``output`` (``"response"``). Rows with
      neither are dropped and counted (``dropped_no_ground_truth``).
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

from tasks.core.caching import RL_EXPORT
from tasks.core.errors import MedprepError
from tasks.core.storage import sha256_file, swap_in, write_atomic, write_ndjson
from tasks.core.storage import write_text as storage_write_text
from tasks.core.text import CJK_WIDE
from tasks.export.rl.launch import command, write_launch_files
from tasks.export.rl.reward import correctness

SPLITS = ("train", "val")
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


def build_rows(frame: pl.DataFrame, split: str, max_prompt_tokens: int, system_prompt: str | None) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Prompt, ground truth and labels for one split; returns ``(rows, split summary)``."""
    answer = pl.col("output").fill_null("").str.replace(r"(?s)^\s*<think>.*?</think>\s*", "").str.strip_chars()
    ref = pl.col("reference_answer").str.strip_chars()
    has_ref = ref.is_not_null() & (ref.str.len_chars() > 0)
    if system_prompt is None:
        system = pl.when(pl.col("language") == "zh").then(pl.lit(SYSTEM_PROMPTS["zh"])).otherwise(pl.lit(SYSTEM_PROMPTS["en"]))
    else:
        system = pl.lit(system_prompt)
    history = pl.col("history").fill_null(pl.lit([], dtype=pl.List(TURN)))
    with_system = system_prompt != ""

    rows = frame.with_columns(
        answer.alias("answer"),
        history.alias("history"),
        system.alias("_system"),
        pl.col("question").fill_null(""),
    ).with_columns(
        pl.when(has_ref).then(ref).otherwise(pl.col("answer")).alias("ground_truth"),
        pl.when(has_ref).then(pl.lit("reference_answer")).otherwise(pl.lit("response")).alias("ground_truth_kind"),
    )
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

    n_in = rows.height
    no_gt = rows["ground_truth"].is_null() | (rows["ground_truth"].str.len_chars() == 0)
    too_long = (rows["prompt_tokens_est"] > max_prompt_tokens) & ~no_gt
    rows = rows.filter(~no_gt & ~too_long).with_row_index("index").with_columns(
        pl.col("index").cast(pl.Int64), pl.lit(split).alias("split")
    )
    kinds = dict(sorted(rows["ground_truth_kind"].value_counts().iter_rows()))
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
        "ground_truth_kind": {k: int(kinds.get(k, 0)) for k in ("reference_answer", "response")},
        "prompt_tokens_est_max": int(rows["prompt_tokens_est"].max() or 0),
        "reference_answer_agreement": round(sum(agreement) / len(agreement), 4) if agreement else None,
    }
    return rows, summary


# ------------------------------------------------------------------------ format builders
def to_verl(rows: pl.DataFrame) -> pa.Table:
    """verl RLHFDataset rows (see module docstring)."""
    frame = rows.select(
        pl.col("source").alias("data_source"),
        pl.col("prompt"),
        pl.lit(ABILITY).alias("ability"),
        pl.struct(pl.lit("rule").alias("style"), pl.col("ground_truth")).alias("reward_model"),
        pl.struct(
            "split", "index", "id", "risk_level", "language", "source", "specialty", "ground_truth_kind"
        ).alias("extra_info"),
    )
    return _arrow(frame, VERL_SCHEMA)


def to_trl(rows: pl.DataFrame) -> pa.Table:
    """TRL GRPO/RLOO rows: conversational ``prompt``; every other column reaches reward functions."""
    return _arrow(rows.select([f.name for f in TRL_SCHEMA]), TRL_SCHEMA)


def to_openrlhf(rows: pl.DataFrame) -> pl.DataFrame:
    """OpenRLHF PromptDataset rows: ``--input_key input --label_key label --apply_chat_template``."""
    return rows.select(
        pl.col("prompt").alias("input"),
        pl.col("ground_truth").alias("label"),
        pl.col("source").alias("datasource"),
        "id",
        "language",
        "risk_level",
        "ground_truth_kind",
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


def run_export(
    processed_dir: str | Path = "data/processed",
    out_dir: str | Path = "data/rl",
    max_prompt_tokens: int = 1024,
    system_prompt: str | None = None,
    max_response_tokens: int = 2048,
) -> dict[str, Any]:
    """Write every RL export and launch file; return the summary (also in ``manifest.json``)."""
    if max_prompt_tokens <= 0:
        raise RLExportError(f"max_prompt_tokens must be positive, got {max_prompt_tokens}")
    processed_dir, out_dir = Path(processed_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    splits: dict[str, Any] = {}
    exports: dict[str, dict[str, Any]] = {"verl": {}, "openrlhf": {}, "trl": {}}
    for split in SPLITS:
        rows, split_summary = build_rows(read_processed(processed_dir / f"{split}.jsonl"), split, max_prompt_tokens, system_prompt)
        splits[split] = split_summary
        targets = {
            "verl": (out_dir / "verl" / f"{split}.parquet", lambda p, r=rows: write_parquet(to_verl(r), p)),
            "openrlhf": (out_dir / "openrlhf" / f"{split}.jsonl", lambda p, r=rows: write_jsonl(to_openrlhf(r), p)),
            "trl": (out_dir / "trl" / f"{split}.parquet", lambda p, r=rows: write_parquet(to_trl(r), p)),
        }
        for name, (path, write) in targets.items():
            write(path)
            exports[name][split] = {"path": path.relative_to(out_dir).as_posix(), "rows": rows.height, "sha256": sha256_file(path)}

    if not any(s["rows"] for s in splits.values()):
        counts = {k: sum(s[k] for s in splits.values()) for k in ("input_rows", "dropped_too_long", "dropped_no_ground_truth")}
        raise RLExportError(
            f"no RL prompt left to export from {processed_dir}: {counts['input_rows']} records, "
            f"{counts['dropped_too_long']} over {max_prompt_tokens} estimated prompt tokens, "
            f"{counts['dropped_no_ground_truth']} without a ground truth. Fix: raise --max-prompt-tokens."
        )

    reward_path = out_dir / "reward.py"
    copy_file(REWARD_SOURCE, reward_path)
    launch = write_launch_files(out_dir, max_prompt_tokens=max_prompt_tokens, max_response_tokens=max_response_tokens)

    kinds = {k: sum(s["ground_truth_kind"][k] for s in splits.values()) for k in ("reference_answer", "response")}
    summary: dict[str, Any] = {
        "max_prompt_tokens": max_prompt_tokens,
        "token_estimate": f"CJK chars x1 + other words x1.3 (ceil) + {TOKENS_PER_MESSAGE}/message + {TOKENS_GENERATION_PROMPT}",
        "system_prompt": "default (zh/en by language)" if system_prompt is None else system_prompt,
        "rows": sum(s["rows"] for s in splits.values()),
        "dropped_too_long": sum(s["dropped_too_long"] for s in splits.values()),
        "dropped_no_ground_truth": sum(s["dropped_no_ground_truth"] for s in splits.values()),
        "ground_truth_kind": kinds,
        "splits": splits,
        "exports": exports,
        "reward_module": {"path": "reward.py", "sha256": sha256_file(reward_path)},
        "launch": launch,
    }
    # manifest.json holds paths relative to out_dir only, so identical input gives identical bytes
    write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n", out_dir / "manifest.json")
    return placed(summary, out_dir)


@task(name="export-rl", cache_policy=RL_EXPORT, persist_result=True)
def export_rl(
    processed_dir: str = "data/processed",
    out_dir: str = "data/rl",
    max_prompt_tokens: int = 1024,
    system_prompt: str | None = None,
) -> dict[str, Any]:
    """Prefect task: the RL exports from ``processed_dir`` into ``out_dir``; returns the summary.

    Summary keys: ``out_dir``, ``rows``, ``dropped_too_long``, ``dropped_no_ground_truth``,
    ``ground_truth_kind`` {reference_answer, response}, ``splits`` {train, val: per-split
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
    summary = run_export(processed_dir, stage, max_prompt_tokens, system_prompt)
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

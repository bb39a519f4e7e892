"""Risk labels by model (optional): a judge-style model reads the written risk guideline and labels a
question ``high`` / ``medium`` / ``low`` with a short reason, through the one client (cache, concurrency,
retries, key from the environment only).

The prompt is ``tasks/model/prompts/risk.txt`` (package data): a fixed header, the guideline
``docs/risk-guideline.md`` from "## The one question to ask" to its end, verbatim, and a fixed answer
format. :func:`prompt_from_guideline` builds it; a test keeps the file equal to what the guideline
gives today (regenerate with ``python -m tasks.model.risk_labeller --write-prompt``). Its version,
recorded with every model label, is ``risk-<sha256 of the file, 12 hex>``.

The answer is parsed strictly (:func:`parse_risk`): exactly one ``risk: <level>`` line (after any
``<think>`` block), else *unparsed*. An unparsed answer or a failed request falls back to the rule
labeller (``tasks/quality/labels.py``) for that question, and both are counted — a model outage
never leaves a question unlabelled and never passes silently.

Measured like the rule labeller, by the same harness: ``python eval/risk_eval.py --model-url URL
--model M``. Not wired into ``prepare``: it is an evaluation and relabelling tool (``python -m
tasks.model.risk_labeller --url URL --model M IN OUT`` relabels a Parquet / JSONL file of records).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from tasks.core import schema as S
from tasks.model.client import ChatClient, Endpoint, Request, Sampling, Stats

PROMPTS = "tasks.model.prompts"
PROMPT_FILE = "risk.txt"
GUIDELINE = Path(__file__).resolve().parents[2] / "docs" / "risk-guideline.md"
GUIDELINE_START = "## The one question to ask"
RISK_SAMPLING = Sampling(temperature=0.0, max_tokens=64)
REASON_MAX = 160
BY_MODEL, BY_RULES = "model", "rules"

_HEADER = """You label the risk level of one medical question for a training data set.
Follow the guideline below exactly. Judge the situation of the patient the question is about, from the user's words only.

<guideline>
"""
_FOOTER = """</guideline>

QUESTION:
{question}

Answer in exactly two lines and nothing else:
risk: <high, medium or low>
reason: <a few words naming the criterion>
"""

_THINK_RE = re.compile(r"<think>.*?</think>", re.S | re.I)
_RISK_LINE_RE = re.compile(r"^[\s>*_`#-]*(?:risk|风险|risk level|风险等级)[\s*_`]*[:：][\s*_`]*(high|medium|low)[\s*_`.。]*$",
                           re.I | re.M)
_REASON_LINE_RE = re.compile(r"^[\s>*_`#-]*(?:reason|理由|原因)[\s*_`]*[:：](.*)$", re.I | re.M)


def guideline_body(text: str) -> str:
    """The guideline from its first rule section to the end (the part a model can act on)."""
    start = text.find(GUIDELINE_START)
    if start < 0:
        raise ValueError(f"the risk guideline has no section {GUIDELINE_START!r}")
    return text[start:].strip() + "\n"


def prompt_from_guideline(text: str) -> str:
    """The prompt file's text for a guideline's text."""
    return _HEADER + guideline_body(text) + _FOOTER


@cache
def prompt_text() -> str:
    return resources.files(PROMPTS).joinpath(PROMPT_FILE).read_text(encoding="utf-8")


def prompt_version(prompt: str | None = None) -> str:
    """``risk-<sha256 of the prompt, 12 hex>``: changes whenever the prompt (so the guideline) does.

    ``prompt`` is another template to try (with a ``{question}`` slot); None is the packaged file."""
    return "risk-" + hashlib.sha256((prompt or prompt_text()).encode()).hexdigest()[:12]


def risk_request(question: str | None, sampling: Sampling = RISK_SAMPLING, prompt: str | None = None) -> Request:
    """The chat request asking for one question's risk level."""
    content = (prompt or prompt_text()).replace("{question}", (question or "").strip() or "-")
    return Request.chat([{"role": "user", "content": content}], **sampling.params())


def parse_risk(text: str | None) -> tuple[str, str] | None:
    """(level, reason) from an answer with exactly one ``risk: <level>`` line; None otherwise.

    Strict on purpose: no line, or lines naming different levels, is *unparsed* (the caller falls
    back to the rules and counts it) — never a guess from a level word somewhere in free text."""
    if not text:
        return None
    text = _THINK_RE.sub("", text)
    levels = {m.group(1).lower() for m in _RISK_LINE_RE.finditer(text)}
    if len(levels) != 1:
        return None
    reason = next((m.group(1) for m in _REASON_LINE_RE.finditer(text)), "")
    reason = " ".join(reason.replace("*", " ").replace("`", " ").split())[:REASON_MAX]
    return levels.pop(), reason


@dataclass
class RiskLabels:
    """Model labels for a list of questions, with the rule labeller's where the model gave none."""

    levels: list[str]
    reasons: list[list[str]]
    by: list[str]  # "model" or "rules" (fallback)
    stats: Stats
    counts: dict = field(default_factory=dict)


def _rule_labels(questions: list[str | None]) -> tuple[list[str], list[list[str]]]:
    from tasks.quality import labels

    got = labels.label_risk(pl.LazyFrame({S.QUESTION: pl.Series(questions, dtype=pl.String)})).collect()
    return got[S.RISK_LEVEL].to_list(), got[S.RISK_REASONS].to_list()


def label_questions(questions: list[str | None], endpoint: Endpoint, cache_dir: str | Path | None,
                    sampling: Sampling = RISK_SAMPLING, prompt: str | None = None,
                    label: str = "risk-labeller") -> RiskLabels:
    """Ask the model for each question's level; unparsed answers and failed requests take the rules' label.

    ``prompt``: a template to try instead of the packaged one (must hold ``{question}``)."""
    if prompt is not None and "{question}" not in prompt:
        raise ValueError("a risk prompt needs a {question} slot")
    client = ChatClient(endpoint, cache_dir, label=label)
    replies, stats = client.run([risk_request(q, sampling, prompt) for q in questions])
    parsed = [parse_risk(r.text) if r.ok else None for r in replies]
    fallback = [i for i, p in enumerate(parsed) if p is None]
    rule_levels, rule_reasons = _rule_labels([questions[i] for i in fallback]) if fallback else ([], [])
    levels: list[str] = []
    reasons: list[list[str]] = []
    by: list[str] = []
    fb = dict(zip(fallback, zip(rule_levels, rule_reasons, strict=True), strict=True))
    for i, p in enumerate(parsed):
        if p is not None:
            levels.append(p[0])
            reasons.append([f"model:{p[1]}" if p[1] else "model"])
            by.append(BY_MODEL)
        else:
            lvl, why = fb[i]
            levels.append(lvl)
            reasons.append(["rules-fallback", *why])
            by.append(BY_RULES)
    errors = sum(1 for r in replies if not r.ok)
    counts = {
        "prompt_version": prompt_version(prompt), "questions": len(questions), "by_model": len(questions) - len(fallback),
        "fallback_rules": len(fallback), "unparsed": len(fallback) - errors, "request_errors": errors,
        "model_levels": {lv: sum(1 for p in parsed if p and p[0] == lv) for lv in S.RISK_LEVELS},
    }
    return RiskLabels(levels, reasons, by, stats, counts)


def describe(endpoint: Endpoint, labels: RiskLabels) -> dict:
    """What an eval result or a log may record about a model labelling run (never the key)."""
    return {"endpoint": endpoint.public(), **labels.counts,
            "client": labels.stats.as_dict()}


def predict_eval(df: pl.DataFrame, endpoint: Endpoint, cache_dir: str | Path | None, prompt: str | None = None,
                 sampling: Sampling = RISK_SAMPLING) -> tuple[pl.DataFrame, dict]:
    """For ``eval/risk_eval.py``: its scored frame with ``pred_risk`` / ``pred_reasons`` from the model
    (rules where it gave none) and the run's report; the rules' specialty prediction is left as is."""
    got = label_questions(df["question"].to_list(), endpoint, cache_dir, sampling, prompt=prompt)
    out = df.with_columns(pl.Series("pred_risk", got.levels, dtype=pl.String),
                          pl.Series("pred_reasons", got.reasons, dtype=pl.List(pl.String)))
    return out, describe(endpoint, got)


def relabel(frame: pl.DataFrame, endpoint: Endpoint, cache_dir: str | Path | None, prompt: str | None = None,
            sampling: Sampling = RISK_SAMPLING) -> tuple[pl.DataFrame, dict]:
    """``frame`` with ``risk_level`` / ``risk_reasons`` from the model (rules where it gave none) and a
    ``risk_by`` column saying which; plus the run's report."""
    got = label_questions(frame[S.QUESTION].to_list(), endpoint, cache_dir, sampling, prompt=prompt)
    out = frame.with_columns(
        pl.Series(S.RISK_LEVEL, got.levels, dtype=pl.String),
        pl.Series(S.RISK_REASONS, got.reasons, dtype=pl.List(pl.String)),
        pl.Series("risk_by", got.by, dtype=pl.String),
    )
    return out, describe(endpoint, got)


def main(argv: list[str] | None = None) -> int:
    """CLI: regenerate the prompt from the guideline, or relabel a file of records."""
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-prompt", action="store_true",
                    help=f"rebuild tasks/model/prompts/{PROMPT_FILE} from docs/risk-guideline.md and exit")
    ap.add_argument("--url", help="OpenAI-compatible base URL (key from $MEDPREP_API_KEY)")
    ap.add_argument("--model", help="model name the server serves")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=RISK_SAMPLING.max_tokens,
                    help="answer budget (raise it for a model that thinks before answering)")
    ap.add_argument("--prompt", type=Path, help="a prompt template to use instead of the packaged one")
    ap.add_argument("--cache-dir", type=Path, help="response cache (default: <OUT>.cache next to the output)")
    ap.add_argument("input", nargs="?", type=Path, help="Parquet or JSONL with a 'question' column")
    ap.add_argument("output", nargs="?", type=Path, help="where to write the relabelled records (same format)")
    args = ap.parse_args(argv)
    if args.write_prompt:
        from tasks.core.storage import write_text

        dest = Path(__file__).resolve().parent / "prompts" / PROMPT_FILE
        write_text(dest, prompt_from_guideline(GUIDELINE.read_text(encoding="utf-8")))
        prompt_text.cache_clear()
        print(f"wrote {dest} ({prompt_version()})")
        return 0
    if not (args.url and args.model and args.input and args.output):
        ap.error("relabelling needs --url, --model, INPUT and OUTPUT")
    for path in (args.input, args.prompt):
        if path is not None and not path.is_file():
            ap.error(f"{path} does not exist")
    parquet = args.input.suffix == ".parquet"
    try:
        frame = pl.read_parquet(args.input) if parquet else pl.read_ndjson(args.input, infer_schema_length=None)
    except Exception as err:  # bad file: one line, no traceback
        print(f"cannot read {args.input}: {err}", file=sys.stderr)
        return 2
    if S.QUESTION not in frame.columns:
        print(f"{args.input} has no {S.QUESTION!r} column", file=sys.stderr)
        return 2
    endpoint = Endpoint(args.url, args.model, concurrency=args.concurrency)
    prompt = args.prompt.read_text(encoding="utf-8") if args.prompt else None
    if prompt is not None and "{question}" not in prompt:
        print(f"--prompt {args.prompt} has no {{question}} slot", file=sys.stderr)
        return 2
    sampling = Sampling(temperature=RISK_SAMPLING.temperature, max_tokens=args.max_tokens)
    out, rep = relabel(frame, endpoint, args.cache_dir or args.output.with_name(args.output.name + ".cache"), prompt, sampling)
    from tasks.core.storage import write_ndjson, write_parquet

    (write_parquet if args.output.suffix == ".parquet" else write_ndjson)(out, args.output)
    print(json.dumps(rep, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

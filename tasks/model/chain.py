"""The ``chain`` stage: a writer model writes the reasoning toward the known answer, for records without one.

Sources such as Datatang QA and the dialogue data have answers but no reasoning chain; HuatuoGPT-o1
wrote its chains with GPT-4o and kept only those its verifier accepted. Here, for every sampled
record whose ``reasoning`` is null, the writer endpoint gets ``prompts/chain_{zh,en}.txt`` with the
question and the known answer (the short ``reference_answer`` when there is one, else the record's
answer). A generation is kept only when

1. it is complete and clean: non-empty, not cut at ``max_tokens`` (``finish_reason == "length"``),
   no ``<think>`` tag inside (``chain_rejected:empty`` / ``:truncated`` / ``:think_tags``);
2. the same Great Expectations gate as ``prepare`` accepts the record *with* the chain — the pool
   suite's record-level expectations (all but the pool-wide risk-level count and verifiable share),
   failing records named by id (``chain_rejected:gate:<expectation>``);
3. when a judge is configured, the judge calls the chain's final answer (its "Final answer:" /
   "最终答案：" line, else the whole chain) right against the known answer
   (``chain_rejected:verifier:<score>``; no verdict → ``chain_rejected:verifier_no_verdict``).

A rejected generation goes to quarantine (``raw`` = the record with the generated chain and the
writer's fields); the record itself stays in the sample as it was, without reasoning — a bad
generation never costs a good record. Kept chains become ``reasoning`` (so ``output`` is the
``<think>`` block + the known answer) and ``model.chain_model`` / ``chain_prompt`` (prompt version)
/ ``chain_params`` (sampling) record how they were made.
"""

from __future__ import annotations

import json
import re

import polars as pl

from tasks.core import schema as S
from tasks.model.client import ChatClient, Endpoint, Request, Sampling
from tasks.model.common import quarantine_rows, set_model_fields, with_model_column
from tasks.model.verifier import judge, prompt_text, prompt_version

REJECT = "chain_rejected"
FINAL_RE = re.compile(r"(?:final answer|最终答案)\s*[:：]\s*(.+)\s*$", re.I | re.M)
# the gate's record-level checks: all but the pool-wide ones (count of risk levels, verifiable share)
POOL_WIDE = {"expect_column_unique_value_count_to_be_between", "expect_column_proportion_of_non_null_values_to_be_between"}


def chain_request(question: str, answer: str, language: str | None, sampling: Sampling) -> Request:
    """The writer's chat request for one record."""
    text = prompt_text(f"chain_{'zh' if language == 'zh' else 'en'}")
    content = text.replace("{question}", question).replace("{answer}", answer)
    return Request.chat([{"role": "user", "content": content}], **sampling.params(0))


def final_answer(chain: str) -> str:
    """The chain's last "Final answer:" / "最终答案：" line, else the whole chain."""
    found = FINAL_RE.findall(chain or "")
    return found[-1].strip() if found else (chain or "").strip()


def gate_rejections(frame: pl.DataFrame) -> dict[str, str]:
    """id -> the first record-level gate expectation the record fails (records with their chain)."""
    from expectations import prepare as suite_mod
    from tasks.quality.gate import gate_frame, validate

    if frame.is_empty():
        return {}
    exps = [e for e in suite_mod.expectations() if e.expectation_type not in POOL_WIDE]
    rows = validate(gate_frame(frame.lazy()), suite_name="medprep.prepare.chain", expectations=exps, ids=True)
    out: dict[str, str] = {}
    for r in rows:
        for i in r.get("unexpected_ids") or []:
            out.setdefault(str(i), f"{REJECT}:gate:{r['expectation']}({r['column']})")
    return out


def write_chains(frame: pl.DataFrame, writer: Endpoint, cache_dir: str | None, *, sampling: Sampling,
                 judge_ep: Endpoint | None = None) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """(frame with accepted chains, quarantine rows of rejected generations, report)."""
    frame = with_model_column(frame).with_row_index("_i")
    has_answer = pl.col(S.ANSWER).is_not_null() & (pl.col(S.ANSWER).str.strip_chars() != "")
    todo = frame.filter(pl.col(S.REASONING).is_null() & has_answer)
    known = pl.when(pl.col(S.REFERENCE_ANSWER).str.strip_chars().str.len_chars() > 0).then(
        pl.col(S.REFERENCE_ANSWER)).otherwise(pl.col(S.ANSWER))
    todo = todo.with_columns(known.alias("_known"))
    client = ChatClient(writer, cache_dir, label="chain")
    reqs = [chain_request(q, a, lg, sampling) for q, a, lg in
            zip(todo[S.QUESTION].to_list(), todo["_known"].to_list(), todo[S.LANGUAGE].to_list())]
    replies, stats = client.run(reqs)
    texts = [(r.text or "").strip() if r.ok else None for r in replies]
    first = [("error" if not r.ok else "truncated" if r.finish_reason == "length" else "empty" if not t
              else "think_tags" if re.search(r"</?think>", t) else None) for r, t in zip(replies, texts)]
    params = json.dumps({k: v for k, v in sampling.params(0).items() if v is not None}, sort_keys=True)
    gen = todo.with_columns(pl.Series("_chain", texts, dtype=pl.String),
                            pl.Series("_why", [f"{REJECT}:{w}" if w else None for w in first], dtype=pl.String))
    gen = set_model_fields(gen.with_columns(pl.col("_chain").alias(S.REASONING)),
                           {"chain_model": writer.model, "chain_prompt": prompt_version("chain"), "chain_params": params})
    # the gate on the clean candidates, each with its chain
    gate = gate_rejections(gen.filter(pl.col("_why").is_null()).drop("_i", "_known", "_chain", "_why"))
    gen = gen.with_columns(pl.coalesce("_why", pl.col(S.ID).replace_strict(gate, default=None, return_dtype=pl.String)))
    judge_stats = None
    if judge_ep is not None:
        ok = gen.filter(pl.col("_why").is_null())
        jclient = ChatClient(judge_ep, cache_dir, label="chain verifier")
        items = [(q, final_answer(c), k, lg) for q, c, k, lg in
                 zip(ok[S.QUESTION].to_list(), ok["_chain"].to_list(), ok["_known"].to_list(), ok[S.LANGUAGE].to_list())]
        scores, _, judge_stats = judge(jclient, items)
        verdict = [None if s is not None and s >= 0.5 else f"{REJECT}:verifier_no_verdict" if s is None
                   else f"{REJECT}:verifier:{s:.2f}" for s in scores]
        gen = gen.join(ok.select("_i").with_columns(pl.Series("_v", verdict, dtype=pl.String)), on="_i", how="left",
                       maintain_order="left").with_columns(pl.coalesce("_why", "_v")).drop("_v")
    rejected = gen.filter(pl.col("_why").is_not_null())
    accepted = gen.filter(pl.col("_why").is_null())
    bad = quarantine_rows(rejected.drop("_i", "_known", "_chain", "_why"), rejected["_why"].to_list())
    out = frame.join(accepted.select("_i", pl.col(S.REASONING).alias("_r"), pl.col(S.MODEL).alias("_m")), on="_i",
                     how="left", maintain_order="left")
    out = out.with_columns(pl.coalesce("_r", S.REASONING).alias(S.REASONING),
                           pl.when(pl.col("_r").is_not_null()).then(pl.col("_m")).otherwise(pl.col(S.MODEL)).alias(S.MODEL))
    kinds = pl.col("_why").str.split(":").list.slice(0, 2).list.join(":")
    by_reason = {k: int(n) for k, n in rejected.group_by(kinds.alias("k")).len().sort("k").iter_rows()}
    report = {
        "stage": "chain", "endpoint": writer.public(), "prompt_version": prompt_version("chain"),
        "sampling": json.loads(params), "judge": judge_ep.public() if judge_ep is not None else None,
        "records": frame.height, "without_reasoning": todo.height, "accepted": accepted.height,
        "rejected": rejected.height, "rejected_by_reason": by_reason,
        "client": stats.as_dict(), "judge_client": judge_stats.as_dict() if judge_stats else None,
    }
    return out.drop("_i", "_r", "_m"), bad, report

"""The data card's RL blocks: prompts, ground-truth kinds, verifiable share per source, multiple
choice, response-only prompts and what fell short (the template, tasks/export/templates/
data_card.md.j2, places them)."""

from __future__ import annotations

from typing import Any


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def rl_lines(rl: dict[str, Any] | None) -> list[str]:
    """The RL export's bullet points (without the leading "- "), or none when the export was off."""
    if not rl:
        return []
    kinds = rl.get("ground_truth_kind", {})
    forms = rl.get("question_forms", {})
    ver = rl.get("verifiable") or {}
    mode = rl.get("ground_truth", "any")
    lines = [
        f"{rl['rows']:,} prompts in the main files (verl parquet, OpenRLHF JSONL, TRL parquet); "
        f"{rl['dropped_too_long']:,} dropped over {rl['max_prompt_tokens']:,} estimated prompt tokens, "
        f"{rl['dropped_no_ground_truth']:,} without a ground truth",
        f"ground truth: {kinds.get('choice', 0):,} option letters (multiple choice), "
        f"{kinds.get('reference_answer', 0):,} short verifiable answers, {kinds.get('response', 0):,} reference responses",
        f"question form `{rl.get('question_form', 'open')}`: {forms.get('open', 0):,} open-ended, "
        f"{forms.get('mc', 0):,} multiple-choice prompts (options re-ordered with seed {rl.get('seed', '-')}, "
        "so the right letter is uniform)",
    ]
    if mode == "prefer":
        lines.append(f"ground-truth mode `prefer`: the {rl.get('response_only_rows', 0):,} prompts whose only ground truth is a "
                     "whole reference response are in `rl/response_only/` (same formats), not in the main files")
    elif mode == "verifiable":
        lines.append(f"ground-truth mode `verifiable`: {rl.get('dropped_not_verifiable', 0):,} response-only prompts left out")
    else:
        lines.append("ground-truth mode `any`: response-only prompts are in the main files (`ground_truth_kind = response`)")
    if ver:
        lines.append(f"verifiable share of all prompts: {_pct(ver.get('share'))} ({ver.get('verifiable', 0):,} of {ver.get('prompts', 0):,})")
    lines += [
        *[
            f"{split}: the reference response scores {v['reference_answer_agreement']} on average against "
            "its own short answer with the project's reward (1.0 = always agrees); low values mean the "
            "source's responses often disagree with its ground truth"
            for split, v in sorted(rl.get("splits", {}).items())
            if v.get("reference_answer_agreement") is not None
        ],
        "reward module: `rl/reward.py` (verl `compute_score`, OpenRLHF `reward_func`, TRL reward functions)",
        *[f"warning: {w}" for w in rl.get("warnings", [])],
    ]
    return lines


def rl_source_table(rl: dict[str, Any] | None, sample_report: dict[str, Any] | None = None) -> str:
    """Verifiable share per source, in the sample (records) and in the export (prompts); "" when
    there is no export."""
    by_source = ((rl or {}).get("verifiable") or {}).get("by_source") or {}
    if not by_source:
        return ""
    sampled = ((sample_report or {}).get("verifiable") or {}).get("by_source") or {}
    lines = [
        "Verifiable share per source (records in the sample; prompts in the export, both forms counted):",
        "",
        "| source | sample records | verifiable records | share | prompts | option letter | short answer | response only | verifiable prompts |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for src, v in sorted(by_source.items()):
        s = sampled.get(src, {})
        lines.append(
            f"| {src} | {s.get('of', '-')} | {s.get('drawn', '-')} | {_pct(s.get('share'))} | {v['prompts']:,} | "
            f"{v['choice']:,} | {v['reference_answer']:,} | {v['response']:,} | {_pct(v['verifiable_share'])} |"
        )
    return "\n".join(lines)


def sampling_rows(cfg: dict[str, Any], sample_report: dict[str, Any] | None = None) -> list[list[Any]]:
    """Rows for the card's sampling table: the ground-truth mode and the achieved verifiable share."""
    ver = (sample_report or {}).get("verifiable") or {}
    mode = cfg.get("rl_ground_truth", "any")
    rows = [["RL ground truth", mode + (f" (minimum verifiable share {cfg.get('min_verifiable')})" if mode == "prefer" else "")]]
    if ver:
        rows.append(["verifiable share achieved", f"{_pct(ver.get('share'))} ({ver.get('drawn', 0):,} records; "
                                                  f"pool has {ver.get('pool', 0):,} of {ver.get('pool_records', 0):,})"])
    return rows

"""The `prepare-rl` flow: data/processed/{train,val}.jsonl -> verl / OpenRLHF / TRL exports + launch scripts.

Runs the `export_rl` task (tasks/export/rl/export.py; the `prepare` flow calls the same task at its end),
logs the counts and the launch commands, publishes a markdown artifact, and returns the summary
(with ``commands``, the lines a user runs to start training).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from tasks.core.locking import output_lock
from tasks.export.rl.export import export_rl


def summary_markdown(summary: dict[str, Any]) -> str:
    """A short markdown report of one export (rows, drops, files with sha256, commands)."""
    lines = [
        "# RL export",
        "",
        f"- rows: {summary['rows']} (dropped: {summary['dropped_too_long']} over {summary['max_prompt_tokens']} "
        f"estimated prompt tokens, {summary['dropped_no_ground_truth']} without a ground truth)",
        f"- ground truth: {summary['ground_truth_kind'].get('choice', 0)} option letters (multiple choice), "
        f"{summary['ground_truth_kind']['reference_answer']} short reference answers, "
        f"{summary['ground_truth_kind']['response']} reference responses "
        f"(mode {summary.get('ground_truth', 'any')}: {summary.get('response_only_rows', 0)} response-only prompts in "
        f"response_only/, {summary.get('dropped_not_verifiable', 0)} left out)",
        "- reward agreement with reference answers (train / val): "
        + " / ".join(str(summary["splits"][k].get("reference_answer_agreement")) for k in ("train", "val")),
        "",
        "| format | split | file | rows | sha256 |",
        "|---|---|---|---|---|",
    ]
    for fmt, splits in summary["exports"].items():
        for split, info in splits.items():
            lines.append(f"| {fmt} | {split} | `{info['path']}` | {info['rows']} | `{info['sha256'][:16]}…` |")
    lines += ["", "Launch (from the repository root):", "", "```bash", *summary["commands"], "```", ""]
    return "\n".join(lines)


@flow(name="prepare-rl", log_prints=True)
def prepare_rl(
    processed_dir: str = "data/processed",
    out_dir: str = "data/rl",
    max_prompt_tokens: int = 1024,
    system_prompt: str | None = None,
    ground_truth: str = "prefer",
    question_form: str = "both",
    seed: int = 42,
) -> dict[str, Any]:
    """Export RL prompt datasets (verl parquet, OpenRLHF JSONL, TRL parquet), reward module and launch scripts."""
    logger = get_run_logger()
    # the same lock as `prepare` on the data folder: never export while a prepare run rewrites it
    with output_lock(str(Path(out_dir).parent)):
        summary = export_rl(processed_dir, out_dir, max_prompt_tokens, system_prompt,
                            ground_truth=ground_truth, question_form=question_form, seed=seed)
    logger.info(
        "RL export: %d rows into %s (%d dropped as too long, %d without ground truth)",
        summary["rows"], summary["out_dir"], summary["dropped_too_long"], summary["dropped_no_ground_truth"],
    )
    for command in summary["commands"]:
        logger.info("launch: %s", command)
    try:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(key="prepare-rl", markdown=summary_markdown(summary), description="RL export summary")
    except Exception as err:  # an artifact is a convenience; never fail the export over it
        logger.warning("could not publish the summary artifact: %s", err)
    return summary

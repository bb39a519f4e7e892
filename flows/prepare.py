"""The `prepare` flow: ModelScope -> data/raw -> canonical frames -> GE gate -> sample -> files."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from importlib import metadata
from pathlib import Path

from prefect import flow, unmapped

from expectations.thresholds import MAX_QUARANTINE_SHARE, check_max_quarantine_share
from tasks.core import report
from tasks.core.locking import output_lock
from tasks.core.logs import log
from tasks.core.memory import bound_allocators
from tasks.core.runner import make_task_runner
from tasks.export.datacard import card_context
from tasks.export.lineage import record_lineage
from tasks.export.outputs import REPORTS_INDEX, write_outputs
from tasks.ingest.detect import auto_not_found, detect_files
from tasks.ingest.download import download_source
from tasks.ingest.parse import parse_file
from tasks.ingest.plan import parse_sources
from tasks.ingest.sources import REGISTRY, build_registry
from tasks.model.stage import chain_sample, judge_endpoint, passrate_sample, policy_endpoint, verify_sample
from tasks.quality.decontam import decontaminate, resolve_benchmarks_dir
from tasks.quality.gate import check_quarantine_share, run_gate
from tasks.quality.pool import build_pool, dedup_keys_file, label_file
from tasks.sample import SampleConfig, sample_pool

bound_allocators()  # before the task runner's threads exist: see tasks/core/memory.py


def _version() -> str:
    try:
        return metadata.version("medprep")
    except metadata.PackageNotFoundError:
        return "dev"


def _fetch(source: str, raw_dir: str, revision: str | None) -> dict:
    """Run the download task; any failure after its retries falls back to data/raw."""
    state = download_source(source, raw_dir, revision=revision, return_state=True)
    if state.is_completed():
        return state.result()
    msg = f"download failed after retries ({state.message}); using files under {raw_dir}"
    log().warning("%s: %s", source, msg)
    return {"source": source, "status": "failed", "message": msg}


# the task runner: $MEDPREP_TASK_RUNNER (thread | dask | dask:ADDRESS), read when a process imports
# the flow, so a deployment's job variables choose it too; `prepare_on` picks one per call
@flow(name="prepare", log_prints=True, task_runner=make_task_runner())
def prepare(
    sources: str | list[str] | None = None,
    download: bool = True,
    sample_size: int = 5_000,
    seed: int = 42,
    raw_dir: str = "data/raw",
    out_dir: str = "data",
    min_high: float = 0.2,
    min_low: float = 0.2,
    val_fraction: float = 0.05,
    allow_out_of_range: bool = False,
    export_rl: bool = True,
    max_prompt_tokens: int = 1024,
    custom_sources: list[dict] | str | None = None,
    rl_ground_truth: str = "prefer",
    min_verifiable: float = 0.8,
    rl_question_form: str = "both",
    revision: str | None = None,
    judge_url: str | None = None,
    judge_model: str | None = None,
    judge_votes: int = 1,
    verify_threshold: float | None = None,
    benchmarks_dir: str | None = None,
    max_quarantine_share: float = MAX_QUARANTINE_SHARE,
    policy_url: str | None = None,
    policy_model: str | None = None,
    pass_samples: int = 4,
    pass_band: str = "0,1",
    pass_oversample: float = 2.0,
    pass_temperature: float = 1.0,
    pass_max_tokens: int = 1024,
    chain_url: str | None = None,
    chain_model: str | None = None,
    chain_temperature: float = 0.7,
    chain_max_tokens: int = 1024,
) -> dict:
    """Prepare gated, risk-balanced RL training data from medical QA sources.

    ``rl_ground_truth`` (verifiable | prefer | any) and ``min_verifiable`` decide how much of the
    sample has a verifiable ground truth (tasks/sample.py) and where response-only prompts go
    (tasks/export/rl/export.py); ``rl_question_form`` (open | mc | both) which form a record with
    options is exported in. ``revision`` pins the ModelScope revision (branch, tag or commit id)
    downloaded; default: the dataset's default branch. The data card records the revision each
    file came from.

    ``judge_url`` / ``judge_model`` (an OpenAI-compatible endpoint; key from ``MEDPREP_API_KEY``)
    switch on the ``verify-references`` stage: a judge scores each sampled record's own response
    against its short answer; ``verify_threshold`` quarantines records scoring below it. Off by
    default: without an endpoint the run writes exactly what it wrote before.

    ``benchmarks_dir`` holds the evaluation benchmarks' test files (docs/decontamination.md);
    pool records whose question overlaps one are quarantined as ``contaminated:<benchmark>:<item>``.
    Default: ``benchmarks`` next to ``raw_dir`` (``data/benchmarks``), skipped with a note when
    that folder is absent; a folder given explicitly must exist.

    ``max_quarantine_share``: a source whose share of records quarantined while parsing exceeds
    it fails the run before anything is written (a file that is 40 % garbage is broken, not data).
    The gates' suites and thresholds: expectations/prepare.py (docs/gates.md); their HTML Data Docs
    go to ``<out_dir>/reports/data_docs/``.

    ``policy_url`` / ``policy_model`` switch on the ``pass-rate`` stage (tasks/model/passrate.py):
    a stratified candidate draw of ``pass_oversample`` x ``sample_size`` records, ``pass_samples``
    completions per verifiable prompt from the policy (``pass_temperature``, ``pass_max_tokens``),
    scored by the reward (or the judge when set); prompts whose pass rate lies outside ``pass_band``
    ("LO,HI" open, brackets keep an end) are quarantined, and the final sample is drawn from the rest.

    ``chain_url`` / ``chain_model`` switch on the ``chain`` stage (tasks/model/chain.py): a writer
    model writes the reasoning toward the known answer for sampled records without one; a chain is
    kept when the gate (and the judge, when set) accepts it, else the generation is quarantined and
    the record stays as it was.
    """
    cfg = SampleConfig(size=sample_size, seed=seed, min_high=min_high, min_low=min_low,
                       val_fraction=val_fraction, allow_out_of_range=allow_out_of_range,
                       rl_ground_truth=rl_ground_truth, min_verifiable=min_verifiable)
    return _prepare(sources, download, raw_dir, out_dir, cfg, custom_sources,
                    export_rl=export_rl, max_prompt_tokens=max_prompt_tokens, rl_question_form=rl_question_form,
                    revision=revision, judge=judge_endpoint(judge_url, judge_model),
                    judge_votes=judge_votes, verify_threshold=verify_threshold,
                    benchmarks_dir=benchmarks_dir, max_quarantine_share=max_quarantine_share,
                    policy=policy_endpoint(policy_url, policy_model),
                    passrate=dict(samples=pass_samples, band=pass_band, temperature=pass_temperature,
                                  max_tokens=pass_max_tokens, oversample=pass_oversample),
                    writer=policy_endpoint(chain_url, chain_model, "chain"),
                    chain=dict(temperature=chain_temperature, max_tokens=chain_max_tokens))


def prepare_on(task_runner: str | None = None):
    """The prepare flow on the task runner ``task_runner`` names (see tasks/core/runner.py);
    None: the one $MEDPREP_TASK_RUNNER chose at import."""
    return prepare if task_runner is None else prepare.with_options(task_runner=make_task_runner(task_runner))


def _prepare(sources, download: bool, raw_dir: str, out_dir: str, cfg: SampleConfig,
             custom_sources: list[dict] | str | None, *, export_rl: bool, max_prompt_tokens: int,
             rl_question_form: str = "both", revision: str | None = None, judge: dict | None = None,
             judge_votes: int = 1, verify_threshold: float | None = None,
             benchmarks_dir: str | None = None,
             max_quarantine_share: float = MAX_QUARANTINE_SHARE, policy: dict | None = None,
             passrate: dict | None = None, writer: dict | None = None, chain: dict | None = None) -> dict:
    registry = build_registry(custom_sources)  # this run's sources: built-ins + user-defined
    plan = parse_sources(sources, registry)
    cfg = replace(cfg, weights=plan.weights)
    cfg.check()
    bench_dir = resolve_benchmarks_dir(benchmarks_dir, raw_dir)
    check_max_quarantine_share(max_quarantine_share)
    work = str(Path(out_dir) / ".work")
    docs = Path(work) / "data_docs"
    label = report.plan_label(plan)
    progress = report.Progress(label)
    with output_lock(out_dir):
        downloads: dict[str, dict] = {}
        files: list[dict] = []
        for source in plan.sources:  # auto-load: priority order until one source has files
            if download:  # user-defined sources have no ModelScope id: local files only
                downloads[source] = _fetch(source, raw_dir, revision) if source in REGISTRY else {
                    "source": source, "status": "not-on-modelscope", "message": "no ModelScope id; reading data/raw"}
            dl = downloads.get(source, {})
            files += detect_files(source, raw_dir, required=plan.required, custom_sources=custom_sources,
                                  download=dl["status"] if download else None,
                                  snapshot=dl.get("local_dir") if dl.get("status") in ("downloaded", "failed") else None)
            if plan.mode == "auto" and files:
                break
        if not files:
            raise auto_not_found(raw_dir)
        progress.step("download", ", ".join(f"{s}: {d['status']}" for s, d in downloads.items())
                      if download else "skipped (offline)")
        progress.step("detect", f"{len(files)} files of {', '.join(sorted({f['source'] for f in files}))}")
        # per-file tasks run concurrently on the flow's task runner (threads, or Dask workers):
        # each file is labelled as soon as it is parsed; only dedup needs the whole pool
        parse_futures = parse_file.map(files, work_dir=unmapped(work), custom_sources=unmapped(custom_sources))
        label_futures = label_file.map(parse_futures, work_dir=unmapped(work))
        # each labelled file's dedup keys (text normalisation, shingles, MinHash) as soon as it is
        # labelled: only the small keys meet in build_pool
        key_futures = dedup_keys_file.map(label_futures, work_dir=unmapped(work))
        parsed = [f.result() for f in parse_futures]
        progress.step("parse", f"{sum(p.records for p in parsed):,} records, {sum(p.quarantined for p in parsed):,} quarantined")
        check_quarantine_share(parsed, max_quarantine_share)  # before waiting on the labels
        labelled = [f.result() for f in label_futures]
        progress.step("label", f"{len(labelled)} files labelled (specialty, risk)")
        pool = build_pool(parsed, work, labelled=labelled, keys=[f.result() for f in key_futures])
        progress.step("pool", f"{pool.records:,} records after dedup")
        decontam = decontaminate(pool, bench_dir, work)
        pool = decontam.pool
        progress.step("decontaminate", decontam.note or (
            f"{decontam.contaminated:,} of {decontam.counts['in']:,} records contaminated "
            f"({sum(f['items'] for f in decontam.files):,} benchmark questions in {decontam.benchmarks_dir})"))
        gate = run_gate(pool.pool_file.path, stage="pool", docs_dir=str(docs / "pool"))
        report.publish_gate(label, gate.rows)
        progress.step("gate", f"{sum(g['success'] for g in gate.rows)}/{len(gate.rows)} expectations passed")
        quarantines = [p.quarantine_file for p in parsed] + [pool.dedup_quarantine_file]
        if decontam.quarantine_file:
            quarantines.append(decontam.quarantine_file)
        if policy:  # model in the loop (opt-in): oversample, keep prompts in the pass-rate band, draw
            pr = dict(passrate or {})
            oversample = max(1.0, float(pr.pop("oversample", 2.0)))
            cand = sample_pool(pool.pool_file, work, replace(cfg, size=math.ceil(cfg.size * oversample),
                                                             allow_out_of_range=True))
            step = passrate_sample(cand, work, cfg, policy, judge=judge, question_form=rl_question_form, **pr)
            sample = step.sample
            quarantines.append(step.quarantine_file)
            rep = step.report
            log().info(f"pass-rate: {rep['scored']:,} of {rep['candidates']:,} candidates scored, "
                       f"{rep['too_hard']:,} too hard, {rep['too_easy']:,} too easy; {rep['drawn']:,} drawn")
        else:
            sample = sample_pool(pool.pool_file, work, cfg)
        report.publish_counts(label, sample.sample_file.path)
        progress.step("sample", f"{sample.report['drawn']:,} records drawn")
        if writer:  # model in the loop (opt-in): reasoning chains for records without one
            chained = chain_sample(sample, work, writer, judge=judge, **(chain or {}))
            sample = chained.sample
            quarantines.append(chained.quarantine_file)
            rep = chained.report
            log().info(f"chain: {rep['accepted']:,} of {rep['without_reasoning']:,} chains accepted, "
                       f"{rep['rejected']:,} rejected")
        if judge:  # model in the loop (opt-in): the judge checks each record's own reference response
            verified = verify_sample(sample, work, judge, votes=judge_votes, threshold=verify_threshold)
            sample = verified.sample
            quarantines.append(verified.quarantine_file)
            rep = verified.report
            log().info(f"verify-references: {rep['judged']:,} of {rep['with_reference']:,} judged, "
                          f"agreement {rep['agreement']}, {rep.get('quarantined', 0):,} quarantined")
        # the final sample's own gate: what is about to be written
        sample_gate = run_gate(sample.sample_file.path, stage="sample", docs_dir=str(docs / "sample"),
                               min_reference_share=1.0 if cfg.rl_ground_truth == "verifiable" else None)
        gates = [gate, sample_gate]
        report.publish_gate(label, gate.rows + sample_gate.rows)  # the same key, now with both stages
        card_ctx = card_context(_version(), files, downloads, parsed, pool, gate.rows + sample_gate.rows,
                                asdict(cfg), sample, registry, decontam=decontam)
        written = write_outputs(sample, quarantines, out_dir, card_ctx, export_rl=export_rl,
                                max_prompt_tokens=max_prompt_tokens, rl_question_form=rl_question_form,
                                data_docs={g.stage: g.docs for g in gates if g.docs})
        rl = written.rl
        progress.step("write", f"{len(written.files)} files in {out_dir}" + (f", {rl['rows']:,} RL prompts" if rl else ""))
        report.publish_card(label, written.card)
        report.publish_data_docs(label, Path(out_dir) / REPORTS_INDEX)
        record_lineage(written, files)  # Prefect assets: outputs materialized from the input files
    files_out = {k: {"path": f.path, "rows": f.rows, "sha256": f.sha256} for k, f in written.files.items()}
    return {"out_dir": out_dir, "files": files_out, "sample": sample.report, "rl": rl}

"""The model stages as Prefect tasks of the ``prepare`` flow (off unless an endpoint is given).

``verify-references`` runs on the drawn sample: the judge scores each record's own reference
response against its short answer (tasks/model/verify_stage.py); records below ``threshold`` go to
quarantine. The client's content cache lives in the run's work folder, so a rerun or a run resumed
after a kill asks the server only for what it has not answered yet.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import task

from tasks.core.caching import FILES
from tasks.core.logs import log
from tasks.core.results import FileRef, ModelStep, Sample
from tasks.model.client import Endpoint
from tasks.model.common import write_frames
from tasks.model.verify_stage import verify_references


def judge_endpoint(url: str | None, model: str | None) -> dict | None:
    """The flow's judge parameters as an endpoint dict (None: stage off). No key: it stays in the env."""
    if not url:
        return None
    if not model:
        from tasks.core.errors import ConfigError

        raise ConfigError(f"judge_url {url!r} needs judge_model (the model name the server serves)")
    return {"base_url": url, "model": model}


@task(name="verify-references", cache_policy=FILES, persist_result=True)
def verify_sample(sample: Sample, work_dir: str, judge: dict, votes: int = 1,
                  threshold: float | None = None) -> ModelStep:
    """Judge the sample's reference responses; returns the kept sample, the quarantine and a report."""
    endpoint = Endpoint(**judge)
    frame = pl.read_parquet(sample.sample_file.path)
    kept, bad, rep = verify_references(frame, endpoint, str(Path(work_dir) / "model-cache"),
                                       votes=votes, threshold=threshold)
    kept_path, bad_path = write_frames(kept, bad, work_dir, "verified")
    log().info("verify-references: %d with a reference answer, %d judged, agreement %s, %d quarantined",
               rep["with_reference"], rep["judged"], rep["agreement"], bad.height)
    report = {**sample.report, "verify_references": rep}
    return ModelStep(sample=Sample(sample_file=FileRef.of(kept_path), report=report),
                     quarantine_file=FileRef.of(bad_path), report=rep)


def policy_endpoint(url: str | None, model: str | None, flag: str = "policy") -> dict | None:
    """The flow's policy parameters as an endpoint dict (None: stage off). No key: it stays in the env."""
    if not url:
        return None
    if not model:
        from tasks.core.errors import ConfigError

        raise ConfigError(f"{flag}_url {url!r} needs {flag}_model (the model name the server serves)")
    return {"base_url": url, "model": model}


def pass_sampling(temperature: float = 1.0, max_tokens: int = 1024, seed: int = 0):
    """The policy's sampling parameters (part of the cache key; sample k is sent seed + k)."""
    from tasks.model.client import Sampling

    return Sampling(temperature=temperature, max_tokens=max_tokens, seed=seed)


@task(name="pass-rate", cache_policy=FILES, persist_result=True)
def passrate_sample(candidates: Sample, work_dir: str, cfg, policy: dict, samples: int = 4, band: str = "0,1",
                    temperature: float = 1.0, max_tokens: int = 1024, judge: dict | None = None,
                    question_form: str = "both") -> ModelStep:
    """Score the candidate sample's prompts on the policy, quarantine those outside the band, and draw
    the final stratified sample (``cfg``) from the rest.

    ``candidates`` is a stratified draw of ``cfg.size x oversample`` records (same strata and shares):
    filtering it and drawing ``cfg.size`` again keeps the sampler's shares where the in-band records
    allow, and the sampler names every shortfall (plus one line for the filter itself)."""
    import polars as pl

    from tasks.core.storage import write_parquet
    from tasks.model.common import quarantine_rows, set_model_fields
    from tasks.model.passrate import Band, filter_records, policy_tag, processed_view
    from tasks.sample import SPLIT, draw

    endpoint, jep = Endpoint(**policy), (Endpoint(**judge) if judge else None)
    sampling, bnd = pass_sampling(temperature, max_tokens, cfg.seed), Band.parse(band)
    frame = pl.read_parquet(candidates.sample_file.path)
    scored, reasons, rep = filter_records(frame, processed_view(frame), endpoint, str(Path(work_dir) / "model-cache"),
                                          samples=samples, band=bnd, sampling=sampling, question_form=question_form,
                                          seed=cfg.seed, judge=jep)
    scored = set_model_fields(scored, {"pass_rate": pl.col("pass_rate"), "pass_samples": pl.col("pass_samples"),
                                       "policy": policy_tag(endpoint, samples, sampling, jep)})
    drop = pl.col("_reason").is_not_null()
    rejected = scored.filter(drop)
    bad = quarantine_rows(rejected.drop("pass_rate", "pass_samples", "_reason"), rejected["_reason"].to_list())
    kept = scored.filter(~drop).drop("pass_rate", "pass_samples", "_reason", SPLIT)
    final, srep = draw(kept, cfg)
    srep.pool = candidates.report["pool"]
    rep.update(candidates=frame.height, asked=cfg.size, drawn=final.height)
    if final.height < min(cfg.size, candidates.report["pool"]) and rejected.height:
        srep.shortfalls.append(
            f"pass-rate filter: {rejected.height:,} of {frame.height:,} candidates outside {bnd.label()} "
            f"({rep['too_hard']:,} too hard, {rep['too_easy']:,} too easy); drew {final.height:,} of the "
            f"{cfg.size:,} asked (raise pass_oversample, or widen the band)")
    path = write_parquet(final, Path(work_dir) / "passrate.parquet")
    bad_path = write_parquet(bad, Path(work_dir) / "passrate.quarantine.parquet")
    log().info("pass-rate: %d of %d candidates scored (%d samples each), %d too hard, %d too easy; %d drawn; "
               "%s req/s, %d cache hits", rep["scored"], frame.height, samples, rep["too_hard"], rep["too_easy"],
               final.height, rep["client"]["req_per_s"], rep["client"]["cache_hits"])
    report = {**srep.to_dict(), "pass_rate": rep}
    return ModelStep(sample=Sample(sample_file=FileRef.of(path), report=report),
                     quarantine_file=FileRef.of(bad_path), report=rep)


@task(name="pass-rate-outputs")
def passrate_outputs(out_dir: str, policy: dict, samples: int = 4, band: str = "0,1", temperature: float = 1.0,
                     max_tokens: int = 1024, judge: dict | None = None, export_rl: bool = True) -> dict:
    """The pass-rate filter on a prepared folder's processed sample (tasks/model/passrate_outputs.py).

    No result cache on purpose: a rerun runs again and the client's content cache answers every
    request, so it costs no model call and reports its cache hits."""
    from tasks.model.passrate_outputs import _manifest, filter_outputs

    seed = _manifest(Path(out_dir)).get("seed", 42)
    rep = filter_outputs(out_dir, Endpoint(**policy), samples=samples, band=band,
                         sampling=pass_sampling(temperature, max_tokens, seed),
                         judge=Endpoint(**judge) if judge else None, export_rl=export_rl, seed=seed)
    c = rep["client"]
    log().info("pass-rate on %s: %d of %d records scored, %d too hard, %d too easy, %d kept; %d requests "
               "(%s req/s), %d of %d answered from the cache", out_dir, rep["scored"], rep["records"],
               rep["too_hard"], rep["too_easy"], rep["kept"], c["requests"], c["req_per_s"], c["cache_hits"], c["total"])
    return rep


@task(name="chain", cache_policy=FILES, persist_result=True)
def chain_sample(sample: Sample, work_dir: str, writer: dict, judge: dict | None = None, temperature: float = 0.7,
                 max_tokens: int = 1024) -> ModelStep:
    """Write reasoning chains for the sample's records without one (tasks/model/chain.py); kept chains
    pass the gate and (when a judge is set) the verifier, rejected generations go to quarantine."""
    import polars as pl

    from tasks.model.chain import write_chains
    from tasks.model.client import Sampling

    frame = pl.read_parquet(sample.sample_file.path)
    kept, bad, rep = write_chains(frame, Endpoint(**writer), str(Path(work_dir) / "model-cache"),
                                  sampling=Sampling(temperature=temperature, max_tokens=max_tokens, seed=0),
                                  judge_ep=Endpoint(**judge) if judge else None)
    kept_path, bad_path = write_frames(kept, bad, work_dir, "chains")
    log().info("chain: %d records without reasoning, %d chains accepted, %d rejected %s; %s req/s, %d cache hits",
               rep["without_reasoning"], rep["accepted"], rep["rejected"], rep["rejected_by_reason"],
               rep["client"]["req_per_s"], rep["client"]["cache_hits"])
    return ModelStep(sample=Sample(sample_file=FileRef.of(kept_path), report={**sample.report, "chain": rep}),
                     quarantine_file=FileRef.of(bad_path), report=rep)


@task(name="chain-outputs")
def chain_outputs_task(out_dir: str, writer: dict, judge: dict | None = None, temperature: float = 0.7,
                       max_tokens: int = 1024, export_rl: bool = True) -> dict:
    """The chain stage on a prepared folder's processed sample (tasks/model/chain_outputs.py); no result
    cache, the client's content cache makes a rerun cost no request."""
    from tasks.model.chain_outputs import chain_outputs
    from tasks.model.client import Sampling

    rep = chain_outputs(out_dir, Endpoint(**writer), sampling=Sampling(temperature=temperature, max_tokens=max_tokens,
                                                                         seed=0),
                        judge=Endpoint(**judge) if judge else None, export_rl=export_rl)
    c = rep["client"]
    log().info("chain on %s: %d records without reasoning, %d chains accepted, %d rejected %s; %d requests "
               "(%s req/s), %d of %d answered from the cache", out_dir, rep["without_reasoning"], rep["accepted"],
               rep["rejected"], rep["rejected_by_reason"], c["requests"], c["req_per_s"], c["cache_hits"], c["total"])
    return rep


@task(name="verify-outputs")
def verify_outputs_task(out_dir: str, judge: dict, votes: int = 1, threshold: float | None = None,
                        export_rl: bool = True) -> dict:
    """verify-references on a prepared folder's processed sample (tasks/model/verify_outputs.py); no
    result cache, the client's content cache makes a rerun cost no request."""
    from tasks.model.verify_outputs import verify_outputs

    rep = verify_outputs(out_dir, Endpoint(**judge), votes=votes, threshold=threshold, export_rl=export_rl)
    c = rep["client"]
    log().info("verify-references on %s: %d of %d judged, agreement %s, %d quarantined; %d requests (%s req/s), "
               "%d of %d answered from the cache", out_dir, rep["judged"], rep["with_reference"], rep["agreement"],
               rep.get("quarantined", 0), c["requests"], c["req_per_s"], c["cache_hits"], c["total"])
    return rep

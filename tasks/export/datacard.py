"""DATA_CARD.md: provenance, counts, lengths, gate results, sampling and warnings.

Rendered from plain dicts the flow's tasks return, plus the sample itself; no timestamps,
timings or absolute paths, so the same inputs and seed give the same bytes (timings are in the
run's logs).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import polars as pl

from tasks.core import schema as S
from tasks.core.results import ParsedFile, Pool, Sample
from tasks.export.rl.card import rl_lines, rl_source_table, sampling_rows
from tasks.sample import SPLIT

PCTS = (0.05, 0.5, 0.95)
# data/samples/ holds no real data: this repository's generators wrote every file in it
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "data" / "samples"


def synthetic_origin(file: dict) -> str | None:
    """"synthetic demo data written by bench/…" when the file has the bytes of a shipped demo
    file (wherever it was copied to), else None."""
    gen = _sample_hashes().get(file["sha256"])
    return f"synthetic demo data written by {gen}" if gen else None


@functools.cache
def _sample_hashes() -> dict[str, str]:
    """sha256 -> the generator that wrote it, for every file under data/samples/ (~0.6 MB)."""
    out = {}
    for path in sorted(SAMPLES_DIR.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".csv"):
            gen = "bench/synth.py" if path.name.startswith("medical_o1_sft") else "bench/synth_sources.py"
            out[hashlib.sha256(path.read_bytes()).hexdigest()] = gen
    return out


def md_text(text: str) -> str:
    """Plain text for markdown: ``<think>`` would be swallowed as an HTML tag by a renderer
    (Prefect's UI shows "with reasoning ()"), so angle brackets are escaped outside code spans."""
    parts = str(text).split("`")
    return "`".join(p if i % 2 else p.replace("<", "&lt;").replace(">", "&gt;") for i, p in enumerate(parts))


def md_table(headers: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured markdown table."""
    def cell(v) -> str:
        return md_text(str(v).replace("|", "\\|").replace("\n", " ")) if v is not None else ""

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def crosstab(frame: pl.DataFrame, rows: list[str], col: str, values: list[str]) -> str:
    """Counts of ``rows`` x ``col`` with a total column."""
    if frame.is_empty():
        return "_none_"
    counts = frame.group_by(*rows, col).len()
    wide = counts.pivot(on=col, index=rows, values="len").fill_null(0)
    for v in values:
        if v not in wide.columns:
            wide = wide.with_columns(pl.lit(0).alias(v))
    wide = wide.with_columns(pl.sum_horizontal(values).alias("total")).sort(rows)
    return md_table([*rows, *values, "total"], wide.select(*rows, *values, "total").rows())


def length_table(frame: pl.DataFrame) -> str:
    """Character-length percentiles of question, reasoning and answer."""
    rows = []
    for col in (S.QUESTION, S.REASONING, S.ANSWER):
        lens = frame.get_column(col).drop_nulls().str.len_chars()
        if lens.is_empty():
            rows.append([col, 0, "", "", "", ""])
            continue
        q = [int(lens.quantile(p, interpolation="nearest")) for p in PCTS]
        rows.append([col, lens.len(), *q, int(lens.max())])
    return md_table(["field (chars)", "non-null", "p5", "p50", "p95", "max"], rows)


BAR_WIDTH = 40
LENGTH_BINS = [0, 50, 100, 200, 400, 800, 1600, 3200]


def bars(labels: list[str], values: list[int]) -> str:
    """A text bar chart in a code block: renders the same on GitHub, in Prefect's UI and a terminal."""
    top = max(values, default=0) or 1
    width = max((len(x) for x in labels), default=0)
    rows = [f"{lab:>{width}} | {'█' * round(BAR_WIDTH * v / top):<{BAR_WIDTH}} {v:,}" for lab, v in zip(labels, values)]
    return "```text\n" + "\n".join(rows) + "\n```"


def length_histogram(frame: pl.DataFrame, col: str) -> str:
    """Histogram of character lengths of ``col`` over fixed bins."""
    lens = frame.get_column(col).drop_nulls().str.len_chars()
    edges = LENGTH_BINS[1:]
    labels = [f"<{edges[0]}"] + [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:])] + [f">={edges[-1]}"]
    bounds = [0, *edges, None]
    counts = [int(((lens >= lo) & (lens < hi if hi is not None else True)).sum()) for lo, hi in zip(bounds, bounds[1:])]
    return bars(labels, counts)


def risk_by_source_chart(frame: pl.DataFrame) -> str:
    """Bars of record counts per source x risk level."""
    counts = frame.group_by(S.SOURCE, S.RISK_LEVEL).len()
    lookup = {(s, r): n for s, r, n in counts.iter_rows()}
    labels, values = [], []
    for src in sorted(frame.get_column(S.SOURCE).unique().to_list()):
        for risk in S.RISK_LEVELS:
            labels.append(f"{src} {risk}")
            values.append(int(lookup.get((src, risk), 0)))
    return bars(labels, values)


def summary_block(ctx: dict, sample: pl.DataFrame, pool: pl.DataFrame) -> str:
    """The headline numbers."""
    cfg, rep = ctx["sample_config"], ctx["sample"].report
    return md_table(
        ["item", "value"],
        [
            ["sources", ", ".join(ctx["sources"])],
            ["records in pool (after dedup)", f"{pool.height:,}"],
            ["records sampled", f"{sample.height:,} (requested {cfg['size']:,})"],
            ["train / val", f"{rep['splits'].get('train', 0):,} / {rep['splits'].get('val', 0):,}"],
            ["with reasoning (`<think>`)", f"{sample.get_column(S.REASONING).is_not_null().sum():,}"],
            ["with a verifiable reference answer", f"{sample.get_column(S.REFERENCE_ANSWER).is_not_null().sum():,}"],
            ["seed", cfg["seed"]],
        ],
    )


def warnings_block(ctx: dict) -> list[str]:
    """The sampler's warnings and shortfalls, as markdown-safe lines."""
    rep = ctx["sample"].report
    return [md_text(w) for w in rep["warnings"] + rep["shortfalls"]]


def synthetic_inputs(ctx: dict) -> list[str]:
    """The generators of the run's synthetic demo inputs (empty for real data)."""
    return sorted({o for f in ctx["files"] if (o := synthetic_origin(f))})


def provenance_table(ctx: dict) -> str:
    """One row per input file: source, licence, origin, short sha256 (full hashes are listed apart)."""
    prov = []
    for f in ctx["files"]:
        synth = synthetic_origin(f)
        if f["how"] == "modelscope cache":  # the revision is the snapshot folder the SDK wrote
            rev = (f["revision"] or "unknown")[:12]
            origin = f"ModelScope, revision {rev}" + (" (synthetic: " + synth.rsplit(" ", 1)[-1] + ")" if synth else "")
        elif synth:  # the run's headline says "synthetic demo data written by …" in full
            origin = "synthetic: " + synth.rsplit(" ", 1)[-1]
        else:
            origin = "manual file"
        licence = "none" if synth else ctx["licenses"].get(f["source"], "")
        # short hash and revision so the table fits a 1600 px page (checked in Prefect's UI with
        # headless Chromium); how it was found, bytes, full sha256 and revision are listed below it
        prov.append([f["source"], f["relpath"], licence, origin, f"`{f['sha256'][:12]}`"])
    return md_table(["source", "file", "license", "origin", "sha256 (short)"], prov)


def downloads_table(ctx: dict) -> str | None:
    """The download step's outcome per source, or None when the run did not download."""
    rows = [[s, d["status"], d["message"]] for s, d in sorted(ctx["downloads"].items())]
    return md_table(["source", "status", "message"], rows) if rows else None


def parsing_table(ctx: dict) -> str:
    """Records and quarantined records per input file."""
    return md_table(["source", "file", "records", "quarantined"],
                    [[p.source, p.relpath, f"{p.records:,}", f"{p.quarantined:,}"] for p in ctx["parsed"]])


def quarantine_table(ctx: dict) -> str:
    """Quarantined records by reason, or "- none"."""
    reasons = ctx["outputs"]["quarantine_by_reason"]
    return md_table(["reason", "records"], sorted(reasons.items())) if reasons else "- none"


def dedup_table(ctx: dict) -> str:
    """What dedup removed (timings left out: the card has none)."""
    pool = ctx["pool"]
    rows = [["parsed, before dedup", f"{pool.before_dedup:,}"]]
    rows += [[k, f"{v:,}" if isinstance(v, int) else v] for k, v in pool.dedup.items() if not k.startswith("seconds")]
    return md_table(["dedup", "value"], rows)


def gate_table(ctx: dict) -> str:
    """Each Great Expectations expectation with its outcome, per stage (suite medprep.<stage>)."""
    return md_table(
        ["stage", "expectation", "column", "success", "unexpected", "observed"],
        [[g.get("stage", "pool"), g["expectation"], g["column"], "pass" if g["success"] else "FAIL",
          g["unexpected_count"], f"{g['observed_value']:.3f}" if isinstance(g["observed_value"], float) else g["observed_value"]]
         for g in ctx["gate"]],
    )


def sampling_tables(ctx: dict) -> tuple[str, str]:
    """The sampler's parameters, and per source what was asked against what was drawn."""
    cfg, rep = ctx["sample_config"], ctx["sample"].report
    params = md_table(
        ["parameter", "value"],
        [
            ["size", cfg["size"]],
            ["seed", cfg["seed"]],
            ["weights", cfg["weights"] or "natural mix of the pool"],
            ["min high-risk share", cfg["min_high"]],
            ["min low-risk share", cfg["min_low"]],
            ["val fraction", cfg["val_fraction"]],
            ["strata", "source x risk level x language" if cfg.get("rl_ground_truth", "any") == "any"
             else "source x verifiability x risk level x language"],
            *sampling_rows(cfg, rep),
        ],
    )
    by_source = md_table(
        ["source", "requested share", "achieved share", "drawn", "high", "medium", "low"],
        [[s, v["requested_share"], v["achieved_share"], v["drawn"], v["risk"]["high"], v["risk"]["medium"], v["risk"]["low"]]
         for s, v in sorted(rep["by_source"].items())],
    )
    return params, by_source


def output_files_table(ctx: dict) -> str:
    """Every published file with rows and sha256 (RL paths relative to the output folder)."""
    rows = [[k, f"{v.rows:,}", f"`{v.sha256}`"] for k, v in sorted(ctx["outputs"]["files"].items())]
    for key in ("exports", "response_only_exports"):
        for _fmt, splits in sorted((ctx.get("rl") or {}).get(key, {}).items()):
            for _, v in sorted(splits.items()):
                rows.append([f"rl/{v['path']}", f"{v['rows']:,}", f"`{v['sha256']}`"])
    return md_table(["file", "rows", "sha256"], rows)


def verifier_block(rep: dict | None) -> str:
    """The judge's agreement with each source's own reference responses (empty: stage off).

    The endpoint's URL and model are shown; the API key never reaches the report."""
    if not rep:
        return ""
    ep = rep["endpoint"]
    lines = [
        f"Judge `{md_text(ep['model'])}` at `{md_text(ep['base_url'])}`, prompt `{rep['prompt_version']}`, "
        f"{rep['votes']} vote(s) per record. Agreement = share of records whose own response the judge "
        "called correct against the short reference answer.",
        "",
        md_table(["", "records"], [
            ["with a reference answer", f"{rep['with_reference']:,}"],
            ["judged", f"{rep['judged']:,}"],
            ["not judged (request failed or no verdict; kept)", f"{rep['unjudged']:,}"],
            ["agreement", "-" if rep["agreement"] is None else f"{rep['agreement']:.1%}"],
            ["threshold", "none" if rep["threshold"] is None else f"{rep['threshold']}"],
            ["quarantined (verifier_rejected_reference)", f"{rep.get('quarantined', 0):,}"],
        ]),
    ]
    if rep["agreement_by_source"]:
        lines += ["", md_table(["source", "judged", "agreement"], [
            [s, f"{v['judged']:,}", f"{v['agreement']:.1%}"] for s, v in sorted(rep["agreement_by_source"].items())])]
    c = rep.get("client", {})
    if c:
        lines += ["", f"Requests: {c.get('requests', 0):,} sent, {c.get('cache_hits', 0):,} served from cache, "
                      f"{c.get('errors', 0):,} failed."]
    return "\n".join(lines)


def decontam_block(dec) -> str:
    """'Decontamination' section: the benchmark files read (name, file, items), the method, and
    per benchmark how many pool records were quarantined as contaminated (``dec``: the
    decontaminate task's result; None when the run predates the stage)."""
    if dec is None:
        return "- not run"
    lines = []
    if not dec.ran:
        lines += [f"- {md_text(dec.note)}", ""]
    else:
        c = dec.counts
        lines += [f"Pool records checked against the benchmark test files in `{dec.benchmarks_dir}`: "
                  f"{c['in']:,} in, {c['kept']:,} kept, {dec.contaminated:,} quarantined as "
                  "`contaminated:<benchmark>:<item id>` (question and answer kept in the quarantine file).", ""]
    if dec.files:
        lines += ["Benchmark files read:", "",
                  md_table(["benchmark", "file", "items", "sha256 (short)", "note"],
                           [[f["benchmark"] or "-", f["file"], f"{f['items']:,}", f"`{f['sha256'][:12]}`", f["note"]]
                            for f in dec.files]), ""]
    if dec.ran:
        lines += [f"Method: {md_text(dec.settings['method'])} (docs/decontamination.md).", "",
                  md_table(["benchmark", "items", "too short to check", "items matched", "records quarantined"],
                           [[b, f"{v['items']:,}", f"{v['too_short']:,}", f"{v['items_matched']:,}", f"{v['records']:,}"]
                            for b, v in sorted(dec.by_benchmark.items())]), ""]
    return "\n".join(lines).rstrip("\n")


def passrate_block(rep: dict | None) -> str:
    """The pass-rate stage: policy, band, counts by outcome and a histogram of rates (empty: stage off).

    The endpoint's URL and model are shown; the API key never reaches the report."""
    if not rep:
        return ""
    ep, c = rep["endpoint"], rep.get("client", {})
    params = ", ".join(f"{k} {v}" for k, v in sorted(rep["sampling"].items()))
    lines = [
        f"Policy `{md_text(ep['model'])}` at `{md_text(ep['base_url'])}`, {rep['samples']} sample(s) per prompt "
        f"({params}), scored by {md_text(rep['scorer'])}"
        + (f" (judge `{md_text(rep['judge']['model'])}`)" if rep.get("judge") else "")
        + f". Kept: {rep['band']}; the rate is in `meta.model.pass_rate` and the RL files' `pass_rate`.",
        "",
        md_table(["", "records"], [
            *([["candidates drawn (oversampled)", f"{rep['candidates']:,}"]] if "candidates" in rep else []),
            ["with a verifiable ground truth (scored)", f"{rep['scored']:,}"],
            ["not scored: no verifiable ground truth (kept)", f"{rep['unscored_no_ground_truth']:,}"],
            ["not scored: every request failed (kept)", f"{rep['unscored_errors']:,}"],
            ["quarantined pass_rate:too_hard", f"{rep['too_hard']:,}"],
            ["quarantined pass_rate:too_easy", f"{rep['too_easy']:,}"],
            ["kept", f"{rep['kept']:,}"],
            *([["drawn into the sample", f"{rep['drawn']:,}"]] if "drawn" in rep else []),
            ["mean pass rate (scored)", "-" if rep["mean_rate"] is None else f"{rep['mean_rate']:.3f}"],
        ]),
        "",
        "Pass rate (passing samples / samples) of the scored prompts:",
        "",
        bars(list(rep["histogram"]), list(rep["histogram"].values())),
    ]
    if c:
        lines += ["", f"Requests: {c.get('requests', 0):,} sent, {c.get('cache_hits', 0):,} served from cache, "
                      f"{c.get('errors', 0):,} failed, {c.get('req_per_s', 0)} req/s."]
    return "\n".join(lines)


def chain_block(rep: dict | None) -> str:
    """The chain stage: writer, prompt version, parameters, accepted / rejected by reason (empty: off)."""
    if not rep:
        return ""
    ep, c = rep["endpoint"], rep.get("client", {})
    params = ", ".join(f"{k} {v}" for k, v in sorted(rep["sampling"].items()))
    lines = [
        f"Writer `{md_text(ep['model'])}` at `{md_text(ep['base_url'])}`, prompt `{rep['prompt_version']}` ({params}); "
        "a chain is kept when the gate accepts the record with it"
        + (f" and the judge `{md_text(rep['judge']['model'])}` accepts its final answer" if rep.get("judge") else "")
        + ". Kept chains carry `meta.model.chain_model`, `chain_prompt`, `chain_params`; a rejected generation is "
        "quarantined and its record stays without reasoning.",
        "",
        md_table(["", "records"], [
            ["without reasoning (asked)", f"{rep['without_reasoning']:,}"],
            ["chains accepted", f"{rep['accepted']:,}"],
            *[[f"rejected `{k}`", f"{n:,}"] for k, n in sorted(rep["rejected_by_reason"].items())],
        ]),
    ]
    if c:
        lines += ["", f"Requests: {c.get('requests', 0):,} sent, {c.get('cache_hits', 0):,} served from cache, "
                      f"{c.get('errors', 0):,} failed, {c.get('req_per_s', 0)} req/s."]
    return "\n".join(lines)


def card_blocks(ctx: dict, sample: pl.DataFrame, pool: pl.DataFrame) -> dict:
    """Every block the template places, each rendered by its own small function."""
    params, by_source = sampling_tables(ctx)
    risk = list(S.RISK_LEVELS)
    return {
        "version": ctx["version"],
        "summary": summary_block(ctx, sample, pool),
        "warnings": warnings_block(ctx),
        "synthetic": synthetic_inputs(ctx),
        "provenance": provenance_table(ctx),
        "file_hashes": [(f["relpath"], f["sha256"], f"{f['size']:,}", f.get("revision"), f["how"]) for f in ctx["files"]],
        "any_revision": any(f.get("revision") for f in ctx["files"]),
        "downloads": downloads_table(ctx),
        "parsing": parsing_table(ctx),
        "quarantine": quarantine_table(ctx),
        "dedup": dedup_table(ctx),
        "decontam": decontam_block(ctx.get("decontam")),
        "gate": gate_table(ctx),
        "data_docs": ctx.get("data_docs"),
        "sampling_params": params,
        "sampling_by_source": by_source,
        "by_source_language": crosstab(sample, [S.SOURCE, S.LANGUAGE], S.RISK_LEVEL, risk),
        "by_specialty": crosstab(sample, [S.SPECIALTY], S.RISK_LEVEL, risk),
        "by_split": crosstab(sample, [SPLIT], S.RISK_LEVEL, risk),
        "pool_risk": crosstab(pool, [S.SOURCE, S.LANGUAGE], S.RISK_LEVEL, risk),
        "risk_chart": risk_by_source_chart(sample),
        "lengths": length_table(sample),
        "question_hist": length_histogram(sample, S.QUESTION),
        "reasoning_hist": length_histogram(sample, S.REASONING),
        "labeller": "\n".join(labeller_section(ctx.get("labeller"))),
        "output_files": output_files_table(ctx),
        "rl": rl_lines(ctx.get("rl")),
        "rl_by_source": rl_source_table(ctx.get("rl"), ctx["sample"].report),
        "verifier": verifier_block(ctx["sample"].report.get("verify_references")),
        "passrate": passrate_block(ctx["sample"].report.get("pass_rate")),
        "chain": chain_block(ctx["sample"].report.get("chain")),
    }


@functools.cache
def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=False,  # markdown, escaped per block by md_text / md_table
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("data_card.md.j2")


def render(ctx: dict, sample: pl.DataFrame, pool: pl.DataFrame) -> str:
    """The whole card as markdown: ``templates/data_card.md.j2`` filled with :func:`card_blocks`."""
    return _template().render(**card_blocks(ctx, sample, pool))


def card_context(version: str, files: list[dict], downloads: dict, parsed: list[ParsedFile], pool: Pool,
                 gate: list[dict], cfg: dict, sample: Sample, registry=None, decontam=None) -> dict:
    """What the card needs from the run's steps (the written files are added later);
    ``registry`` is the run's source registry (built-ins when None); ``decontam`` the
    decontaminate task's result."""
    from tasks.ingest.sources import REGISTRY

    registry = registry or REGISTRY

    used = sorted({f["source"] for f in files})
    return {
        "version": version,
        "sources": used,
        "files": files,
        "downloads": downloads,
        "modelscope_ids": {s: registry[s].modelscope_id for s in used},
        "licenses": {s: registry[s].license for s in used},
        "parsed": parsed,
        "pool": pool,
        "gate": gate,
        "sample_config": cfg,
        "sample": sample,
        "decontam": decontam,
    }


def render_card(ctx: dict) -> str:
    """The card for one run: ``ctx`` from the flow plus the written files and the RL summary."""
    sample = pl.read_parquet(ctx["sample"].sample_file.path)
    pool = pl.read_parquet(ctx["pool"].pool_file.path, columns=[S.SOURCE, S.LANGUAGE, S.RISK_LEVEL])
    return render({**ctx, "labeller": _labeller_figures()}, sample, pool)


def _labeller_figures() -> dict | None:
    """The committed dev/test figures of the labellers (written by eval/risk_eval.py), with the
    running labeller's versions; the card never reads or scores the test set itself."""
    from tasks.quality.labels import RISK_VERSION, SPECIALTY_VERSION, evaluation_results

    res = evaluation_results()
    return {"results": res, "risk_version": RISK_VERSION, "specialty_version": SPECIALTY_VERSION}


_LAB_METRICS = (("recall_high", "recall (high)"), ("precision_high", "precision (high)"),
                ("accuracy", "3-class accuracy"), ("specialty_accuracy", "specialty accuracy"))


def _fig(m: dict | None) -> str:
    if not m:
        return "–"
    lo, hi = m["ci95"]
    return f"{m['value']:.2f} ({lo:.2f}–{hi:.2f})"


def labeller_section(lab: dict | None) -> list[str]:
    """'Risk labeller' card section: frozen-test figures with 95 % intervals, per language and
    source kind, the dev figures beside them, and the labeller version they belong to."""
    lines = ["## Risk labeller", ""]
    res = (lab or {}).get("results")
    if not lab or not res or "test" not in res.get("splits", {}):
        version = (lab or {}).get("risk_version", "?")
        return lines + [f"- labeller `{version}`: no frozen-test figures recorded in this installation", ""]
    lines += [
        f"Labeller `{lab['risk_version']}` (rules: `tasks/quality/lexicons/`, model: `tasks/quality/models/`, "
        f"guideline: `docs/risk-guideline.md`), "
        f"specialty `{lab['specialty_version']}`. Figures on the **frozen test split** of the labelled "
        f"evaluation set (never read while tuning), bootstrap 95 % intervals in brackets "
        f"({res['bootstrap']} resamples, seed {res['seed']}); reproduce with `python eval/risk_eval.py`.",
        "",
    ]
    if res.get("risk_version") != lab["risk_version"] or res.get("specialty_version") != lab["specialty_version"]:
        lines += [f"- **warning**: these figures were measured for `{res.get('risk_version')}` / "
                  f"`{res.get('specialty_version')}`, not the running labeller; re-run the evaluation", ""]
    test = res["splits"]["test"]["groups"]
    dev = res["splits"].get("dev", {}).get("groups", {})
    rows = []
    for group in sorted(test, key=lambda g: (g != "all", g)):
        m = test[group]
        rows.append([group, m["n"], *[_fig(m.get(k)) for k, _ in _LAB_METRICS]])
    lines += [md_table(["test group", "items", *[t for _, t in _LAB_METRICS]], rows), ""]
    if dev.get("all"):
        d, t = dev["all"], test["all"]
        drop = [f"{(d[k] or {}).get('value', float('nan')) - (t[k] or {}).get('value', float('nan')):+.2f}"
                if d.get(k) and t.get(k) else "–" for k, _ in _LAB_METRICS]
        lines += [md_table(["all items", "items", *[t for _, t in _LAB_METRICS]],
                           [["dev (tuned on)", d["n"], *[_fig(d.get(k)) for k, _ in _LAB_METRICS]],
                            ["test (frozen)", t["n"], *[_fig(t.get(k)) for k, _ in _LAB_METRICS]],
                            ["drop dev − test", "", *drop]]), ""]
    conf = res["splits"]["test"].get("confusion")
    if conf:
        lines += ["Test confusion matrix (rows: label by reading; columns: labeller):", "",
                  md_table(["expected \\ predicted", *S.RISK_LEVELS],
                           [[e, *[conf[e][p] for p in S.RISK_LEVELS]] for e in S.RISK_LEVELS]), ""]
    return lines

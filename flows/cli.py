"""`medprep` command line: prepare, sources, prepare-rl, demo (see README, "Command line")."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_RAW = REPO / "data" / "samples"
DEMO_BENCHMARKS = REPO / "data" / "benchmark-samples"  # synthetic test files in the benchmarks' formats

SOURCES_HELP = """\
SOURCES: a registry key (medical-o1), a comma list (medical-o1,delicate-medical) or
key:weight pairs (medical-o1:0.7,datatang-qa:0.3), or "all" (every source that has files).
Omitted: $DATASET_CHOICE, else the sources in priority order until one has data.
`medprep sources` lists the keys and what was found."""


def _quiet_prefect_env() -> None:
    # before `import prefect`: no telemetry, and time for a cold ephemeral server on 2 cores
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


class _NoTracebackForUserErrors(logging.Filter):
    """A bad file or a failed gate is the user's to fix: log the message, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from tasks.core.errors import MedprepError

        if record.exc_info and isinstance(record.exc_info[1], MedprepError):
            record.exc_info = None
            record.exc_text = None
        return True


class _QuietConsole(logging.Filter):
    """Without --verbose, keep Prefect's run log off the terminal where it repeats the failure.

    A failed run would otherwise print the error four or five times (task exception, task state,
    flow exception, flow state) before the CLI's own `medprep: error: …` line, then the ephemeral
    server's shutdown lines. This filter sits on the console handlers only: the API handler still
    sends every line to the run's log in the Prefect UI, and --verbose shows them here too.
    """

    DROP = (
        "Finished in state",  # task and flow state lines (the CLI prints the outcome)
        "Encountered exception during execution",  # flow exception
        "Task run failed with",  # task exception
        "Stopping temporary server",  # ephemeral server shutdown, after the CLI's last line
        "Still processing items",  # EventsWorker draining at exit
        "Created temporary directory",  # Great Expectations' ephemeral docs site
    )

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg if isinstance(record.msg, str) else ""
        return not msg.startswith(self.DROP)


def _console_handlers() -> list[logging.Handler]:
    """Every handler writing to the terminal (not Prefect's API handler)."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    out: list[logging.Handler] = []
    for lg in loggers:
        for h in lg.handlers:
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) and h not in out:
                out.append(h)
    return out


def _install_log_filter(verbose: bool = False) -> None:
    """Filters on the handlers Prefect's logging config creates (prefect/logging/logging.yml)."""
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()  # what `from prefect import flow` would do; later setups are incremental

    f = _NoTracebackForUserErrors()
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).addFilter(f)
        for h in logging.getLogger(name).handlers:
            h.addFilter(f)
    for h in _console_handlers():
        h.addFilter(f)
        if not verbose:
            h.addFilter(_QuietConsole())


def _check_rl_choices(args: argparse.Namespace) -> None:
    """--rl-ground-truth / --rl-question-form: one line naming the valid values (argparse's own
    `choices` would print the usage block too)."""
    from tasks.core.errors import ConfigError

    for flag, value, valid in (("--rl-ground-truth", args.rl_ground_truth, ("verifiable", "prefer", "any")),
                               ("--rl-question-form", args.rl_question_form, ("open", "mc", "both"))):
        if value not in valid:
            raise ConfigError(f"{flag} must be one of {', '.join(valid)}, got {value!r}")


def _check_judge_model(args: argparse.Namespace) -> None:
    """--judge-url needs --judge-model."""
    from tasks.core.errors import ConfigError

    if args.judge_url and not args.judge_model:
        raise ConfigError(f"--judge-url {args.judge_url} needs --judge-model (the model name the server serves)")


def _check_prepared(out_dir: str) -> None:
    """A step run on an already prepared folder needs the sample `prepare` wrote into it."""
    from tasks.core.errors import ConfigError

    train = Path(out_dir) / "processed" / "train.jsonl"
    if not train.is_file():
        raise ConfigError(f"{train} not found: run `medprep prepare` first, or pass --out-dir of the folder it wrote")


def _check_judge(args: argparse.Namespace) -> None:
    """--judge-*: a URL needs a model; votes >= 1; the threshold is a share."""
    from tasks.core.errors import ConfigError

    _check_judge_model(args)
    if args.judge_url and not args.judge_url.startswith(("http://", "https://")):
        raise ConfigError(f"--judge-url must start with http:// or https://, got {args.judge_url!r}")
    if args.judge_votes < 1:
        raise ConfigError(f"--judge-votes must be at least 1, got {args.judge_votes}")
    if args.verify_threshold is not None and not 0 <= args.verify_threshold <= 1:
        raise ConfigError(f"--verify-threshold must lie in 0-1, got {args.verify_threshold}")
    if args.verify_threshold is not None and not args.judge_url:
        raise ConfigError("--verify-threshold needs --judge-url (the judge that scores the records)")


def _check_policy(args: argparse.Namespace) -> None:
    """--policy-* / --pass-*: a URL needs a model; samples >= 1; the band parses; off without a URL."""
    from tasks.core.errors import ConfigError
    from tasks.model.passrate import Band

    if args.policy_url and not args.policy_model:
        raise ConfigError(f"--policy-url {args.policy_url} needs --policy-model (the model name the server serves)")
    if args.policy_url and not args.policy_url.startswith(("http://", "https://")):
        raise ConfigError(f"--policy-url must start with http:// or https://, got {args.policy_url!r}")
    if args.pass_samples < 1:
        raise ConfigError(f"--pass-samples must be at least 1, got {args.pass_samples}")
    if getattr(args, "pass_oversample", 1.0) < 1:
        raise ConfigError(f"--pass-oversample must be at least 1, got {args.pass_oversample}")
    if args.pass_max_tokens < 1:
        raise ConfigError(f"--pass-max-tokens must be positive, got {args.pass_max_tokens}")
    Band.parse(args.pass_band)


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad arguments before Prefect is imported: a server start costs 6-20 s, a typo none.

    The flow checks the same values again (the one rule lives in tasks.ingest.plan and
    tasks.sample_config), so a deployment run with bad parameters fails the same way.
    """
    from tasks.core.errors import ConfigError

    # online, `prepare` creates --raw-dir for the download; anywhere else there is nothing to read
    if (args.command == "sources" or (args.command == "prepare" and args.offline)) and not Path(args.raw_dir).is_dir():
        raise ConfigError(
            f"--raw-dir {args.raw_dir}: folder does not exist. Create it and put the source files "
            "there, or point --raw-dir at the folder that has them"
        )
    if args.command in ("prepare", "prepare-rl"):
        _check_rl_choices(args)
    if args.command == "prepare":
        from tasks.ingest.plan import parse_sources
        from tasks.ingest.sources import build_registry
        from tasks.sample_config import SampleConfig

        parse_sources(args.sources, build_registry(args.source_config))
        SampleConfig(size=args.sample_size, seed=args.seed, min_high=args.min_high, min_low=args.min_low,
                     val_fraction=args.val_fraction, allow_out_of_range=args.allow_out_of_range,
                     rl_ground_truth=args.rl_ground_truth, min_verifiable=args.min_verifiable).check()
        if args.max_prompt_tokens < 1:
            raise ConfigError(f"--max-prompt-tokens must be positive, got {args.max_prompt_tokens}")
        _check_judge(args)
        if args.benchmarks_dir is not None and not Path(args.benchmarks_dir).is_dir():
            raise ConfigError(f"--benchmarks-dir {args.benchmarks_dir}: folder does not exist. Put the benchmark "
                              "test files there (see docs/decontamination.md), or leave the flag out to use "
                              "data/benchmarks when it exists")
        from tasks.core.runner import runner_spec

        runner_spec(args.task_runner)
        from expectations.thresholds import check_max_quarantine_share

        check_max_quarantine_share(args.max_quarantine_share)
        _check_policy(args)
        if args.chain_url and not args.chain_model:
            raise ConfigError(f"--chain-url {args.chain_url} needs --chain-model (the model name the server serves)")
        if args.chain_url and not args.chain_url.startswith(("http://", "https://")):
            raise ConfigError(f"--chain-url must start with http:// or https://, got {args.chain_url!r}")
        if args.chain_max_tokens < 1:
            raise ConfigError(f"--chain-max-tokens must be positive, got {args.chain_max_tokens}")
        if args.revision is not None and (args.offline or not args.revision.strip()):
            raise ConfigError("--revision pins what is downloaded: give a branch, tag or commit id, "
                              "and drop --offline")
    if args.command == "passrate":
        if not args.policy_url:
            raise ConfigError("passrate needs --policy-url and --policy-model (the model you will train, served "
                              "OpenAI-compatible)")
        _check_policy(args)
        _check_judge_model(args)
        _check_prepared(args.out_dir)
    if args.command == "chains":
        if not (args.chain_url and args.chain_model):
            raise ConfigError("chains needs --chain-url and --chain-model (the writer model, served OpenAI-compatible)")
        if not args.chain_url.startswith(("http://", "https://")):
            raise ConfigError(f"--chain-url must start with http:// or https://, got {args.chain_url!r}")
        if args.chain_max_tokens < 1:
            raise ConfigError(f"--chain-max-tokens must be positive, got {args.chain_max_tokens}")
        _check_judge_model(args)
        _check_prepared(args.out_dir)
    if args.command == "verify":
        if not args.judge_url:
            raise ConfigError("verify needs --judge-url and --judge-model (the judge, served OpenAI-compatible)")
        _check_judge(args)
        _check_prepared(args.out_dir)
    if args.command == "prepare-rl":
        _check_prepared(args.out_dir)
        if args.max_prompt_tokens < 1:
            raise ConfigError(f"--max-prompt-tokens must be positive, got {args.max_prompt_tokens}")


def _env_flag(name: str) -> bool:
    """A boolean from the environment: set and not 0/false/no/empty."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _env_raw_dir() -> str:
    """--raw-dir's default: $MEDPREP_RAW_DIR (e.g. for the seed guide's scripts), else data/raw."""
    return os.environ.get("MEDPREP_RAW_DIR") or "data/raw"


def build_parser(prog: str = "medprep") -> argparse.ArgumentParser:
    """The argument parser (also used to render --help in the README)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Turn public medical QA / reasoning datasets into gated, risk-balanced RL training data.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p.set_defaults(_commands=sub.choices)
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true",
                         help="show Prefect's run log (task states, exceptions) on the terminal too")

    pr = sub.add_parser(
        "prepare",
        help="run the prepare flow: download, detect, parse, gate, sample, write",
        description="Run the `prepare` Prefect flow.\n\n" + SOURCES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[verbose],
    )
    pr.add_argument("sources", nargs="?", default=None, metavar="SOURCES")
    _common(pr)

    src = sub.add_parser("sources", help="list every source, where its files were found, records parsed",
                         parents=[verbose])
    src.add_argument("--offline", action="store_true", default=_env_flag("MEDPREP_OFFLINE"),
                     help="do not probe ModelScope (default: $MEDPREP_OFFLINE)")
    src.add_argument("--raw-dir", default=_env_raw_dir(), help="where input files live (default: %(default)s)")
    src.add_argument("--source-config", default=None, metavar="FILE", help="user-defined sources (JSON/TOML, see README)")

    rl = sub.add_parser("prepare-rl", help="export RL prompts (verl, OpenRLHF, TRL) from the last prepared sample",
                        parents=[verbose])
    rl.add_argument("--out-dir", default="data", help="the prepare run's output folder (default: %(default)s)")
    rl.add_argument("--max-prompt-tokens", type=int, default=1024, help="drop longer prompts (default: %(default)s)")
    rl.add_argument("--rl-ground-truth", default="prefer", metavar="{verifiable,prefer,any}",
                    help="response-only prompts: left out, in rl/response_only/, or in the main files (default: %(default)s)")
    rl.add_argument("--rl-question-form", default="both", metavar="{open,mc,both}",
                    help="records with options: open, mc (letter as ground truth) or both (default: %(default)s)")
    rl.add_argument("--seed", type=int, default=42, help="orders the options of multiple-choice prompts (default: %(default)s)")

    pr_rate = sub.add_parser("passrate", help="pass-rate filter on an already prepared sample (needs a policy endpoint)",
                             parents=[verbose])
    pr_rate.add_argument("--out-dir", default="data", help="the prepare run's output folder (default: %(default)s)")
    mg = pr_rate.add_argument_group("policy (an OpenAI-compatible server, key in $MEDPREP_API_KEY)")
    _policy_flags(mg)
    mg.add_argument("--judge-url", default=None, metavar="URL", help="score well-formed answers with this judge")
    mg.add_argument("--judge-model", default=None, metavar="NAME", help="model name the judge endpoint serves")
    pr_rate.add_argument("--no-rl", action="store_true", help="do not rewrite rl/ (it then still holds the unfiltered export)")

    ch = sub.add_parser("chains", help="reasoning chains by a model for an already prepared sample's records without one",
                        parents=[verbose])
    ch.add_argument("--out-dir", default="data", help="the prepare run's output folder (default: %(default)s)")
    cg = ch.add_argument_group("writer (an OpenAI-compatible server, key in $MEDPREP_API_KEY)")
    cg.add_argument("--chain-url", default=None, metavar="URL", help="writer endpoint, e.g. http://gpu-host:8000/v1")
    cg.add_argument("--chain-model", default=None, metavar="NAME", help="model name the writer endpoint serves")
    cg.add_argument("--chain-max-tokens", type=int, default=1024, help="writer completion budget (default: %(default)s)")
    cg.add_argument("--judge-url", default=None, metavar="URL", help="keep only chains whose final answer this judge accepts")
    cg.add_argument("--judge-model", default=None, metavar="NAME", help="model name the judge endpoint serves")
    ch.add_argument("--no-rl", action="store_true", help="do not rewrite rl/")

    vf = sub.add_parser("verify", help="judge an already prepared sample's own reference answers (verify-references)",
                        parents=[verbose])
    vf.add_argument("--out-dir", default="data", help="the prepare run's output folder (default: %(default)s)")
    vg = vf.add_argument_group("judge (an OpenAI-compatible server, key in $MEDPREP_API_KEY)")
    vg.add_argument("--judge-url", default=None, metavar="URL", help="judge endpoint, e.g. http://gpu-host:8000/v1")
    vg.add_argument("--judge-model", default=None, metavar="NAME", help="model name the judge endpoint serves")
    vg.add_argument("--judge-votes", type=int, default=1, help="judge calls per record (default: %(default)s)")
    vg.add_argument("--verify-threshold", type=float, default=None, metavar="F",
                    help="quarantine records whose own response the judge scores below F (0-1; default: keep all)")
    vf.add_argument("--no-rl", action="store_true", help="do not rewrite rl/")

    demo = sub.add_parser("demo", help="the whole pipeline on the shipped sample files, offline", parents=[verbose])
    demo.add_argument("--out-dir", default="data/demo", help="where to write (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=42)
    return p


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--offline", action="store_true", default=_env_flag("MEDPREP_OFFLINE"),
                   help="skip the ModelScope download; read --raw-dir only (default: $MEDPREP_OFFLINE)")
    p.add_argument("--revision", default=None, metavar="REV",
                   help="ModelScope revision to download (branch, tag or commit id; default: the dataset's "
                        "default branch); the data card records it")
    p.add_argument("--sample-size", type=int, default=5_000, help="records to sample, 2,000-10,000 (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="random seed; same inputs + seed = same files (default: %(default)s)")
    p.add_argument("--raw-dir", default=_env_raw_dir(), help="input files (default: $MEDPREP_RAW_DIR or %(default)s)")
    p.add_argument("--out-dir", default="data", help="outputs: processed/, quarantine/, rl/, DATA_CARD.md (default: %(default)s)")
    p.add_argument("--min-high", type=float, default=0.2, help="minimum high-risk share per source (default: %(default)s)")
    p.add_argument("--min-low", type=float, default=0.2, help="minimum low-risk share per source (default: %(default)s)")
    p.add_argument("--val-fraction", type=float, default=0.05, help="validation share (default: %(default)s)")
    p.add_argument("--allow-out-of-range", action="store_true", help="allow a sample size outside 2,000-10,000")
    p.add_argument("--no-rl", action="store_true", help="skip the RL prompt export")
    p.add_argument("--max-prompt-tokens", type=int, default=1024,
                   help="RL export: drop (and count) prompts over this estimated size (default: %(default)s)")
    p.add_argument("--source-config", default=None, metavar="FILE",
                   help="user-defined sources: JSON/TOML list of {name, files, fields, ...} (see README)")
    p.add_argument("--rl-ground-truth", default="prefer", metavar="{verifiable,prefer,any}",
                   help="RL sample: only records with a verifiable ground truth (short answer or option letter), "
                        "prefer them (at least --min-verifiable of the sample; response-only prompts go to "
                        "rl/response_only/), or ignore it (default: %(default)s)")
    p.add_argument("--min-verifiable", type=float, default=0.8,
                   help="with --rl-ground-truth prefer: minimum verifiable share of the sample (default: %(default)s)")
    p.add_argument("--rl-question-form", default="both", metavar="{open,mc,both}",
                   help="records with options: open-ended prompt, multiple-choice prompt (letter as ground "
                        "truth), or both (default: %(default)s)")
    p.add_argument("--benchmarks-dir", default=None, metavar="DIR",
                   help="evaluation benchmarks' test files (MedQA, MedMCQA, PubMedQA, CMB, CMExam, MMLU, any "
                        "question file): overlapping records are quarantined as contaminated (default: "
                        "'benchmarks' next to --raw-dir, i.e. data/benchmarks, skipped when absent)")
    p.add_argument("--task-runner", default=None, metavar="RUNNER",
                   help="where tasks run: thread, dask (a local Dask cluster) or dask:ADDRESS (an existing "
                        "scheduler, e.g. dask:tcp://scheduler:8786; needs medprep[dask]); default: "
                        "$MEDPREP_TASK_RUNNER, else thread")
    from expectations.thresholds import MAX_QUARANTINE_SHARE

    p.add_argument("--max-quarantine-share", type=float, default=MAX_QUARANTINE_SHARE, metavar="F",
                   help="fail the run when a source's share of records quarantined while parsing exceeds F "
                        "(0-1; a file that broken is not data; default: %(default)s)")
    m = p.add_argument_group("model in the loop (optional; an OpenAI-compatible server, key in $MEDPREP_API_KEY)")
    m.add_argument("--judge-url", default=None, metavar="URL",
                   help="judge endpoint, e.g. http://gpu-host:8000/v1: runs verify-references on the sample")
    m.add_argument("--judge-model", default=None, metavar="NAME", help="model name the judge endpoint serves")
    m.add_argument("--judge-votes", type=int, default=1, help="judge calls per record (default: %(default)s)")
    m.add_argument("--verify-threshold", type=float, default=None, metavar="F",
                   help="quarantine records whose own response the judge scores below F (0-1; default: keep all)")
    _policy_flags(m)
    m.add_argument("--chain-url", default=None, metavar="URL",
                   help="writer endpoint: writes reasoning chains for sampled records without one (chain stage)")
    m.add_argument("--chain-model", default=None, metavar="NAME", help="model name the writer endpoint serves")
    m.add_argument("--chain-max-tokens", type=int, default=1024, help="writer completion budget (default: %(default)s)")
    m.add_argument("--pass-oversample", type=float, default=2.0, metavar="X",
                   help="pass-rate: score X times the sample size of stratified candidates, then draw the sample "
                        "from those in the band (default: %(default)s)")


def _policy_flags(m) -> None:
    m.add_argument("--policy-url", default=None, metavar="URL",
                   help="policy endpoint (the model you will train), e.g. http://gpu-host:8000/v1: runs the "
                        "pass-rate filter")
    m.add_argument("--policy-model", default=None, metavar="NAME", help="model name the policy endpoint serves")
    m.add_argument("--pass-samples", type=int, default=4, metavar="N", help="policy samples per prompt (default: %(default)s)")
    m.add_argument("--pass-band", default="0,1", metavar="LO,HI",
                   help="keep prompts with LO < pass rate < HI; brackets keep an end, e.g. [0,0.75) "
                        "(default: %(default)s)")
    m.add_argument("--pass-temperature", type=float, default=1.0, help="policy sampling temperature (default: %(default)s)")
    m.add_argument("--pass-max-tokens", type=int, default=1024, help="policy completion budget (default: %(default)s)")


def _run_prepare(args: argparse.Namespace) -> dict:
    from flows.prepare import prepare_on

    return prepare_on(args.task_runner)(
        sources=args.sources,
        download=not args.offline,
        sample_size=args.sample_size,
        seed=args.seed,
        raw_dir=args.raw_dir,
        out_dir=args.out_dir,
        min_high=args.min_high,
        min_low=args.min_low,
        val_fraction=args.val_fraction,
        allow_out_of_range=args.allow_out_of_range,
        export_rl=not args.no_rl,
        max_prompt_tokens=args.max_prompt_tokens,
        custom_sources=args.source_config,
        rl_ground_truth=args.rl_ground_truth,
        min_verifiable=args.min_verifiable,
        rl_question_form=args.rl_question_form,
        revision=args.revision,
        judge_url=args.judge_url,
        judge_model=args.judge_model,
        judge_votes=args.judge_votes,
        verify_threshold=args.verify_threshold,
        benchmarks_dir=args.benchmarks_dir,
        max_quarantine_share=args.max_quarantine_share,
        policy_url=args.policy_url,
        policy_model=args.policy_model,
        pass_samples=args.pass_samples,
        pass_band=args.pass_band,
        pass_oversample=args.pass_oversample,
        pass_temperature=args.pass_temperature,
        pass_max_tokens=args.pass_max_tokens,
        chain_url=args.chain_url,
        chain_model=args.chain_model,
        chain_max_tokens=args.chain_max_tokens,
    )


def _summary(result: dict, out_dir: str, synthetic: bool = False) -> None:
    """What was written, aligned, with what was asked against what was achieved."""
    def count(n: int, unit: str) -> str:
        return f"{n:,} {unit}{'' if n == 1 else 's'}"

    rows = []
    for name, info in sorted(result["files"].items()):
        rows.append((name, "report" if name.endswith(".html") else "" if name.endswith(".md") else count(info["rows"], "row")))
    rl = result.get("rl") or {}

    def rl_path(path: str) -> str:  # the export's paths are relative to its folder, rl/
        return f"rl/{path}"

    for key, unit in (("exports", "prompt"), ("response_only_exports", "response-only prompt")):
        for _fmt, splits in sorted(rl.get(key, {}).items()):
            for _split, info in sorted(splits.items()):
                rows.append((rl_path(info["path"]), count(info["rows"], unit)))
    if rl:
        rows.append((rl_path(rl["reward_module"]["path"]), "reward"))
        rows += [(rl_path(info["path"]), f"launch ({name})") for name, info in sorted(rl.get("launch", {}).items())]
    width = max(len(r[0]) for r in rows) if rows else 0
    width2 = max(len(r[1]) for r in rows) if rows else 0
    print(f"\nmedprep: done. Outputs in {out_dir}/ (see {out_dir}/DATA_CARD.md)")
    card = Path(out_dir) / "DATA_CARD.md"
    if synthetic or (card.is_file() and "**Not real data**" in card.read_text(encoding="utf-8")):
        print("  input: synthetic demo data written by bench/synth.py and bench/synth_sources.py "
              "(for trying the pipeline, not for training)")
    rep = result["sample"]
    print(f"  sample: asked {rep['requested']:,}, drew {rep['drawn']:,} from a pool of {rep['pool']:,}")
    ver = rl.get("verifiable") or {}
    if ver:
        print(f"  RL prompts: {ver['verifiable']:,} of {ver['prompts']:,} verifiable ({ver['share']:.0%}; "
              f"{rl['ground_truth_kind'].get('choice', 0):,} multiple choice), ground-truth mode {rl.get('ground_truth')}")
    for name, n in rows:
        print(f"  {name:<{width}}  {n:>{width2}}")
    for w in rep["warnings"] + rep["shortfalls"]:
        print(f"  warning: {w}")
    for cmd in rl.get("commands", []):
        print(f"  {cmd}")


def main(argv: list[str] | None = None, prog: str = "medprep") -> int:
    """Entry point of the `medprep` console script (and of the seed guide's scripts/*.py)."""
    parser = build_parser(prog)
    if prog != "medprep" and argv:  # a script bound to one command: its --help shows the script's name
        parser.get_default("_commands")[argv[0]].prog = prog
    args = parser.parse_args(argv)
    from tasks.core.errors import MedprepError

    try:
        check_args(args)  # before Prefect: a bad argument is refused in well under a second
    except MedprepError as err:
        print(f"medprep: error: {err}", file=sys.stderr)
        return 2
    _quiet_prefect_env()
    try:
        if args.command == "sources":
            from tasks.ingest.sources import build_registry
            from tasks.ingest.status import print_sources

            print_sources(args.raw_dir, probe_network=not args.offline, registry=build_registry(args.source_config))
            return 0
        _install_log_filter(args.verbose)
        if args.command == "prepare":
            result = _run_prepare(args)
            _summary(result, args.out_dir)
        elif args.command == "demo":
            from flows.prepare import prepare

            result = prepare(
                sources="all", download=False, raw_dir=str(DEMO_RAW), out_dir=args.out_dir, seed=args.seed,
                benchmarks_dir=str(DEMO_BENCHMARKS),
            )
            _summary(result, args.out_dir, synthetic=True)
        elif args.command == "passrate":
            from flows.model_stages import passrate

            rep = passrate(out_dir=args.out_dir, policy_url=args.policy_url, policy_model=args.policy_model,
                           pass_samples=args.pass_samples, pass_band=args.pass_band,
                           pass_temperature=args.pass_temperature, pass_max_tokens=args.pass_max_tokens,
                           judge_url=args.judge_url, judge_model=args.judge_model, export_rl=not args.no_rl)
            c = rep["client"]
            print(f"medprep: pass-rate: {rep['scored']:,} of {rep['records']:,} records scored, {rep['too_hard']:,} "
                  f"too hard, {rep['too_easy']:,} too easy, {rep['kept']:,} kept; {c['requests']:,} requests, "
                  f"{c['cache_hits']:,} of {c['total']:,} from the cache. See {args.out_dir}/DATA_CARD.md")
            for s in rep["shortfalls"]:
                print(f"  warning: {s}")
        elif args.command == "chains":
            from flows.model_stages import chains

            rep = chains(out_dir=args.out_dir, chain_url=args.chain_url, chain_model=args.chain_model,
                         chain_max_tokens=args.chain_max_tokens, judge_url=args.judge_url, judge_model=args.judge_model,
                         export_rl=not args.no_rl)
            c = rep["client"]
            print(f"medprep: chains: {rep['accepted']:,} of {rep['without_reasoning']:,} records without reasoning got "
                  f"a chain, {rep['rejected']:,} generations quarantined {rep['rejected_by_reason']}; "
                  f"{c['requests']:,} requests, {c['cache_hits']:,} of {c['total']:,} from the cache. "
                  f"See {args.out_dir}/DATA_CARD.md")
        elif args.command == "verify":
            from flows.model_stages import verify

            rep = verify(out_dir=args.out_dir, judge_url=args.judge_url, judge_model=args.judge_model,
                         judge_votes=args.judge_votes, verify_threshold=args.verify_threshold, export_rl=not args.no_rl)
            c = rep["client"]
            print(f"medprep: verify-references: {rep['judged']:,} of {rep['with_reference']:,} judged, agreement "
                  f"{rep['agreement']}, {rep.get('quarantined', 0):,} quarantined; {c['requests']:,} requests, "
                  f"{c['cache_hits']:,} of {c['total']:,} from the cache. See {args.out_dir}/DATA_CARD.md")
        elif args.command == "prepare-rl":
            from flows.prepare_rl import prepare_rl

            summary = prepare_rl(
                processed_dir=str(Path(args.out_dir) / "processed"),
                out_dir=str(Path(args.out_dir) / "rl"),
                max_prompt_tokens=args.max_prompt_tokens,
                ground_truth=args.rl_ground_truth,
                question_form=args.rl_question_form,
                seed=args.seed,
            )
            for cmd in (summary or {}).get("commands", []):
                print(cmd)
        return 0
    except MedprepError as err:
        print(f"medprep: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permissions: the environment's problem, said in one line
        print(f"medprep: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("medprep: interrupted; the previous outputs are untouched (new ones are swapped in only when complete)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

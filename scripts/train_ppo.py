#!/usr/bin/env python3
"""The seed guide's `train_ppo.py`: start RL training on the exported prompts (data/rl).

    python3 scripts/train_ppo.py                       # verl PPO through data/rl/verl_ppo.sh
    python3 scripts/train_ppo.py --trainer openrlhf    # OpenRLHF PPO through data/rl/openrlhf_ppo.sh
    python3 scripts/train_ppo.py --trainer trl         # TRL GRPO (TRL no longer ships PPO)

verl and OpenRLHF run the launch files `prepare-rl` generated (the same files a user runs by hand);
TRL runs GRPOTrainer in this process on data/rl/trl/train.parquet with data/rl/reward.py's reward
functions. Without a GPU the script says so in one line, prints the command it would run and
exits 2 (TRL can be forced onto the CPU with --cpu, for a tiny model). See RL_SETUP_COMPLETE.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

LAUNCH = {"verl": "verl_ppo.sh", "openrlhf": "openrlhf_ppo.sh"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train_ppo.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trainer", choices=("verl", "openrlhf", "trl"), default="verl",
                   help="verl (PPO, default), openrlhf (PPO) or trl (GRPO)")
    p.add_argument("--rl-dir", default="data/rl", help="the RL export folder (default: %(default)s)")
    p.add_argument("--model", default=os.environ.get("MODEL_PATH"),
                   help="policy model: a Hugging Face folder or hub id (default: $MODEL_PATH)")
    p.add_argument("--dry-run", action="store_true", help="print the command and exit")
    p.add_argument("--cpu", action="store_true", help="trl only: train on the CPU (tiny models, smoke tests)")
    p.add_argument("--max-steps", type=int, default=-1, help="trl only: stop after this many steps")
    p.add_argument("--output-dir", default="checkpoints/trl-grpo", help="trl only: where checkpoints go")
    p.add_argument("extra", nargs=argparse.REMAINDER,
                   help="after --: passed to the trainer (Hydra overrides for verl, flags for OpenRLHF)")
    return p


def has_gpu() -> bool:
    """A CUDA device is visible (torch when installed, else nvidia-smi)."""
    if importlib.util.find_spec("torch") is not None:
        import torch

        return bool(torch.cuda.is_available())
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def command(args: argparse.Namespace) -> list[str]:
    """The command this run stands for."""
    rl = Path(args.rl_dir)
    extra = [a for a in args.extra if a != "--"]
    if args.trainer in LAUNCH:
        return ["bash", str(rl / LAUNCH[args.trainer]), *extra]
    cmd = [sys.executable, __file__, "--trainer", "trl", "--rl-dir", str(rl), "--output-dir", args.output_dir]
    return cmd + (["--max-steps", str(args.max_steps)] if args.max_steps > 0 else [])


def shown(args: argparse.Namespace) -> str:
    model = args.model or "/path/to/model"
    return f"MODEL_PATH={shlex.quote(model)} " + " ".join(shlex.quote(c) for c in command(args))


def train_trl(args: argparse.Namespace) -> int:
    """GRPO with TRL on the TRL export, rewards from the export's own reward.py (loaded by path)."""
    import datasets
    import trl

    rl = Path(args.rl_dir)
    spec = importlib.util.spec_from_file_location("medprep_reward", rl / "reward.py")
    reward = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reward)
    data = datasets.load_dataset("parquet", data_files=str(rl / "trl" / "train.parquet"))["train"]
    config = trl.GRPOConfig(output_dir=args.output_dir, use_cpu=args.cpu, max_steps=args.max_steps,
                            report_to="none", save_strategy="no" if args.max_steps > 0 else "steps",
                            logging_steps=1)
    trainer = trl.GRPOTrainer(model=args.model, reward_funcs=[reward.format_reward, reward.correctness_reward],
                              args=config, train_dataset=data)
    trainer.train()
    print(f"train_ppo: TRL GRPO finished {trainer.state.global_step} steps; logs in {args.output_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rl = Path(args.rl_dir)
    needed = rl / (LAUNCH.get(args.trainer) or "trl/train.parquet")
    if not needed.is_file():
        print(f"train_ppo: error: {needed} not found; run `python3 scripts/prepare_rl_data.py` "
              "(after scripts/prepare_data.py) first", file=sys.stderr)
        return 2
    if args.dry_run:
        print(shown(args))
        return 0
    if not (args.cpu and args.trainer == "trl") and not has_gpu():
        what = {"verl": "verl PPO", "openrlhf": "OpenRLHF PPO", "trl": "TRL GRPO (or --cpu for a tiny model)"}
        print(f"train_ppo: no CUDA GPU on this machine; {what[args.trainer]} needs one. On a GPU machine run: "
              f"{shown(args)}", file=sys.stderr)
        return 2
    if not args.model:
        print("train_ppo: error: no model; pass --model or set MODEL_PATH (a Hugging Face folder or hub id)",
              file=sys.stderr)
        return 2
    if args.trainer == "trl":
        return train_trl(args)
    return subprocess.run(command(args), env={**os.environ, "MODEL_PATH": args.model}).returncode


if __name__ == "__main__":
    sys.exit(main())

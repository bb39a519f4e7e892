"""Run a generated launch file's trainer entry point with the trainer's own code, up to the GPU.

tests/tasks/export/rl/test_launch.py runs ``verl_ppo.sh`` / ``openrlhf_ppo.sh`` unchanged with a
``python3`` first on PATH that execs *this* file in the trainer venv (``.venv-trainers``, see
.ci/run), so the arguments arrive exactly as bash expanded them::

    python3 -m verl.trainer.main_ppo OVERRIDE...          -> check_verl
    python3 -m openrlhf.cli.train_ppo_ray --FLAG VALUE...  -> check_openrlhf

Each check runs the trainer's own code as far as it goes without a GPU or a Ray cluster, then
scores a right, a wrong and a malformed response through the trainer's own reward loading, and
writes a JSON report to ``$TRAINER_CHECK_OUT`` (the test asserts on it). Standard library plus
the trainer packages; the tiny tokenizer is loaded by file path (site-packages of the trainer
venv hold an unrelated top-level ``tests`` package).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import runpy
import sys
import traceback
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRONG_ANSWER = "Zzyzx"  # no option letter, shares no token with any fixture ground truth


def _tiny_tokenizer(texts: list[str]):
    spec = importlib.util.spec_from_file_location("medprep_tiny_tokenizer", HERE / "tiny_tokenizer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tokenizer(texts)


def _responses(ground_truth: str) -> dict[str, str]:
    """Right, wrong and malformed responses to one ground truth, as a policy would write them."""
    return {
        "right": f"<think>\nThe findings point to one answer.\n</think>\n\n{ground_truth}",
        "wrong": f"<think>\nThe findings point to one answer.\n</think>\n\n{WRONG_ANSWER}",
        "malformed": str(ground_truth),  # right answer, no reasoning block: format fails
    }


class ReachedGPU(Exception):
    """Raised by a stub at the first call that needs a Ray cluster or a GPU."""


# --------------------------------------------------------------------------------------- verl
def check_verl(overrides: list[str]) -> dict:
    import verl.trainer.main_ppo as main_ppo
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn, load_reward_manager

    report: dict = {"trainer": "verl", "version": importlib.metadata.version("verl"), "overrides": overrides}
    # the same override grammar and config tree as `python3 -m verl.trainer.main_ppo ...` (hydra.main)
    with initialize_config_module("verl.trainer.config", version_base=None):
        cfg = compose("ppo_trainer", overrides=overrides)
        # control: without the micro batch sizes, verl's validate_config must refuse the config
        bare = compose("ppo_trainer", overrides=[o for o in overrides if "micro_batch_size_per_gpu" not in o])
    report["config"] = {
        "reward.custom_reward_function": OmegaConf.to_container(cfg.reward.custom_reward_function),
        "top_level_custom_reward_function": OmegaConf.to_container(cfg.get("custom_reward_function") or {}),
        "data.train_files": cfg.data.train_files,
        "data.val_files": cfg.data.val_files,
        "data.max_prompt_length": cfg.data.max_prompt_length,
        "data.max_response_length": cfg.data.max_response_length,
        "data.filter_overlong_prompts": cfg.data.filter_overlong_prompts,
        "algorithm.adv_estimator": cfg.algorithm.adv_estimator,
        "actor_rollout_ref.model.path": cfg.actor_rollout_ref.model.path,
        "trainer.n_gpus_per_node": cfg.trainer.n_gpus_per_node,
    }

    # verl's own main(): auto_set_device, validate_config(need_reference_policy, need_critic), then
    # run_ppo, which starts Ray and the GPU workers: that call is where this check stops.
    calls: dict = {}
    real_validate = main_ppo.validate_config

    def validate_config(config, use_reference_policy, use_critic):
        calls["validate_config"] = {"use_reference_policy": use_reference_policy, "use_critic": use_critic}
        return real_validate(config=config, use_reference_policy=use_reference_policy, use_critic=use_critic)

    def run_ppo(config, task_runner_class):
        calls["run_ppo"] = {"task_runner": getattr(task_runner_class, "__name__", str(task_runner_class))}
        raise ReachedGPU

    main_ppo.validate_config, main_ppo.run_ppo = validate_config, run_ppo
    try:
        main_ppo.main(cfg)  # hydra.main passes a given config straight to the task function
    except ReachedGPU:
        pass
    report["main"] = calls
    # the GRPO switch (ADV_ESTIMATOR=grpo) through the same main(): no critic then
    with initialize_config_module("verl.trainer.config", version_base=None):
        grpo_cfg = compose("ppo_trainer", overrides=[*overrides, "algorithm.adv_estimator=grpo"])
    ppo_calls = calls
    calls = {}  # the wrappers above write into whatever `calls` is bound to now
    try:
        main_ppo.main(grpo_cfg)
    except ReachedGPU:
        pass
    report["grpo_variant"] = calls
    calls = ppo_calls
    try:
        real_validate(config=bare, use_reference_policy=calls["validate_config"]["use_reference_policy"],
                      use_critic=calls["validate_config"]["use_critic"])
        report["control_without_micro_batches"] = "accepted"
    except Exception as exc:  # hydra wraps the dataclass assertion in InstantiationException
        report["control_without_micro_batches"] = f"{type(exc).__name__}: {exc}"

    # verl's dataset class reads the training parquet with the script's data config
    train_file = cfg.data.train_files
    import pyarrow.parquet as pq

    texts = [m["content"] for row in pq.read_table(train_file).to_pylist() for m in row["prompt"]]
    tokenizer = _tiny_tokenizer(texts + ["The findings point to one answer.", WRONG_ANSWER])
    from verl.utils.dataset.rl_dataset import RLHFDataset

    dataset = RLHFDataset(data_files=train_file, tokenizer=tokenizer, config=cfg.data)
    item = dataset[0]
    report["dataset"] = {"class": "RLHFDataset", "rows": len(dataset), "parquet_rows": pq.read_metadata(train_file).num_rows,
                         "data_source": item["data_source"], "ground_truth": item["reward_model"]["ground_truth"]}

    # the reward verl loads from reward.custom_reward_function, called as verl's reward manager
    # calls it: token ids -> tokenizer.decode(skip_special_tokens=True) -> compute_score
    fn = get_custom_reward_fn(cfg)
    ground_truth = item["reward_model"]["ground_truth"]
    responses = _responses(ground_truth)
    report["custom_reward_fn"] = {k: float(fn(data_source=item["data_source"], solution_str=v, ground_truth=ground_truth,
                                              extra_info=dict(item.get("extra_info") or {})))
                                  for k, v in responses.items()}
    manager = load_reward_manager(cfg, tokenizer)
    report["reward_manager"] = {"class": type(manager).__name__, "scores": {}, "decoded": {}}
    import numpy as np
    import torch
    from verl import DataProto

    for kind, text in responses.items():
        ids = tokenizer(text + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        data = DataProto.from_dict(
            tensors={"responses": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)},
            non_tensors={"data_source": np.array([item["data_source"]], dtype=object),
                         "reward_model": np.array([{"ground_truth": ground_truth}], dtype=object),
                         "extra_info": np.array([dict(item.get("extra_info") or {})], dtype=object)},
        )
        out = manager.loop.run_until_complete(manager.run_single(data))
        report["reward_manager"]["scores"][kind] = float(out["reward_score"])
        report["reward_manager"]["decoded"][kind] = tokenizer.decode(ids, skip_special_tokens=True)
    return report


# ----------------------------------------------------------------------------------- OpenRLHF
def _stub_openrlhf_launch_imports(recorded: dict) -> list[str]:
    """Stub what ``openrlhf.cli.train_ppo_ray`` imports at the top for its Ray/GPU half.

    ``ray`` and ``ray.util.placement_group`` and the ``openrlhf.trainer.ray*`` modules (which import
    vLLM and DeepSpeed) are replaced in ``sys.modules``; the CLI module itself — argument parser,
    ``hierarchize``, every argument check and ``train()`` up to creating the vLLM engines — is
    OpenRLHF's own code. ``create_vllm_engines`` records its arguments and stops the run.
    """
    def module(name: str, **attrs) -> types.ModuleType:
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    def create_vllm_engines(num_engines, tensor_parallel_size, pretrain, seed, full_determinism, enable_prefix_caching,
                            enforce_eager, max_model_len, *args, **kwargs):
        recorded["create_vllm_engines"] = {"num_engines": num_engines, "tensor_parallel_size": tensor_parallel_size,
                                           "pretrain": pretrain, "max_model_len": max_model_len,
                                           "remote_rm_url": kwargs.get("remote_rm_url")}
        raise ReachedGPU

    class _Unavailable:
        def __init__(self, *a, **k):
            raise ReachedGPU

    ray = module("ray", is_initialized=lambda: True, init=lambda *a, **k: None, get=lambda *a, **k: None,
                 remote=lambda *a, **k: (lambda f: f))
    ray.util = module("ray.util")
    ray.util.placement_group = module("ray.util.placement_group",
                                      placement_group=lambda bundles, strategy=None: types.SimpleNamespace(ready=lambda: None))
    module("openrlhf.trainer.ray", create_vllm_engines=create_vllm_engines)
    module("openrlhf.trainer.ray.launcher", RayActorGroup=_Unavailable, ReferenceModelActor=object, RewardModelActor=object)
    module("openrlhf.trainer.ray.ppo_actor", PolicyModelActor=object)
    module("openrlhf.trainer.ray.ppo_critic", CriticModelActor=object)
    return ["ray", "ray.util", "ray.util.placement_group", "openrlhf.trainer.ray", "openrlhf.trainer.ray.launcher",
            "openrlhf.trainer.ray.ppo_actor", "openrlhf.trainer.ray.ppo_critic"]


def _run_train_ppo_ray(flags: list[str], recorded: dict, config_mod) -> tuple[str, object]:
    """Run ``openrlhf.cli.train_ppo_ray`` as ``__main__`` on ``flags``; return (how far it got, its parser).

    ``recorded`` gets the unknown flags, the flat and the nested (``hierarchize``) arguments.
    """
    import argparse

    parsers: list = []
    real_parse_args = argparse.ArgumentParser.parse_args
    real_hierarchize = config_mod.hierarchize

    def parse_args(self, args=None, namespace=None):
        parsers.append(self)
        _, unknown = self.parse_known_args(args, namespace)
        recorded["unknown"] = unknown
        return real_parse_args(self, args, namespace)  # exits 2 on an unknown flag, as the CLI does

    def hierarchize(args):
        recorded["flat"] = {k: v for k, v in vars(args).items()}
        recorded["args"] = real_hierarchize(args)
        return recorded["args"]

    argparse.ArgumentParser.parse_args, config_mod.hierarchize = parse_args, hierarchize
    argv = sys.argv
    sys.argv = ["train_ppo_ray.py", *flags]
    try:
        runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__", alter_sys=False)
        reached = "end of __main__ (no GPU step was met)"
    except ReachedGPU:
        reached = "create_vllm_engines"
    except SystemExit as exc:
        reached = f"SystemExit {exc.code}"
    except AssertionError as exc:  # one of OpenRLHF's argument checks refused
        reached = f"AssertionError: {exc}"
    finally:
        sys.argv = argv
        argparse.ArgumentParser.parse_args, config_mod.hierarchize = real_parse_args, real_hierarchize
    return reached, parsers[0]


def check_openrlhf(flags: list[str]) -> dict:
    import openrlhf.utils  # real: get_strategy, the config helpers (imports torch, transformers)
    import openrlhf.utils.config as config_mod

    report: dict = {"trainer": "openrlhf", "version": importlib.metadata.version("openrlhf"), "flags": flags}
    recorded: dict = {}
    report["stubbed_modules"] = _stub_openrlhf_launch_imports(recorded)
    openrlhf.utils.get_strategy = lambda args: types.SimpleNamespace(print=lambda *a, **k: None, args=args)

    report["reached"], parser = _run_train_ppo_ray(flags, recorded, config_mod)
    given = [f for f in flags if f.startswith("--")]
    report["unknown"] = recorded.get("unknown")
    report["not_exact"] = [f for f in given if f not in parser._option_string_actions]  # no abbreviation matches
    # control: the flat flags of OpenRLHF <= 0.9.0 are unknown to this parser
    report["control_flat_flags_unknown"] = parser.parse_known_args(
        ["--pretrain", "/m", "--remote_rm_url", "/r.py", "--prompt_data", "/d.jsonl"])[1]
    flat = recorded["flat"]
    report["values"] = {k: flat[k] for k in sorted(flat) if any(f == f"--{k}" for f in given)}
    args = recorded["args"]
    report["after_checks"] = {"critic.model_name_or_path": args.critic.model_name_or_path,
                              "reward.remote_url": args.reward.remote_url}
    report["create_vllm_engines"] = recorded.get("create_vllm_engines")
    # the GRPO switch the script's header documents passes the same checks
    grpo_flags = [*flags, "--algo.advantage.estimator", "group_norm", "--rollout.n_samples_per_prompt", "8"]
    grpo: dict = {}
    reached, _ = _run_train_ppo_ray(grpo_flags, grpo, config_mod)
    report["grpo_variant"] = {"reached": reached, "unknown": grpo.get("unknown"),
                              "estimator": grpo["args"].algo.advantage.estimator if "args" in grpo else None,
                              "critic.model_name_or_path": grpo["args"].critic.model_name_or_path if "args" in grpo else "?"}

    # OpenRLHF's PromptDataset on the prompt file, then its single-turn executor: it loads the
    # remote reward file, decodes prompt + response (special tokens kept) and calls reward_func.
    from openrlhf.datasets import PromptDataset
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    rows = [json.loads(line) for line in Path(args.data.prompt_dataset).read_text(encoding="utf-8").splitlines() if line]
    texts = [m["content"] for r in rows for m in r[args.data.input_key]]
    tokenizer = _tiny_tokenizer(texts + ["The findings point to one answer.", WRONG_ANSWER])
    strategy = types.SimpleNamespace(args=args, is_rank_0=lambda: True)
    dataset = PromptDataset(rows, tokenizer, strategy, input_template=args.data.input_template)
    datasource, prompt, label, _images = dataset[0]
    report["dataset"] = {"class": "PromptDataset", "rows": len(dataset), "jsonl_rows": len(rows), "datasource": datasource,
                         "label": label, "prompt_ends_with_generation_header": prompt.endswith("<|im_start|>assistant\n")}
    executor = SingleTurnAgentExecutor(remote_rm_url=args.reward.remote_url)
    report["reward_loader"] = {"reward_func_module_file": executor.reward_func.__code__.co_filename, "scores": {}, "rewards": {}}

    class Engine:  # stands in for vLLM (a GPU): returns the response we want scored
        def __init__(self, text):
            self.ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]

        async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
            out = types.SimpleNamespace(token_ids=self.ids, finish_reason="stop", logprobs=None)
            return types.SimpleNamespace(outputs=[out])

    params = types.SimpleNamespace(max_tokens=args.rollout.max_new_tokens, logprobs=None)
    for kind, text in _responses(label).items():
        out = asyncio.run(executor.execute(prompt, label, params, args.data.max_len, tokenizer, Engine(text)))
        report["reward_loader"]["scores"][kind] = float(out["scores"])
        report["reward_loader"]["rewards"][kind] = float(out["reward"])
    return report


def main(argv: list[str]) -> int:
    out = Path(os.environ["TRAINER_CHECK_OUT"])
    try:
        if argv[:2] == ["-m", "verl.trainer.main_ppo"]:
            report = check_verl(argv[2:])
        elif argv[:2] == ["-m", "openrlhf.cli.train_ppo_ray"]:
            report = check_openrlhf(argv[2:])
        else:
            report = {"error": f"not a trainer entry point this check knows: {argv[:2]}"}
    except Exception:
        report = {"error": traceback.format_exc()}
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

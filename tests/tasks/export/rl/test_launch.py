"""The generated launch files, accepted by the trainers' own code (verl 0.9.x, OpenRLHF >= 0.10).

Each test writes a real RL export (``verl_ppo.sh``, ``openrlhf_ppo.sh``, ``reward.py``, the data
files) and runs the launch file unchanged with bash. The ``python3`` it execs is a shim that runs
tests/support/trainer_check.py in the trainer venv (verl, OpenRLHF and torch there; the trainers
pin versions the core venv cannot hold — see .ci/run), so the trainer sees the exact argv a user's
shell would give it. There:

* verl: Hydra composes ``ppo_trainer`` with the script's overrides; verl's own ``main`` runs
  (``auto_set_device``, ``validate_config``) and stops where ``run_ppo`` would start Ray and the GPU
  workers; ``RLHFDataset`` loads the parquet; the reward verl loads from
  ``reward.custom_reward_function`` scores right > wrong > malformed, directly and through verl's
  ``NaiveRewardManager`` (token ids decoded with ``skip_special_tokens=True``).
* OpenRLHF: ``openrlhf.cli.train_ppo_ray`` runs as ``__main__`` with ``ray`` and the
  ``openrlhf.trainer.ray*`` modules (which import vLLM and DeepSpeed) stubbed in ``sys.modules``:
  OpenRLHF's parser, its argument checks and ``train()`` run up to ``create_vllm_engines``. Its
  ``PromptDataset`` reads the JSONL and its ``SingleTurnAgentExecutor`` loads ``reward.py`` and
  scores right > wrong > malformed; the vLLM engine (a GPU) is replaced by one that returns the
  response to score.

The model folder is a tiny Qwen2 config + tokenizer written here (verl reads both while it
validates). Without the trainer venv the tests skip and say why; under .ci/run
(``MEDPREP_REQUIRE_TRAINERS=1``) a missing trainer fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tasks.export.rl import export as E
from tasks.export.rl import launch as L
from tests.support.rl_sample import write_processed

pytestmark = pytest.mark.rl

REPO = Path(__file__).resolve().parents[4]
CHECK = REPO / "tests" / "support" / "trainer_check.py"
TRAINERS_PY = Path(os.environ.get("MEDPREP_TRAINERS_PYTHON", REPO / ".venv-trainers" / "bin" / "python"))
MAX_PROMPT, MAX_RESPONSE = 1024, 2048


def trainer_python(module: str) -> Path:
    """The trainer venv's python if it can import ``module``; else skip (or fail under CI)."""
    reason = None
    if not TRAINERS_PY.exists():
        reason = f"{module} not importable: no trainer venv at {TRAINERS_PY} (bash .ci/run creates .venv-trainers; or set MEDPREP_TRAINERS_PYTHON)"
    else:
        probe = subprocess.run([str(TRAINERS_PY), "-c", f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"])
        if probe.returncode != 0:
            reason = f"{module} not importable by {TRAINERS_PY}"
    if reason:
        if os.environ.get("MEDPREP_REQUIRE_TRAINERS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return TRAINERS_PY


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    """A real RL export of the contract-shaped sample, plus a tiny local model folder."""
    root = tmp_path_factory.mktemp("launch")
    write_processed(root / "processed")
    summary = E.run_export(root / "processed", root / "rl", MAX_PROMPT, ground_truth="any")
    model = root / "model"
    transformers = pytest.importorskip("transformers")
    from tests.support.tiny_tokenizer import build_tokenizer

    rows = [json.loads(line) for line in (root / "rl" / "openrlhf" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    tokenizer = build_tokenizer(m["content"] for r in rows for m in r["input"])
    tokenizer.save_pretrained(model)
    transformers.Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        architectures=["Qwen2ForCausalLM"],  # verl's HFModelConfig asserts exactly one
    ).save_pretrained(model)
    return root, summary


def run_launch_file(root: Path, script: str, python: Path, capsys) -> dict:
    """Run ``script`` with bash, its ``python3`` being trainer_check.py in the trainer venv."""
    shim_dir = root / f"shim-{script}"
    shim_dir.mkdir(exist_ok=True)
    shim = shim_dir / "python3"
    shim.write_text(f'#!/usr/bin/env bash\nexec "{python}" "{CHECK}" "$@"\n')
    shim.chmod(0o755)
    report = root / f"{script}.json"
    env = {**os.environ, "PATH": f"{shim_dir}{os.pathsep}{os.environ['PATH']}", "MODEL_PATH": str(root / "model"),
           "TRAINER_CHECK_OUT": str(report), "HF_DATASETS_CACHE": str(root / "hf-datasets"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "RAY_USAGE_STATS_ENABLED": "0", "VERL_LOGGING_LEVEL": "WARN", "TRL_EXPERIMENTAL_SILENCE": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(["bash", str(root / "rl" / script)], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {"error": "no report written"}
    assert proc.returncode == 0 and "error" not in data, f"{data.get('error')}\n--- stderr tail:\n{proc.stderr[-3000:]}"
    return data


def say(capsys, line: str) -> None:
    """One line in the test log (CI output), outside pytest's capture."""
    with capsys.disabled():
        sys.stdout.write(f"\n    {line}\n")


def test_launch_files_name_their_trainer_versions(export_dir):
    root, _ = export_dir
    verl = (root / "rl" / L.VERL_SCRIPT).read_text(encoding="utf-8")
    openrlhf = (root / "rl" / L.OPENRLHF_SCRIPT).read_text(encoding="utf-8")
    assert "# Targets verl 0.9.x" in verl
    assert "# Targets OpenRLHF >= 0.10" in openrlhf


def test_verl_accepts_verl_ppo_sh(export_dir, capsys):
    root, summary = export_dir
    report = run_launch_file(root, L.VERL_SCRIPT, trainer_python("verl"), capsys)
    rl = (root / "rl").resolve()
    assert report["version"].startswith("0.9."), report["version"]
    cfg = report["config"]
    # 0.9's main_ppo reads only reward.custom_reward_function; the top-level group stays empty
    assert cfg["reward.custom_reward_function"] == {"path": str(rl / "reward.py"), "name": L.VERL_REWARD_FUNCTION}
    assert not (cfg["top_level_custom_reward_function"] or {}).get("path")
    assert cfg["data.train_files"] == str(rl / "verl" / "train.parquet") and cfg["data.val_files"] == str(rl / "verl" / "val.parquet")
    assert (cfg["data.max_prompt_length"], cfg["data.max_response_length"]) == (MAX_PROMPT, MAX_RESPONSE)
    assert cfg["data.filter_overlong_prompts"] is True and cfg["algorithm.adv_estimator"] == "gae"
    assert cfg["actor_rollout_ref.model.path"] == str(root / "model") and cfg["trainer.n_gpus_per_node"] == 8
    # verl's own main() validated the config (critic on: GAE) and got as far as starting Ray
    assert report["main"]["validate_config"] == {"use_reference_policy": False, "use_critic": True}
    assert "TaskRunnerV1" in report["main"]["run_ppo"]["task_runner"]
    # ADV_ESTIMATOR=grpo (the documented switch) passes the same main(), without a critic
    assert report["grpo_variant"]["validate_config"] == {"use_reference_policy": False, "use_critic": False}
    assert "run_ppo" in report["grpo_variant"]
    # control: the same validation refuses the script without its micro batch sizes
    assert "micro_batch_size" in report["control_without_micro_batches"]
    # verl's RLHFDataset reads every exported row
    first = pq.read_table(rl / "verl" / "train.parquet").to_pylist()[0]
    ds = report["dataset"]
    assert ds["rows"] == ds["parquet_rows"] == summary["splits"]["train"]["rows"]
    assert (ds["data_source"], ds["ground_truth"]) == (first["data_source"], first["reward_model"]["ground_truth"])
    # the reward verl loads: right > wrong > malformed, the same through its reward manager
    for scores in (report["custom_reward_fn"], report["reward_manager"]["scores"]):
        assert scores["right"] == 1.0 and scores["right"] > scores["wrong"] > scores["malformed"] == 0.0
    assert report["reward_manager"]["class"] == "NaiveRewardManager"
    assert report["reward_manager"]["decoded"]["right"].startswith("<think>\n")  # think tags survive its decode
    sc = report["reward_manager"]["scores"]
    say(capsys, f"verl {report['version']} accepts verl_ppo.sh: Hydra compose + main() through validate_config to run_ppo; "
                f"RLHFDataset {ds['rows']} rows; reward via NaiveRewardManager right {sc['right']} > wrong {sc['wrong']} > malformed {sc['malformed']}")


def test_openrlhf_accepts_openrlhf_ppo_sh(export_dir, capsys):
    root, summary = export_dir
    report = run_launch_file(root, L.OPENRLHF_SCRIPT, trainer_python("openrlhf"), capsys)
    rl = (root / "rl").resolve()
    major, minor = (int(x) for x in report["version"].split(".")[:2])
    assert (major, minor) >= (0, 10), report["version"]
    assert report["unknown"] == [] and report["not_exact"] == []  # every flag known, none by abbreviation
    assert report["reached"] == "create_vllm_engines"  # parser, checks and train() up to the GPU step
    assert {"--pretrain", "--remote_rm_url", "--prompt_data"} <= set(report["control_flat_flags_unknown"])
    v = report["values"]
    assert v["actor.model_name_or_path"] == str(root / "model")
    assert v["reward.remote_url"] == str(rl / "reward.py")
    assert v["data.prompt_dataset"] == str(rl / "openrlhf" / "train.jsonl") and v["eval.dataset"] == str(rl / "openrlhf" / "val.jsonl")
    assert (v["data.input_key"], v["data.label_key"], v["data.apply_chat_template"]) == ("input", "label", True)
    assert (v["data.max_len"], v["rollout.max_new_tokens"]) == (MAX_PROMPT + MAX_RESPONSE, MAX_RESPONSE)
    assert (v["algo.advantage.estimator"], v["train.batch_size"], v["train.colocate_all"]) == ("gae", 128, True)
    assert v["vllm.num_engines"] == v["actor.num_gpus_per_node"] == 8
    assert report["after_checks"]["critic.model_name_or_path"] == str(root / "model")  # GAE: critic from the actor
    # the GRPO switch in the script's header (group_norm + n_samples_per_prompt 8) passes too, critic off
    assert report["grpo_variant"] == {"reached": "create_vllm_engines", "unknown": [], "estimator": "group_norm",
                                      "critic.model_name_or_path": None}
    engines = report["create_vllm_engines"]
    assert engines["remote_rm_url"] == [str(rl / "reward.py")] and engines["max_model_len"] == MAX_PROMPT + MAX_RESPONSE
    # OpenRLHF's PromptDataset and its reward file loader
    first = json.loads((rl / "openrlhf" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    ds = report["dataset"]
    assert ds["rows"] == ds["jsonl_rows"] == summary["splits"]["train"]["rows"]
    assert (ds["datasource"], ds["label"]) == (first["datasource"], first["label"]) and ds["prompt_ends_with_generation_header"]
    assert report["reward_loader"]["reward_func_module_file"] == str(rl / "reward.py")
    for scores in (report["reward_loader"]["scores"], report["reward_loader"]["rewards"]):
        assert scores["right"] == 1.0 and scores["right"] > scores["wrong"] > scores["malformed"] == 0.0
    sc = report["reward_loader"]["scores"]
    say(capsys, f"OpenRLHF {report['version']} accepts openrlhf_ppo.sh: {len([f for f in report['flags'] if f.startswith('--')])} flags, "
                f"0 unknown, its checks and train() up to create_vllm_engines; PromptDataset {ds['rows']} rows; "
                f"reward file via SingleTurnAgentExecutor right {sc['right']} > wrong {sc['wrong']:.1f} > malformed {sc['malformed']}")

"""Proof with a real trainer on CPU: TRL's GRPOTrainer trains on the TRL export with the project's
reward functions. A tiny random Qwen2 and a ~400-token byte-level BPE trained here on the fixture
text stand in for a real model; no hub access (HF_HUB_OFFLINE=1).

The tokenizer keeps ``<think>``/``</think>`` as ordinary added tokens (as Qwen3 and DeepSeek-R1
do): TRL decodes completions with ``skip_special_tokens=True``, so special think tags would reach
the reward as nothing and the format reward could never be non-zero. A random model never writes
a well-formed answer, so the second test scripts the completions through TRL's ``rollout_func``
hook (experimental in TRL 1.16): decoding, reward calls, logging and the update are TRL's own."""

from __future__ import annotations

import functools
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytestmark = pytest.mark.rl

trl = pytest.importorskip("trl")
torch = pytest.importorskip("torch")
datasets = pytest.importorskip("datasets")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from tasks.export.rl import export as E  # noqa: E402
from tasks.export.rl import reward as R  # noqa: E402
from tests.support.rl_sample import records, write_processed  # noqa: E402
from tests.support.tiny_tokenizer import build_tokenizer  # noqa: E402

THINK = "<think>\nThe findings point to one answer.\n</think>\n\n"


def fixture_texts() -> list[str]:
    texts = list(E.SYSTEM_PROMPTS.values())
    for recs in records().values():
        for r in recs:
            texts += [r["input"], r["output"]]
    return texts


def recording(func, calls: list):
    @functools.wraps(func)  # keeps __name__: TRL logs rewards/<name>/mean
    def wrapper(completions, **kwargs):
        values = func(completions, **kwargs)
        calls.append({"completions": completions, "returned": values, **kwargs})
        return values

    return wrapper


def tiny_model(tokenizer):
    torch.manual_seed(0)
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )
    model = transformers.Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def grpo_config(tmp_path, batch: int, generations: int, completion_len: int, steps: int):
    return trl.GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        fp16=False,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        num_generations=generations,
        max_completion_length=completion_len,
        max_steps=steps,
        learning_rate=1e-4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )


@pytest.fixture
def trl_export(tmp_path):
    """The TRL export's train split as a datasets.Dataset, and ground truth by prompt."""
    write_processed(tmp_path / "processed")
    summary = E.run_export(tmp_path / "processed", tmp_path / "rl", ground_truth="any")  # all 5 rows, as before
    train_file = tmp_path / "rl" / summary["exports"]["trl"]["train"]["path"]
    dataset = datasets.load_dataset("parquet", data_files=str(train_file), cache_dir=str(tmp_path / "hf"))["train"]
    assert len(dataset) == summary["splits"]["train"]["rows"] == 5
    truth_by_prompt = {row["prompt"][-1]["content"]: row["ground_truth"] for row in dataset}
    return dataset, truth_by_prompt


def test_grpo_trains_on_trl_export(tmp_path, trl_export):
    dataset, truth_by_prompt = trl_export
    tokenizer = build_tokenizer(fixture_texts())
    assert 300 <= len(tokenizer) <= 402
    model = tiny_model(tokenizer)

    format_calls: list = []
    correct_calls: list = []
    args = grpo_config(tmp_path, batch=4, generations=2, completion_len=16, steps=3)
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=[recording(R.format_reward, format_calls), recording(R.correctness_reward, correct_calls)],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.train()

    # the reward functions ran every step, with the ground truth of the prompt each completion answers
    assert len(format_calls) == len(correct_calls) == 3
    for call in correct_calls:
        assert len(call["ground_truth"]) == len(call["completions"]) == 4
        for prompt, truth in zip(call["prompts"], call["ground_truth"]):
            assert truth_by_prompt[prompt[-1]["content"]] == truth
        assert {"ground_truth_kind", "risk_level", "language", "answer"} <= set(call)
        assert all(isinstance(c, list) and c[0]["role"] == "assistant" for c in call["completions"])
        assert all(0.0 <= v <= 1.0 for v in call["returned"])

    # reward metrics were logged per step
    logged = [entry for entry in trainer.state.log_history if "rewards/format_reward/mean" in entry]
    assert len(logged) == 3
    for entry, fcall, ccall in zip(logged, format_calls, correct_calls):
        # what TRL logged is the mean of what our functions returned at that step
        assert entry["rewards/format_reward/mean"] == pytest.approx(sum(fcall["returned"]) / 4, abs=1e-6)
        assert entry["rewards/correctness_reward/mean"] == pytest.approx(sum(ccall["returned"]) / 4, abs=1e-6)
        assert "reward" in entry and "reward_std" in entry


def test_grpo_format_reward_is_logged_non_zero_for_well_formed_completions(tmp_path, trl_export, monkeypatch):
    """Per prompt, three scripted completions — right, wrong, malformed — go through TRL's decode
    (``skip_special_tokens=True``), the reward functions and the logger. With the think tags as
    ordinary tokens the logged format reward is 2/3, and the combined reward orders them."""
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    dataset, truth_by_prompt = trl_export
    tokenizer = build_tokenizer(fixture_texts() + [THINK])
    model = tiny_model(tokenizer)
    kinds = ("right", "wrong", "malformed")

    def completion_text(kind: str, truth: str) -> str:
        return {"right": THINK + truth, "wrong": THINK + "Zzyzx", "malformed": truth}[kind]

    def rollout(prompts, trainer):
        # TRL repeats each prompt num_generations times in a row: generation i of a prompt is kinds[i]
        texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
        prompt_ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        completion_ids = [
            tokenizer(completion_text(kinds[i % 3], truth_by_prompt[p[-1]["content"]]), add_special_tokens=False)["input_ids"]
            + [tokenizer.eos_token_id]
            for i, p in enumerate(prompts)
        ]
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}

    calls: dict[str, list] = {"format_reward": [], "correctness_reward": [], "medical_reward": []}
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=[recording(getattr(R, name), calls[name]) for name in calls],
        args=grpo_config(tmp_path, batch=6, generations=3, completion_len=512, steps=2),
        train_dataset=dataset,
        processing_class=tokenizer,
        rollout_func=rollout,
    )
    trainer.train()

    logged = [entry for entry in trainer.state.log_history if "rewards/format_reward/mean" in entry]
    assert len(logged) == 2 and all(len(c) == 2 for c in calls.values())
    for step, entry in enumerate(logged):
        completions = [c[0]["content"] for c in calls["format_reward"][step]["completions"]]
        # what the reward saw is TRL's decode of the ids: think tags kept, end-of-turn token dropped
        assert completions[0].startswith("<think>\n") and "</think>" in completions[0] and "<|im_end|>" not in completions[0]
        assert calls["format_reward"][step]["returned"] == [1.0, 1.0, 0.0] * 2
        assert entry["rewards/format_reward/mean"] == pytest.approx(2 / 3, abs=1e-6)  # non-zero: the format is proven
        combined = calls["medical_reward"][step]["returned"]
        for right, wrong, malformed in zip(combined[0::3], combined[1::3], combined[2::3]):
            assert right == 1.0 and right > wrong > malformed == 0.0
        assert entry["rewards/medical_reward/mean"] == pytest.approx(sum(combined) / 6, abs=1e-6)

    # control: the same completion through a tokenizer with *special* think tags loses them in
    # TRL's decode, and the format reward drops to 0 — the regression this test exists to catch
    broken = build_tokenizer(fixture_texts() + [THINK], think_special=True)
    ids = broken(THINK + "D", add_special_tokens=False)["input_ids"]
    assert R.format_reward([[{"role": "assistant", "content": broken.decode(ids, skip_special_tokens=True)}]]) == [0.0]

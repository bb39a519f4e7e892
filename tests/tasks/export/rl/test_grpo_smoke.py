"""Proof with a real trainer on CPU: TRL's GRPOTrainer trains on the TRL export with the project's
reward functions. A tiny random Qwen2 and a ~400-token byte-level BPE trained here on the fixture
text stand in for a real model; no hub access (HF_HUB_OFFLINE=1)."""

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

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]


def build_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHATML,
        padding_side="left",
    )


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


def test_grpo_trains_on_trl_export(tmp_path):
    write_processed(tmp_path / "processed")
    summary = E.run_export(tmp_path / "processed", tmp_path / "rl", ground_truth="any")  # all 5 rows, as before
    train_file = tmp_path / "rl" / summary["exports"]["trl"]["train"]["path"]
    dataset = datasets.load_dataset("parquet", data_files=str(train_file), cache_dir=str(tmp_path / "hf"))["train"]
    assert len(dataset) == summary["splits"]["train"]["rows"] == 5
    truth_by_prompt = {row["prompt"][-1]["content"]: row["ground_truth"] for row in dataset}

    tokenizer = build_tokenizer(fixture_texts())
    assert 300 <= len(tokenizer) <= 400
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

    format_calls: list = []
    correct_calls: list = []
    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        fp16=False,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=1,
        num_generations=2,
        max_completion_length=16,
        max_steps=3,
        learning_rate=1e-4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
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

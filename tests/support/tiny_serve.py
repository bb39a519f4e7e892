"""A real OpenAI-compatible server on loopback for the model-stage tests: ``transformers serve`` with a
tiny randomly initialised 2-layer Qwen2 and a BPE trained here (its text is gibberish: tests that use
it check plumbing — caching, concurrency, errors, keys — never quality)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_model(path: Path) -> None:
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["the answer is correct 答案 正确 错误 fever 发热"] * 10, trainer=trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    t = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                             chat_template=CHATML)
    torch.manual_seed(0)
    cfg = transformers.Qwen2Config(vocab_size=len(t), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                                   tie_word_embeddings=True, pad_token_id=t.pad_token_id, eos_token_id=t.eos_token_id)
    transformers.Qwen2ForCausalLM(cfg).save_pretrained(path)
    t.save_pretrained(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def transformers_cli() -> str | None:
    exe = shutil.which("transformers") or str(Path(sys.executable).with_name("transformers"))
    return exe if Path(exe).exists() else None


@contextmanager
def tiny_server(root: Path) -> Iterator[dict]:
    """Build the tiny model under ``root``, serve it, yield {url, model, proc}; stopped on exit."""
    import httpx

    exe = transformers_cli()
    if exe is None:
        raise RuntimeError("transformers CLI not installed (pip install 'transformers[serving]')")
    model = root / "tiny-qwen2"
    build_model(model)
    port = free_port()
    log = open(root / "serve.log", "w")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen([exe, "serve", str(model), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("transformers serve did not come up: " + (root / "serve.log").read_text()[-2000:])
        yield {"url": f"http://127.0.0.1:{port}", "model": str(model), "proc": proc}
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        log.close()

"""A tiny byte-level BPE tokenizer with a ChatML template, trained in-process (no hub access).

``<think>`` / ``</think>`` are *ordinary* added tokens (``special=False``), as in the Qwen3 and
DeepSeek-R1 tokenizers: trainers decode completions with ``skip_special_tokens=True`` (TRL,
verl's naive reward manager), which drops special tokens — a tokenizer that made the think tags
special would hide them from the format reward. Used by the GRPO smoke test (main venv) and by
tests/support/trainer_check.py (trainer venv), so it imports only tokenizers + transformers.
"""

from __future__ import annotations

from collections.abc import Iterable

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
THINK_TAGS = ["<think>", "</think>"]


def build_tokenizer(texts: Iterable[str], vocab_size: int = 400, think_special: bool = False):
    """``PreTrainedTokenizerFast`` (pad ``<|endoftext|>``, eos ``<|im_end|>``, left padding).

    ``think_special=True`` builds the broken variant (think tags as special tokens) for controls.
    """
    import transformers
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHATML,
        padding_side="left",
    )
    # one id each, never split, but not special: skip_special_tokens=True keeps them
    fast.add_tokens([AddedToken(t, special=think_special, normalized=False) for t in THINK_TAGS],
                    special_tokens=think_special)
    return fast

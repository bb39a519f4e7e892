"""Rule-based reward for medprep RL data: one scorer, three trainer entry points.

This file is deliberately **self-contained (standard library only)** so trainers can load it by
file path — verl (``custom_reward_function.path``) and OpenRLHF (``--remote_rm_url reward.py``)
both import it with ``importlib.util.spec_from_file_location`` outside any package. ``torch`` is
imported lazily, only inside :func:`reward_func`, and only if it is installed.

Entry points (they plug in unchanged):

* verl — ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kw) -> float``
* OpenRLHF — ``reward_func(queries, prompts, labels, **kw) -> {"rewards", "scores", "extra_logs"}``
* TRL (GRPO / RLOO) — ``format_reward(completions, **kw)``,
  ``correctness_reward(completions, ground_truth, **kw)`` and the combined
  ``medical_reward(completions, ground_truth, **kw)``; each returns ``list[float]``. Completions
  may be strings or chat lists ``[{"role": "assistant", "content": ...}]``.

Format
    A response is well formed when, after stripping leading whitespace and trailing chat
    end-of-turn tokens (``<|im_end|>``, ``<|endoftext|>``, ``<|eot_id|>``, ``</s>``), it is exactly
    ``<think>REASONING</think>ANSWER`` with one ``<think>`` and one ``</think>``, non-empty
    REASONING and non-empty ANSWER (whitespace does not count).

Correctness (in [0, 1]) of ANSWER against the ground truth
    1. Multiple choice — when the ground truth is an option letter (``"D"``, ``"(D)"``,
       ``"D. Parvovirus B19 infection"``): a letter found in the answer (``"D"``, ``"D."``,
       ``"(D)"``, ``"Answer: D"``, ``"答案：D"``, ``"选D"``) decides it, 1.0 if equal else 0.0.
       With no letter in the answer, the option text (if the ground truth carries one) is scored
       as free text below. A bold marker (``**答案**：E``) counts as a marker. A multi-answer
       truth (``"ACD"``, ``"A、C、E"``) needs the same letter set after the answer's last marker
       (``最终答案：ACD``) or on its last line: 1.0 if equal, else 0.0 (a missing letter is wrong).
    2. Free text — both sides are normalised: NFKC, lowercase, punctuation and symbols removed,
       English articles (a/an/the) removed, a plural "s" stripped from English words of 4+
       letters, whitespace collapsed. Tokens are single characters for CJK text and words for
       everything else (a mixed string gives both kinds).
       Equal token lists → 1.0. Otherwise the larger of
         * the token-F1 of the whole answer (multiset overlap), and, for references of at most
           ``SPAN_MAX_REF_TOKENS`` (32) tokens,
         * ``CONTAIN_SCORE`` (0.9) × the best span-F1 within the first ``CONTAIN_WINDOW`` (48)
           answer tokens, and ``CONTAIN_LATE_SCORE`` (0.5) × the best span-F1 anywhere.
       Span-F1 is the token-F1 of the best contiguous answer span (at most twice the reference
       length) that covers *more than half* of the reference tokens (else 0). So "This is most
       consistent with parvovirus B19 infection; …" scores 0.9 for "Parvovirus B19 infection"
       however long the explanation after it, "… associated with Parvovirus B19." 0.72, while
       "Ulnar nerve" gets no span credit for "Radial nerve" (half is not more than half).
    A list of ground truths (verl's gsm8k style) scores the best of them.

Combined score (verl, OpenRLHF, ``medical_reward``) — mirrors HuatuoGPT-o1's PPO reward
(0 for a malformed response, else a verifier's 1.0 for right vs 0.1 for wrong), made continuous::

    score = 0.0                                  if the response is malformed
    score = MIN_WELL_FORMED + (1 - MIN_WELL_FORMED) * correctness   otherwise  (MIN_WELL_FORMED = 0.1)

so a well-formed wrong answer gets 0.1 and a well-formed right one 1.0.

Known failure modes (read before training on it)
    * It is a lexical verifier, not a judge: a correct paraphrase ("heart attack" vs
      "myocardial infarction", "维生素B12缺乏" vs "钴胺素缺乏") scores low; a wrong answer that
      shares many words with the reference scores high. HuatuoGPT-o1 used an LLM verifier.
    * Token F1 gives partial credit for shared words or characters, also to wrong answers:
      "Ulnar nerve" for "Radial nerve" scores 0.55 combined, "痛风" for "风湿热" 0.46, and
      "类风湿关节炎" (rheumatoid arthritis) for "风湿热" (rheumatic fever) 0.75 — character-level
      matching cannot tell Chinese terms that share most characters apart. A policy can drift
      toward generic words ("nerve", "综合征", "感染"); watch the share of rewards strictly
      between 0.1 and 1.0.
    * The export's ``reference_answer_agreement`` shows how often a dataset's own answer is
      recognised: on the 58 real medical-o1 demo records the GPT-written ``Response`` agrees
      with ``Ground-True Answer`` at only 0.35 (many responses reach a different conclusion),
      so rows whose reference response is used as an SFT target and rows used for RL should
      not be assumed consistent.
    * Where no short reference answer exists (``ground_truth_kind == "response"``), the ground
      truth is a whole reference response; F1 against it rewards lexical overlap and length
      matching more than correctness. Prefer rows with ``ground_truth_kind ==
      "reference_answer"`` for RL, or down-weight the others.
    * Containment can be gamed by listing several candidate answers in the first 48 tokens
      ("parvovirus B19, iron deficiency or folate deficiency"). Negation is invisible ("not parvovirus B19" contains
      the answer).
    * Option letters: an answer that mentions several letters ("A and D are wrong, C is right")
      is judged by the first option-like letter found in its last lines; free-text answers that
      start with a capital letter followed by ")" or "." can be misread as a choice. A capital
      letter, ".", then a lower-case word ("E. coli", "B. cereus") is read as a genus, not a
      choice — so an option text written in lower case ("B. fever") is not a choice either.
    * Chat templates that put ``<think>`` into the generation prompt (DeepSeek-R1-distill
      style) produce completions without the opening tag: they score 0 here unless
      ``MEDPREP_THINK_IN_PROMPT=1`` is set in the environment, which makes a leading ``<think>``
      optional.
    * OpenRLHF passes ``queries`` = prompt + response decoded with special tokens; the response
      is taken as the text after the prompt (or after the last ChatML/Llama-3 assistant header).
      An unusual template that re-renders the prompt differently falls back to the last
      ``<think>`` in the query.
    * verl decodes responses with ``skip_special_tokens=True``: if a tokenizer registers
      ``<think>``/``</think>`` as *special* tokens (Qwen3 and DeepSeek-R1 do not), the tags vanish
      and every response scores 0. Check one decoded rollout before a long run.
    * Simplified vs traditional Chinese are different characters here (no OpenCC in this file).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from typing import Any

__all__ = [
    "CONTAIN_LATE_SCORE",
    "CONTAIN_SCORE",
    "CONTAIN_WINDOW",
    "SPAN_MAX_REF_TOKENS",
    "MIN_WELL_FORMED",
    "combined_score",
    "completion_text",
    "compute_score",
    "correctness",
    "correctness_reward",
    "format_reward",
    "is_well_formed",
    "medical_reward",
    "normalize",
    "reward_func",
    "split_response",
    "token_f1",
    "tokens",
]

MIN_WELL_FORMED = 0.1  # score of a well-formed but wrong response (HuatuoGPT-o1: 0.1)
CONTAIN_SCORE = 0.9  # floor when the whole ground truth appears in the answer's first tokens
CONTAIN_WINDOW = 48  # ... that many tokens (the conclusion usually comes first)
CONTAIN_LATE_SCORE = 0.5  # floor when it appears only after the window
SPAN_MAX_REF_TOKENS = 32  # span matching for short references only (not whole reference responses)

_END_TOKENS = re.compile(r"(?:\s*(?:<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|</s>|<\|end\|>))+\s*$")
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

# CJK ideographs, kana, hangul: one token per character.
_CJK = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
    "\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
)
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
_ARTICLES = frozenset({"a", "an", "the"})

# Option letters A–J. Ground truth: the whole string is a letter, or a letter followed by a
# separator and the option text.
_GT_LETTER_RE = re.compile(r"^\s*[\(\[（]?([A-Ja-j])[\)\]）]?\s*(?:$|[\.．:：、\)）]\s*(.*)$)", re.S)
# In an answer: an explicit marker ("answer is D", "答案：D", "选D", "option D") or an answer
# that starts with a letter followed by a separator / end.
_ANS_MARKED_RE = re.compile(
    r"(?i:answer(?:\s+is)?|option|choice|correct\s+(?:answer|option|choice)\s+is|答案(?:是|为)?|选择?|选项)"
    r"\s*(?:\*\*)?\s*[:：]?\s*(?:\*\*)?\s*[\(\[（]?([A-J])(?![A-Za-z0-9])"
)
_ANS_LEADING_RE = re.compile(
    r"^\s*(?:\*\*[\(\[（]?([A-J])[\)\]）\.．:：]?\*\*"  # **D** / **D.**
    r"|[\(\[（]?([A-J])(?:[\)\]）\.．:：、,，]|\s*$|\s+[-–—]))"  # D / D. / (D) / D - text
)
# Multi-answer truths ("ACD", "A、C、E") and the answer's final letter set after a marker.
_GT_LETTERS_RE = re.compile(r"^\s*([A-J](?:[、,，\s]*[A-J]){1,9})\s*$")
_ANS_SET_RE = re.compile(
    r"(?:答案|正确选项|选项|answers?)\s*(?:是|为|are|is)?\s*(?:\*\*)?\s*[:：]?\s*(?:\*\*)?\s*"
    r"([A-J](?:\s*[、,，和及]?\s*[A-J])*)(?![A-Za-z0-9])"
)
# "E. coli", "B. cereus": a genus abbreviation, not an option letter.
_GENUS_RE = re.compile(r"^\s*[A-Z]\.\s*[a-z]")


def completion_text(completion: Any) -> str:
    """The text of one completion: a string, a message dict, or a chat list (assistant turns joined)."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, (list, tuple)):
        parts = [m.get("content") or "" for m in completion if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
        if not parts:  # no roles at all: take every content
            parts = [m.get("content") or "" for m in completion if isinstance(m, dict)]
        return "".join(str(p) for p in parts)
    return str(completion)


def _think_in_prompt() -> bool:
    return os.environ.get("MEDPREP_THINK_IN_PROMPT", "") not in ("", "0", "false", "False")


def split_response(text: str) -> tuple[str | None, str, bool]:
    """Split a response into ``(reasoning, answer, well_formed)``.

    ``answer`` is always returned (the text after ``</think>`` when there is one, else the whole
    stripped text) so correctness can be scored even for a malformed response.
    """
    text = _END_TOKENS.sub("", text or "").strip()
    if _think_in_prompt() and not text.startswith(_THINK_OPEN) and text.count(_THINK_CLOSE) == 1:
        text = _THINK_OPEN + text
    n_open, n_close = text.count(_THINK_OPEN), text.count(_THINK_CLOSE)
    if n_close == 0:
        return None, text, False
    head, _, tail = text.rpartition(_THINK_CLOSE)
    answer = tail.strip()
    ok = n_open == 1 and n_close == 1 and text.startswith(_THINK_OPEN)
    reasoning = head[len(_THINK_OPEN):].strip() if head.startswith(_THINK_OPEN) else head.strip()
    ok = ok and bool(reasoning) and bool(answer)
    return reasoning, answer, ok


def is_well_formed(text: str) -> bool:
    """Exactly one ``<think>…</think>`` block at the start, non-empty reasoning and answer."""
    return split_response(text)[2]


def normalize(text: str) -> str:
    """NFKC, lowercase, punctuation/symbols → space, English articles dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) and word.isascii():
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Tokens of normalised text: one per CJK character, one per other whitespace-free run."""
    return [_singular(t) for t in _TOKEN_RE.findall(normalize(text))]


def token_f1(prediction: str, reference: str) -> float:
    """Multiset token F1 of two texts after :func:`normalize` (CJK per character, else per word)."""
    pred, ref = tokens(prediction), tokens(reference)
    if not pred or not ref:
        return float(pred == ref and bool(pred))
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _contains(pred: list[str], ref: list[str]) -> bool:
    n = len(ref)
    if n == 0 or len(pred) < n:
        return False
    first = ref[0]
    return any(pred[i] == first and pred[i : i + n] == ref for i in range(len(pred) - n + 1))


def _gt_letter(ground_truth: str) -> tuple[str | None, str]:
    m = _GT_LETTER_RE.match(ground_truth or "")
    if not m:
        return None, ground_truth
    rest = (m.group(2) or "").strip()
    # "A" alone or "A. Text" is a choice; "a" alone and "E. coli" are not.
    if m.group(1).islower() or _GENUS_RE.match(ground_truth):
        return None, ground_truth
    return m.group(1).upper(), rest


def _answer_letter(answer: str) -> str | None:
    text = unicodedata.normalize("NFKC", answer or "").strip()
    if not text:
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    m = None if _GENUS_RE.match(text) else _ANS_LEADING_RE.match(text)
    if m:
        return (m.group(1) or m.group(2)).upper()
    # an explicit marker, preferring the last lines (conclusions come last)
    for ln in reversed(lines[-3:]):
        found = _ANS_MARKED_RE.findall(ln)
        if found:
            return found[-1].upper()
        m = None if _GENUS_RE.match(ln) else _ANS_LEADING_RE.match(ln)
        if m:
            return (m.group(1) or m.group(2)).upper()
    return None


def _answer_letter_set(answer: str) -> frozenset[str] | None:
    """The letter set of the answer's last marked conclusion ("最终答案：ACD", "答案：A、C、E")."""
    text = unicodedata.normalize("NFKC", answer or "")
    found = _ANS_SET_RE.findall(text)
    if found:
        return frozenset(re.findall(r"[A-J]", found[-1]))
    lines = [ln.strip(" *#") for ln in text.splitlines() if ln.strip(" *#")]
    if lines and re.fullmatch(r"[A-J](?:[、,，\s]*[A-J])*", lines[-1]):
        return frozenset(re.findall(r"[A-J]", lines[-1]))
    return None


def _best_span_f1(pred: list[str], ref: list[str]) -> float:
    """Best token F1 of any contiguous span of ``pred`` (≤ 2× the reference length) covering more
    than half of the reference tokens; 0.0 when no span does. A best span starts and ends on
    tokens of the reference, so only those positions are tried."""
    need = Counter(ref)
    hits = [i for i, t in enumerate(pred) if t in need]
    best = 0.0
    max_len = 2 * len(ref)
    for start in hits:
        used: Counter[str] = Counter()
        overlap = 0
        for j in range(start, min(len(pred), start + max_len)):
            tok = pred[j]
            if tok in need:
                if used[tok] < need[tok]:
                    used[tok] += 1
                    overlap += 1
                if 2 * overlap > len(ref):
                    best = max(best, 2 * overlap / (j - start + 1 + len(ref)))
    return best


def _free_text(answer: str, reference: str) -> float:
    pred, ref = tokens(answer), tokens(reference)
    if not pred or not ref:
        return 0.0
    if pred == ref:
        return 1.0
    score = token_f1(answer, reference)
    if len(ref) <= SPAN_MAX_REF_TOKENS:
        head = pred[: max(CONTAIN_WINDOW, len(ref))]
        score = max(score, CONTAIN_SCORE * _best_span_f1(head, ref), CONTAIN_LATE_SCORE * _best_span_f1(pred, ref))
    return score


def correctness(answer: str, ground_truth: Any) -> float:
    """Correctness of an answer (the text after ``</think>``) against the ground truth, in [0, 1]."""
    if isinstance(ground_truth, (list, tuple)) or type(ground_truth).__name__ == "ndarray":
        values = [correctness(answer, g) for g in list(ground_truth)]
        return max(values, default=0.0)
    if ground_truth is None:
        return 0.0
    gt = str(ground_truth)
    m = _GT_LETTERS_RE.match(gt)
    if m and not gt.strip().islower():
        got_set = _answer_letter_set(answer)
        return float(got_set == frozenset(re.findall(r"[A-J]", m.group(1)))) if got_set else 0.0
    letter, option_text = _gt_letter(gt)
    if letter is not None:
        got = _answer_letter(answer)
        if got is not None:
            return 1.0 if got == letter else 0.0
        return _free_text(answer, option_text) if option_text else 0.0
    return _free_text(answer, gt)


def combined_score(response: str, ground_truth: Any) -> tuple[float, bool, float]:
    """``(score, well_formed, correctness)`` for one response; see the module docstring."""
    _, answer, ok = split_response(response)
    corr = correctness(answer, ground_truth)
    score = MIN_WELL_FORMED + (1.0 - MIN_WELL_FORMED) * corr if ok else 0.0
    return score, ok, corr


# --------------------------------------------------------------------------------------- verl
def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **kwargs: Any) -> float:
    """verl ``custom_reward_function`` entry point: the combined score, a float in [0, 1]."""
    return float(combined_score(solution_str, ground_truth)[0])


# ------------------------------------------------------------------------------------ OpenRLHF
_ASSISTANT_HEADERS = ("<|im_start|>assistant", "<|start_header_id|>assistant<|end_header_id|>", "<|Assistant|>", "<|assistant|>")


def _response_from_query(query: str, prompt: str) -> str:
    if prompt and query.startswith(prompt):
        return query[len(prompt):]
    for header in _ASSISTANT_HEADERS:
        idx = query.rfind(header)
        if idx >= 0:
            return query[idx + len(header):]
    idx = query.rfind(_THINK_OPEN)  # fallback: from the last <think> on
    return query[idx:] if idx >= 0 else query


def reward_func(queries: list[str], prompts: list[str], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF ``--remote_rm_url reward.py`` entry point.

    ``queries`` are prompt + response (decoded with special tokens), ``labels`` the ground truths
    (``--label_key label``). Returns ``{"rewards", "scores", "extra_logs"}``: torch tensors when
    torch is importable, else lists. ``scores`` equal ``rewards`` (both in [0, 1]).
    """
    prompts = list(prompts) if prompts is not None else [""] * len(queries)
    labels = list(labels) if labels is not None else [None] * len(queries)
    rewards, formats, corrects = [], [], []
    for query, prompt, label in zip(queries, prompts, labels):
        score, ok, corr = combined_score(_response_from_query(query or "", prompt or ""), label)
        rewards.append(score)
        formats.append(float(ok))
        corrects.append(corr)
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        return {"rewards": rewards, "scores": list(rewards), "extra_logs": {"format_ok": formats, "correctness": corrects}}
    as_t = lambda xs: torch.tensor(xs, dtype=torch.float32)  # noqa: E731
    return {
        "rewards": as_t(rewards),
        "scores": as_t(rewards),
        "extra_logs": {"format_ok": as_t(formats), "correctness": as_t(corrects)},
    }


# ----------------------------------------------------------------------------------------- TRL
def format_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward: 1.0 for a well-formed ``<think>…</think>answer`` completion, else 0.0."""
    return [1.0 if is_well_formed(completion_text(c)) else 0.0 for c in completions]


def correctness_reward(completions: list[Any], ground_truth: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward: correctness in [0, 1] of the answer part (after ``</think>``, else the whole text)."""
    return [correctness(split_response(completion_text(c))[1], gt) for c, gt in zip(completions, ground_truth)]


def medical_reward(completions: list[Any], ground_truth: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward: the combined score, identical to :func:`compute_score` (use it alone)."""
    return [combined_score(completion_text(c), gt)[0] for c, gt in zip(completions, ground_truth)]

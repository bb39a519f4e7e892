"""Model-verifier reward for verl / OpenRLHF / TRL: a judge on an OpenAI-compatible endpoint decides
whether a well-formed response reaches the ground truth; the lexical reward is the fallback.

HuatuoGPT-o1's PPO reward with a verifier: 0 for a malformed response (no ``<think>…</think>``
answer), 1.0 when the judge says the answer is right, 0.1 when it says wrong. When the judge cannot
be asked (endpoint not set, unreachable, an HTTP error, no verdict in its reply), the score is the
lexical one of ``reward.py`` (next to this file) and the fallback is counted in the logged extras.

Standard library only, loaded by path like ``reward.py`` (which must sit in the same folder):

* verl — ``reward.custom_reward_function.path=…/verifier_reward.py`` ``…name=compute_score``;
  returns ``{"score", "verifier", "fallback"}`` (verl logs the extra keys).
* OpenRLHF — ``--reward.remote_url …/verifier_reward.py``: ``reward_func(queries, prompts, labels)``.
* TRL — ``verifier_reward(completions, ground_truth, **kw)`` in ``reward_funcs``.

Configuration, from the environment only: ``MEDPREP_VERIFIER_URL`` (base URL, e.g.
``http://gpu-host:8000/v1``), ``MEDPREP_VERIFIER_MODEL``, ``MEDPREP_VERIFIER_KEY_ENV`` (the *name*
of the variable holding the API key; default ``MEDPREP_API_KEY`` — the key itself is sent in the
Authorization header and never logged or cached), ``MEDPREP_VERIFIER_CACHE`` (a folder: verdicts
keyed by sha256 of model + prompt, so a repeated rollout costs no request), ``MEDPREP_VERIFIER_TIMEOUT``
(seconds, default 30) and ``MEDPREP_VERIFIER_CONCURRENCY`` (batch requests in flight, default 8).

The judge prompt and the verdict parser are a copy of ``tasks/model/prompts/judge_{en,zh}.txt``
and ``tasks.model.verifier.parse_verdict``; a test keeps them equal.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

RIGHT, WRONG = 1.0, 0.1

JUDGE_EN = """You are checking a medical answer. Decide whether the RESPONSE reaches the same final answer as the GROUND TRUTH.

Rules:
- Judge the response's conclusion (its final answer), not every term it mentions.
- A synonym, an abbreviation or a more specific term of the ground truth counts as the same answer.
- A response that lists several candidates without choosing one does not answer.
- A response that rejects or negates the ground truth does not answer.

QUESTION:
{question}

GROUND TRUTH:
{ground_truth}

RESPONSE:
{response}

Reply with one word: Correct or Incorrect.
"""

JUDGE_ZH = """你在核对一个医学回答。判断【回答】的最终结论是否与【标准答案】一致。

规则：
- 只看回答的结论（最终答案），不要因为回答中提到了某个词就判为一致。
- 同义词、缩写或比标准答案更具体的术语，算作一致。
- 列出多个候选而没有做出选择的回答，算作不一致。
- 否定或排除标准答案的回答，算作不一致。

【问题】
{question}

【标准答案】
{ground_truth}

【回答】
{response}

只回答一个词：正确 或 错误。
"""

_VERDICT_RE = re.compile(r"\b(incorrect|correct|wrong|right|yes|no)\b|不正确|不一致|错误|正确|一致", re.I)
_TRUE = {"correct", "right", "yes", "正确", "一致"}


def _lexical():
    """``reward.py`` from this file's folder (the lexical reward and the format check)."""
    mod = sys.modules.get("medprep_lexical_reward")
    if mod is None:
        spec = importlib.util.spec_from_file_location("medprep_lexical_reward", Path(__file__).with_name("reward.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules["medprep_lexical_reward"] = mod
        spec.loader.exec_module(mod)
    return mod


def parse_verdict(text: str | None) -> bool | None:
    """True / False from the judge's last verdict word, None when it gave none."""
    if not text:
        return None
    words = [m.group(0).lower() for m in _VERDICT_RE.finditer(text)]
    if not words:
        return None
    return words[-1] in _TRUE


def judge_prompt(question: str | None, response: str, ground_truth: Any) -> str:
    """The judge's user message; Chinese prompt when the ground truth or response is Chinese."""
    zh = bool(re.search(f"[{_lexical()._CJK}]", f"{ground_truth}{response[:200]}"))  # reward.py's CJK class
    return ((JUDGE_ZH if zh else JUDGE_EN).replace("{question}", question or "-")
            .replace("{ground_truth}", str(ground_truth)).replace("{response}", response))


class Judge:
    """One endpoint, from the environment; ``ask`` returns (verdict or None, error or None)."""

    def __init__(self, env: dict[str, str] | None = None):
        env = os.environ if env is None else env
        self.url = (env.get("MEDPREP_VERIFIER_URL") or "").rstrip("/")
        self.model = env.get("MEDPREP_VERIFIER_MODEL") or ""
        self.key = env.get(env.get("MEDPREP_VERIFIER_KEY_ENV") or "MEDPREP_API_KEY") or ""
        self.timeout = float(env.get("MEDPREP_VERIFIER_TIMEOUT") or 30)
        self.concurrency = max(1, int(env.get("MEDPREP_VERIFIER_CONCURRENCY") or 8))
        cache = env.get("MEDPREP_VERIFIER_CACHE")
        self.cache = Path(cache) if cache else None

    @property
    def configured(self) -> bool:
        return bool(self.url and self.model)

    def _endpoint(self) -> str:
        return self.url + ("/chat/completions" if self.url.endswith("/v1") else "/v1/chat/completions")

    def _cache_file(self, body: bytes) -> Path | None:
        return self.cache / (hashlib.sha256(body).hexdigest() + ".json") if self.cache else None

    def ask(self, prompt: str) -> tuple[bool | None, str | None]:
        body = json.dumps({"model": self.model, "messages": [{"role": "user", "content": prompt}],
                           "temperature": 0.0, "max_tokens": 8}, ensure_ascii=False, sort_keys=True).encode()
        cached = self._cache_file(body)
        if cached is not None and cached.exists():
            text = json.loads(cached.read_text(encoding="utf-8"))["text"]
        else:
            headers = {"Content-Type": "application/json"}
            if self.key:
                headers["Authorization"] = "Bearer " + self.key
            try:
                req = urllib.request.Request(self._endpoint(), data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    text = json.loads(resp.read())["choices"][0]["message"]["content"] or ""
            except urllib.error.HTTPError as e:
                return None, f"HTTP {e.code}"
            except (OSError, ValueError, KeyError, IndexError) as e:
                return None, type(e).__name__
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"text": text}, ensure_ascii=False), encoding="utf-8")
                os.replace(tmp, cached)
        verdict = parse_verdict(text)
        return verdict, None if verdict is not None else "no verdict"


def score_many(responses: list[str], ground_truths: list[Any], questions: list[str | None] | None = None,
               judge: Judge | None = None) -> tuple[list[float], list[float], list[float]]:
    """(scores, verifier used 0/1, fallback 0/1) for each response; requests run concurrently."""
    lex = _lexical()
    judge = judge or Judge()
    questions = questions or [None] * len(responses)
    out: list[tuple[float, float, float] | None] = [None] * len(responses)
    todo = []
    for i, (resp, gt) in enumerate(zip(responses, ground_truths)):
        reasoning, answer, ok = lex.split_response(resp or "")
        if not ok:
            out[i] = (0.0, 0.0, 0.0)
        elif not judge.configured or gt is None or str(gt).strip() == "":
            out[i] = (lex.combined_score(resp, gt)[0], 0.0, 1.0 if judge.configured else 0.0)
        else:
            todo.append((i, judge_prompt(questions[i], answer, gt)))
    if todo:
        with ThreadPoolExecutor(max_workers=judge.concurrency) as pool:
            results = list(pool.map(lambda item: judge.ask(item[1]), todo))
        for (i, _), (verdict, _err) in zip(todo, results):
            if verdict is None:
                out[i] = (lex.combined_score(responses[i], ground_truths[i])[0], 0.0, 1.0)
            else:
                out[i] = (RIGHT if verdict else WRONG, 1.0, 0.0)
    scores, used, fell = (list(x) for x in zip(*out)) if out else ([], [], [])
    return scores, used, fell


# --------------------------------------------------------------------------------------- verl
def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **kwargs: Any) -> dict[str, float]:
    """verl ``custom_reward_function`` entry point: ``{"score", "verifier", "fallback"}``."""
    question = (extra_info or {}).get("question") if isinstance(extra_info, dict) else None
    s, used, fell = score_many([solution_str], [ground_truth], [question])
    return {"score": s[0], "verifier": used[0], "fallback": fell[0]}


# ------------------------------------------------------------------------------------ OpenRLHF
def reward_func(queries: list[str], prompts: list[str], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF remote reward entry point: ``{"rewards", "scores", "extra_logs"}``."""
    lex = _lexical()
    prompts = list(prompts) if prompts is not None else [""] * len(queries)
    responses = [lex._response_from_query(q or "", p or "") for q, p in zip(queries, prompts)]
    scores, used, fell = score_many(responses, list(labels) if labels is not None else [None] * len(queries))
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        return {"rewards": scores, "scores": list(scores), "extra_logs": {"verifier": used, "fallback": fell}}
    as_t = lambda xs: torch.tensor(xs, dtype=torch.float32)  # noqa: E731
    return {"rewards": as_t(scores), "scores": as_t(scores),
            "extra_logs": {"verifier": as_t(used), "fallback": as_t(fell)}}


# ----------------------------------------------------------------------------------------- TRL
def verifier_reward(completions: list[Any], ground_truth: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward function: the verifier score (lexical fallback), one float per completion."""
    lex = _lexical()
    return score_many([lex.completion_text(c) for c in completions], list(ground_truth))[0]

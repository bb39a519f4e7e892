"""Model verifier: does a response reach the ground truth's answer? (a judge model, prompt in a file)

The judge prompt lives in ``tasks/model/prompts/judge_{zh,en}.txt`` (package data); its version is the
sha256 of both files, recorded with every verdict. The judge answers one word ("Correct" /
"Incorrect", "正确" / "错误"); :func:`parse_verdict` reads the last such word, anything else is
*unparsed* (None), never a guess. ``votes`` > 1 asks the judge that many times (distinct sample
indices, so distinct cache keys) and the score is the share of "Correct" among parsed votes.

Used by the ``verify-references`` stage (each record's own response against its short answer; the
card reports agreement, ``threshold`` quarantines records below it). The trainer-side reward
``tasks/export/rl/verifier_reward.py`` (standard library) holds a copy of the prompts, kept equal by
test, and the verdict parser this module imports.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

# the verdict parser's one definition is the stdlib reward file trainers load by path
from tasks.export.rl.verifier_reward import parse_verdict
from tasks.model.client import ChatClient, Reply, Request, Sampling, Stats

PROMPTS = "tasks.model.prompts"
JUDGE_SAMPLING = Sampling(temperature=0.0, max_tokens=8)

@cache
def prompt_text(name: str) -> str:
    """The text of ``tasks/model/prompts/<name>.txt``."""
    return resources.files(PROMPTS).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def prompt_version(kind: str) -> str:
    """``<kind>-<sha256 of the zh and en files, 12 hex>``: changes whenever a prompt file does."""
    h = hashlib.sha256()
    for lang in ("en", "zh"):
        h.update(prompt_text(f"{kind}_{lang}").encode())
    return f"{kind}-{h.hexdigest()[:12]}"


def _lang(language: str | None) -> str:
    return "zh" if language == "zh" else "en"


def judge_request(question: str | None, response: str, ground_truth: str, language: str | None,
                  sampling: Sampling = JUDGE_SAMPLING, vote: int = 0) -> Request:
    """The chat request asking the judge about one (question, response, ground truth)."""
    text = prompt_text(f"judge_{_lang(language)}")
    content = (text.replace("{question}", question or "-").replace("{ground_truth}", str(ground_truth))
               .replace("{response}", response))
    return Request.chat([{"role": "user", "content": content}], sample=vote, **sampling.params(vote))


def judge(client: ChatClient, items: list[tuple[str | None, str, str, str | None]], votes: int = 1,
          sampling: Sampling = JUDGE_SAMPLING) -> tuple[list[float | None], list[str | None], Stats]:
    """Scores in [0, 1] (share of "correct" votes; None when no vote parsed or every request failed),
    the first error per item (None when fine), and the client's counters.

    ``items`` are (question, response, ground_truth, language)."""
    votes = max(1, votes)
    reqs = [judge_request(q, r, g, lang, sampling, v) for (q, r, g, lang) in items for v in range(votes)]
    replies, stats = client.run(reqs)
    scores: list[float | None] = []
    errors: list[str | None] = []
    for i in range(len(items)):
        part: list[Reply] = replies[i * votes:(i + 1) * votes]
        verdicts = [parse_verdict(r.text) for r in part if r.ok]
        parsed = [v for v in verdicts if v is not None]
        scores.append(sum(parsed) / len(parsed) if parsed else None)
        err = next((r.error for r in part if not r.ok), None)
        errors.append(err or (None if parsed else "judge gave no verdict"))
    return scores, errors, stats

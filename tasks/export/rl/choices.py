"""Multiple-choice RL prompts: a record's ``choices`` -> a lettered question with the letter as
ground truth.

Where a record has options (MedQA-style ``question`` / ``options`` / ``answer_idx``, carried as
the canonical ``choices`` struct), the RL export can offer it as a multiple-choice prompt next to
(or instead of) the open-ended one (``question_form = open | mc | both``).

Options are re-ordered with the seed so that the right letter is uniform: within one split, the
multiple-choice rows with the same number of options are ranked by sha256(seed, id) and the right
option goes to position ``rank mod n`` — so over the split each letter is right (almost) equally
often, whatever the source's own letter bias (MedQA's answers are not uniform). The wrong options
follow in the order of sha256(seed, id, original position). Same seed and input -> same prompts.

The letter ground truth is what ``tasks/export/rl/reward.py`` scores as a choice (the response's
answer must start with / state the letter).
"""

from __future__ import annotations

import hashlib

import polars as pl

LETTERS = "ABCDEFGHIJ"
INSTRUCTION = {
    "zh": "请从以下选项中选出一个正确答案，并以选项字母开头作答。",
    "en": "Choose the one correct option and start your answer with its letter.",
}


def _h(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def shuffle(options: list[str], answer: int, target: int, seed: int, rid: str) -> tuple[list[str], int]:
    """``options`` with the right one moved to ``target`` and the others in seeded order."""
    wrong = sorted((i for i in range(len(options)) if i != answer), key=lambda i: _h(seed, "mc-order", rid, i))
    order = wrong[:target] + [answer] + wrong[target:]
    return [options[i] for i in order], target


def mc_text(stem: str, options: list[str], language: str) -> str:
    """The user message: stem, the lettered options, one line of instruction."""
    lines = [stem.strip(), ""] + [f"{LETTERS[i]}. {o}" for i, o in enumerate(options)]
    return "\n".join(lines + ["", INSTRUCTION["zh" if language == "zh" else "en"]])


def mc_rows(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """One multiple-choice row per record with choices: ``question`` (the lettered prompt text),
    ``ground_truth`` (the letter), ``choice_answer`` (the right option's text), ``mc_letter_index``.

    ``frame`` needs ``id``, ``language``, ``question`` and ``choices``; other columns are kept.
    Python over the multiple-choice rows only (a few thousand at most in a 2,000-10,000 sample):
    a seeded permutation per row is clearer here than list gymnastics in Polars.
    """
    mc = frame.filter(pl.col("choices").is_not_null())
    if mc.height == 0:
        return mc.with_columns(
            pl.lit(None, dtype=pl.String).alias("ground_truth"),
            pl.lit(None, dtype=pl.String).alias("choice_answer"),
            pl.lit(None, dtype=pl.Int64).alias("mc_letter_index"),
        )
    ids = mc["id"].to_list()
    choices = mc["choices"].to_list()
    langs = mc["language"].to_list()
    questions = mc["question"].to_list()
    # balanced right-letter positions: rank by sha256(seed, id) within each option count
    targets: dict[int, int] = {}
    by_n: dict[int, list[int]] = {}
    for k, c in enumerate(choices):
        by_n.setdefault(len(c["options"]), []).append(k)
    for n, rows in by_n.items():
        for rank, k in enumerate(sorted(rows, key=lambda k: (_h(seed, "mc-letter", ids[k]), k))):
            targets[k] = rank % n
    texts, letters, answers, positions = [], [], [], []
    for k, c in enumerate(choices):
        opts, pos = shuffle(list(c["options"]), int(c["answer"]), targets[k], seed, ids[k])
        texts.append(mc_text(c["question"] or questions[k] or "", opts, langs[k]))
        letters.append(LETTERS[pos])
        answers.append(opts[pos])
        positions.append(pos)
    return mc.with_columns(
        pl.Series("question", texts, dtype=pl.String),
        pl.Series("ground_truth", letters, dtype=pl.String),
        pl.Series("choice_answer", answers, dtype=pl.String),
        pl.Series("mc_letter_index", positions, dtype=pl.Int64),
    )


def correct_option(choices: pl.Expr) -> pl.Expr:
    """The right option's text of a ``choices`` struct (null without choices)."""
    return choices.struct.field("options").list.get(choices.struct.field("answer"), null_on_oob=True)

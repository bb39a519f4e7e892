"""Dedup benchmark: synthetic 300k-row zh/en frame with planted exact and near duplicates.

Usage: python bench/dedup_bench.py [--rows N] [--seed S]
Prints seconds and rows/s for tasks.quality.dedup.dedup and the stats it returns. No assertions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ZH_WHO = ["我", "我爸爸", "我妈妈", "我老公", "我婆婆", "孩子", "宝宝", "我朋友", "我爷爷", "我同事", "孕妇", "我姐姐"]
ZH_SYM = ["头痛", "头晕", "胸闷", "咳嗽", "发烧", "腹泻", "胃胀", "失眠", "乏力", "腰疼", "皮肤瘙痒", "心慌", "恶心", "便秘",
          "关节痛", "尿频", "血压高", "血糖高", "耳鸣", "脱发", "胸痛", "呼吸困难", "湿疹", "牙痛", "眼睛干涩"]
ZH_DUR = ["三天了", "一个星期了", "两个月了", "半年了", "好几年了", "最近", "今天早上开始", "反反复复", "昨天晚上", "断断续续一年"]
ZH_ASK = ["是什么原因？", "该怎么办？", "需要吃什么药？", "要去医院检查吗？", "能吃什么食物？", "严重吗？", "怎么治疗比较好？",
          "會不會有危險？", "平時要注意什麼？", "可以自己好吗？"]
EN_WHO = ["I", "My father", "My mother", "My son", "My wife", "A 45-year-old man", "A 30-year-old pregnant woman", "My friend", "A 70-year-old woman", "My 3-year-old daughter"]
EN_SYM = ["headache", "dizziness", "chest tightness", "cough", "fever", "diarrhea", "bloating", "insomnia", "fatigue", "back pain",
          "itchy skin", "palpitations", "nausea", "constipation", "joint pain", "frequent urination", "high blood pressure", "tinnitus", "hair loss", "chest pain"]
EN_DUR = ["for three days", "for a week", "for two months", "for half a year", "for years", "recently", "since this morning", "on and off", "since last night", "every evening"]
EN_ASK = ["What could be the cause?", "What should I do?", "Which medicine should I take?", "Do I need tests?", "What should I eat?",
          "Is it serious?", "How is it treated?", "Is it dangerous?", "What should I watch for?", "Will it go away by itself?"]


def synthetic_frame(rows: int = 300_000, seed: int = 0, exact_frac: float = 0.1, near_frac: float = 0.1) -> pl.DataFrame:
    """Canonical-ish frame: half zh half en, with planted exact and near duplicates."""
    rng = np.random.default_rng(seed)
    base_n = int(rows * (1 - exact_frac - near_frac))

    def pick(vocab: list[str], n: int) -> pl.Series:
        return pl.Series(vocab).gather(rng.integers(0, len(vocab), n))

    half = base_n // 2
    nums = pl.Series(rng.integers(1, 10_000, base_n)).cast(pl.String)
    zh = pl.DataFrame({"a": pick(ZH_WHO, half), "b": pick(ZH_SYM, half), "c": pick(ZH_DUR, half),
                       "d": pick(ZH_SYM, half), "e": pick(ZH_ASK, half), "n": nums[:half]}).select(
        pl.concat_str(["a", "b", "c", pl.lit("，还有"), "d", pl.lit("，编号"), "n", pl.lit("，"), "e"]).alias("question"))
    en_n = base_n - half
    en = pl.DataFrame({"a": pick(EN_WHO, en_n), "b": pick(EN_SYM, en_n), "c": pick(EN_DUR, en_n),
                       "d": pick(EN_SYM, en_n), "e": pick(EN_ASK, en_n), "n": nums[half:]}).select(
        pl.concat_str(["a", pl.lit(" has had "), "b", pl.lit(" "), "c", pl.lit(" and also "), "d", pl.lit(", case "), "n", pl.lit(". "), "e"]).alias("question"))
    base = pl.concat([zh.with_columns(pl.lit("zh").alias("language")), en.with_columns(pl.lit("en").alias("language"))])
    base = base.with_columns(
        pl.concat_str([pl.lit("Answer about "), pl.col("question").str.slice(0, 20)]).alias("answer"),
        pl.Series(rng.random(base.height)).alias("quality_score"),
        pl.when(pl.Series(rng.random(base.height) < 0.5)).then(pl.lit("think")).otherwise(None).alias("reasoning"),
    )
    exact = base.sample(int(rows * exact_frac), with_replacement=True, seed=seed)
    near = base.sample(rows - base.height - exact.height, with_replacement=True, seed=seed + 1).with_columns(
        pl.concat_str([pl.col("question").str.to_uppercase(), pl.lit("！！")]).alias("question"),
        pl.concat_str([pl.col("answer"), pl.lit(" (v2)")]).alias("answer"),
    )
    out = pl.concat([base, exact, near]).sample(fraction=1.0, shuffle=True, seed=seed)
    return out.with_row_index("source_row").select(
        pl.format("id{}", pl.col("source_row")).alias("id"),
        pl.lit("synthetic").alias("source"),
        pl.lit("synthetic.jsonl").alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
        "language", "question", "answer", "reasoning", "quality_score",
        pl.lit(None, dtype=pl.String).alias("specialty"),
    )


def main() -> None:
    """Run the benchmark once and print timings."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from tasks.quality.dedup import dedup

    t = time.perf_counter()
    df = synthetic_frame(args.rows, args.seed)
    print(f"generated {df.height} rows in {time.perf_counter() - t:.2f}s")
    t = time.perf_counter()
    kept, dropped, stats = dedup(df)
    sec = time.perf_counter() - t
    print(f"dedup: {sec:.2f}s  {df.height / sec:,.0f} rows/s  kept={kept.height} dropped={dropped.height}")
    print(stats)


if __name__ == "__main__":
    main()

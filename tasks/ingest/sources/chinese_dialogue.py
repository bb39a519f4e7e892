"""chinese-dialogue: Toyhom's Chinese medical dialogue data (792k doctor answers, 6 departments).

Published on GitHub (https://github.com/Toyhom/Chinese-medical-dialogue-data), not on ModelScope:
one CSV per department under ``Data_数据/<Dept>/`` (e.g. ``Data_数据/IM_内科/内科5000-33000.csv``)
plus a repo-root sample ``样例_内科5000-6000.csv``; ~1 GB in total. Header
``department,title,ask,answer``; **GB18030/GBK** encoded (not UTF-8); fields are quoted when they
hold a newline, comma or quote, and a few rows have a bare ``"`` inside an unquoted field (kept as
a literal quote, as Python's ``csv`` module does). The reader streams the file in chunks
(:func:`tasks.ingest.readers.iter_csv`), so a 1 GB file never sits in memory whole.

``ask`` is the patient's question; it can be the placeholder ``无`` ("none") or empty, and then
the ``title`` is the question. ``department`` (e.g. 心血管科) becomes the specialty. No reasoning.
"""

from __future__ import annotations

import polars as pl

from tasks.core import schema as S
from tasks.ingest.sources.base import SourceSpec

COLUMNS = ("department", "title", "ask", "answer")
PLACEHOLDERS = ("无", "无。", "暂无", "没有")
FIELDS = {
    "ask": S.QUESTION,
    "title": f"{S.QUESTION} (when ask is empty or 无)",
    "answer": S.ANSWER,
    "department": S.SPECIALTY,
}


def parse(raw: pl.DataFrame) -> pl.LazyFrame:
    """Raw dialogue rows -> canonical content columns."""
    ask = pl.col("ask").str.strip_chars()
    no_ask = ask.is_null() | (ask.str.len_chars() == 0) | ask.is_in(PLACEHOLDERS)
    return raw.lazy().select(
        pl.col(S.SOURCE_ROW),
        pl.when(no_ask).then(pl.col("title")).otherwise(pl.col("ask")).alias(S.QUESTION),
        pl.col("answer").alias(S.ANSWER),
        pl.col("department").str.strip_chars().alias(S.SPECIALTY),
    )


SPEC = SourceSpec(
    name="chinese-dialogue",
    title="Chinese medical dialogue data (Toyhom)",
    modelscope_id=None,
    homepage="https://github.com/Toyhom/Chinese-medical-dialogue-data",
    files=(
        "样例_内科5000-6000.csv",
        "内科5000-33000.csv",
        "外科5-14000.csv",
        "儿科5-14000.csv",
        "妇产科6-28000.csv",
        "男科5-13000.csv",
        "肿瘤科5-10000.csv",
    ),
    # Content decides for real files (signature below); the name pattern only matters for Git LFS
    # pointers, whose content cannot be sniffed. Every Toyhom file name has a department (…科).
    patterns=("*科*.csv",),
    signature=frozenset(COLUMNS),
    read_schema={c: pl.String for c in COLUMNS},
    fields=FIELDS,
    parse=parse,
    encoding="gb18030",
    license="MIT",
    priority=4,
    has_reasoning=False,
    notes="per-department CSVs, GB18030, quoted multi-line fields; ask 无 -> title; streamed",
    extensions=(".csv",),
)

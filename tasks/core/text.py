"""One definition of each text concept: what counts as Chinese, how text is normalised.

Language detection, dedup, risk labels and the RL token estimate all import from here, so they
agree about what a CJK character is. The reward module (``tasks/export/rl/reward.py``) is loaded
by trainers by file path and must stay standard-library only: it keeps its own copy of
:data:`CJK_SCRIPT`, and ``tests/tasks/core/test_text.py`` asserts the two are equal.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

import polars as pl

# Character classes (the inside of a regex [...]), from narrowest to widest.
# Chinese characters: CJK Unified Ideographs, extension A, compatibility ideographs, extensions B+.
CJK_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# Scripts written without spaces, one token per character: the ideographs, kana and hangul.
CJK_SCRIPT = CJK_IDEOGRAPHS + "\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
# ... plus CJK punctuation and full-width forms, which tokenizers also spend a token on each.
CJK_WIDE = CJK_SCRIPT + "\u3000-\u303f\uff00-\uffef"

CJK_PATTERN = f"[{CJK_IDEOGRAPHS}]"  # "contains Chinese"

_OPENCC_SEP = "\ue000"  # private-use character between strings joined for one OpenCC call
_OPENCC_BATCH = 20_000


def normalise(expr: pl.Expr | pl.Series, *, simplified: bool = False) -> pl.Expr | pl.Series:
    """NFKC, lowercase, whitespace runs collapsed to one space and stripped; null -> "".

    ``simplified`` also converts traditional to simplified Chinese (OpenCC ``t2s``, run only on
    the unique strings that contain a Chinese character).
    """
    if isinstance(expr, pl.Series):  # a Series works too, as with the Expr methods it once chained
        out = _normalise_series(expr)
        return _t2s_series(out) if simplified else out
    out = expr.map_batches(_normalise_series, return_dtype=pl.String, is_elementwise=True)
    return out.map_batches(_t2s_series, return_dtype=pl.String) if simplified else out


def _normalise_series(s: pl.Series) -> pl.Series:
    """:func:`normalise` (without ``simplified``) of a Series, step by step on materialised columns.

    NFKC leaves ASCII unchanged, and collapsing whitespace runs changes only a row with a
    whitespace character other than " " or two in a row: each of those passes runs on the rows it
    can change while the others see "" (90k bench questions: ~0.63 -> ~0.57 CPU s)."""
    t = pl.col("t")
    frame = pl.DataFrame({"t": s.cast(pl.String).fill_null("")})
    frame = frame.with_columns((t.str.len_bytes() != t.str.len_chars()).alias("m"))
    frame = frame.select(_only_where(pl.col("m"), t, lambda x: x.str.normalize("NFKC")).str.to_lowercase().alias("t"))
    frame = frame.with_columns(t.str.contains(r"[^\S ]|  ").alias("m"))
    frame = frame.select(_only_where(pl.col("m"), t, lambda x: x.str.replace_all(r"\s+", " ")).str.strip_chars())
    return frame.to_series().alias(s.name)


def _only_where(cond: pl.Expr, text: pl.Expr, step) -> pl.Expr:
    """``step(text)`` on the rows where ``cond`` holds, ``text`` elsewhere; ``step`` itself sees
    "" on the other rows, so its cost follows the share of rows it can change."""
    return pl.when(cond).then(step(pl.when(cond).then(text).otherwise(pl.lit("")))).otherwise(text)


def normalise_str(text: str | None) -> str:
    """:func:`normalise` for one Python string (without ``simplified``)."""
    return " ".join(unicodedata.normalize("NFKC", text or "").lower().split())


@functools.cache
def _opencc_t2s():
    """An OpenCC traditional->simplified converter with a ``convert(str) -> str`` method."""
    try:
        from opencc import OpenCC  # official bindings' public API

        return OpenCC("t2s")
    except ImportError:
        # Some installs ship the C extension without opencc/__init__.py;
        # the extension's own class needs the config path and the UTF-8 byte length.
        from opencc.clib import opencc_clib

        config = Path(opencc_clib.__file__).parent / "share" / "opencc" / "t2s.json"
        raw = opencc_clib._OpenCC(str(config))

        class _Converter:
            def convert(self, text: str) -> str:
                b = text.encode("utf-8")
                return raw.convert(b, len(b))

        return _Converter()


def to_simplified(strings: list[str]) -> list[str]:
    """Traditional->simplified for many strings in a few OpenCC calls (batched, order kept)."""
    cc = _opencc_t2s()
    out: list[str] = []
    for i in range(0, len(strings), _OPENCC_BATCH):
        chunk = strings[i : i + _OPENCC_BATCH]
        converted = cc.convert(_OPENCC_SEP.join(chunk)).split(_OPENCC_SEP)
        if len(converted) != len(chunk):  # stay correct if a dictionary ever eats the separator
            converted = [cc.convert(s) for s in chunk]
        out.extend(converted)
    return out


@functools.cache
def traditional_pattern() -> str:
    """Regex class of the characters OpenCC ``t2s`` changes on their own (computed once from the
    converter, ~4,200 of the BMP ideographs). A string without any of them is already simplified
    except for phrase-level conversions of characters valid in both scripts (e.g. 反覆 -> 反复;
    1 of 849 real zh questions checked), so only strings with one go through OpenCC: on mainland
    sources that skips nearly every row (the labelling bench's largest cost was OpenCC)."""
    chars = [chr(c) for a, b in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)) for c in range(a, b + 1)]
    trad = [c for c, simp in zip(chars, to_simplified(chars), strict=True) if c != simp]
    return "[" + "".join(trad) + "]"


def _t2s_series(s: pl.Series) -> pl.Series:
    """OpenCC over the unique strings of a Series that hold a traditional character; the rest pass through."""
    uniq = s.filter(s.str.contains(traditional_pattern())).unique(maintain_order=True)
    if uniq.len() == 0:
        return s
    # Strings without the separator are batched; one containing it is converted on its own.
    plain = uniq.filter(~uniq.str.contains(_OPENCC_SEP, literal=True)).to_list()
    odd = uniq.filter(uniq.str.contains(_OPENCC_SEP, literal=True)).to_list()
    cc = _opencc_t2s()
    new = to_simplified(plain) + [cc.convert(x) for x in odd]
    return s.replace(pl.Series(plain + odd, dtype=pl.String), pl.Series(new, dtype=pl.String))


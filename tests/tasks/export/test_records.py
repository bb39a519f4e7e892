"""tasks/export/records.py: the gate's think-output regex (fast form) accepts exactly what the
readable form accepts, and pandas runs it on pyarrow (linear) rather than Python's re."""

from __future__ import annotations

import random
import re

import pandas as pd

from tasks.export import records as R


def test_whitespace_class_is_pythons_backslash_s():
    # full Unicode range: the class is built from str.isspace up to U+3000; nothing past it is \s
    py = {chr(c) for c in range(0x110000) if re.match(r"\s", chr(c))}
    assert set(R._WS) == py


def test_fast_regex_accepts_exactly_the_readable_one():
    plain, fast = re.compile(R.THINK_OUTPUT_REGEX_PLAIN), re.compile(R.THINK_OUTPUT_REGEX)
    rng = random.Random(7)
    parts = ["<think>", "</think>", "\n", " ", "x", "\t", "\u3000", "\n\n", "好", "\xa0", "\x1c", "\u2028", "<think>\n"]
    texts = ["<think>\n" * (i % 2) + "".join(rng.choice(parts) for _ in range(rng.randint(0, 10))) for i in range(40_000)]
    texts += ["<think>\nr\n</think>\n\na", "<think>\n \n</think>\n\na", "<think>\n\u3000\n</think>\n\na",
              "<think>\nr\n</think>\n\n\u3000a", "<think>\n\n</think>\n\nx\n</think>\n\ny"]
    want = [bool(plain.search(t)) for t in texts]
    assert [bool(fast.search(t)) for t in texts] == want
    assert 0 < sum(want) < len(want)
    # pandas' Arrow strings take the pyarrow (RE2) path for the fast form, with the same answers
    s = pd.Series(texts, dtype="str")
    if hasattr(s.array, "_needs_python_regex"):
        assert not s.array._needs_python_regex(R.THINK_OUTPUT_REGEX)
    assert s.str.contains(R.THINK_OUTPUT_REGEX).tolist() == want

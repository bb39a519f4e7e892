"""The labelled risk / specialty dev split (eval/risk/data/dev_*.jsonl) is well formed and documented.

Several people append to the dev files (issue 17); these checks catch a malformed line, a label
outside the fixed sets, an id or question added twice, or a source not recorded in SOURCES_<lang>.md.
Only the dev files are read: the frozen test split is not opened here.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "eval" / "risk" / "data"
FIELDS = {"id", "question", "language", "source_kind", "risk", "why", "specialty", "origin", "license"}
LEVELS = {"high", "medium", "low"}
ORIGIN = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+):.+@[0-9a-f]{7,40}(#.*)?$")


def _specialties() -> set[str]:
    lex = json.loads((REPO / "tasks" / "quality" / "lexicons" / "specialty.v2.json").read_text(encoding="utf-8"))
    return set(lex["specialties"])


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def test_dev_items_are_well_formed_unique_and_their_sources_documented():
    specialties = _specialties()
    ids: set[str] = set()
    for lang in ("zh", "en"):
        sources = (DATA / f"SOURCES_{lang}.md").read_text(encoding="utf-8")
        questions: set[str] = set()
        lines = (DATA / f"dev_{lang}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) > 400, f"dev_{lang}.jsonl lost items"
        for n, line in enumerate(lines, 1):
            item = json.loads(line)
            where = f"dev_{lang}.jsonl line {n}"
            assert set(item) == FIELDS, where
            assert item["language"] == lang, where
            assert item["risk"] in LEVELS and item["why"].strip(), where
            assert item["specialty"] in specialties, where
            assert item["question"].strip(), where
            assert item["id"] not in ids, f"{where}: id {item['id']} repeated"
            ids.add(item["id"])
            key = _norm(item["question"])
            assert key not in questions, f"{where}: question repeated"
            questions.add(key)
            m = ORIGIN.match(item["origin"])
            assert m, f"{where}: origin is not owner/repo:path@commit#locator"
            assert m["repo"] in sources, f"{where}: {m['repo']} not recorded in SOURCES_{lang}.md"

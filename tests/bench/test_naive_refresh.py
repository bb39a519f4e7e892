"""bench/naive_refresh.py: the row-wise baseline does the product's steps, so its labels and its
pool match the product's on the bench corpus (a tiny scale of it)."""

from __future__ import annotations

import polars as pl
import pytest

from bench import naive_refresh, refresh_bench
from tasks.core import schema as S
from tasks.ingest.parse import parse_to_frames
from tasks.quality.dedup import dedup
from tasks.quality.labels import label


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    refresh_bench.write_corpus(raw, 0.0005)  # ~460 records, every source and format
    return raw


def _product(raw) -> pl.DataFrame:
    files = [("medical-o1", p) for p in sorted(raw.glob("medical_o1_sft*.json"))]
    files += [("medical-o1-verifiable", raw / "medical_o1_verifiable_problem.json"),
              ("delicate-medical", raw / "r1_data_example.jsonl")]
    files += [("chinese-dialogue", p) for p in sorted(raw.glob("chinese-dialogue/*/*.csv"))]
    frames = [parse_to_frames(src, str(p), p.relative_to(raw).as_posix())[0] for src, p in files]
    return label(pl.concat(frames).lazy()).collect()


def test_naive_rows_labels_and_pool_match_the_product(corpus):
    rows, bad = naive_refresh.parse_files(corpus)
    product = _product(corpus)
    assert len(rows) == product.height > 400 and not bad
    assert sorted(r["id"] for r in rows) == sorted(product[S.ID].to_list())

    labeller = naive_refresh.RowLabeller()
    for r in rows:
        labeller.label(r)
    want = {d[S.ID]: d for d in product.select(S.ID, S.RISK_LEVEL, S.RISK_REASONS, S.SPECIALTY, S.LANGUAGE).to_dicts()}
    levels = {r["risk_level"] for r in rows}
    assert {"high", "low"} <= levels  # the rules and the model both had something to do
    for r in rows:
        w = want[r["id"]]
        assert (r["risk_level"], r["risk_reasons"], r["specialty"], r["language"]) == \
            (w[S.RISK_LEVEL], w[S.RISK_REASONS], w[S.SPECIALTY], w[S.LANGUAGE]), r["question"][:80]

    kept, dropped, stats = naive_refresh.dedup_rows(rows)
    p_kept, _, p_stats = dedup(product.sort(S.ID))
    assert stats["exact_dropped"] == p_stats["exact_dropped"] > 0
    assert stats["near_dropped"] == p_stats["near_dropped"] > 0
    assert [r["id"] for r in kept] == p_kept.sort(S.ID)[S.ID].to_list()


def test_naive_sample_has_the_size_and_risk_floors(corpus):
    rows, _ = naive_refresh.parse_files(corpus)
    labeller = naive_refresh.RowLabeller()
    for r in rows:
        labeller.label(r)
    rows, _, _ = naive_refresh.dedup_rows(rows)  # the pool: ids unique
    picked = naive_refresh.sample_rows(rows, 200)
    assert len(picked) == 200 and len({r["id"] for r, _ in picked}) == 200
    by_source: dict[str, list[str]] = {}
    for r, _ in picked:
        by_source.setdefault(r["source"], []).append(r["risk_level"])
    for src, lv in by_source.items():
        have = {x: sum(r["risk_level"] == x for r in rows if r["source"] == src) for x in ("high", "low")}
        for x in ("high", "low"):  # at least 20 % of the source's draw where the pool has them
            assert lv.count(x) >= min(have[x], -(-len(lv) * 20 // 100)), (src, x)
    assert {s for _, s in picked} == {"train", "val"}

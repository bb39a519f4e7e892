"""The refresh done the naive way: the same steps as ``prepare all --offline``, one row at a time.

A fair baseline for bench/refresh_bench.py (issue 16: "a naive row-wise baseline of the same
steps — the same rules applied per row, the same dedup, the gate through pandas, the same
outputs"). Nothing here is vectorised over rows; every step is what a careful engineer writes with
the standard library, NumPy per row and pandas:

- parse: ``json.load`` (JSON arrays), ``json.loads`` per line (JSON Lines), the ``csv`` module on
  the GB18030 dialogue files; each row becomes a dict with the canonical fields, the same
  quarantine rules (empty question/answer, ``<think>`` tags, NUL, length bounds), the same
  language rule and the same id (sha256 of source, question, answer);
- label: the same rules read from the same lexicons (tasks/quality/lexicons), applied per row with
  Python ``re`` (NFKC + lowercase + OpenCC t2s, the masks, the literals on the padded text, the
  regexes, contexts and rules); the same shipped model file scored one row at a time (the row's
  byte n-grams hashed with NumPy, the weights of the hit buckets summed), and the same decision
  (forced-high rules, the high threshold, ``model.<level>`` reasons); specialty from the source's
  department table, else the model's specialty head with the keyword-lexicon class;
- pool: rows ranked as the product ranks them, exact duplicates (normalised question + answer) by
  a set, then near duplicates by MinHash LSH on the question written per row in the style of
  ``datasketch`` (SHA-1 of each 3-token shingle, 128 permutations as one NumPy expression per row,
  the same threshold 0.9 and band layout), keeping the better-ranked record;
- gate: the pool as a pandas DataFrame, Great Expectations' pool suite on it whole;
- sample + write: per source the product's quotas (``tasks.sample.allocate`` /
  ``allocate_risk``: share of the pool, at least 20 % high and 20 % low), rows drawn per
  (source, risk) stratum by a sha256 key, 5 % of each stratum to validation, and
  processed/{train,val}.jsonl plus quarantine/<source>.jsonl written with ``json.dumps`` per row.

What differs from the product, on purpose or for want of time: the MinHash hashes (SHA-1 +
universal hashing instead of xxhash64 + rensa's permutations: the same parameters, other random
functions, so a near-duplicate at the 0.9 border can go either way); the sample's language and
verifiable sub-strata; no data card, Data Docs or sample gate. The bench prints how close the
outputs are (pool size, share of identical risk and specialty labels by id).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import time
import unicodedata
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------------------------
# parse

_THINK = re.compile(r"</?think>")
_CJK = None  # compiled lazily (imports tasks.core.text)


def _cjk() -> re.Pattern:
    global _CJK
    if _CJK is None:
        from tasks.core.text import CJK_PATTERN

        _CJK = re.compile(CJK_PATTERN)
    return _CJK


def _blank(v) -> bool:
    return v is None or not v.strip()


def finish_row(rec: dict, source: str, source_file: str, row: int, good: list, bad: list) -> None:
    """The shared tail of every parser (tasks/ingest/sources/base.finish), for one row."""
    from expectations.thresholds import LENGTH_BOUNDS

    for c in ("question", "answer", "reasoning", "reference_answer"):
        if isinstance(rec.get(c), str):
            rec[c] = rec[c].strip()
    for c in ("reasoning", "reference_answer", "specialty", "instruction"):
        if _blank(rec.get(c)):
            rec[c] = None
    q, a, r = rec.get("question"), rec.get("answer"), rec.get("reasoning")
    reason = None
    if _blank(q):
        reason = "empty question"
    elif _blank(a):
        reason = "empty answer"
    elif _THINK.search(a):
        reason = "answer contains <think> tags"
    elif r is not None and _THINK.search(r):
        reason = "reasoning contains <think> tags"
    elif any(x is not None and "\x00" in x for x in (q, a, r)):
        reason = "text contains NUL or a lone surrogate"
    else:
        for col, name in (("question", "question"), ("answer", "answer"), ("reasoning", "reasoning")):
            hi = LENGTH_BOUNDS[col][1]
            if rec.get(col) is not None and len(rec[col]) > hi:
                reason = f"{name} longer than {hi:,} characters"
                break
    if reason:
        bad.append({"source": source, "source_file": source_file, "source_row": row, "reason": reason,
                    "raw": json.dumps({"question": q, "answer": a}, ensure_ascii=False)})
        return
    rec["source"], rec["source_file"], rec["source_row"] = source, source_file, row
    rec["language"] = "zh" if len(_cjk().findall(q)) >= 0.1 * len(q) else "en"
    rec["id"] = hashlib.sha256(f"{source}\x1f{q}\x1f{a}".encode()).hexdigest()[:16]
    rec.setdefault("history", [])
    good.append(rec)


def parse_files(raw: Path) -> tuple[list[dict], list[dict]]:
    """Every input file of the bench corpus -> (records, quarantined rows)."""
    good: list[dict] = []
    bad: list[dict] = []
    for p in sorted(raw.glob("medical_o1_sft*.json")):
        rel = p.relative_to(raw).as_posix()
        with open(p, encoding="utf-8-sig") as fh:
            for i, r in enumerate(json.load(fh)):
                rec = {"question": r.get("Question"), "reasoning": r.get("Complex_CoT"), "answer": r.get("Response"),
                       "reference_answer": r.get("Ground-True Answer")}
                finish_row(rec, "medical-o1", rel, i, good, bad)
    p = raw / "medical_o1_verifiable_problem.json"
    if p.is_file():
        with open(p, encoding="utf-8-sig") as fh:
            for i, r in enumerate(json.load(fh)):
                ans = r.get("Ground-True Answer")
                finish_row({"question": r.get("Open-ended Verifiable Question"), "answer": ans, "reference_answer": ans},
                           "medical-o1-verifiable", p.name, i, good, bad)
    for p in sorted(raw.glob("*.jsonl")):
        with open(p, encoding="utf-8-sig") as fh:
            i = -1
            for line in fh:
                if not line.strip():
                    continue
                i += 1
                r = json.loads(line)
                metrics = r.get("metrics") or {}
                rec = {"question": r.get("question"), "reasoning": (r.get("think") or "").replace("\\n", "\n") or None,
                       "answer": (r.get("answer") or "").replace("\\n", "\n") or None,
                       "quality_score": metrics.get("quality_f1"), "instruction": r.get("instruction")}
                finish_row(rec, "delicate-medical", p.name, i, good, bad)
    placeholders = ("无", "无。", "暂无", "没有")
    for p in sorted(raw.glob("chinese-dialogue/*/*.csv")):
        rel = p.relative_to(raw).as_posix()
        with open(p, encoding="gb18030", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.lstrip("\ufeff") for h in next(reader)]
            for i, fields in enumerate(reader):
                if len(fields) != len(header):
                    bad.append({"source": "chinese-dialogue", "source_file": rel, "source_row": i,
                                "reason": "csv_field_count", "raw": ",".join(fields)})
                    continue
                r = dict(zip(header, fields))
                ask = (r.get("ask") or "").strip()
                q = r.get("title") if not ask or ask in placeholders else r.get("ask")
                finish_row({"question": q, "answer": r.get("answer"), "specialty": (r.get("department") or "").strip()},
                           "chinese-dialogue", rel, i, good, bad)
    return good, bad


# --------------------------------------------------------------------------------------------
# label


def _py(pattern: str) -> str:
    """A lexicon regex (Rust ``regex`` syntax, as Polars runs it) in Python ``re`` syntax, compiled
    with re.ASCII: ``(?-u:\\b)`` is then ``\\b``, and the ASCII classes the product substitutes for
    ``\\w`` / ``\\d`` / ``\\s`` (labels._ascii_classes) go back to those (a nested class such as
    ``[[a-z0-9_]x]`` is a union in Rust, not in Python); a leading ``(?s)`` becomes a group."""
    pattern = pattern.replace(r"(?-u:\b)", r"\b")
    pattern = pattern.replace("[a-z0-9_]", r"\w").replace("[0-9]", r"\d").replace("[ \t\n]", r"\s")
    return f"(?s:{pattern[4:]})" if pattern.startswith("(?s)") else pattern.replace("(?s)", "")


def _rx(pattern: str) -> re.Pattern:
    return re.compile(_py(pattern), re.ASCII)


class RowLabeller:
    """Specialty and risk for one record at a time: the product's rules and model, per row."""

    def __init__(self) -> None:
        from tasks.core.text import _opencc_t2s, traditional_pattern
        from tasks.quality import labels as L
        from tasks.quality import risk_model as M

        self.L, self.M = L, M
        self.lex = L.load_lexicon(L.RISK_LEXICON_FILE)
        self.spec_lex = L.load_lexicon(L.SPECIALTY_LEXICON_FILE)
        self.model = L.risk_model()
        self.cc = _opencc_t2s()
        self.trad = re.compile(traditional_pattern())
        self.masks = [_rx("|".join(f"(?:{p})" for p in m["regex"])) for m in self.lex.get("masks", [])
                      if m.get("regex")]
        self.pad_run = re.compile(L._PAD_RUN)
        self.contexts = {name: self._compile(spec) for name, spec in self.lex.get("contexts", {}).items()}
        self.rules = {r["id"]: self._compile(r) for r in self.lex["rules"]}
        self.level_of = {r["id"]: r["level"] for r in self.lex["rules"]}
        # model: weights per head, the lookup table, bias
        m = self.model
        self.pad = max(m.orders) - 1
        self.table = M._lookup_table(m)
        self.heads = {h: (cls, np.asarray(w, np.float64), np.asarray(b, np.float64)) for h, (cls, w, b) in m.heads.items()}
        feats = m.meta["rule_features"]
        wr = m.meta["rule_weights"]
        self.rule_w = {f: np.asarray(wr[i], np.float64) for i, f in enumerate(feats)}
        self.forced = set(m.meta.get("forced_high", []))
        self.t_high = float(m.meta["t_high"])
        self.spec_override = bool(m.meta.get("specialty_lexicon_override", True))
        # specialty
        sl = self.spec_lex
        self.departments = [(d["specialty"], d.get("zh", []), [_rx(p) for p in L._patterns(d)]) for d in sl["departments"]]
        self.keywords = [(k["specialty"], _rx(L._count_regex(k)), bool(k.get("binary")),
                          float(k.get("weight", 1))) for k in sl["keywords"]]
        sfeats = m.meta.get("specialty_features") or []
        sw = m.meta.get("specialty_weights") or []
        self.spec_w = {f.removeprefix("lexicon."): np.asarray(sw[i], np.float64) for i, f in enumerate(sfeats)}

    def _terms(self, spec: dict | None):
        if not spec:
            return None
        lits, regex = self.L.split_terms(spec)
        return lits, [_rx(p) for p in regex]

    def _compile(self, spec: dict) -> dict:
        return {"terms": self._terms(spec) if self.L._has_terms(spec) else None,
                "requires": [self._terms(r) for r in spec.get("requires", [])],
                "exclude": self._terms(spec.get("exclude")),
                "when": spec.get("when", []), "when_any": spec.get("when_any", []), "unless": spec.get("unless", [])}

    @staticmethod
    def _match(terms, masked: str, padded: str) -> bool:
        if not terms:
            return False
        lits, regex = terms
        return any(t in padded for t in lits) or any(r.search(masked) for r in regex)

    def _fires(self, c: dict, masked: str, padded: str, ctx: dict) -> bool:
        if c["terms"] is not None and not self._match(c["terms"], masked, padded):
            return False
        if any(not self._match(t, masked, padded) for t in c["requires"]):
            return False
        if c["exclude"] is not None and self._match(c["exclude"], masked, padded):
            return False
        if not all(ctx[n] for n in c["when"]):
            return False
        if c["when_any"] and not any(ctx[n] for n in c["when_any"]):
            return False
        return not any(ctx[n] for n in c["unless"])

    def _scores(self, text: str) -> dict[str, np.ndarray]:
        """The model's per-head scores of one row (bias included): its byte n-grams hashed, the
        weights of the buckets hit summed, divided by sqrt(byte length)."""
        data = np.frombuffer(text.encode("utf-8") + b"\x00" * self.pad, dtype=np.uint8)
        local = np.array([0, data.size], dtype=np.int64)
        ids = np.concatenate(self.M._hash_chunk(data, local, self.model.orders, self.model.bits))
        idx = self.table[ids]
        idx = idx[idx >= 0]
        length = math.sqrt(max(data.size - self.pad, 1))
        return {h: w[idx].sum(axis=0) / length + b for h, (_, w, b) in self.heads.items()}

    def label(self, rec: dict) -> None:
        users = [t.get("content") for t in rec.get("history") or []
                 if (t.get("role") or "").lower() in self.L.USER_ROLES and t.get("content") is not None]
        text = rec["question"] or ""
        if users and "\n".join(users):
            text = "\n".join(users) + "\n" + text
        norm = " ".join(unicodedata.normalize("NFKC", text).lower().split())
        if self.trad.search(norm):
            norm = self.cc.convert(norm)
        masked = norm
        for m in self.masks:
            masked = m.sub(" ", masked)
        padded = " " + self.pad_run.sub(" ", masked) + " "
        z = self._scores(text)
        rec["specialty"] = self._specialty(rec.get("specialty"), masked, z["specialty"])
        # risk rules: contexts in lexicon order (each reads earlier ones), then the rules
        ctx: dict[str, bool] = {}
        for name, c in self.contexts.items():
            ctx[name] = self._fires(c, masked, padded, ctx)
        fired = sorted(rid for rid, c in self.rules.items() if self._fires(c, masked, padded, ctx))
        levels = {self.level_of[r] for r in fired}
        rule_level = next((lv for lv in ("high", "medium", "low") if lv in levels), self.lex["default_level"])
        logits = z["risk"] + sum((self.rule_w[r] for r in fired), np.zeros_like(z["risk"]))
        logits = logits + self.rule_w.get(f"level.{rule_level}", 0.0)
        classes = self.heads["risk"][0]
        p = dict(zip(classes, np.exp(logits - logits.max()), strict=True))
        if self.forced & set(fired) or p["high"] >= self.t_high * sum(p.values()):
            level = "high"
        else:
            level = "medium" if p["medium"] >= p["low"] else "low"
        rec["risk_level"] = level
        rec["risk_reasons"] = sorted(fired + ([f"model.{level}"] if level != rule_level else []))

    def _specialty(self, source: str | None, masked: str, z: np.ndarray) -> str:
        sl = self.spec_lex
        if source is not None:
            src = unicodedata.normalize("NFKC", source.strip()).lower()
            if src in sl["specialties"]:
                return src
            for name, zh, regex in self.departments:
                if any(t in src for t in zh) or any(r.search(src) for r in regex):
                    return name
        best, best_n = None, 0.0
        for name, rx, binary, weight in self.keywords:
            n = len(rx.findall(masked))
            n = float(min(n, 1) if binary else n) * weight
            if n > best_n:
                best, best_n = name, n
        lex_class = best if best is not None else sl["fallback"]
        classes = self.heads["specialty"][0]
        logits = z + self.spec_w.get(lex_class, 0.0) if self.spec_w else z
        out = classes[int(np.argmax(logits))]
        if (self.spec_w and self.spec_override and lex_class in self.L.SPECIFIC_SPECIALTIES
                and out in ("internal_medicine", "other")):
            out = lex_class
        return out


# --------------------------------------------------------------------------------------------
# pool: rank, exact + near dedup

_MERSENNE = (1 << 61) - 1
_PUNCT = re.compile(r"[\s\W_]", re.UNICODE)
_WORD = re.compile(r"\w+")


class MinHasher:
    """datasketch-style MinHash: 32-bit SHA-1 of each shingle, ``num_perm`` universal hashes."""

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        rng = np.random.RandomState(seed)
        self.a = rng.randint(1, _MERSENNE, size=num_perm, dtype=np.uint64)
        self.b = rng.randint(0, _MERSENNE, size=num_perm, dtype=np.uint64)

    def digest(self, shingles: list[str]) -> np.ndarray:
        hv = np.array([int.from_bytes(hashlib.sha1(s.encode()).digest()[:4], "little") for s in shingles], dtype=np.uint64)
        with np.errstate(over="ignore"):
            ph = ((hv[:, None] * self.a[None, :] + self.b[None, :]) % np.uint64(_MERSENNE)) & np.uint64(0xFFFFFFFF)
        return ph.min(axis=0)


def shingles(question: str, k: int = 3) -> list[str]:
    """The product's tokens (CJK: characters without spaces, punctuation and symbols; else words),
    joined k at a time; a row shorter than k tokens is one shingle, its whole normalised text."""
    q = " ".join(unicodedata.normalize("NFKC", question or "").lower().split())
    toks = list(_PUNCT.sub("", q)) if _cjk().search(q) else _WORD.findall(q)
    if len(toks) < k:
        return [q]
    return ["\x1f".join(toks[i : i + k]) for i in range(len(toks) - k + 1)]


def dedup_rows(rows: list[dict], threshold: float = 0.9, num_perm: int = 128) -> tuple[list[dict], list[dict], dict]:
    """Exact then near duplicates, the better-ranked record kept -> (kept in id order, dropped, stats)."""
    from tasks.quality.dedup import lsh_params

    def rank(r: dict):
        q = r.get("quality_score")
        return (r.get("reasoning") is None, q is None, -(q or 0.0), -len(r["answer"] or ""), r["id"], r["source"],
                r["source_file"], r["source_row"])

    ranked = sorted(rows, key=rank)
    seen: dict[str, str] = {}
    dropped, survivors = [], []
    for r in ranked:
        key = " ".join(unicodedata.normalize("NFKC", r["question"]).lower().split()) + "\x1f" + \
            " ".join(unicodedata.normalize("NFKC", r["answer"]).lower().split())
        if key in seen:
            dropped.append((r, f"exact_duplicate_of:{seen[key]}"))
        else:
            seen[key] = r["id"]
            survivors.append(r)
    bands, per = lsh_params(threshold, num_perm)
    hasher = MinHasher(num_perm)
    tables: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
    digests: list[np.ndarray] = []
    kept: list[dict] = []
    for r in survivors:
        d = hasher.digest(shingles(r["question"]))
        keys = [d[b * per : (b + 1) * per].tobytes() for b in range(bands)]
        cands = sorted({j for b, key in enumerate(keys) for j in tables[b].get(key, ())})
        better = next((j for j in cands if float(np.mean(digests[j] == d)) >= threshold), None)
        if better is not None:
            dropped.append((r, f"near_duplicate_of:{kept[better]['id']}"))
            continue
        for b, key in enumerate(keys):
            tables[b].setdefault(key, []).append(len(kept))
        digests.append(d)
        kept.append(r)
    kept.sort(key=lambda r: r["id"])
    bad = [{"source": r["source"], "source_file": r["source_file"], "source_row": r["source_row"], "reason": why,
            "raw": json.dumps({"id": r["id"], "question": r["question"], "answer": r["answer"]}, ensure_ascii=False)}
           for r, why in dropped]
    exact = sum(1 for _, why in dropped if why.startswith("exact"))
    return kept, bad, {"input": len(rows), "exact_dropped": exact, "near_dropped": len(dropped) - exact, "kept": len(kept)}


# --------------------------------------------------------------------------------------------
# gate, sample, write


def gate(pool: list[dict]) -> list[dict]:
    """The pool suite of Great Expectations on the whole pool as one pandas DataFrame."""
    import pandas as pd

    from expectations import prepare as suite_mod
    from tasks.quality.gate import validate

    frame = pd.DataFrame({
        "id": [r["id"] for r in pool], "source": [r["source"] for r in pool], "language": [r["language"] for r in pool],
        "question": [r["question"] for r in pool], "answer": [r["answer"] for r in pool],
        "risk_level": [r["risk_level"] for r in pool],
        suite_mod.THINK_OUTPUT: [f"<think>\n{r['reasoning']}\n</think>\n\n{r['answer']}" if r.get("reasoning") is not None
                                 else None for r in pool],
        suite_mod.REASONING_CHARS: [len(r["reasoning"]) if r.get("reasoning") is not None else None for r in pool],
        suite_mod.HAS_REFERENCE: [True if (r.get("reference_answer") or "").strip() else None for r in pool],
    })
    return validate(frame, suite_mod.SUITE_NAME, suite_mod.expectations("pool", None))


def _key(seed: int, salt: str, rid: str) -> int:
    return int(hashlib.sha256(f"{seed}\x1f{salt}\x1f{rid}".encode()).hexdigest()[:15], 16)


def sample_rows(pool: list[dict], size: int, seed: int = 42, val_fraction: float = 0.05) -> list[tuple[dict, str]]:
    """Per source its share of ``size``, at least 20 % high and 20 % low risk (the product's quota
    functions), drawn per (source, risk) by a sha256 key; 5 % of each stratum to validation."""
    from tasks.sample import allocate, allocate_risk
    from tasks.sample_config import SampleConfig

    cfg = SampleConfig(size=size, seed=seed, allow_out_of_range=True)
    strata: dict[tuple[str, str], list[dict]] = {}
    for r in pool:
        strata.setdefault((r["source"], r["risk_level"]), []).append(r)
    by_source: dict[str, int] = {}
    for (src, _), rs in strata.items():
        by_source[src] = by_source.get(src, 0) + len(rs)
    total = min(size, len(pool))
    src_alloc = allocate(total, by_source, {s: n / len(pool) for s, n in by_source.items()})
    out: list[tuple[dict, str]] = []
    for src in sorted(by_source):
        got = src_alloc[src]
        avail = {lv: len(strata.get((src, lv), [])) for lv in ("high", "medium", "low")}
        need = {"high": math.ceil(cfg.min_high * got), "low": math.ceil(cfg.min_low * got)}
        for lv, n in allocate_risk(got, avail, cfg, need).items():
            rows = sorted(strata.get((src, lv), []), key=lambda r: _key(seed, "sample", r["id"]))[:n]
            n_val = round(len(rows) * val_fraction)
            val = {r["id"] for r in sorted(rows, key=lambda r: _key(seed, "split", r["id"]))[:n_val]}
            out += [(r, "val" if r["id"] in val else "train") for r in rows]
    out.sort(key=lambda x: _key(seed, "sample", x[0]["id"]))
    return out


META = ["id", "source", "language", "specialty", "risk_level", "risk_reasons", "reference_answer", "has_reasoning",
        "quality_score", "history", "instruction", "choices", "source_file", "source_row"]


def write_outputs(sample: list[tuple[dict, str]], quarantined: list[dict], out: Path) -> dict[str, int]:
    """processed/{train,val}.jsonl and quarantine/<source>.jsonl, one ``json.dumps`` per row."""
    (out / "processed").mkdir(parents=True, exist_ok=True)
    (out / "quarantine").mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for split in ("train", "val"):
        name = f"processed/{split}.jsonl"
        counts[name] = 0
        with open(out / name, "w", encoding="utf-8") as fh:
            for r, s in sample:
                if s != split:
                    continue
                r = {**r, "has_reasoning": r.get("reasoning") is not None}
                output = (f"<think>\n{r['reasoning']}\n</think>\n\n{r['answer']}" if r["has_reasoning"] else r["answer"])
                fh.write(json.dumps({"input": r["question"], "output": output, "meta": {k: r.get(k) for k in META}},
                                    ensure_ascii=False) + "\n")
                counts[name] += 1
    by_source: dict[str, list[dict]] = {}
    for b in quarantined:
        by_source.setdefault(b["source"], []).append(b)
    for src, rows in sorted(by_source.items()):
        rows.sort(key=lambda b: (b["source_file"], b["source_row"] if b["source_row"] is not None else 1 << 62,
                                 b["reason"], b["raw"]))
        with open(out / "quarantine" / f"{src}.jsonl", "w", encoding="utf-8") as fh:
            for b in rows:
                fh.write(json.dumps(b, ensure_ascii=False) + "\n")
        counts[f"quarantine/{src}.jsonl"] = len(rows)
    return counts


def run(raw: Path, out: Path, sample_size: int) -> dict:
    """The whole naive refresh -> per-stage wall and CPU seconds, counts; the pool's labels by id
    go to ``out/labels.parquet`` (not timed) for the bench's comparison with the product."""
    marks: list[tuple[str, float, float]] = [("", time.perf_counter(), time.process_time())]

    def mark(stage: str) -> None:
        marks.append((stage, time.perf_counter(), time.process_time()))

    rows, bad = parse_files(raw)
    mark("parse")
    labeller = RowLabeller()
    for r in rows:
        labeller.label(r)
    mark("label")
    kept, dropped, stats = dedup_rows(rows)
    del rows
    mark("pool")
    results = gate(kept)
    mark("gate")
    picked = sample_rows(kept, sample_size)
    mark("sample")
    written = write_outputs(picked, bad + dropped, out)
    mark("write")
    stages = {b[0]: round(b[1] - a[1], 2) for a, b in zip(marks, marks[1:])}
    cpu = {b[0]: round(b[2] - a[2], 2) for a, b in zip(marks, marks[1:])}
    import pandas as pd

    pd.DataFrame({"id": [r["id"] for r in kept], "risk_level": [r["risk_level"] for r in kept],
                  "specialty": [r["specialty"] for r in kept]}).to_parquet(out / "labels.parquet")
    return {"seconds": round(marks[-1][1] - marks[0][1], 2), "cpu_seconds": round(marks[-1][2] - marks[0][2], 2),
            "stages": stages, "cpu": cpu, "records": stats["input"], "quarantined": len(bad), "pool": len(kept),
            "dedup": stats, "gate_passed": sum(r["success"] for r in results), "gate_total": len(results),
            "drawn": len(picked), "files": written}

"""Risk and specialty labels, lexicon-driven and vectorised.

Rules live in data (``lexicons/*.json``); this module compiles them into Polars expressions.
Specification, choices and figures: ``docs/labels.md``; levels: ``docs/risk-guideline.md``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import polars.selectors as cs

from tasks.core import schema

try:  # Python's regex parser (3.11+ name, then the deprecated alias), read by regex_anchors only
    import re._constants as _C  # noqa: N814
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as _C  # noqa: N814
    import sre_parse as _sre_parse
from tasks.core.text import CJK_IDEOGRAPHS, normalise
from tasks.quality import risk_model as risk_model_mod

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
RISK_LEXICON_FILE = "risk.v2.json"
SPECIALTY_LEXICON_FILE = "specialty.v2.json"
EVAL_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "risk_eval.jsonl"
# Frozen-test figures written by eval/risk_eval.py (package data: the card reads it, never the test set).
EVAL_RESULTS_FILE = Path(__file__).resolve().parent / "risk_eval_results.json"

# Roles whose history turns are the user's own words.
USER_ROLES = ["user", "human", "patient", "患者", "病人"]

_RISK_TMP = "__risk_text"
_SPEC_TMP = "__specialty_text"


@functools.cache
def load_lexicon(name: str) -> dict:
    """Load and validate a lexicon JSON from tasks/quality/lexicons/."""
    data = json.loads((LEXICON_DIR / name).read_text(encoding="utf-8"))
    if not isinstance(data.get("version"), str):
        raise ValueError(f"lexicon {name} has no string 'version'")
    if "rules" in data:
        ids = [r["id"] for r in data["rules"]]
        if len(ids) != len(set(ids)):
            raise ValueError(f"lexicon {name} has duplicate rule ids")
        for r in data["rules"]:
            if r["level"] not in schema.RISK_LEVELS or not r["id"].startswith(r["level"] + "."):
                raise ValueError(f"rule {r['id']!r}: level {r['level']!r} invalid or not the id prefix")
        # contexts may only name contexts defined before them; rules any context
        known: set[str] = set()
        for cname, ctx in data.get("contexts", {}).items():
            _check_context_refs(f"context {cname!r}", ctx, known)
            known.add(cname)
        for r in data["rules"]:
            _check_context_refs(f"rule {r['id']!r}", r, known)
    # Fail at load on a pattern Polars' regex engine rejects, not in the middle of a flow run.
    probe = pl.Series([""])
    for spec in _term_specs(data):
        for pattern in _patterns(spec):
            probe.str.contains(pattern)
    if data.get("masks"):
        probe.str.replace_all(_mask_pattern(data), " ")
    return data


def _check_context_refs(what: str, spec: dict, known: set[str]) -> None:
    for key in _CONTEXT_KEYS:
        for name in spec.get(key, []):
            if name not in known:
                raise ValueError(f"{what}: {key} names unknown or later context {name!r}")


_CONTEXT_KEYS = ("when", "when_any", "unless")
_TERM_KEYS = ("zh", "zh_regex", "regex", "en")


def _term_specs(data: dict) -> Iterable[dict]:
    """Every term set in a lexicon (rules, contexts, requires, excludes, departments, keywords)."""
    for r in [*data.get("rules", []), *data.get("contexts", {}).values()]:
        yield r
        yield from r.get("requires", [])
        if "exclude" in r:
            yield r["exclude"]
    yield from data.get("departments", [])
    yield from data.get("keywords", [])


def _mask_pattern(data: dict) -> str:
    """All mask regexes as one alternation (blanked in one pass before rules are matched)."""
    return "|".join(f"(?:{p})" for m in data.get("masks", []) for p in m.get("regex", []))


def _en_pattern(terms: list[str]) -> str:
    """English regex fragments as one ASCII-word-bounded alternation."""
    return r"(?-u:\b)(?:" + "|".join(terms) + r")(?-u:\b)"


def _patterns(spec: dict) -> list[str]:
    """The regex patterns of a term set (literal zh terms are not regexes)."""
    out = []
    raw = [*spec.get("zh_regex", []), *spec.get("regex", [])]
    if raw:
        out.append("|".join(f"(?:{p})" for p in raw))
    if spec.get("en"):
        out.append(_en_pattern(spec["en"]))
    return out


def _matches(text: pl.Expr, spec: dict | None) -> pl.Expr:
    """Boolean expression: does the text match any term of the set."""
    parts = []
    if spec and spec.get("zh"):
        parts.append(text.str.contains_any(spec["zh"]))
    if spec:
        parts.extend(text.str.contains(p) for p in _patterns(spec))
    if not parts:
        return pl.lit(False)
    return pl.any_horizontal(parts)


def _count_regex(spec: dict) -> str:
    """One regex counting every zh literal and en term of a keyword set."""
    import re

    alts = [re.escape(t) for t in spec.get("zh", [])]
    alts += [f"(?:{p})" for p in [*spec.get("zh_regex", []), *spec.get("regex", [])]]
    pieces = ["(?:" + "|".join(alts) + ")"] if alts else []
    if spec.get("en"):
        pieces.append(_en_pattern(spec["en"]))
    return "|".join(pieces) if pieces else "(?!)"


RISK_LEXICON_VERSION: str = load_lexicon(RISK_LEXICON_FILE)["version"]
SPECIALTY_LEXICON_VERSION: str = load_lexicon(SPECIALTY_LEXICON_FILE)["version"]
_HEADER = risk_model_mod.model_header() or {}
# Labeller versions (data card, eval results): the model's, which records the lexicons it was
# trained with (``risk_model()`` refuses a model whose lexicon version differs from the shipped one).
RISK_VERSION: str = _HEADER.get("version", "untrained") + f"+{RISK_LEXICON_VERSION}"
SPECIALTY_VERSION: str = _HEADER.get("meta", {}).get("specialty_version", "untrained") + f"+{SPECIALTY_LEXICON_VERSION}"


# --------------------------------------------------------------------------------------------
# Normalisation


def _matched_text(names: list[str]) -> pl.Expr:
    """The text labels are computed on: question plus the user turns of history (the column
    ``labels.label`` materialises once, when present)."""
    if _TEXT in names:
        return pl.col(_TEXT)
    question = pl.col(schema.QUESTION).fill_null("")
    if schema.HISTORY not in names:
        return question
    turns = (
        pl.col(schema.HISTORY)
        .list.eval(
            pl.when(pl.element().struct.field("role").str.to_lowercase().is_in(USER_ROLES))
            .then(pl.element().struct.field("content"))
            .drop_nulls()
        )
        .list.join("\n")
        .fill_null("")
    )
    return pl.when(turns.str.len_chars() > 0).then(pl.concat_str([turns, question], separator="\n")).otherwise(question)


# --------------------------------------------------------------------------------------------
# Risk


_HITS = "__risk_hits"
# Padded text for the one Aho-Corasick pass: every run of characters other than ASCII letters,
# digits, apostrophes and Chinese characters becomes one space, with a space at both ends, so an
# English literal " chest pain " can only match whole words.
_PAD_RUN = f"[^a-z0-9'{CJK_IDEOGRAPHS}]+"
_ZH_LITERAL = re.compile(f"[a-z0-9'{CJK_IDEOGRAPHS}]+")
_EN_LITERAL = re.compile(r"[a-z0-9' -]+")
_EN_PREFIX = re.compile(r"([a-z0-9' -]+)\\w\*")
_EN_PLURAL = re.compile(r"([a-z0-9' -]+)s\?")


def _ascii_classes(pattern: str) -> str:
    """Unicode \\w / \\d / \\s replaced by ASCII classes: the text is lowercased and the Unicode
    classes make the regex automata large and slow (measured: ~10x on 200-character questions)."""
    return pattern.replace(r"\w", "[a-z0-9_]").replace(r"\d", "[0-9]").replace(r"\s", "[ \t\n]")


@functools.cache
def _split_terms_cached(key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    spec = json.loads(key)
    lits: list[str] = []
    regex: list[str] = []
    for t in spec.get("zh", []):
        (lits if _ZH_LITERAL.fullmatch(t) else regex).append(t if _ZH_LITERAL.fullmatch(t) else re.escape(t))
    regex += [_ascii_classes(p) for p in [*spec.get("zh_regex", []), *spec.get("regex", [])]]
    regex = ["|".join(f"(?:{p})" for p in regex)] if regex else []
    en_rx = []
    for t in spec.get("en", []):
        if _EN_LITERAL.fullmatch(t):
            lits.append(f" {t.replace('-', ' ')} ")
        elif m := _EN_PREFIX.fullmatch(t):
            lits.append(f" {m.group(1).replace('-', ' ')}")
        elif m := _EN_PLURAL.fullmatch(t):
            lits += [f" {m.group(1).replace('-', ' ')} ", f" {m.group(1).replace('-', ' ')}s "]
        else:
            en_rx.append(_ascii_classes(t))
    if en_rx:
        regex.append(_en_pattern(en_rx))
    return tuple(dict.fromkeys(lits)), tuple(regex)


def split_terms(spec: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A term set as (literals for the shared Aho-Corasick pass, regex patterns run one by one).

    zh literals stay literal; English terms that are plain words, ``word\\w*`` prefixes or
    ``words?`` plurals become space-padded literals (whole words on the padded text); every other
    term is a regex (English ones joined into one word-bounded alternation)."""
    key = {k: spec.get(k, []) for k in _TERM_KEYS}
    return _split_terms_cached(json.dumps(key, sort_keys=True, ensure_ascii=False))


# --------------------------------------------------------------------------------------------
# Regex anchors: literals one of which every match of a regex contains. A regex with a strong
# anchor set only runs on the rows where the shared Aho-Corasick pass found one of its anchors
# (the other rows see ""), so the costly regexes scan a fraction of the text.

_ANCHOR_MIN_BYTES = 5  # weaker anchors (one Chinese character, "mg") would flood the hit lists
_ANCHOR_MAX = 64  # strings per product of literal alternatives
_ANCHORS_MAX = 256  # anchors per regex
_WORD_PIECE = re.compile(f"[a-z0-9'{CJK_IDEOGRAPHS}]+")


def _exact_strings(items: list) -> frozenset[str] | None:
    """Every string a parsed (sub)pattern can match, when that is a small finite set; else None.
    Zero-width assertions (``\\b``, ``^``) match the empty string."""
    out = frozenset({""})
    for op, av in items:
        if op is _C.LITERAL:
            part = frozenset({chr(av)})
        elif op is _C.AT:
            continue
        elif op is _C.IN and all(o is _C.LITERAL for o, _ in av):  # [ab] or (?:a|b), no ranges
            part = frozenset(chr(c) for _, c in av)
        elif op is _C.SUBPATTERN and not av[1] & re.IGNORECASE:
            part = _exact_strings(list(av[3]))
        elif op is _C.BRANCH:
            alts = [_exact_strings(list(b)) for b in av[1]]
            part = None if any(a is None for a in alts) else frozenset().union(*alts)
        elif op is _C.MAX_REPEAT and av[1] <= 1:  # x? or x{1}
            sub = _exact_strings(list(av[2]))
            part = None if sub is None else (sub | {""} if av[0] == 0 else sub)
        else:
            return None
        if part is None or len(out) * len(part) > _ANCHOR_MAX:
            return None
        out = frozenset(a + b for a in out for b in part)
    return out


def _required(items: list) -> frozenset[str] | None:
    """A set of literals one of which every match of the parsed pattern contains (the best one
    found: longest shortest literal), or None. Runs of items with small exact string sets are
    multiplied out ("(吃|服)药后" -> 吃药后, 服药后); each literal is cut to its longest piece of
    letters, digits, apostrophes or Chinese characters, the characters the padded text keeps."""
    cands: list[frozenset[str]] = []
    run: frozenset[str] = frozenset({""})

    def flush() -> None:
        nonlocal run
        cands.append(run)
        run = frozenset({""})

    for op, av in items:
        exact = _exact_strings([(op, av)])
        if exact is not None and len(run) * len(exact) <= _ANCHOR_MAX:
            run = frozenset(a + b for a in run for b in exact)
            continue
        flush()
        if exact is not None:
            run = exact
            continue
        if op is _C.SUBPATTERN and not av[1] & re.IGNORECASE:
            cands.append(_required(list(av[3])))
        elif op is _C.BRANCH:
            alts = [_required(list(b)) for b in av[1]]
            cands.append(None if any(a is None for a in alts) else frozenset().union(*alts))
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and av[0] >= 1:
            cands.append(_required(list(av[2])))
    flush()
    best = None
    for cand in cands:
        if not cand:
            continue
        pieces = [max(_WORD_PIECE.findall(s), key=lambda x: len(x.encode()), default="") for s in cand]
        if not all(pieces):
            continue
        score = (min(len(p.encode()) for p in pieces), -len(set(pieces)))
        if best is None or score > best[0]:
            best = (score, frozenset(pieces))
    return best[1] if best else None


def _rust_only_class(pattern: str) -> bool:
    """True when a character class holds a nested class, a POSIX class or a set operation
    (``[a[b]]``, ``[[:alpha:]]``, ``&&`` / ``--`` / ``~~``): Rust syntax Python's parser would
    misread as literal characters."""
    in_class, i = False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "[" or pattern[i:i + 2] in ("&&", "--", "~~"):
                return True
            if c == "]" and pattern[i - 1] not in "[^":
                in_class = False
        elif c == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                i += 1
            if pattern[i + 1:i + 2] == "]":  # a leading "]" is a literal
                i += 1
        i += 1
    return False


@functools.cache
def regex_anchors(pattern: str) -> tuple[str, ...]:
    """Literals one of which every match of ``pattern`` contains, or () when there is no strong
    set (every literal at least ``_ANCHOR_MIN_BYTES`` UTF-8 bytes, at most ``_ANCHORS_MAX``).

    The pattern is parsed with Python's own regex parser (``re._parser``; Rust-only syntax such
    as ``(?-u:\\b)`` is mapped, anything else it cannot read gives ()). Only literal runs,
    groups, alternations, ``?`` and repeats of at least one are read; classes, ``.`` and
    unbounded parts just end a run. Case-insensitive flags give (): the text is lowercased but the
    literals would not be."""
    if re.search(r"\\[<>pPxzAQ]|\\b\{", pattern.replace(r"(?-u:\b)", "")) or _rust_only_class(pattern):
        return ()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = _sre_parse.parse(pattern.replace(r"(?-u:\b)", r"\b"))
    except (re.error, ValueError, TypeError, OverflowError, RecursionError):
        return ()
    if parsed.state.flags & re.IGNORECASE:
        return ()
    found = _required(list(parsed))
    if not found or len(found) > _ANCHORS_MAX or min(len(a.encode()) for a in found) < _ANCHOR_MIN_BYTES:
        return ()
    # a literal containing another anchor adds nothing: the shorter one is in the text too
    return tuple(sorted(a for a in found if not any(b != a and b in a for b in found)))


def _risk_specs(lexicon: dict) -> list[dict]:
    return list(_term_specs({"rules": lexicon.get("rules", []), "contexts": lexicon.get("contexts", {})}))


@functools.cache
def _literal_sets(version: str) -> tuple[tuple[tuple[str, ...], ...], dict[str, list[int]]]:
    """The distinct literal sets of the risk lexicon's term sets, then the anchor sets of its
    regexes (set i is bit i % 64 of hit word i // 64), and for every literal the bit-word values
    it sets. ``version`` keys the cache (the lexicon's version)."""
    lexicon = load_lexicon(RISK_LEXICON_FILE)
    specs = _risk_specs(lexicon)
    sets = tuple(dict.fromkeys([*(lits for spec in specs if (lits := split_terms(spec)[0])),
                                *(a for spec in specs for p in split_terms(spec)[1] if (a := regex_anchors(p)))]))
    words = (len(sets) + 63) // 64
    bits: dict[str, list[int]] = {}
    for i, lits in enumerate(sets):
        for lit in lits:
            bits.setdefault(lit, [0] * words)[i // 64] |= 1 << (i % 64)
    return sets, bits


def _hit_words() -> list[pl.Expr]:
    """Per row, the OR of the bit words of its literal hits (one UInt64 column per 64 sets): each
    literal set's test is then one bit test instead of a ``list.eval`` over the hits."""
    _, bits = _literal_sets(RISK_LEXICON_VERSION)
    n = len(next(iter(bits.values()), []))
    return [pl.col(_HITS).list.agg(pl.element().replace_strict({k: v[w] for k, v in bits.items()}, default=0,
                                                               return_dtype=pl.UInt64).bitwise_or())
            .fill_null(0).alias(_hit_word(w)) for w in range(n)]


def _hit_word(w: int) -> str:
    return f"__risk_hit_word_{w}"


def _set_hit(lits: tuple[str, ...]) -> pl.Expr:
    """True where the shared pass found a literal of the set ``lits`` (its bit of the hit words)."""
    i = _literal_sets(RISK_LEXICON_VERSION)[0].index(lits)
    return (pl.col(_hit_word(i // 64)) & pl.lit(1 << (i % 64), dtype=pl.UInt64)) != 0


def _risk_matches(spec: dict | None) -> pl.Expr:
    """Does the (masked) text match any term of the set: a literal hit of the shared pass (a bit of
    the hit words), or one of the set's regexes."""
    if not spec:
        return pl.lit(False)
    lits, regex = split_terms(spec)
    parts = []
    if lits:
        parts.append(_set_hit(lits))
    for p in regex:
        if anchors := regex_anchors(p):  # the regex runs on the rows with an anchor, the rest see ""
            has = _set_hit(anchors)
            parts.append(has & pl.when(has).then(pl.col(_RISK_TMP)).otherwise(pl.lit("")).str.contains(p))
        else:
            parts.append(pl.col(_RISK_TMP).str.contains(p))
    return pl.any_horizontal(parts) if parts else pl.lit(False)


def _has_terms(spec: dict) -> bool:
    return any(spec.get(k) for k in _TERM_KEYS)


def _conditioned(spec: dict, ctx: dict[str, pl.Expr]) -> pl.Expr:
    """A rule's or context's boolean: its terms (or true when it has none), every ``requires`` set,
    no ``exclude`` term, every ``when`` context, one of the ``when_any`` contexts, no ``unless``."""
    fired = _risk_matches(spec) if _has_terms(spec) else pl.lit(True)
    for req in spec.get("requires", []):
        fired = fired & _risk_matches(req)
    if "exclude" in spec:
        fired = fired & ~_risk_matches(spec["exclude"])
    for name in spec.get("when", []):
        fired = fired & ctx[name]
    if spec.get("when_any"):
        fired = fired & pl.any_horizontal([ctx[n] for n in spec["when_any"]])
    if spec.get("unless"):
        fired = fired & ~pl.any_horizontal([ctx[n] for n in spec["unless"]])
    return fired


def masked_text(text: pl.Expr, lexicon: dict | None = None) -> pl.Expr:
    """Normalised text with the lexicon's masks (negations, hypotheticals, planning, fear) blanked."""
    lexicon = lexicon or load_lexicon(RISK_LEXICON_FILE)
    # One pass per mask (in lexicon order): all masks joined into one alternation make an automaton
    # too large for the regex engine's lazy DFA (measured 21 s per 100k real questions vs ~1.5 s).
    for mask in lexicon.get("masks", []):
        if mask.get("regex"):
            text = text.str.replace_all(_ascii_classes("|".join(f"(?:{p})" for p in mask["regex"])), " ")
    return text


def _context_stages(lexicon: dict) -> list[dict[str, pl.Expr]]:
    """Context expressions grouped in stages: each stage only reads columns of earlier stages."""
    stages: list[dict[str, pl.Expr]] = []
    stage_of: dict[str, int] = {}
    for name, spec in lexicon.get("contexts", {}).items():
        deps = [d for k in _CONTEXT_KEYS for d in spec.get(k, [])]
        i = 1 + max((stage_of[d] for d in deps), default=-1)
        stage_of[name] = i
        while len(stages) <= i:
            stages.append({})
        cols = {d: pl.col(_ctx_col(d)) for d in deps}
        stages[i][name] = _conditioned(spec, cols)
    return stages


def _ctx_col(name: str) -> str:
    return f"__ctx_{name}"


def risk_rule_exprs(lexicon: dict | None = None) -> dict[str, pl.Expr]:
    """One boolean expression per risk rule id; reads the masked text, the literal hits and the
    ``__ctx_<name>`` context columns that ``label_risk`` computes first."""
    lexicon = lexicon or load_lexicon(RISK_LEXICON_FILE)
    ctx = {n: pl.col(_ctx_col(n)) for n in lexicon.get("contexts", {})}
    return {rule["id"]: _conditioned(rule, ctx) for rule in lexicon["rules"]}


# Rules that name a contract criterion outright (DESIGN.md "Risk levels": self-harm, poisoning, a
# pregnant or breastfeeding patient, a dose question, a minor or infant as the patient): when one
# fires the level is high whatever the model says. On dev (CV) this changed nothing measurable
# (recall 0.762 -> 0.783, precision 0.735 -> 0.737, accuracy 0.788 -> 0.792) and it keeps short
# guideline questions ("Can I breastfeed while on codeine?") from being talked down by n-grams.
# risk.v4 adds a serious reaction after a drug (high.adverse_reaction: blisters, mouth sores,
# jaundice, facial swelling, breathing difficulty after taking X), which the v3.1 model talked down
# to low in a short question with no "I"; it fires on no dev question, so dev (CV) is unchanged.
FORCED_HIGH_RULES = frozenset({"high.self_harm", "high.poisoning", "high.pregnancy_lactation", "high.dosing",
                               "high.pediatric", "high.adverse_reaction"})


def rule_feature_names(lexicon: dict | None = None) -> list[str]:
    """The rule features the risk model weighs: every rule id, then ``level.<level>`` of the rules."""
    lexicon = lexicon or load_lexicon(RISK_LEXICON_FILE)
    return [*sorted(r["id"] for r in lexicon["rules"]), *(f"level.{lv}" for lv in schema.RISK_LEVELS)]


@functools.cache
def risk_model() -> risk_model_mod.LinearModel:
    """The shipped model; refuses a model trained on other rules than the shipped lexicon's."""
    model = risk_model_mod.load_model()
    trained = model.meta.get("lexicon_version")
    spec = model.meta.get("specialty_features")
    if (trained != RISK_LEXICON_VERSION or model.meta.get("rule_features") != rule_feature_names()
            or sorted(model.meta.get("forced_high", [])) != sorted(FORCED_HIGH_RULES)
            or (spec and spec != specialty_feature_names())):
        raise ValueError(f"risk model {model.version} was trained with lexicon {trained!r}, the shipped lexicon is "
                         f"{RISK_LEXICON_VERSION!r}: retrain it (python eval/train_risk.py)")
    return model


def _with_scores(lf: pl.LazyFrame, names: list[str], heads: list[str]) -> pl.LazyFrame:
    """Add the model heads' n-gram scores of the raw matched text, one Array column per head
    (``__model_z_<head>``), from ONE numpy hashing pass: a struct column materialised once, then
    unpacked (two ``struct.field`` of one map_batches expression would run it twice)."""
    model = risk_model()
    sizes = {h: len(model.heads[h][0]) for h in heads}
    dtype = pl.Struct({_zcol(h): pl.Array(pl.Float64, n) for h, n in sizes.items()})

    def run(s: pl.Series) -> pl.Series:
        z = risk_model_mod.scores(s, model, heads=heads)
        return pl.DataFrame([pl.Series(_zcol(h), z[h], dtype=pl.Array(pl.Float64, sizes[h])) for h in heads],
                            height=s.len()).to_struct(s.name)

    packed = "__model_z"
    return (
        lf.with_columns(_matched_text(names).map_batches(run, return_dtype=dtype).alias(packed))
        .with_columns([pl.col(packed).struct.field(_zcol(h)) for h in heads])
        .drop(packed)
    )


def _zcol(head: str) -> str:
    return f"__model_z_{head}"


def label(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Specialty then risk labels (as ``label_risk(label_specialty(lf))``) with one hashing pass."""
    names = lf.collect_schema().names()
    heads = ["specialty", "risk"]
    # the normalised, masked text both rule passes read, computed once (NFKC + OpenCC + masks:
    # ~2 s of the ~7 s of rules per 90k rows)
    lf = lf.with_columns(_matched_text(names).alias(_TEXT))
    names = [*names, _TEXT]
    with_z = _with_scores(lf, names, heads).with_columns(_masked(names).alias(_MASKED))
    return label_risk(label_specialty(with_z)).drop([_TEXT, _MASKED, *(_zcol(h) for h in heads)], strict=False)


_TEXT = "__matched_text"


_MASKED = "__masked_text"


def _masked(names: list[str]) -> pl.Expr:
    """The normalised, masked matched text: ``label`` computes it once as ``__masked_text``, the
    rule passes read that column when present."""
    if _MASKED in names:
        return pl.col(_MASKED)
    return masked_text(normalise(_matched_text(names), simplified=True))


def label_risk(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add/overwrite risk_level and risk_reasons: the rules (``label_risk_rules``) and the shipped
    linear model combined.

    The model's logit for each level is the bias + the weights of the hashed n-grams of the
    question and user turns + the weights of the rules that fired and of the rules' level. The
    level is ``high`` when P(high) reaches the threshold chosen by cross-validation on dev, else
    the likelier of medium / low. ``risk_reasons`` = the fired rule ids, plus ``model.<level>``
    when the model's level differs from the rules' (so a reader sees both)."""
    names = lf.collect_schema().names()
    model = risk_model()
    classes = model.heads["risk"][0]
    feats = model.meta["rule_features"]
    wr = model.meta["rule_weights"]
    t_high = float(model.meta["t_high"])
    z_ready = _zcol("risk") in names
    rules = label_risk_rules(lf)
    if not z_ready:
        rules = _with_scores(rules, names, ["risk"])
    rule_ids = [f for f in feats if not f.startswith("level.")]
    logits = []
    for c, _ in enumerate(classes):
        by_rule = {f: wr[i][c] for i, f in enumerate(feats) if f in rule_ids}
        by_level = {f.removeprefix("level."): wr[i][c] for i, f in enumerate(feats) if f.startswith("level.")}
        logits.append(
            pl.col(_zcol("risk")).arr.get(c)
            + pl.col(schema.RISK_REASONS).list.eval(pl.element().replace_strict(by_rule, default=0.0,
                                                                               return_dtype=pl.Float64)).list.sum()
            + pl.col(schema.RISK_LEVEL).replace_strict(by_level, default=0.0, return_dtype=pl.Float64)
        )
    forced = sorted(model.meta.get("forced_high", []))
    definitional = pl.col(schema.RISK_REASONS).list.eval(pl.element().is_in(forced)).list.any()
    # logits materialised once (an expression tree that repeats them is evaluated per use)
    lg = [f"__risk_logit_{c}" for c in range(len(classes))]
    top = pl.max_horizontal([pl.col(c) for c in lg])
    exp = [(pl.col(c) - top).exp() for c in lg]
    p = {cls: e for cls, e in zip(classes, exp, strict=True)}  # unnormalised: only compared below
    total = pl.sum_horizontal(exp)
    level = (
        pl.when(pl.col(_FORCED) | (p["high"] >= t_high * total)).then(pl.lit("high"))
        .when(p["medium"] >= p["low"]).then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )
    reasons = (
        pl.when(pl.col(_LEVEL) != pl.col(schema.RISK_LEVEL))
        .then(pl.concat_list([pl.col(schema.RISK_REASONS), pl.concat_str([pl.lit("model."), pl.col(_LEVEL)])]))
        .otherwise(pl.col(schema.RISK_REASONS))
        .list.sort()
    )
    return (
        rules.with_columns(*[z.alias(c) for z, c in zip(logits, lg, strict=True)], definitional.alias(_FORCED))
        .with_columns(level.alias(_LEVEL))
        .with_columns(reasons.cast(pl.List(pl.String)).alias(schema.RISK_REASONS))
        .with_columns(pl.col(_LEVEL).cast(pl.String).alias(schema.RISK_LEVEL))
        .drop([*lg, _FORCED, _LEVEL] + ([] if z_ready else [_zcol("risk")]))
    )


_FORCED = "__risk_forced_high"
_LEVEL = "__risk_model_level"


def label_risk_rules(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Rules only: add/overwrite risk_level (high/medium/low) and risk_reasons (sorted fired rule ids).

    Passes over the text: normalise, blank the masks (one regex), pad and find every literal of
    every term set (one Aho-Corasick pass), then the remaining regexes one per term set; contexts
    and rules are boolean algebra over those columns."""
    lexicon = load_lexicon(RISK_LEXICON_FILE)
    names = lf.collect_schema().names()
    fired = risk_rule_exprs(lexicon)
    ids = sorted(fired)  # sorted ids → the reasons list comes out sorted and unique
    level_of = {r["id"]: r["level"] for r in lexicon["rules"]}
    flags = {rid: f"__rule_{i}" for i, rid in enumerate(ids)}

    def any_level(level: str) -> pl.Expr:
        cols = [pl.col(flags[r]) for r in ids if level_of[r] == level]
        return pl.any_horizontal(cols) if cols else pl.lit(False)

    level = (
        pl.when(any_level("high")).then(pl.lit("high"))
        .when(any_level("medium")).then(pl.lit("medium"))
        .when(any_level("low")).then(pl.lit("low"))
        .otherwise(pl.lit(lexicon["default_level"]))
    )
    if len(ids) <= 64:  # fired rules as one bit word; the reasons list built per distinct word
        fired_word = pl.sum_horizontal([pl.col(flags[r]).cast(pl.UInt64) * pl.lit(1 << i, dtype=pl.UInt64)
                                        for i, r in enumerate(ids)]) if ids else pl.lit(0, dtype=pl.UInt64)
        reasons = fired_word.map_batches(functools.partial(_reasons_of_words, tuple(ids)),
                                         return_dtype=pl.List(pl.String))
    else:
        reasons = pl.concat_list(
            [pl.when(pl.col(flags[r])).then(pl.lit(r)).otherwise(pl.lit(None, dtype=pl.String)) for r in ids]
        ).list.drop_nulls()
    padded = pl.concat_str([pl.lit(" "), pl.col(_RISK_TMP).str.replace_all(_PAD_RUN, " "), pl.lit(" ")])
    out = (
        lf.with_columns(_masked(names).alias(_RISK_TMP))
        .with_columns(padded.str.extract_many(list(_literal_sets(RISK_LEXICON_VERSION)[1]), overlapping=True)
                      .alias(_HITS))
        .with_columns(_hit_words())
    )
    stages = _context_stages(lexicon)
    for stage in stages:
        out = out.with_columns([e.alias(_ctx_col(n)) for n, e in stage.items()])
    ctx_cols = [_ctx_col(n) for stage in stages for n in stage]
    return (
        out.with_columns([fired[r].alias(flags[r]) for r in ids])
        .with_columns(
            level.cast(pl.String).alias(schema.RISK_LEVEL),
            reasons.cast(pl.List(pl.String)).alias(schema.RISK_REASONS),
        )
        .drop([_RISK_TMP, _HITS, *ctx_cols, *flags.values()])
        .drop(cs.starts_with(_hit_word(0)[:-1]))
    )


def _reasons_of_words(ids: tuple[str, ...], words: pl.Series) -> pl.Series:
    """Sorted fired rule ids per row from a bit word (bit i = ``ids[i]`` fired): the lists are
    built for the few distinct words only and gathered to the rows (a list of strings built per
    row cost ~0.3 CPU s per 90k rows)."""
    uniq = words.unique().sort()
    ids_of = pl.DataFrame({"w": uniq}).select(pl.concat_list(
        [pl.when((pl.col("w") & pl.lit(1 << i, dtype=pl.UInt64)) != 0).then(pl.lit(r))
         .otherwise(pl.lit(None, dtype=pl.String)) for i, r in enumerate(ids)]
    ).list.drop_nulls().alias("r")).to_series() if ids else pl.Series([[]] * uniq.len(), dtype=pl.List(pl.String))
    return ids_of.gather(uniq.search_sorted(words)).alias(words.name)


# --------------------------------------------------------------------------------------------
# Specialty


def _mapped_specialty(lex: dict) -> pl.Expr:
    """A source's own specialty mapped into the fixed set (the lexicon's department table), else null."""
    src = pl.col(schema.SPECIALTY).cast(pl.String).str.strip_chars().str.normalize("NFKC").str.to_lowercase()
    mapped = pl.when(src.is_in(lex["specialties"])).then(src)
    for dept in lex["departments"]:
        mapped = mapped.when(_matches(src, dept)).then(pl.lit(dept["specialty"]))
    return mapped.otherwise(pl.lit(None, dtype=pl.String))


def label_specialty(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Map a source specialty into the fixed set (the lexicon's department table), else classify
    the question with the shipped model's specialty head (argmax of its hashed n-gram scores)."""
    lex = load_lexicon(SPECIALTY_LEXICON_FILE)
    names = lf.collect_schema().names()
    mapped = _mapped_specialty(lex)

    classes = risk_model().heads["specialty"][0]
    z = _zcol("specialty")
    model = risk_model()
    feats = model.meta.get("specialty_features") or []
    if feats:  # the lexicon's keyword class is a feature of the specialty head
        wl = model.meta["specialty_weights"]
        # the keyword class of the text alone (source value hidden), kept in a temp column
        lf = label_specialty_lexicon(
            lf.with_columns(pl.col(schema.SPECIALTY).alias(_SPEC_SRC), pl.lit(None, dtype=pl.String).alias(schema.SPECIALTY))
        ).with_columns(pl.col(schema.SPECIALTY).alias(_SPEC_LEX), pl.col(_SPEC_SRC).alias(schema.SPECIALTY)).drop(_SPEC_SRC)
        logits = [pl.col(z).arr.get(c) + pl.col(_SPEC_LEX).replace_strict(
            {f.removeprefix("lexicon."): wl[i][c] for i, f in enumerate(feats)}, default=0.0, return_dtype=pl.Float64)
            for c in range(len(classes))]
        best = pl.concat_list(logits).list.arg_max()
    else:
        best = pl.col(z).arr.arg_max()
    classified = best.replace_strict(dict(enumerate(classes)), return_dtype=pl.String)
    if feats and model.meta.get("specialty_lexicon_override", True):
        # a specific keyword class beats a generic model answer (rare classes: few dev examples);
        # the training script keeps this only while dev (CV) says it helps
        classified = (pl.when(pl.col(_SPEC_LEX).is_in(sorted(SPECIFIC_SPECIALTIES))
                              & classified.is_in(["internal_medicine", "other"]))
                      .then(pl.col(_SPEC_LEX)).otherwise(classified))
    drop = [_SPEC_LEX] if feats else []
    if z not in names:
        lf = _with_scores(lf, names, ["specialty"])
        drop.append(z)
    return lf.with_columns(pl.coalesce(mapped, classified).cast(pl.String).alias(schema.SPECIALTY)).drop(drop)


_SPEC_LEX = "__specialty_lexicon"
# Specialties the dev split has few examples of (4-60) but the keyword lexicon names precisely:
# when the lexicon says one of them and the model says internal_medicine / other, the lexicon wins
# (dev (CV) 0.646 -> 0.649; "I have eczema" stays dermatology).
SPECIFIC_SPECIALTIES = frozenset({"andrology", "dermatology", "psychiatry", "oncology", "obstetrics_gynecology"})
_SPEC_SRC = "__specialty_source"


def specialty_feature_names() -> list[str]:
    """The specialty head's extra features: ``lexicon.<specialty>`` (the v2 keyword class)."""
    return [f"lexicon.{sp}" for sp in load_lexicon(SPECIALTY_LEXICON_FILE)["specialties"]]




def label_specialty_lexicon(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The v2 specialty labeller: map a source specialty into the fixed set, else classify the
    question with the lexicon's weighted keyword counts. v3 feeds its class to the model."""
    lex = load_lexicon(SPECIALTY_LEXICON_FILE)
    names = lf.collect_schema().names()
    mapped = _mapped_specialty(lex)

    text = pl.col(_SPEC_TMP)
    kws = lex["keywords"]
    def score(k: dict) -> pl.Expr:
        if k.get("binary"):  # any match: a search that stops at the first one
            n = text.str.contains(_ascii_classes(_count_regex(k))).cast(pl.UInt32)
        else:
            n = text.str.count_matches(_ascii_classes(_count_regex(k)))
        return (n * float(k.get("weight", 1))).cast(pl.Float64)

    # keyword scores materialised once, then the first maximum (ties go to the earlier, priority
    # specialty) by a when-chain: no list column, and no expression evaluated twice
    cols = [f"__specialty_kw_{i}" for i in range(len(kws))]
    top = pl.max_horizontal([pl.col(c) for c in cols]) if cols else pl.lit(0.0)
    best = pl.lit(None, dtype=pl.String)
    for c, k in zip(reversed(cols), reversed(kws), strict=True):
        best = pl.when(pl.col(c) == top).then(pl.lit(k["specialty"])).otherwise(best)
    classified = pl.when(top > 0).then(best).otherwise(pl.lit(lex["fallback"]))
    return (
        lf.with_columns(_masked(names).alias(_SPEC_TMP))
        .with_columns([score(k).alias(c) for k, c in zip(kws, cols, strict=True)])
        .with_columns(pl.coalesce(mapped, classified).cast(pl.String).alias(schema.SPECIALTY))
        .drop([_SPEC_TMP, *cols])
    )


# --------------------------------------------------------------------------------------------
# Evaluation


def evaluate(path: str | os.PathLike) -> dict:
    """Precision/recall per level and the 3×3 confusion matrix of label_risk on a JSONL eval set."""
    frame = pl.read_ndjson(path, schema={"question": pl.String, "language": pl.String,
                                         "expected_risk": pl.String, "note": pl.String})
    frame = frame.with_row_index("row").rename({"question": schema.QUESTION})
    got = label_risk(frame.lazy()).collect()
    levels = list(schema.RISK_LEVELS)
    exp, pred = got["expected_risk"].to_list(), got[schema.RISK_LEVEL].to_list()
    confusion = {e: {p: 0 for p in levels} for e in levels}
    for e, p in zip(exp, pred, strict=True):
        confusion[e][p] += 1
    per_level = {}
    for lv in levels:
        tp = confusion[lv][lv]
        predicted = sum(confusion[e][lv] for e in levels)
        actual = sum(confusion[lv].values())
        per_level[lv] = {
            "precision": tp / predicted if predicted else 0.0,
            "recall": tp / actual if actual else 0.0,
            "support": actual,
        }
    counts = (
        got.group_by("language", "expected_risk").len().sort("language", "expected_risk").rows()
    )
    errors = got.filter(pl.col("expected_risk") != pl.col(schema.RISK_LEVEL)).select(
        "row", "language", "expected_risk", schema.RISK_LEVEL, schema.RISK_REASONS, schema.QUESTION
    )
    return {
        "lexicon_version": RISK_LEXICON_VERSION,
        "n": got.height,
        "n_by_language_level": {f"{lang}/{lv}": n for lang, lv, n in counts},
        "precision_high": per_level["high"]["precision"],
        "recall_high": per_level["high"]["recall"],
        "accuracy": sum(confusion[lv][lv] for lv in levels) / got.height if got.height else 0.0,
        "per_level": per_level,
        "confusion": confusion,  # confusion[expected][predicted]
        "errors": errors.to_dicts(),
    }


def evaluate_lexicon() -> dict | None:
    """Figures of the shipped lexicon on tests/data/risk_eval.jsonl, or None when it is absent."""
    if not EVAL_SET.is_file():
        return None
    result = evaluate(EVAL_SET)
    result.pop("errors")
    return result


def evaluation_results(path: str | os.PathLike | None = None) -> dict | None:
    """The committed dev/test figures written by ``eval/risk_eval.py``, or None when absent."""
    p = Path(path) if path else EVAL_RESULTS_FILE
    if not p.is_file():
        return None
    return json.loads(p.read_text(encoding="utf-8"))

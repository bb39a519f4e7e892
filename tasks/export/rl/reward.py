"""Rule-based reward for medprep RL data: one scorer, three trainer entry points.

This file is deliberately **self-contained (standard library only)** so trainers can load it by
file path — verl (``reward.custom_reward_function.path``) and OpenRLHF (``--reward.remote_url reward.py``)
both import it with ``importlib.util.spec_from_file_location`` outside any package. ``torch`` is
imported lazily, only inside :func:`reward_func`, and only if it is installed.

Entry points (they plug in unchanged):

* verl — ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kw) -> float``
* OpenRLHF — ``reward_func(queries, prompts, labels, **kw) -> {"rewards", "scores", "extra_logs"}``
* TRL (GRPO / RLOO) — ``format_reward(completions, **kw)``,
  ``correctness_reward(completions, ground_truth, **kw)`` and the combined
  ``medical_reward(completions, ground_truth, **kw)``; each returns ``list[float]``. Completions
  may be strings or chat lists ``[{"role": "assistant", "content": ...}]``.

Format
    A response is well formed when, after stripping leading whitespace and trailing chat
    end-of-turn tokens (``<|im_end|>``, ``<|endoftext|>``, ``<|eot_id|>``, ``</s>``), it is exactly
    ``<think>REASONING</think>ANSWER`` with one ``<think>`` and one ``</think>``, non-empty
    REASONING and non-empty ANSWER (whitespace does not count).

Correctness (in [0, 1]) of ANSWER against the ground truth
    1. Multiple choice — when the ground truth is an option letter (``"D"``, ``"(D)"``,
       ``"D. Parvovirus B19 infection"``): a letter found in the answer (``"D"``, ``"D."``,
       ``"(D)"``, ``"Answer: D"``, ``"答案：D"``, ``"选D"``) decides it, 1.0 if equal else 0.0.
       With no letter in the answer, the option text (if the ground truth carries one) is scored
       as free text below. A bold marker (``**答案**：E``) counts as a marker. A multi-answer
       truth (``"ACD"``, ``"A、C、E"``) needs the same letter set after the answer's last marker
       (``最终答案：ACD``) or on its last line: 1.0 if equal, else 0.0 (a missing letter is wrong).
    2. Free text — both sides are normalised: NFKC, lowercase, punctuation and symbols removed,
       English articles (a/an/the) removed, a plural "s" stripped from English words of 4+
       letters, whitespace collapsed. Tokens are single characters for CJK text and words for
       everything else (a mixed string gives both kinds). Spelling variants are folded
       (British/American "ae"/"oe"/"-our"/"-tre"; Latin endings of words of 7+ letters, so
       "anthracus" = "anthracis", "bacilli" = "bacillus") and the names of one concept in the
       built-in ``_SYNONYMS`` table ("heart attack" = "myocardial infarction", "paracetamol" =
       "acetaminophen", "心梗" = "心肌梗死") count as the same token; a more specific term from
       ``_NARROWER`` ("propranolol" for "beta blocker", "neutropenia" for "bone marrow
       suppression") counts as its broader reference, never the other way round.

       **The conclusion decides.** The answer is cut into sentences; the *conclusion* is the
       text after the last explicit final-answer marker ("Final answer:", "the answer is",
       "Answer:", "最终答案", "答案是/为", "正确答案") up to the end of its sentence, or, without
       such a marker, the first sentence (its first ``CONTAIN_WINDOW`` = 48 tokens), the last
       sentence, the sentences of the last paragraph with a conclusion cue ("therefore", "thus",
       "in conclusion", "in summary", "so,", "I'm confident", "因此", "所以", "综上", "总之") and bold
       spans. Each sentence is scored against the reference: 1.0 when equal, else the larger of
       its token F1 and ``CONTAIN_SCORE`` (0.9) × the best span-F1. Span-F1 is the token-F1 of
       the best contiguous span (at most twice the reference length) that covers *more than
       half* of the reference tokens (else no span). A conclusion sentence counts fully, any
       other sentence at ``CONTAIN_LATE_SCORE`` (0.5) × its score — a mention outside the
       conclusion never passes the 0.55 midpoint. References longer than
       ``SPAN_MAX_REF_TOKENS`` (32) tokens (whole reference responses) are scored by plain
       token F1 of the whole answer.

       **Negation → 0 for that sentence**: a negation right before the matched span ("not X",
       "no X", "rather than X", "rules out X", "isn't X", "不是X", "排除X", "非X"), inside it, or
       right after it ("X is unlikely", "X was ruled out", "X可排除"). For a negative reference
       ("… does not have a distal contact") the span must carry a negation too.
       **Hedge → × ``HEDGE_SCORE`` (0.5)**: the span sits among alternatives ("or", "either",
       "versus", "或" within 6 tokens), or, for a numeric reference, in a range ("5 to 7 days",
       "5-7 days" for "7 days") or next to another number. A reference that itself contains "or"
       or a negation is exempt from the matching check.
    A list of ground truths (verl's gsm8k style) scores the best of them.

Combined score (verl, OpenRLHF, ``medical_reward``) — mirrors HuatuoGPT-o1's PPO reward
(0 for a malformed response, else a verifier's 1.0 for right vs 0.1 for wrong), made continuous::

    score = 0.0                                  if the response is malformed
    score = MIN_WELL_FORMED + (1 - MIN_WELL_FORMED) * correctness   otherwise  (MIN_WELL_FORMED = 0.1)

so a well-formed wrong answer gets 0.1 and a well-formed right one 1.0.

Known failure modes (read before training on it)
    * It is a lexical verifier, not a judge: a paraphrase outside the synonym table ("serial hCG
      over 48-hour intervals" for "two serum beta hCG tests 48 hours apart", "维生素B12缺乏" vs
      "钴胺素缺乏" is in the table, "内因子缺乏" is not) scores low; a wrong answer that shares most
      words with the reference scores high. HuatuoGPT-o1 used an LLM verifier.
    * The conclusion rule trusts position and cues: a description of the answer in the last
      sentence ("… typically presents with selective proteinuria") counts as a conclusion; a
      conclusion stated only mid-way through a long answer is context (0.5 at most). Negation is
      looked for in a 3-token window only: "is not attributed to X" (a negated *question* such as
      "which is NOT a cause") is not seen, "not X" is — so for negated questions a correct "X is
      not a cause" passes and a correct "not due to X" fails.
    * The hedge check sees "or"-lists near the answer, not modal hedging ("G1 might be it").
    * Token F1 gives partial credit for shared words or characters, also to wrong answers:
      "Ulnar nerve" for "Radial nerve" scores 0.55 combined, "痛风" for "风湿热" 0.46, and
      "风湿性关节炎" (rheumatic arthritis) for "风湿热" (rheumatic fever) 0.75 — character-level
      matching cannot tell Chinese terms that share most characters apart unless the longer one
      is in the synonym table ("类风湿关节炎" is, and scores 0.1). A policy can drift toward
      generic words ("nerve", "综合征", "感染"); watch the share of rewards strictly between 0.1
      and 1.0.
    * The export's ``reference_answer_agreement`` shows how often a dataset's own answer is
      recognised: on the 58 real medical-o1 demo records the GPT-written ``Response`` agrees
      with ``Ground-True Answer`` at only 0.35 (many responses reach a different conclusion),
      so rows whose reference response is used as an SFT target and rows used for RL should
      not be assumed consistent.
    * Where no short reference answer exists (``ground_truth_kind == "response"``), the ground
      truth is a whole reference response; F1 against it rewards lexical overlap and length
      matching more than correctness. Prefer rows with ``ground_truth_kind ==
      "reference_answer"`` for RL, or down-weight the others.
    * A list of candidates joined by commas only ("parvovirus B19, iron deficiency, folate
      deficiency") is not seen as a hedge; with "or" it is.
    * Option letters: an answer that mentions several letters ("A and D are wrong, C is right")
      is judged by the first option-like letter found in its last lines; free-text answers that
      start with a capital letter followed by ")" or "." can be misread as a choice. A capital
      letter, ".", then a lower-case word ("E. coli", "B. cereus") is read as a genus, not a
      choice — so an option text written in lower case ("B. fever") is not a choice either.
    * Chat templates that put ``<think>`` into the generation prompt (DeepSeek-R1-distill
      style) produce completions without the opening tag: they score 0 here unless
      ``MEDPREP_THINK_IN_PROMPT=1`` is set in the environment, which makes a leading ``<think>``
      optional.
    * OpenRLHF passes ``queries`` = prompt + response decoded with special tokens; the response
      is taken as the text after the prompt (or after the last ChatML/Llama-3 assistant header).
      An unusual template that re-renders the prompt differently falls back to the last
      ``<think>`` in the query.
    * verl decodes responses with ``skip_special_tokens=True``: if a tokenizer registers
      ``<think>``/``</think>`` as *special* tokens (Qwen3 and DeepSeek-R1 do not), the tags vanish
      and every response scores 0. Check one decoded rollout before a long run.
    * Simplified vs traditional Chinese are different characters here (no OpenCC in this file).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any

__all__ = [
    "CONTAIN_LATE_SCORE",
    "CONTAIN_SCORE",
    "CONTAIN_WINDOW",
    "HEDGE_SCORE",
    "SPAN_MAX_REF_TOKENS",
    "MIN_WELL_FORMED",
    "combined_score",
    "completion_text",
    "compute_score",
    "correctness",
    "correctness_reward",
    "format_reward",
    "is_well_formed",
    "medical_reward",
    "normalize",
    "reward_func",
    "split_response",
    "token_f1",
    "tokens",
]

MIN_WELL_FORMED = 0.1  # score of a well-formed but wrong response (HuatuoGPT-o1: 0.1)
CONTAIN_SCORE = 0.9  # floor when the whole ground truth appears in the answer's first tokens
CONTAIN_WINDOW = 48  # ... that many tokens (the conclusion usually comes first)
CONTAIN_LATE_SCORE = 0.5  # floor when it appears only after the window
SPAN_MAX_REF_TOKENS = 32  # span matching for short references only (not whole reference responses)

_END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>", "<|end|>")
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

# CJK ideographs, kana, hangul: one token per character.
_CJK = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
    "\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
)
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
_ARTICLES = frozenset({"a", "an", "the"})

# Option letters A–J. Ground truth: the whole string is a letter, or a letter followed by a
# separator and the option text.
_GT_LETTER_RE = re.compile(r"^\s*[\(\[（]?([A-Ja-j])[\)\]）]?\s*(?:$|[\.．:：、\)）]\s*(.*)$)", re.S)
# In an answer: an explicit marker ("answer is D", "答案：D", "选D", "option D") or an answer
# that starts with a letter followed by a separator / end.
_ANS_MARKED_RE = re.compile(
    r"(?i:answer(?:\s+is)?|option|choice|correct\s+(?:answer|option|choice)\s+is|答案(?:是|为)?|选择?|选项)"
    r"\s*(?:\*\*)?\s*[:：]?\s*(?:\*\*)?\s*[\(\[（]?([A-J])(?![A-Za-z0-9])"
)
_ANS_LEADING_RE = re.compile(
    r"^\s*(?:\*\*[\(\[（]?([A-J])[\)\]）\.．:：]?\*\*"  # **D** / **D.**
    r"|[\(\[（]?([A-J])(?:[\)\]）\.．:：、,，]|\s*$|\s+[-–—]))"  # D / D. / (D) / D - text
)
# Multi-answer truths ("ACD", "A、C、E") and the answer's final letter set after a marker.
_GT_LETTERS_RE = re.compile(r"^\s*([A-J](?:[、,，\s]*[A-J]){1,9})\s*$")
_ANS_SET_RE = re.compile(
    r"(?:答案|正确选项|选项|answers?)\s*(?:是|为|are|is)?\s*(?:\*\*)?\s*[:：]?\s*(?:\*\*)?\s*"
    r"([A-J](?:\s*[、,，和及]?\s*[A-J])*)(?![A-Za-z0-9])"
)
# "E. coli", "B. cereus": a genus abbreviation, not an option letter.
_GENUS_RE = re.compile(r"^\s*[A-Z]\.\s*[a-z]")


def completion_text(completion: Any) -> str:
    """The text of one completion: a string, a message dict, or a chat list (assistant turns joined)."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, (list, tuple)):
        parts = [m.get("content") or "" for m in completion if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
        if not parts:  # no roles at all: take every content
            parts = [m.get("content") or "" for m in completion if isinstance(m, dict)]
        return "".join(str(p) for p in parts)
    return str(completion)


def _think_in_prompt() -> bool:
    return os.environ.get("MEDPREP_THINK_IN_PROMPT", "") not in ("", "0", "false", "False")


def _strip_end_tokens(text: str) -> str:
    """Trailing chat end-of-turn tokens and whitespace removed (a loop, not a regex: a regex with
    nested ``\\s*`` took seconds on a long run of whitespace)."""
    text = text.rstrip()
    while text.endswith(_END_TOKENS):
        text = text[: -len(next(t for t in _END_TOKENS if text.endswith(t)))].rstrip()
    return text


def split_response(text: str) -> tuple[str | None, str, bool]:
    """Split a response into ``(reasoning, answer, well_formed)``.

    ``answer`` is always returned (the text after ``</think>`` when there is one, else the whole
    stripped text) so correctness can be scored even for a malformed response.
    """
    text = _strip_end_tokens(text or "").strip()
    if _think_in_prompt() and not text.startswith(_THINK_OPEN) and text.count(_THINK_CLOSE) == 1:
        text = _THINK_OPEN + text
    n_open, n_close = text.count(_THINK_OPEN), text.count(_THINK_CLOSE)
    if n_close == 0:
        return None, text, False
    head, _, tail = text.rpartition(_THINK_CLOSE)
    answer = tail.strip()
    ok = n_open == 1 and n_close == 1 and text.startswith(_THINK_OPEN)
    reasoning = head[len(_THINK_OPEN):].strip() if head.startswith(_THINK_OPEN) else head.strip()
    ok = ok and bool(reasoning) and bool(answer)
    return reasoning, answer, ok


def is_well_formed(text: str) -> bool:
    """Exactly one ``<think>…</think>`` block at the start, non-empty reasoning and answer."""
    return split_response(text)[2]


class _Blank(dict):
    """``str.translate`` table, filled lazily: punctuation, symbols, separators, controls → space."""

    def __missing__(self, cp: int) -> int:
        self[cp] = value = 32 if unicodedata.category(chr(cp))[0] in "PSZC" else cp
        return value


_BLANK = _Blank()


def normalize(text: str) -> str:
    """NFKC, lowercase, punctuation/symbols → space, English articles dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "").lower().translate(_BLANK)
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) and word.isascii():
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Tokens of normalised text: one per CJK character, one per other whitespace-free run."""
    return [_singular(t) for t in _TOKEN_RE.findall(normalize(text))]


def token_f1(prediction: str, reference: str) -> float:
    """Multiset token F1 of two texts after :func:`normalize` (CJK per character, else per word)."""
    pred, ref = tokens(prediction), tokens(reference)
    if not pred or not ref:
        return float(pred == ref and bool(pred))
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _gt_letter(ground_truth: str) -> tuple[str | None, str]:
    m = _GT_LETTER_RE.match(ground_truth or "")
    if not m:
        return None, ground_truth
    rest = (m.group(2) or "").strip()
    # "A" alone or "A. Text" is a choice; "a" alone and "E. coli" are not.
    if m.group(1).islower() or _GENUS_RE.match(ground_truth):
        return None, ground_truth
    return m.group(1).upper(), rest


def _answer_letter(answer: str) -> str | None:
    text = unicodedata.normalize("NFKC", answer or "").strip()
    if not text:
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    m = None if _GENUS_RE.match(text) else _ANS_LEADING_RE.match(text)
    if m:
        return (m.group(1) or m.group(2)).upper()
    # an explicit marker, preferring the last lines (conclusions come last)
    for ln in reversed(lines[-3:]):
        found = _ANS_MARKED_RE.findall(ln)
        if found:
            return found[-1].upper()
        m = None if _GENUS_RE.match(ln) else _ANS_LEADING_RE.match(ln)
        if m:
            return (m.group(1) or m.group(2)).upper()
    return None


def _answer_letter_set(answer: str) -> frozenset[str] | None:
    """The letter set of the answer's last marked conclusion ("最终答案：ACD", "答案：A、C、E")."""
    text = unicodedata.normalize("NFKC", answer or "")
    found = _ANS_SET_RE.findall(text)
    if found:
        return frozenset(re.findall(r"[A-J]", found[-1]))
    lines = [ln.strip(" *#") for ln in text.splitlines() if ln.strip(" *#")]
    if lines and re.fullmatch(r"[A-J](?:[、,，\s]*[A-J])*", lines[-1]):
        return frozenset(re.findall(r"[A-J]", lines[-1]))
    return None


# ----------------------------------------------------------- synonyms and more specific terms
# Hand-curated for this file by the medprep project (helper "reward", 2026-12-02) from standard
# medical usage — INN vs BAN/USAN drug names, textbook eponyms and lay names, WHO/ICD disease
# abbreviations — without network access, so not copied from MeSH/UMLS. Kept small and
# unambiguous on purpose (an abbreviation that has another common meaning is left out). Each
# ``_SYNONYMS`` row is one concept, its names separated by "|"; each ``_NARROWER`` row is a broader
# term followed by more specific ones (an answer naming a more specific term is credited for
# the broader reference, never the other way round). Extend it here; docs/reward.md lists it.
_SYNONYMS = (
    "myocardial infarction|heart attack",
    "cerebrovascular accident|stroke|brain attack",
    "hypertension|high blood pressure",
    "hypotension|low blood pressure",
    "myelosuppression|bone marrow suppression|marrow suppression|bone marrow depression|myelotoxicity",
    "dactinomycin|actinomycin d|actinomycin",
    "organophosphate|organophosphorus|organophosphorous|organophosphorus compound|organophosphate compound",
    "epinephrine|adrenaline",
    "norepinephrine|noradrenaline",
    "acetaminophen|paracetamol",
    "salbutamol|albuterol",
    "lidocaine|lignocaine",
    "glyceryl trinitrate|nitroglycerin|nitroglycerine",
    "pethidine|meperidine",
    "furosemide|frusemide",
    "rifampicin|rifampin",
    "ciclosporin|cyclosporine|cyclosporin",
    "aciclovir|acyclovir",
    "amoxicillin|amoxycillin",
    "cefalexin|cephalexin",
    "isoprenaline|isoproterenol",
    "suxamethonium|succinylcholine",
    "hyoscine|scopolamine",
    "adrenocorticotropic hormone|acth|corticotropin|adrenocorticotrophic hormone",
    "antidiuretic hormone|adh|vasopressin|arginine vasopressin",
    "thyroid stimulating hormone|tsh|thyrotropin",
    "human chorionic gonadotropin|hcg|beta hcg|β hcg|chorionic gonadotropin",
    "luteinizing hormone|luteinising hormone",
    "follicle stimulating hormone|fsh",
    "tuberculosis|tb",
    "human immunodeficiency virus|hiv",
    "chronic obstructive pulmonary disease|copd",
    "gastroesophageal reflux disease|gerd|gord|gastro oesophageal reflux disease",
    "deep vein thrombosis|dvt|deep venous thrombosis",
    "congestive heart failure|chf",
    "atrial fibrillation|afib",
    "systemic lupus erythematosus|sle",
    "urinary tract infection|uti",
    "disseminated intravascular coagulation|dic|consumptive coagulopathy",
    "acute respiratory distress syndrome|ards",
    "immune thrombocytopenic purpura|idiopathic thrombocytopenic purpura|itp",
    "thrombotic thrombocytopenic purpura|ttp",
    "hemolytic uremic syndrome|hus",
    "benign prostatic hyperplasia|bph|benign prostatic hypertrophy",
    "polycystic ovary syndrome|pcos|polycystic ovarian syndrome|stein leventhal syndrome",
    "sudden infant death syndrome|sids|cot death|crib death",
    "amyotrophic lateral sclerosis|als|lou gehrig disease",
    "infectious mononucleosis|glandular fever",
    "epstein barr virus|ebv",
    "varicella|chickenpox|chicken pox",
    "herpes zoster|shingles",
    "rubella|german measles",
    "pertussis|whooping cough",
    "erythema infectiosum|fifth disease",
    "roseola infantum|exanthem subitum|sixth disease",
    "scarlet fever|scarlatina",
    "cobalamin|vitamin b12|cyanocobalamin",
    "thiamine|vitamin b1|thiamin",
    "folic acid|folate|vitamin b9",
    "ascorbic acid|vitamin c",
    "pyridoxine|vitamin b6",
    "niacin|vitamin b3|nicotinic acid",
    "riboflavin|vitamin b2",
    "cholecalciferol|vitamin d3",
    "pneumocystis pneumonia|pneumocystis jirovecii pneumonia|pneumocystis carinii pneumonia",
    "streptococcus pyogenes|group a streptococcus|group a beta hemolytic streptococcus",
    "streptococcus agalactiae|group b streptococcus",
    "streptococcus pneumoniae|pneumococcus",
    "neisseria meningitidis|meningococcus",
    "neisseria gonorrhoeae|gonococcus",
    "helicobacter pylori|h pylori",
    "clostridioides difficile|clostridium difficile|c difficile",
    "escherichia coli|e coli",
    "staphylococcus aureus|s aureus",
    "cesarean section|caesarean section|c section|cesarean delivery|caesarean delivery|lscs",
    "induction of labor|labor induction|induce labor|inducing labor|induced labor",
    "hodgkin lymphoma|hodgkin disease",
    "graves disease|basedow disease",
    "hashimoto thyroiditis|chronic lymphocytic thyroiditis|hashimoto disease",
    "trisomy 21|down syndrome",
    "心肌梗死|心肌梗塞|心梗",
    "脑卒中|中风|脑中风",
    "钴胺素|维生素b12|氰钴胺",
    "硫胺素|维生素b1",
    "叶酸|维生素b9",
    "抗坏血酸|维生素c",
    "对乙酰氨基酚|扑热息痛",
    "去甲肾上腺素|正肾上腺素",
    "哌替啶|杜冷丁",
    "呋塞米|速尿",
    "阿司匹林|乙酰水杨酸",
    "艾滋病|获得性免疫缺陷综合征",
    "乙型肝炎|乙肝|乙型病毒性肝炎",
    "丙型肝炎|丙肝|丙型病毒性肝炎",
    "慢性阻塞性肺疾病|慢阻肺",
    "系统性红斑狼疮|红斑狼疮",
    "类风湿关节炎|类风湿性关节炎",
    "幽门螺杆菌|幽门螺旋杆菌",
    "骨髓抑制|骨髓抑制作用",
    "剖宫产|剖腹产|剖宫产术",
    "弥散性血管内凝血|dic",
    "心房颤动|房颤",
    "心室颤动|室颤",
    "深静脉血栓形成|深静脉血栓",
    "肺栓塞|肺动脉栓塞",
    "甲状腺功能亢进症|甲亢|甲状腺功能亢进",
    "甲状腺功能减退症|甲减|甲状腺功能减退",
)
_NARROWER = (
    "myelosuppression|neutropenia|agranulocytosis|leukopenia|pancytopenia|thrombocytopenia|febrile neutropenia",
    "beta blocker|propranolol|metoprolol|atenolol|bisoprolol|carvedilol|labetalol|esmolol|timolol",
    "ace inhibitor|captopril|enalapril|lisinopril|ramipril|perindopril",
    "nsaid|ibuprofen|naproxen|diclofenac|indomethacin|indometacin|ketorolac|piroxicam|celecoxib",
    "corticosteroid|prednisone|prednisolone|dexamethasone|hydrocortisone|methylprednisolone|betamethasone",
    "benzodiazepine|diazepam|lorazepam|midazolam|alprazolam|clonazepam|chlordiazepoxide",
    "opioid|morphine|fentanyl|pethidine|codeine|oxycodone|methadone|tramadol",
    "cholinesterase inhibitor|neostigmine|pyridostigmine|physostigmine|edrophonium|donepezil|rivastigmine",
    "aminoglycoside|gentamicin|amikacin|streptomycin|tobramycin|neomycin",
    "macrolide|erythromycin|azithromycin|clarithromycin",
    "fluoroquinolone|ciprofloxacin|levofloxacin|moxifloxacin|ofloxacin|norfloxacin",
    "tetracycline|doxycycline|minocycline",
    "anthracycline|doxorubicin|daunorubicin|epirubicin|idarubicin",
    "statin|atorvastatin|simvastatin|rosuvastatin|pravastatin|lovastatin",
    "loop diuretic|furosemide|bumetanide|torsemide|ethacrynic acid",
    "thiazide|hydrochlorothiazide|chlorthalidone|indapamide",
    "骨髓抑制|中性粒细胞减少|粒细胞缺乏|白细胞减少|全血细胞减少|血小板减少",
)
_LATIN_ENDINGS = ("us", "is", "um", "ae", "a", "i", "e")


@lru_cache(maxsize=1 << 16)
def _variant(word: str) -> str:
    """Spelling variants of one English word folded together (both sides get the same folding):
    British / American (ae, oe → e; -our → -or; -tre → -ter) and Latin/Greek endings of words of
    7+ letters (-us, -is, -um, -ae, -a, -i, -e dropped: "anthracis" / "anthracus", "bacilli" /
    "bacillus", "vertebrae" / "vertebra")."""
    if len(word) < 5 or not word.isascii() or not word.isalpha():
        return word
    word = word.replace("ae", "e").replace("oe", "e")
    if len(word) >= 6 and word.endswith("our"):
        word = word[:-3] + "or"
    elif len(word) >= 6 and word.endswith("tre"):
        word = word[:-3] + "ter"
    if len(word) >= 7:
        for suffix in _LATIN_ENDINGS:
            if word.endswith(suffix):
                return word[: -len(suffix)]
    return word


def _phrase_table(rows: tuple[str, ...], skip_first: bool = False) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    table: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for row in rows:
        names = [tuple(_variant(t) for t in tokens(n)) for n in row.split("|")]
        canon = "≡" + "_".join(names[0])
        for name in names[int(skip_first):]:
            if name:
                table.setdefault(name[0], []).append((name, canon))
    for entries in table.values():
        entries.sort(key=lambda e: -len(e[0]))
    return table


def _replace(toks: list[str], table: dict, allowed: Any = None) -> list[str]:
    """Longest-first replacement of the table's phrases by their concept token; ``allowed(name,
    concept)`` (when given) decides each replacement."""
    out, i = [], 0
    while i < len(toks):
        for name, canon in table.get(toks[i], ()):
            if tuple(toks[i : i + len(name)]) == name and (allowed is None or allowed(name, canon)):
                out.append(canon)
                i += len(name)
                break
        else:
            out.append(toks[i])
            i += 1
    return out


def _contains(seq: tuple[str, ...], sub: list[str]) -> bool:
    n = len(sub)
    return any(list(seq[i : i + n]) == sub for i in range(len(seq) - n + 1))


_SYN_TABLE = _phrase_table(_SYNONYMS)
_NARROW_TABLE = _phrase_table(_NARROWER, skip_first=True)
_BROAD_TABLE = _phrase_table(tuple(r.split("|", 1)[0] for r in _NARROWER))


def _canon(toks: list[str], ref: list[str] | None = None) -> list[str]:
    """Tokens with spelling variants folded and the names of one concept replaced by one concept
    token. Without ``ref`` (for the reference itself) every known name is replaced. With ``ref``
    (an already canonical reference) a known name stays as words when it is a longer term that
    contains the whole reference ("congestive heart failure" for "heart failure", "乙型肝炎" for
    "肝炎"), and a more specific term becomes its broader concept when the reference names it."""
    toks = [_variant(t) for t in toks]
    if ref is None:
        return _replace(_replace(toks, _SYN_TABLE), _BROAD_TABLE)
    concepts = {t for t in ref if t.startswith("≡")}

    def allowed(name: tuple[str, ...], canon: str) -> bool:
        return canon in concepts or not _contains(name, ref)

    toks = _replace(_replace(toks, _SYN_TABLE, allowed), _BROAD_TABLE, allowed)
    return _replace(toks, _NARROW_TABLE, lambda name, canon: canon in concepts) if concepts else toks


# ------------------------------------------------------------------ free text: the conclusion
# Explicit final-answer markers: when one is present, the text after the last of them is the
# conclusion and everything else is context.
_FINAL_RE = re.compile(
    r"(?i:final\s+answer|(?:the\s+)?(?:correct\s+|best\s+|right\s+)?answer\s+(?:is|would\s+be|will\s+be)|\banswer\s*(?:\*\*)?\s*[:：])"
    r"|最终答案|正确答案|答案(?:应该?)?(?:是|为)|答案\s*(?:\*\*)?\s*[:：]"
)
# Softer conclusion cues: a sentence carrying one counts as a conclusion when it is in the last
# paragraph or among the last two such sentences of the answer.
_SOFT_RE = re.compile(
    r"(?i:\b(?:therefore|thus|hence|consequently|in\s+conclusion|to\s+conclude|in\s+summary|to\s+summari[sz]e|"
    r"to\s+sum\s+(?:it\s+)?up|summing\s+(?:it\s+)?up|all\s+in\s+all|overall|bottom\s+line|"
    r"putting\s+(?:it|this|that|everything)\s+(?:all\s+)?together|all\s+things\s+considered|in\s+the\s+end|"
    r"ultimately|the\s+conclusion|i\s+conclude|i(?:'m|’m|\s+am)\s+(?:pretty\s+|fairly\s+|quite\s+|very\s+)?"
    r"(?:confident|sure|convinced|certain)|i\s+would\s+say|i(?:'d|’d)\s+say|my\s+answer)\b|(?:^|[,;:]\s*)so\b)"
    r"|因此|所以|综上|总之|总而言之|由此可见|结论|故(?:选|为|是)"
)
_SENT_SPLIT_RE = re.compile(r"(?<=[。！？；])|(?<=[.!?])\s+(?=[^a-z0-9\s])")
_PARA_SPLIT_RE = re.compile(r"\n\s*\n")
_BOLD_RE = re.compile(r"\*\*([^*\n]{1,200})\*\*")
HEDGE_SCORE = 0.5  # factor when the matched answer sits in a list of alternatives ("A or B")

# (compared after the spelling folding of ``_variant``, hence built through it)
_NEG_BEFORE = frozenset(_variant(w) for w in ("not", "no", "never", "without", "nor", "neither", "unlikely", "except",
                                              "excluding", "exclude", "excludes", "excluded", "unlike", "non", "against"))
_NEG_BEFORE_PAIRS = frozenset((_variant(a), _variant(b)) for a, b in (
    ("rather", "than"), ("instead", "of"), ("other", "than"), ("rule", "out"), ("rules", "out"), ("ruled", "out"),
    ("ruling", "out"), ("isn", "t"), ("aren", "t"), ("wasn", "t"), ("weren", "t"), ("doesn", "t"), ("don", "t"),
    ("didn", "t")))
_NEG_WORDS = frozenset({"not", "no", "never", "without", "nor", "neither", "non", "不", "非", "无", "没"})
_NEG_AFTER = frozenset(_variant(w) for w in ("unlikely", "excluded", "ruled"))
_CONTRAST = frozenset({"but", "rather", "instead", "however", "although", "while"})
_NOT_NEG_AFTER_NOT = frozenset({"only", "just", "merely", "simply"})
_NEG_ZH_BEFORE_RE = re.compile(r"(?:不是|不考虑|不支持|不符合|不属于|并非|而非|排除|除外|没有|无|非)[了是为]?$")
_NEG_ZH_AFTER = ("可排除", "被排除", "已排除", "除外", "不太可能", "可能性小", "可能性不大")
_ALTERNATION = frozenset({"or", "either", "versus", "vs", "或"})
_NUM_RE = re.compile(r"\d+")


def _is_num(tok: str) -> bool:
    return bool(_NUM_RE.fullmatch(tok))


def _split_sentences(text: str) -> list[list[str]]:
    """Paragraphs (blank-line separated) as lists of sentences (lines, then . ! ? 。！？；)."""
    paragraphs = []
    for para in _PARA_SPLIT_RE.split(text):
        sents = [s.strip() for line in para.splitlines() for s in _SENT_SPLIT_RE.split(line)]
        sents = [s for s in sents if s.strip(" *#-")]
        if sents:
            paragraphs.append(sents)
    return paragraphs


def _segments(answer: str, ref: list[str]) -> list[tuple[list[str], bool]]:
    """``(canonical tokens, is_conclusion)`` of each sentence of the answer and of its extra
    conclusion pieces.

    Conclusion: the text after the last explicit final-answer marker ("Final answer:", "the
    answer is", "答案是", "最终答案"), up to the end of its sentence (or its next line when the
    marker ends the line), and bold spans in it. Without such a marker: the first sentence (its
    first ``CONTAIN_WINDOW`` tokens), the last sentence, the sentences of the last paragraph that
    carry a conclusion cue ("therefore", "in conclusion", "so,", "因此", "综上"), and bold spans.
    Every other sentence is context."""
    text = unicodedata.normalize("NFKC", answer or "")
    paragraphs = _split_sentences(text)
    flat = [(pi, s) for pi, para in enumerate(paragraphs) for s in para]
    if not flat:
        return []
    toks = [_canon(tokens(s), ref) for _, s in flat]
    concl = [False] * len(flat)
    extra: list[list[str]] = []
    marks = list(_FINAL_RE.finditer(text))
    if marks:
        lines = text[marks[-1].end():].splitlines()
        head = next((ln for ln in lines[:1] + lines[1:] if ln.strip(" *:：#-\t")), "")
        extra = [_canon(tokens(_SENT_SPLIT_RE.split(head.strip(" *:：#-\t"), maxsplit=1)[0]), ref)]
        extra += [_canon(tokens(b), ref) for b in _BOLD_RE.findall(head)]
    else:
        concl[-1] = True
        if len(toks[0]) <= CONTAIN_WINDOW:
            concl[0] = True
        else:
            extra.append(toks[0][:CONTAIN_WINDOW])
        last_para = len(paragraphs) - 1
        for i, (pi, s) in enumerate(flat):
            if pi == last_para and _SOFT_RE.search(s):
                concl[i] = True
        extra += [_canon(tokens(b), ref) for b in _BOLD_RE.findall(text)]
    return list(zip(toks, concl)) + [(t, True) for t in extra if t]


def _best_span(pred: list[str], ref: list[str]) -> tuple[float, int, int]:
    """Best token F1 of any contiguous span of ``pred`` (≤ 2× the reference length) covering more
    than half of the reference tokens, with the span's bounds; ``(0.0, -1, -1)`` when none does.
    A best span starts and ends on tokens of the reference, so only those positions are tried."""
    need = Counter(ref)
    hits = [i for i, t in enumerate(pred) if t in need]
    best, bs, be = 0.0, -1, -1
    max_len = 2 * len(ref)
    for start in hits:
        used: Counter[str] = Counter()
        overlap = 0
        for j in range(start, min(len(pred), start + max_len)):
            tok = pred[j]
            if tok in need:
                if used[tok] < need[tok]:
                    used[tok] += 1
                    overlap += 1
                if 2 * overlap > len(ref):
                    f1 = 2 * overlap / (j - start + 1 + len(ref))
                    if f1 > best:
                        best, bs, be = f1, start, j + 1
    return best, bs, be


def _best_span_f1(pred: list[str], ref: list[str]) -> float:
    return _best_span(pred, ref)[0]


def _has_negation(toks: list[str]) -> bool:
    return any(t in _NEG_WORDS for t in toks) or any(p in _NEG_BEFORE_PAIRS for p in zip(toks, toks[1:]))


def _negated(toks: list[str], s: int, e: int, ref: list[str]) -> bool:
    """The matched span says the opposite of the reference. For a positive reference: a negation
    inside the span, right before it ("not X", "rules out X", "不是X", "排除X") or right after it
    ("X is unlikely", "X可排除"); a "but" between the negation and the span cancels it ("not A
    but X"). For a negative reference ("… does not have a distal contact"): no
    negation in or just before the span."""
    if _has_negation(ref):
        return not _has_negation(toks[max(0, s - 3):e])
    if _has_negation(toks[s:e]):
        return True
    before = toks[max(0, s - 3):s]
    cut = max((i + 1 for i, t in enumerate(before) if t in _CONTRAST), default=0)
    before = before[cut:]  # "not viral but bacterial": the negation is of the other term
    for i, t in enumerate(before):
        nxt = before[i + 1] if i + 1 < len(before) else toks[s]
        if t in _NEG_BEFORE and not (t == "not" and nxt in _NOT_NEG_AFTER_NOT):
            return True
        if i + 1 < len(before) and (t, before[i + 1]) in _NEG_BEFORE_PAIRS:
            return True
    if _NEG_ZH_BEFORE_RE.search("".join(toks[max(0, s - 6):s])):
        return True
    after = toks[e:e + 3]
    if any(t in _NEG_AFTER for t in after):
        return True
    return "".join(toks[e:e + 5]).startswith(_NEG_ZH_AFTER)


def _hedged(toks: list[str], s: int, e: int, ref: list[str]) -> bool:
    """The matched span is one of several alternatives ("A, B or C", "A或B") or a numeric range
    ("5 to 7 days" for "7 days"); never when the reference itself has an alternation."""
    if any(t in _ALTERNATION for t in ref):
        return False
    window = toks[max(0, s - 6):s] + toks[e:e + 6]
    if any(t in _ALTERNATION for t in window):
        return True
    if any(_is_num(t) for t in ref):
        ref_set = set(ref)
        if any(_is_num(t) and t not in ref_set for t in toks[s:e]):
            return True
        if s >= 1 and _is_num(toks[s - 1]):
            return True
        if s >= 2 and toks[s - 1] in ("to", "and", "or", "至", "到") and _is_num(toks[s - 2]):
            return True
        if e + 1 < len(toks) and toks[e] in ("to", "至", "到") and _is_num(toks[e + 1]):
            return True
    return False


def _segment_score(toks: list[str], ref: list[str]) -> float:
    if not toks:
        return 0.0
    if toks == ref:
        return 1.0
    common = sum((Counter(toks) & Counter(ref)).values())
    f1 = 2 * common / (len(toks) + len(ref)) if common else 0.0
    span, s, e = _best_span(toks, ref)
    if s < 0:
        return f1
    if _negated(toks, s, e, ref):
        return 0.0
    score = max(f1, CONTAIN_SCORE * span)
    return HEDGE_SCORE * score if _hedged(toks, s, e, ref) else score


def _free_text(answer: str, reference: str) -> float:
    ref = _canon(tokens(reference))
    if not ref:
        return 0.0
    if len(ref) > SPAN_MAX_REF_TOKENS:  # a whole reference response: plain token F1
        return token_f1(answer, reference)
    best = 0.0
    for toks, is_conclusion in _segments(answer, ref):
        score = _segment_score(toks, ref)
        best = max(best, score if is_conclusion else CONTAIN_LATE_SCORE * score)
    return best


def correctness(answer: str, ground_truth: Any) -> float:
    """Correctness of an answer (the text after ``</think>``) against the ground truth, in [0, 1]."""
    if isinstance(ground_truth, (list, tuple)) or type(ground_truth).__name__ == "ndarray":
        values = [correctness(answer, g) for g in list(ground_truth)]
        return max(values, default=0.0)
    if ground_truth is None:
        return 0.0
    gt = str(ground_truth)
    m = _GT_LETTERS_RE.match(gt)
    if m and not gt.strip().islower():
        got_set = _answer_letter_set(answer)
        return float(got_set == frozenset(re.findall(r"[A-J]", m.group(1)))) if got_set else 0.0
    letter, option_text = _gt_letter(gt)
    if letter is not None:
        got = _answer_letter(answer)
        if got is not None:
            return 1.0 if got == letter else 0.0
        return _free_text(answer, option_text) if option_text else 0.0
    return _free_text(answer, gt)


def combined_score(response: str, ground_truth: Any) -> tuple[float, bool, float]:
    """``(score, well_formed, correctness)`` for one response; see the module docstring."""
    _, answer, ok = split_response(response)
    corr = correctness(answer, ground_truth)
    score = MIN_WELL_FORMED + (1.0 - MIN_WELL_FORMED) * corr if ok else 0.0
    return score, ok, corr


# --------------------------------------------------------------------------------------- verl
def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **kwargs: Any) -> float:
    """verl ``custom_reward_function`` entry point: the combined score, a float in [0, 1]."""
    return float(combined_score(solution_str, ground_truth)[0])


# ------------------------------------------------------------------------------------ OpenRLHF
_ASSISTANT_HEADERS = ("<|im_start|>assistant", "<|start_header_id|>assistant<|end_header_id|>", "<|Assistant|>", "<|assistant|>")


def _response_from_query(query: str, prompt: str) -> str:
    if prompt and query.startswith(prompt):
        return query[len(prompt):]
    for header in _ASSISTANT_HEADERS:
        idx = query.rfind(header)
        if idx >= 0:
            return query[idx + len(header):]
    idx = query.rfind(_THINK_OPEN)  # fallback: from the last <think> on
    return query[idx:] if idx >= 0 else query


def reward_func(queries: list[str], prompts: list[str], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF ``--reward.remote_url reward.py`` entry point (``--remote_rm_url`` before 0.10).

    ``queries`` are prompt + response (decoded with special tokens), ``labels`` the ground truths
    (``--data.label_key label``). Returns ``{"rewards", "scores", "extra_logs"}``: torch tensors when
    torch is importable, else lists. ``scores`` equal ``rewards`` (both in [0, 1]).
    """
    prompts = list(prompts) if prompts is not None else [""] * len(queries)
    labels = list(labels) if labels is not None else [None] * len(queries)
    rewards, formats, corrects = [], [], []
    for query, prompt, label in zip(queries, prompts, labels):
        score, ok, corr = combined_score(_response_from_query(query or "", prompt or ""), label)
        rewards.append(score)
        formats.append(float(ok))
        corrects.append(corr)
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        return {"rewards": rewards, "scores": list(rewards), "extra_logs": {"format_ok": formats, "correctness": corrects}}
    as_t = lambda xs: torch.tensor(xs, dtype=torch.float32)  # noqa: E731
    return {
        "rewards": as_t(rewards),
        "scores": as_t(rewards),
        "extra_logs": {"format_ok": as_t(formats), "correctness": as_t(corrects)},
    }


# ----------------------------------------------------------------------------------------- TRL
def format_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward: 1.0 for a well-formed ``<think>…</think>answer`` completion, else 0.0."""
    return [1.0 if is_well_formed(completion_text(c)) else 0.0 for c in completions]


def correctness_reward(completions: list[Any], ground_truth: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward: correctness in [0, 1] of the answer part (after ``</think>``, else the whole text)."""
    return [correctness(split_response(completion_text(c))[1], gt) for c, gt in zip(completions, ground_truth)]


def medical_reward(completions: list[Any], ground_truth: list[Any], **kwargs: Any) -> list[float]:
    """TRL reward: the combined score, identical to :func:`compute_score` (use it alone)."""
    return [combined_score(completion_text(c), gt)[0] for c, gt in zip(completions, ground_truth)]

"""Contract-shaped ``data/processed`` records for tests, benches and demos of the RL export.

:func:`write_processed` writes ``train.jsonl`` / ``val.jsonl`` exactly as DESIGN.md "Outputs"
describes them (zh and en, multiple choice with a reference answer, free text without one,
multi-turn history, no-reasoning rows), plus two rows the export must drop: one whose prompt is
over any sane budget and one with no answer at all. ``scale`` repeats the records (ids stay
unique) for benchmarks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LONG_QUESTION_EN = "Summarise this history. " + "The patient reports intermittent chest pain radiating to the left arm. " * 200


def _rec(i: int, question: str, reasoning: str | None, answer: str, *, language: str, source: str, risk: str,
         reference: str | None = None, specialty: str | None = None, history: list[dict[str, str]] | None = None,
         quality: float | None = None) -> dict[str, Any]:
    output = f"<think>\n{reasoning}\n</think>\n\n{answer}" if reasoning else answer
    return {
        "input": question,
        "output": output,
        "meta": {
            "id": f"{source}-{i:06d}",
            "source": source,
            "language": language,
            "specialty": specialty,
            "risk_level": risk,
            "risk_reasons": ["emergency"] if risk == "high" else [],
            "reference_answer": reference,
            "has_reasoning": reasoning is not None,
            "quality_score": quality,
            "history": history or [],
        },
    }


def records(scale: int = 1) -> dict[str, list[dict[str, Any]]]:
    """``{"train": [...], "val": [...]}`` sample records (``scale`` copies of the base set)."""
    base_train = [
        ("A 45-year-old man has hemoglobin 6 g/dL and reticulocytes 0.4%. Which of the following is associated "
         "with the most likely diagnosis? A. Folate deficiency B. Iron deficiency C. Vitamin B12 deficiency "
         "D. Parvovirus B19 infection",
         "Very low reticulocytes with severe anemia suggest aplastic crisis, classically parvovirus B19.",
         "D. Parvovirus B19 infection", dict(language="en", source="medical-o1", risk="high", reference="D")),
        ("What is the first-line drug for an acute attack of myasthenia gravis crisis due to cholinergic deficit?",
         "Acetylcholinesterase inhibitors increase acetylcholine at the junction; neostigmine is used.",
         "Neostigmine", dict(language="en", source="medical-o1-verifiable", risk="medium", reference="Neostigmine")),
        ("患者女，30岁，发热伴关节痛两周，既往咽痛史。最可能的诊断是什么？",
         "咽痛后出现发热和游走性关节痛，应考虑链球菌感染后的风湿热。",
         "风湿热", dict(language="zh", source="medical-o1", risk="medium", reference="风湿热", specialty="内科")),
        ("孩子咳嗽三天了，晚上更厉害，需要去医院吗？",
         None,
         "一般感冒咳嗽可以先观察，注意多喝水；如果出现高热不退、呼吸急促或精神差，应及时就医。",
         dict(language="zh", source="chinese-dialogue", risk="low", specialty="儿科",
              history=[{"role": "user", "content": "医生您好"}, {"role": "assistant", "content": "您好，请问有什么可以帮您？"}])),
        ("伦琴发现X线对医学影像学有何影响？",
         "X线让医生第一次无创地看到人体内部，推动了放射学的建立。",
         "X线的发现开创了医学影像学，推动了放射诊断技术和放射科的建立。",
         dict(language="zh", source="delicate-medical", risk="low", quality=0.82)),
        (LONG_QUESTION_EN, "Too long to be a prompt.", "Angina.", dict(language="en", source="medical-o1", risk="high", reference="Angina")),
        ("A question whose answer was lost?", None, "", dict(language="en", source="medical-o1", risk="low")),
    ]
    base_val = [
        ("Which nerve is injured in wrist drop after a humeral shaft fracture?",
         "The radial nerve runs in the spiral groove of the humerus.",
         "Radial nerve", dict(language="en", source="medical-o1-verifiable", risk="medium", reference="Radial nerve")),
        ("胸痛伴大汗30分钟，首先应做什么检查？",
         "急性胸痛伴大汗需首先排除急性心肌梗死，应立即行心电图检查。",
         "立即做心电图。", dict(language="zh", source="medical-o1", risk="high", reference="心电图", specialty="急诊科")),
    ]
    out: dict[str, list[dict[str, Any]]] = {"train": [], "val": []}
    for split, base in (("train", base_train), ("val", base_val)):
        i = 0
        for _ in range(scale):
            for question, reasoning, answer, kw in base:
                out[split].append(_rec(i + (0 if split == "train" else 500000), question, reasoning, answer, **kw))
                i += 1
    return out


def write_processed(processed_dir: str | Path, scale: int = 1) -> dict[str, Path]:
    """Write ``train.jsonl`` and ``val.jsonl`` into ``processed_dir``; return their paths."""
    processed_dir = Path(processed_dir)
    processed_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, recs in records(scale).items():
        path = processed_dir / f"{split}.jsonl"
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for rec in recs:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        paths[split] = path
    return paths

"""Risk labels by model: the prompt is the written guideline, the answer is parsed strictly, and an
answer the model did not give in the format falls back to the rule labeller (counted). The end-to-end
run against a real server on loopback is in tests/eval/test_risk_eval.py (one server for the eval tests)."""

from __future__ import annotations

import pytest

from tasks.model import risk_labeller as R


def test_prompt_file_is_the_guideline_verbatim():
    text = R.GUIDELINE.read_text(encoding="utf-8")
    assert R.prompt_text() == R.prompt_from_guideline(text), (
        "tasks/model/prompts/risk.txt is stale: run python -m tasks.model.risk_labeller --write-prompt")
    assert R.prompt_text().count("{question}") == 1
    assert "## high" in R.prompt_text() and "Worked examples" in R.prompt_text()
    # the version follows the content
    assert R.prompt_version() != R.prompt_version(R.prompt_text() + " ")
    assert R.prompt_version().startswith("risk-") and len(R.prompt_version()) == len("risk-") + 12


@pytest.mark.parametrize(("answer", "expected"), [
    ("risk: high\nreason: child as patient", ("high", "child as patient")),
    ("Risk: LOW\nReason: definition", ("low", "definition")),
    ("**risk**: medium\n**reason**: stable chronic disease", ("medium", "stable chronic disease")),
    ("<think>could be high? the risk: high seems wrong</think>\nrisk: low\nreason: mechanism", ("low", "mechanism")),
    ("风险：high\n理由：孕妇", ("high", "孕妇")),
    ("risk: medium", ("medium", "")),
    ("risk: high\nrisk: high\nreason: x", ("high", "x")),
])
def test_parse_accepts_the_format(answer, expected):
    assert R.parse_risk(answer) == expected


@pytest.mark.parametrize("answer", [
    None, "", "high", "This question is high risk.", "risk: high\nrisk: low", "risk: severe",
    "risk: high because the child is ill", "<think>risk: high</think>", "The risk: high",
])
def test_parse_refuses_anything_else(answer):
    assert R.parse_risk(answer) is None


def test_a_template_without_a_question_slot_is_refused():
    from tasks.model.client import Endpoint

    with pytest.raises(ValueError, match="question"):
        R.label_questions(["q"], Endpoint("http://127.0.0.1:9", "m"), None, prompt="no slot")


def test_relabel_cli_checks_arguments_before_any_request(tmp_path, capsys):
    with pytest.raises(SystemExit):
        R.main(["--url", "http://127.0.0.1:9", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl")])  # no --model
    with pytest.raises(SystemExit):
        R.main(["--url", "http://127.0.0.1:9", "--model", "m", str(tmp_path / "missing.jsonl"), str(tmp_path / "o.jsonl")])
    (tmp_path / "in.jsonl").write_text('{"text": "no question column"}\n', encoding="utf-8")
    assert R.main(["--url", "http://127.0.0.1:9", "--model", "m", str(tmp_path / "in.jsonl"), str(tmp_path / "o.jsonl")]) == 2
    assert "no 'question' column" in capsys.readouterr().err
    (tmp_path / "in.jsonl").write_text('{"question": "q"}\n', encoding="utf-8")
    (tmp_path / "p.txt").write_text("no slot", encoding="utf-8")
    assert R.main(["--url", "http://127.0.0.1:9", "--model", "m", "--prompt", str(tmp_path / "p.txt"),
                   str(tmp_path / "in.jsonl"), str(tmp_path / "o.jsonl")]) == 2
    assert "{question} slot" in capsys.readouterr().err

"""The chain stage's decisions (tasks/model/chain.py) on a canonical frame.

No server is needed here, and none is mocked: the writer's answers are put into the client's
content-keyed cache (its documented resume path) and the endpoint points at a closed loopback port,
so a request would fail — the test asserts none is made. The live server path (gibberish generations
rejected and quarantined inside `prepare`) is tests/flows/test_model_stages.py."""

from __future__ import annotations

import json

import polars as pl

from tasks.core import schema as S
from tasks.model.chain import chain_request, final_answer, gate_rejections, write_chains
from tasks.model.client import Cache, Endpoint, Sampling
from tests.support.tiny_serve import free_port

SAMPLING = Sampling(temperature=0.7, max_tokens=64, seed=0)


def canonical(rows: list[dict]) -> pl.DataFrame:
    base = {c: None for c in S.SCHEMA} | {S.SOURCE: "datatang-qa", S.LANGUAGE: "en", S.RISK_LEVEL: "low",
                                           S.SOURCE_FILE: "qa.csv", S.HISTORY: []}
    return pl.DataFrame([base | {S.SOURCE_ROW: i} | r for i, r in enumerate(rows)], schema=S.SCHEMA)


def test_write_chains_keeps_clean_chains_and_quarantines_the_rest(tmp_path):
    frame = canonical([
        {S.ID: "good", S.QUESTION: "Fever and rash after a cat scratch?", S.ANSWER: "Bartonella henselae"},
        {S.ID: "tags", S.QUESTION: "Drug of choice for absence seizures?", S.ANSWER: "Ethosuximide"},
        {S.ID: "cut", S.QUESTION: "Most common cause of pneumonia?", S.ANSWER: "Streptococcus pneumoniae",
         S.REFERENCE_ANSWER: "S. pneumoniae"},
        {S.ID: "has", S.QUESTION: "q?", S.REASONING: "own chain", S.ANSWER: "a"},
    ])
    cache = Cache(tmp_path / "cache")
    writer = Endpoint(f"http://127.0.0.1:{free_port()}/v1", "writer-x", max_retries=0, timeout=2)
    answers = {"good": ("A scratch, then fever and a papule: cat-scratch disease.\nFinal answer: Bartonella henselae", "stop"),
               "tags": ("<think>absence</think> ethosuximide\nFinal answer: Ethosuximide", "stop"),
               "cut": ("Community-acquired pneumonia is most often", "length")}
    for row in frame.filter(pl.col(S.ID) != "has").iter_rows(named=True):
        known = row[S.REFERENCE_ANSWER] or row[S.ANSWER]
        req = chain_request(row[S.QUESTION], known, row[S.LANGUAGE], SAMPLING)
        text, finish = answers[row[S.ID]]
        cache.put(req.key(writer.model), {"text": text, "finish_reason": finish})

    kept, bad, rep = write_chains(frame, writer, str(tmp_path / "cache"), sampling=SAMPLING)
    assert rep["client"]["requests"] == 0 and rep["client"]["cache_hits"] == 3  # the one with a chain is not asked
    assert kept.height == frame.height and kept[S.ID].to_list() == frame[S.ID].to_list()  # no record lost
    by_id = {r[S.ID]: r for r in kept.iter_rows(named=True)}
    assert by_id["good"][S.REASONING].startswith("A scratch") and by_id["good"][S.MODEL]["chain_model"] == "writer-x"
    assert by_id["good"][S.MODEL]["chain_prompt"].startswith("chain-")
    assert json.loads(by_id["good"][S.MODEL]["chain_params"])["max_tokens"] == 64
    assert by_id["tags"][S.REASONING] is None and by_id["cut"][S.REASONING] is None
    assert by_id["has"][S.REASONING] == "own chain" and not (by_id["has"][S.MODEL] or {}).get("chain_model")
    reasons = dict(zip(bad[S.SOURCE_ROW].to_list(), bad[S.REASON].to_list()))
    assert reasons == {1: "chain_rejected:think_tags", 2: "chain_rejected:truncated"}
    assert "<think>absence</think>" in bad.filter(pl.col(S.SOURCE_ROW) == 1)[S.RAW].item()  # the generation is kept
    assert rep["accepted"] == 1 and rep["rejected_by_reason"] == {"chain_rejected:think_tags": 1,
                                                                  "chain_rejected:truncated": 1}


def test_gate_names_failing_records_and_final_answer():
    frame = canonical([{S.ID: "ok", S.QUESTION: "q?", S.REASONING: "steps", S.ANSWER: "a"},
                       {S.ID: "blank", S.QUESTION: "q?", S.REASONING: " ", S.ANSWER: "a"}])
    assert gate_rejections(frame) == {"blank": "chain_rejected:gate:expect_column_values_to_match_regex(think_output)"}
    assert final_answer("x\nFinal answer: A\ny\nFinal Answer: B") == "B" and final_answer("推理\n最终答案：肺炎") == "肺炎"
    assert final_answer("no marker") == "no marker"

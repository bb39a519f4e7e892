"""RL export: counts, the schemas verl / OpenRLHF / TRL read, reproducibility, atomic writes and
the launch scripts. Calls the task's function without the Prefect engine (``export_rl.fn``)."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
from pathlib import Path

import jinja2
import polars as pl
import pyarrow.parquet as pq
import pytest

from tasks.export.rl import export as E
from tests.support.rl_sample import LONG_QUESTION_EN, write_processed

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
EXPORT_FILES = [
    "verl/train.parquet", "verl/val.parquet",
    "openrlhf/train.jsonl", "openrlhf/val.jsonl",
    "trl/train.parquet", "trl/val.parquet",
    "reward.py", "verl_ppo.sh", "openrlhf_ppo.sh", "manifest.json",
]


def render_chatml(messages, add_generation_prompt=True) -> str:
    return jinja2.Template(CHATML).render(messages=messages, add_generation_prompt=add_generation_prompt)


@pytest.fixture
def exported(tmp_path):
    write_processed(tmp_path / "processed")
    # ground_truth="any": every row in the main files (the shape before verifiable-first; the
    # routing of prefer / verifiable is tested below)
    summary = E.export_rl.fn(str(tmp_path / "processed"), str(tmp_path / "rl"), 1024, None, ground_truth="any")
    return tmp_path / "rl", summary


# ------------------------------------------------------------------------------------ counts
def test_summary_counts(exported):
    out, s = exported
    assert s["splits"]["train"] == {
        "input_rows": 7, "rows": 5, "dropped_too_long": 1, "dropped_no_ground_truth": 1,
        "ground_truth_kind": {"choice": 0, "reference_answer": 3, "response": 2}, "prompt_tokens_est_max": s["splits"]["train"]["prompt_tokens_est_max"],
        "reference_answer_agreement": 1.0,  # each sample answer matches its reference answer
        "question_form": {"open": 5, "mc": 0}, "response_only_rows": 0, "dropped_not_verifiable": 0,
    }
    assert 0 < s["splits"]["train"]["prompt_tokens_est_max"] <= 1024
    assert s["splits"]["val"]["rows"] == 2 and s["splits"]["val"]["ground_truth_kind"] == {"choice": 0, "reference_answer": 2, "response": 0}
    assert (s["rows"], s["dropped_too_long"], s["dropped_no_ground_truth"]) == (7, 1, 1)
    assert s["ground_truth_kind"] == {"choice": 0, "reference_answer": 5, "response": 2}
    for fmt in ("verl", "openrlhf", "trl"):
        for split, n in (("train", 5), ("val", 2)):
            info = s["exports"][fmt][split]
            assert info["rows"] == n
            assert info["sha256"] == E.sha256_file(out / info["path"])
    assert len(s["commands"]) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["exports"] == s["exports"] and "out_dir" not in manifest  # no machine paths


def test_no_temp_files_left_and_modes(exported):
    out, _ = exported
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert leftovers == []
    assert (out / "verl/train.parquet").stat().st_mode & 0o777 == 0o644
    assert os.access(out / "verl_ppo.sh", os.X_OK)


# -------------------------------------------------------------------------------------- verl
def test_verl_schema_matches_rlhf_dataset(exported):
    """Every field verl's RLHFDataset and reward manager read, with its type."""
    out, _ = exported
    for split in ("train", "val"):
        rows = pq.read_table(out / f"verl/{split}.parquet").to_pylist()
        assert pq.read_schema(out / f"verl/{split}.parquet").names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
        for i, row in enumerate(rows):
            assert isinstance(row["data_source"], str) and row["data_source"]
            assert row["ability"] == "medical"
            msgs = row["prompt"]
            assert isinstance(msgs, list) and msgs[-1]["role"] == "user"
            assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in msgs)
            text = render_chatml(msgs)  # tokenizer.apply_chat_template(prompt, add_generation_prompt=True)
            assert text.endswith("<|im_start|>assistant\n") and "<think>" in msgs[0]["content"]
            assert row["reward_model"]["style"] == "rule"
            assert isinstance(row["reward_model"]["ground_truth"], str) and row["reward_model"]["ground_truth"].strip()
            info = row["extra_info"]
            assert info["index"] == i and info["split"] == split  # row_dict["extra_info"]["index"]
            assert info["ground_truth_kind"] in ("reference_answer", "response")
            assert info["risk_level"] in ("high", "medium", "low") and info["language"] in ("zh", "en")
            assert info["id"] and info["source"] == row["data_source"]


def test_verl_loads_with_datasets_like_verl(exported):
    datasets = pytest.importorskip("datasets")
    out, _ = exported
    ds = datasets.load_dataset("parquet", data_files=str(out / "verl/train.parquet"))["train"]
    row = ds[0]
    assert row["extra_info"].get("index", 0) == 0
    assert render_chatml(row["prompt"]).count("<|im_start|>") == len(row["prompt"]) + 1


def test_history_turns_and_system_prompt(exported):
    out, _ = exported
    rows = pq.read_table(out / "verl/train.parquet").to_pylist()
    multi = next(r for r in rows if r["data_source"] == "chinese-dialogue")
    assert [m["role"] for m in multi["prompt"]] == ["system", "user", "assistant", "user"]
    assert multi["prompt"][0]["content"] == E.SYSTEM_PROMPTS["zh"]
    en = next(r for r in rows if r["extra_info"]["language"] == "en")
    assert en["prompt"][0]["content"] == E.SYSTEM_PROMPTS["en"]


def test_ground_truth_choice(exported):
    out, _ = exported
    rows = {r["id"]: r for r in pq.read_table(out / "trl/train.parquet").to_pylist()}
    mc = rows["medical-o1-000000"]
    assert (mc["ground_truth"], mc["ground_truth_kind"], mc["answer"]) == ("D", "reference_answer", "D. Parvovirus B19 infection")
    free = rows["delicate-medical-000004"]
    assert free["ground_truth_kind"] == "response" and free["ground_truth"] == free["answer"]
    assert "<think>" not in free["ground_truth"] and free["ground_truth"].startswith("X线的发现")


# ---------------------------------------------------------------------------------- OpenRLHF
def test_openrlhf_prompt_dataset_contract(exported):
    """What OpenRLHF's PromptDataset does: data[input_key] through apply_chat_template, data[label_key], data.get('datasource')."""
    out, _ = exported
    lines = (out / "openrlhf/train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    for line in lines:
        data = json.loads(line)
        chat = data["input"]
        assert isinstance(chat, list) and chat[-1]["role"] == "user"
        prompt = render_chatml(chat)
        assert prompt.endswith("<|im_start|>assistant\n")
        assert isinstance(data["label"], str) and data["label"]
        assert isinstance(data.get("datasource", "default"), str)
    assert "\\u" not in lines[2]  # UTF-8, not escaped


def test_openrlhf_loads_with_datasets(exported):
    datasets = pytest.importorskip("datasets")
    out, _ = exported
    ds = datasets.load_dataset("json", data_files=str(out / "openrlhf/val.jsonl"))["train"]
    assert ds.column_names[:3] == ["input", "label", "datasource"] and len(ds) == 2


# --------------------------------------------------------------------------------------- TRL
def test_trl_columns(exported):
    out, _ = exported
    table = pq.read_table(out / "trl/train.parquet")
    assert table.column_names == ["prompt", "ground_truth", "answer", "ground_truth_kind", "id", "source", "language", "risk_level", "specialty",
                                  "question_form"]
    first = table.to_pylist()[0]
    assert first["prompt"][-1] == {"role": "user", "content": first["prompt"][-1]["content"]}


# ------------------------------------------------------------------------------ token budget
def test_token_estimate_python_and_polars_agree():
    texts = ["", "Hello world", "细小病毒B19感染", "A 45-year-old man, Hb 6 g/dL.", "中文 and English 混合。", LONG_QUESTION_EN, "ｆｕｌｌ　width"]
    got = pl.DataFrame({"t": texts}).select(E.estimate_tokens_expr(pl.col("t")))["t"].to_list()
    assert got == [E.estimate_tokens(t) for t in texts]
    assert E.estimate_tokens("细小病毒") == 4
    assert E.estimate_tokens("one two three four five six seven eight nine ten") == 13


def test_budget_drops_and_never_truncates(tmp_path):
    write_processed(tmp_path / "p")
    s = E.run_export(tmp_path / "p", tmp_path / "rl", max_prompt_tokens=110, ground_truth="any")
    assert s["dropped_too_long"] > 1
    kept = pq.read_table(tmp_path / "rl/trl/train.parquet").to_pylist()
    originals = {json.loads(l)["meta"]["id"]: json.loads(l)["input"] for l in (tmp_path / "p/train.jsonl").read_text().splitlines()}
    for row in kept:
        assert row["prompt"][-1]["content"] == originals[row["id"]]  # whole question, not cut
        assert E.estimate_prompt_tokens(row["prompt"]) <= 110
    assert s["splits"]["train"]["rows"] + s["splits"]["train"]["dropped_too_long"] + s["splits"]["train"]["dropped_no_ground_truth"] == 7


def test_system_prompt_override_and_none(tmp_path):
    write_processed(tmp_path / "p")
    E.run_export(tmp_path / "p", tmp_path / "a", system_prompt="Think in <think></think>.")
    rows = pq.read_table(tmp_path / "a/verl/val.parquet").to_pylist()
    assert all(r["prompt"][0] == {"role": "system", "content": "Think in <think></think>."} for r in rows)
    E.run_export(tmp_path / "p", tmp_path / "b", system_prompt="")
    rows = pq.read_table(tmp_path / "b/verl/val.parquet").to_pylist()
    assert all([m["role"] for m in r["prompt"]] == ["user"] for r in rows)


# ---------------------------------------------------------------------------- reproducibility
def test_two_runs_identical_bytes(tmp_path):
    write_processed(tmp_path / "p")
    a = E.run_export(tmp_path / "p", tmp_path / "a")
    b = E.run_export(tmp_path / "p", tmp_path / "b")
    for rel in EXPORT_FILES:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert a["exports"] == b["exports"]
    c = E.run_export(tmp_path / "p", tmp_path / "a")  # re-run in place
    assert c["exports"] == a["exports"]


# --------------------------------------------------------------------------------- bad input
def test_missing_processed_is_a_clear_error(tmp_path):
    from tasks.core.errors import MedprepError

    with pytest.raises(MedprepError, match="medprep prepare"):
        E.run_export(tmp_path / "nothing", tmp_path / "rl")


def test_bad_budget(tmp_path):
    write_processed(tmp_path / "p")
    with pytest.raises(E.RLExportError):
        E.run_export(tmp_path / "p", tmp_path / "rl", max_prompt_tokens=0)


def test_empty_val_and_missing_meta_keys(tmp_path):
    p = tmp_path / "p"
    p.mkdir()
    (p / "train.jsonl").write_text(
        json.dumps({"input": "Q?", "output": "A.", "meta": {"id": "1", "source": "s", "language": "en", "risk_level": "low"}}) + "\n"
    )
    (p / "val.jsonl").write_text("")
    s = E.run_export(p, tmp_path / "rl", ground_truth="any")
    assert s["splits"]["train"]["rows"] == 1 and s["splits"]["val"]["rows"] == 0
    assert pq.read_table(tmp_path / "rl/verl/val.parquet").num_rows == 0
    assert pq.read_table(tmp_path / "rl/verl/train.parquet").to_pylist()[0]["prompt"][-1]["content"] == "Q?"


def test_unreadable_jsonl(tmp_path):
    p = tmp_path / "p"
    p.mkdir()
    (p / "train.jsonl").write_text("{not json\n")
    (p / "val.jsonl").write_text("")
    with pytest.raises(E.RLExportError, match="train.jsonl"):
        E.run_export(p, tmp_path / "rl")


# ----------------------------------------------------------------------------- launch scripts
def _fake_python(tmp_path: Path) -> Path:
    """A `python3` on PATH that records its arguments, one a line, instead of training."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "python3"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$ARGS_FILE"\n')
    fake.chmod(0o755)
    return bindir


@pytest.mark.parametrize("script, func", [("verl_ppo.sh", "compute_score"), ("openrlhf_ppo.sh", "reward_func")])
def test_launch_scripts_reference_existing_files(exported, tmp_path, script, func):
    out, s = exported
    assert subprocess.run(["bash", "-n", str(out / script)]).returncode == 0
    bindir = _fake_python(tmp_path)
    args_file = tmp_path / f"{script}.args"
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "MODEL_PATH": "/models/x", "ARGS_FILE": str(args_file)}
    cwd = tmp_path  # run from elsewhere: the script must cd to its own folder
    subprocess.run(["bash", str(out / script), "extra=1"], env=env, cwd=cwd, check=True)
    args = args_file.read_text().splitlines()
    assert args[-1] == "extra=1"
    paths = [a.split("=", 1)[-1] for a in args if "/" in a and a.split("=", 1)[-1].startswith(str(out.resolve()))]
    referenced = {Path(p).relative_to(out.resolve()).as_posix() for p in paths}
    if script == "verl_ppo.sh":
        assert referenced == {"verl/train.parquet", "verl/val.parquet", "reward.py"}
        # verl 0.9.x reads only reward.custom_reward_function; validate_config needs the micro batches
        assert f"reward.custom_reward_function.name={func}" in args and "data.max_prompt_length=1024" in args
        keys = {a.split("=", 1)[0] for a in args}
        assert {"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu", "critic.ppo_micro_batch_size_per_gpu",
                "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu"} <= keys
        assert "data.truncation" not in keys
    else:
        assert referenced == {"openrlhf/train.jsonl", "openrlhf/val.jsonl", "reward.py"}
        # OpenRLHF >= 0.10 dotted flags (OpenRLHF's own parser checks them: test_launch.py)
        for flag, value in (("--data.input_key", "input"), ("--data.label_key", "label"), ("--data.max_len", str(1024 + 2048)),
                            ("--rollout.max_new_tokens", "2048"), ("--reward.remote_url", str(out.resolve() / "reward.py"))):
            assert args[args.index(flag) + 1] == value
        assert "--data.apply_chat_template" in args and "--train.colocate_all" in args
        assert not [a for a in args if a.startswith("--") and "." not in a]  # no flat (<= 0.9.0) flag left
    for p in paths:
        assert Path(p).is_file(), p
    # the reward function they name imports from the file (as verl / OpenRLHF do) and scores
    reward_path = next(p for p in paths if p.endswith("reward.py"))
    spec = importlib.util.spec_from_file_location("custom_module", reward_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    good = "<think>\nanemia with low reticulocytes\n</think>\n\nD"
    if func == "compute_score":
        assert getattr(module, func)("medical-o1", good, "D", {"index": 0}) == 1.0
    else:
        assert float(getattr(module, func)([good], [""], ["D"])["rewards"][0]) == 1.0
    assert (out / "reward.py").read_bytes() == Path(E.REWARD_SOURCE).read_bytes()
    assert shlex.split(s["launch"][script.split("_")[0]]["command"])[-1].endswith(script)


def test_launch_script_needs_model_path(exported):
    out, _ = exported
    env = {k: v for k, v in os.environ.items() if k != "MODEL_PATH"}
    proc = subprocess.run(["bash", str(out / "verl_ppo.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "MODEL_PATH" in proc.stderr


# ------------------------------------------------------------ verifiable-first, multiple choice
def _mc_processed(folder, n: int = 40):
    """Processed records with MedQA-style choices (right answer always A in the source)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        opts = [f"right {i}", f"wrong a{i}", f"wrong b{i}", f"wrong c{i}"] + ([f"wrong d{i}"] if i % 2 else [])
        rows.append({"input": f"Open question {i}?", "output": f"<think>\nwhy\n</think>\n\nright {i}",
                     "meta": {"id": f"mc-{i:03d}", "source": "medical-o1", "language": "en", "risk_level": "medium",
                              "reference_answer": None,
                              "choices": {"question": f"Vignette {i}. Which of the following?", "options": opts, "answer": 0}}})
    rows.append({"input": "咳嗽怎么办？", "output": "多喝水，观察。", "meta": {"id": "dlg-1", "source": "chinese-dialogue",
                 "language": "zh", "risk_level": "low"}})
    (folder / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (folder / "val.jsonl").write_text("")


@pytest.mark.parametrize("form, n_open, n_mc", [("open", 41, 0), ("mc", 1, 40), ("both", 41, 40)])
def test_question_forms_and_uniform_letters(tmp_path, form, n_open, n_mc):
    from tasks.export.rl import reward

    _mc_processed(tmp_path / "p")
    s = E.run_export(tmp_path / "p", tmp_path / "rl", question_form=form, ground_truth="any", seed=7)
    assert s["question_forms"] == {"open": n_open, "mc": n_mc}
    rows = pq.read_table(tmp_path / "rl/trl/train.parquet").to_pylist()
    mc = [r for r in rows if r["question_form"] == "mc"]
    assert len(mc) == n_mc and all(r["ground_truth_kind"] == "choice" for r in mc)
    if mc:
        letters = [r["ground_truth"] for r in mc]
        for n_opt, allowed in ((4, "ABCD"), (5, "ABCDE")):
            sub = [r["ground_truth"] for r in mc if r["prompt"][-1]["content"].count("\n") - 3 == n_opt]
            counts = [sub.count(x) for x in allowed]
            assert max(counts) - min(counts) <= 1, (n_opt, counts)  # the right letter is uniform
        assert set(letters) != {"A"}  # the source always had A
        for r in mc:  # the letter names the right option in the prompt, and the reward agrees
            text = r["prompt"][-1]["content"]
            line = next(l for l in text.splitlines() if l.startswith(r["ground_truth"] + ". "))
            assert line.split(". ", 1)[1].startswith("right ")
            assert reward.correctness(f"The answer is {r['ground_truth']}.", r["ground_truth"]) == 1.0
            wrong = next(x for x in "ABCD" if x != r["ground_truth"])
            assert reward.correctness(wrong, r["ground_truth"]) == 0.0
    opens = [r for r in rows if r["question_form"] == "open" and r["source"] == "medical-o1"]
    assert all(r["ground_truth"].startswith("right ") and r["ground_truth_kind"] == "reference_answer" for r in opens)


def test_mc_shuffle_follows_the_seed_and_is_byte_identical(tmp_path):
    _mc_processed(tmp_path / "p")
    a = E.run_export(tmp_path / "p", tmp_path / "a", seed=1)
    E.run_export(tmp_path / "p", tmp_path / "b", seed=1)
    c = E.run_export(tmp_path / "p", tmp_path / "c", seed=2)
    for rel in EXPORT_FILES + ["response_only/trl/train.parquet", "response_only/openrlhf/train.jsonl"]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert a["exports"]["trl"]["train"]["sha256"] != c["exports"]["trl"]["train"]["sha256"]


def test_ground_truth_modes_route_response_rows(tmp_path):
    _mc_processed(tmp_path / "p")
    prefer = E.run_export(tmp_path / "p", tmp_path / "prefer")  # default
    assert prefer["ground_truth"] == "prefer" and prefer["rows"] == 80 and prefer["response_only_rows"] == 1
    main = pq.read_table(tmp_path / "prefer/verl/train.parquet").to_pylist()
    assert {r["extra_info"]["ground_truth_kind"] for r in main} == {"choice", "reference_answer"}
    assert [r["extra_info"]["index"] for r in main] == list(range(80))
    only = pq.read_table(tmp_path / "prefer/response_only/verl/train.parquet").to_pylist()
    assert [r["extra_info"]["ground_truth_kind"] for r in only] == ["response"] and only[0]["extra_info"]["index"] == 0
    assert prefer["response_only_exports"]["openrlhf"]["train"]["rows"] == 1
    by = prefer["verifiable"]["by_source"]
    assert by["medical-o1"]["verifiable_share"] == 1.0 and by["chinese-dialogue"]["verifiable_share"] == 0.0
    assert prefer["verifiable"]["share"] == pytest.approx(80 / 81, abs=1e-4)
    strict = E.run_export(tmp_path / "p", tmp_path / "strict", ground_truth="verifiable")
    assert strict["rows"] == 80 and strict["dropped_not_verifiable"] == 1 and not (tmp_path / "strict/response_only").exists()
    loose = E.run_export(tmp_path / "p", tmp_path / "any", ground_truth="any")
    assert loose["rows"] == 81 and not (tmp_path / "any/response_only").exists()
    with pytest.raises(E.RLExportError, match="ground_truth"):
        E.run_export(tmp_path / "p", tmp_path / "x", ground_truth="maybe")

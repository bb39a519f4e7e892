"""chinese-dialogue parser on the byte-exact GB18030 sample and on tmp files."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from tasks.core import schema as S
from tasks.core.errors import BadFileError
from tasks.ingest.detect import find_files
from tasks.ingest.parse import parse_to_frames
from tasks.ingest.sources import REGISTRY
from tests.conftest import real_sample

SPEC = REGISTRY["chinese-dialogue"]
SAMPLE = "chinese-medical-dialogue/样例_内科5000-6000.csv"


def _python_rows(path):
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("gb18030"), newline="")))


def test_real_gb18030_sample_parses_all_1016_rows_like_python_csv():
    path = real_sample(SAMPLE)
    rows = _python_rows(path)
    good, bad = parse_to_frames("chinese-dialogue", str(path), path.name)
    assert (good.height, bad.height) == (1016, 0) == (len(rows), 0)
    assert good.schema == pl.Schema(S.SCHEMA)
    first = good.row(0, named=True)
    assert first[S.SPECIALTY] == "心血管科"
    assert first[S.QUESTION].startswith("我有高血压这两天女婿来的时候给我拿了些党参泡水喝")
    assert first[S.ANSWER].startswith("高血压病人可以口服党参的")
    assert first[S.REASONING] is None and first[S.LANGUAGE] == "zh"
    # every row equals what Python's csv module reads, incl. the 7 multi-line (quoted newline) records
    multi = [i for i, r in enumerate(rows) if any("\n" in v for v in r.values())]
    assert multi == [1005, 1006, 1007, 1009, 1010, 1014, 1015]
    want = [
        ((r["title"] if r["ask"] == "无" else r["ask"]).strip(), r["answer"].strip(), r["department"])
        for r in rows
    ]
    assert list(zip(good[S.QUESTION], good[S.ANSWER], good[S.SPECIALTY])) == want
    assert good.filter(pl.col(S.SOURCE_ROW) == 1005)[S.ANSWER].str.contains("\n").item()
    # ask == "无" (6 rows) -> the title is the question
    placeholder = [i for i, r in enumerate(rows) if r["ask"] == "无"]
    assert placeholder == [1005, 1006, 1007, 1008, 1010, 1011]
    got = good.filter(pl.col(S.SOURCE_ROW).is_in(placeholder))[S.QUESTION].to_list()
    assert got == [rows[i]["title"].strip() for i in placeholder]
    assert got[0] == "小孩癫痫有什么特征"
    counts = dict(good[S.SPECIALTY].value_counts().iter_rows())
    assert counts["神经科"] == 487 and counts["心血管科"] == 237 and len(counts) == 8


def test_real_sample_is_found_by_content_and_published_name():
    path = real_sample(SAMPLE)
    [found] = find_files(SPEC, path.parent.parent)
    assert found.relpath == SAMPLE and found.how == "published name in a folder"


def _write_gb(path, rows, header="department,title,ask,answer", bom=b""):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = header + "\n" + "".join(r + "\n" for r in rows)
    path.write_bytes(bom + text.encode("gb18030"))
    return path


def test_awkward_rows_placeholder_bare_quote_quoted_newline_and_empty_answer(tmp_path):
    rows = [
        '儿科,宝宝发烧39度怎么办,无,先物理降温，体温超过38.5度可用对乙酰氨基酚。',
        '内科,胃痛反酸,"饭后胃痛,反酸烧心\n晚上更重",建议做胃镜检查。',
        '外科,腰椎间盘突出能治好吗,医生说我是"腰突"需要手术吗,多数患者保守治疗有效。',
        '男科,前列腺炎,,注意不要久坐。',
        '妇产科,孕期能吃感冒药吗,怀孕8周感冒了,',
    ]
    p = _write_gb(tmp_path / "Data_数据" / "IM_内科" / "内科5000-33000.csv", rows)
    good, bad = parse_to_frames("chinese-dialogue", str(p), "x.csv")
    assert good[S.QUESTION].to_list() == [
        "宝宝发烧39度怎么办",
        "饭后胃痛,反酸烧心\n晚上更重",
        '医生说我是"腰突"需要手术吗',
        "前列腺炎",
    ]
    assert good[S.SPECIALTY].to_list() == ["儿科", "内科", "外科", "男科"]
    assert bad[S.SOURCE_ROW].to_list() == [4] and bad[S.REASON].to_list() == ["empty answer"]


def test_renamed_utf8_copy_with_bom_is_found_and_read(tmp_path):
    p = tmp_path / "my_dialogues.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "department,title,ask,answer\n神经科,头痛,偏头痛反复发作怎么办,规律作息。\n".encode())
    [found] = find_files(SPEC, tmp_path)
    assert found.how == "renamed copy (matched by content)"
    good, bad = parse_to_frames("chinese-dialogue", found.path, found.relpath)
    assert good[S.QUESTION].to_list() == ["偏头痛反复发作怎么办"] and bad.height == 0


def test_csv_of_another_header_is_not_claimed(tmp_path):
    (tmp_path / "内科.csv").write_text("q,a\n头痛,休息\n", encoding="utf-8")
    assert find_files(SPEC, tmp_path) == []


def test_lfs_pointer_of_a_department_csv_says_git_lfs_pull(tmp_path):
    p = tmp_path / "Data_数据" / "Pediatric_儿科" / "儿科5-14000.csv"
    p.parent.mkdir(parents=True)
    p.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 123456789\n")
    [found] = find_files(SPEC, tmp_path)
    assert found.lfs_pointer
    with pytest.raises(BadFileError, match="git lfs pull"):
        parse_to_frames("chinese-dialogue", found.path, found.relpath)

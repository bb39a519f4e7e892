"""The final swap and its recovery (tasks/export/outputs.py): a run killed anywhere in the swap
leaves a folder that the next run's lock completes to the killed run's whole new set. The real
SIGKILL of a child run at each stage: tests/flows/test_hostile_runs.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.export.outputs import CARD, COMPLETE, STAGING, publish, recover


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _items(root: Path, tag: str) -> None:
    for d in ("processed", "quarantine", "reports"):
        (root / d).mkdir(parents=True)
        (root / d / "a.jsonl").write_text(f"{tag} {d}\n")
    (root / CARD).write_text(f"{tag} card\n")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    _items(out, "old")
    _items(out / STAGING, "new")
    return out


def test_publish_swaps_every_item_and_leaves_nothing_behind(out, tmp_path):
    _items(tmp_path / "expected", "new")
    assert publish(out / STAGING, out) == ["processed", "quarantine", "reports", CARD]
    assert _tree(out) == _tree(tmp_path / "expected")


@pytest.mark.parametrize("cut", ["between_items", "between_renames", "after_renames"])
def test_recover_finishes_a_swap_killed_anywhere(out, tmp_path, cut):
    """The three states a kill inside the swap can leave: processed/ already new and the rest old;
    processed/ moved aside (no processed/ at all); processed/ new with its .old- copy still there."""
    stage = out / STAGING
    (stage / COMPLETE).touch()
    if cut == "between_items":
        (out / "processed").rename(out / ".old-processed")
        (stage / "processed").rename(out / "processed")
        import shutil

        shutil.rmtree(out / ".old-processed")
    elif cut == "between_renames":
        (out / "processed").rename(out / ".old-processed")
    else:
        (out / "processed").rename(out / ".old-processed")
        (stage / "processed").rename(out / "processed")
    recover(out)
    _items(tmp_path / "expected", "new")
    assert _tree(out) == _tree(tmp_path / "expected")
    assert sorted(p.name for p in out.iterdir()) == ["DATA_CARD.md", "processed", "quarantine", "reports"]


def test_recover_drops_an_incomplete_staging_and_keeps_the_previous_outputs(out, tmp_path):
    _items(tmp_path / "expected", "old")
    assert recover(out) == []
    assert _tree(out) == _tree(tmp_path / "expected")
    assert not (out / STAGING).exists()

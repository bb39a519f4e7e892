"""What the pipeline's tasks hand each other: small frozen records with file references.

A task writes its frames to Parquet and returns one of these; the next task reads the files the
``FileRef`` fields name. The cache (``tasks/core/caching.py``) finds a result's files through its
``FileRef`` fields only, so a cached result is reused only while those files are on disk with the
recorded sha256.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FileRef:
    """A file a task wrote (or read), by path and content."""

    path: str
    sha256: str

    @classmethod
    def of(cls, path: str | Path) -> FileRef:
        """The reference to ``path`` as it is on disk now."""
        from tasks.core.caching import file_sha256

        return cls(str(path), file_sha256(path))


@dataclass(frozen=True)
class OutputFile(FileRef):
    """A published output file with its row count (the card and the CLI list them)."""

    rows: int = 0


@dataclass(frozen=True)
class ParsedFile:
    """One input file parsed: canonical records and quarantined records, both Parquet.

    ``input`` is the detected file (source, path, relpath, how, sha256, size, revision).
    """

    input: dict
    records_file: FileRef
    quarantine_file: FileRef
    fields: tuple[str, ...]
    records: int
    quarantined: int
    seconds: float = 0.0

    @property
    def source(self) -> str:
        return self.input["source"]

    @property
    def relpath(self) -> str:
        return self.input["relpath"]


@dataclass(frozen=True)
class Pool:
    """The labelled, deduplicated pool and what dedup removed."""

    pool_file: FileRef
    dedup_quarantine_file: FileRef
    before_dedup: int
    records: int
    dedup: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Gate:
    """One stage's Great Expectations gate: a row per expectation and its HTML Data Docs.

    ``docs`` is the index.html of the stage's Data Docs site in the run's work folder (the
    writer copies the site to ``<out>/reports/data_docs/<stage>/``); None when not built.
    """

    stage: str
    suite: str
    rows: list[dict]
    docs: FileRef | None = None


@dataclass(frozen=True)
class Sample:
    """The stratified sample (Parquet with a split column) and the sampler's report."""

    sample_file: FileRef
    report: dict


@dataclass(frozen=True)
class ModelStep:
    """A model stage's outcome: the sample it keeps, what it quarantined, and its report."""

    sample: Sample
    quarantine_file: FileRef
    report: dict


@dataclass(frozen=True)
class Written:
    """What ``write-outputs`` published under the output folder.

    ``files`` maps names relative to the output folder to the published files; ``rl`` is the RL
    export's summary (paths relative to ``rl["out_dir"]``), or None when the export was off.
    """

    files: dict[str, OutputFile]
    quarantine_by_reason: dict[str, int]
    rl: dict | None
    card: str


def file_refs(value: Any) -> list[FileRef]:
    """Every ``FileRef`` in a result, however nested (dataclass fields, dicts, lists)."""
    found: list[FileRef] = []

    def walk(v: Any) -> None:
        if isinstance(v, FileRef):
            found.append(v)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            for f in dataclasses.fields(v):
                walk(getattr(v, f.name))
        elif isinstance(v, dict):
            for sub in v.values():
                walk(sub)
        elif isinstance(v, (list, tuple)):
            for sub in v:
                walk(sub)

    walk(value)
    return found

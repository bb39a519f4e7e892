"""`medprep sources`: every source, where its files are on this machine, and how many records parse."""

from __future__ import annotations

from pathlib import Path

from tasks.core.errors import MedprepError
from tasks.ingest.detect import find_files, not_found_message
from tasks.ingest.download import modelscope_endpoint, probe
from tasks.ingest.sources import REGISTRY, Registry


def source_status(raw_dir: str, registry: Registry = REGISTRY, download: str | None = None) -> list[dict]:
    """One row per registered source: files found (with how) and records / quarantined per file."""
    from tasks.ingest.parse import parse_to_frames

    rows = []
    for spec in registry:
        found = find_files(spec, Path(raw_dir))
        files = []
        for f in found:
            try:
                good, bad = parse_to_frames(spec, f.path, f.relpath)
                files.append({"relpath": f.relpath, "how": f.how, "records": good.height, "quarantined": bad.height})
            except MedprepError as err:
                files.append({"relpath": f.relpath, "how": f.how, "error": str(err)})
        rows.append({"source": spec.name, "title": spec.title, "modelscope_id": spec.modelscope_id,
                     "priority": spec.priority, "files": files,
                     "hint": None if found else not_found_message(spec, Path(raw_dir), download)})
    return rows


def print_sources(raw_dir: str, probe_network: bool = True, registry: Registry = REGISTRY) -> None:
    """Print the status table for humans."""
    status = None  # not probed: --offline
    if probe_network:
        host = modelscope_endpoint()
        reason = probe(host)
        status = "offline" if reason else "reachable"
        print(f"ModelScope ({host}): {'reachable' if reason is None else 'unreachable — ' + reason}")
    print(f"Looking under {raw_dir}/\n")
    for row in source_status(raw_dir, registry, status):
        prio = f"priority {row['priority']}" if row["priority"] is not None else "not auto-loaded"
        print(f"{row['source']}  —  {row['title']}  [{row['modelscope_id'] or 'manual files only'}; {prio}]")
        for f in row["files"]:
            if "error" in f:
                print(f"    {f['relpath']} ({f['how']}): ERROR {f['error']}")
            else:
                print(f"    {f['relpath']} ({f['how']}): {f['records']:,} records, {f['quarantined']:,} quarantined")
        if row["hint"]:
            print(f"    not found. {row['hint'].split('. ', 1)[1]}")
        print()

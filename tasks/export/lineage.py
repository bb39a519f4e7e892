"""Lineage: a run's outputs as Prefect assets, materialized from its input files.

After ``write-outputs`` the flow runs one materializing task (``prefect.assets.materialize``)
that declares the published files — processed/{train,val}.jsonl, every RL export and
DATA_CARD.md — as assets, with each input file as an upstream asset and rows / sha256 as
materialization metadata. Prefect then records, per run, one ``prefect.asset.referenced`` event
per input and one ``prefect.asset.materialization.succeeded`` event per output whose related
resources name the inputs: the lineage the UI shows (README, "Lineage").

Asset keys are ``file://`` URIs of the absolute paths. Prefect refuses some characters in keys
(space, ``%``, ``#``, quotes, brackets…): they are replaced by ``_``, and a key longer than
Prefect's 512 characters is cut and ends in a hash of the full path. The asset's name is the path
as written, so nothing is lost in the UI.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tasks.core.logs import log
from tasks.core.results import Written

# prefect.types.names.RESTRICTED_ASSET_CHARACTERS, and its MAX_ASSET_KEY_LENGTH
_RESTRICTED = re.compile(r"[\s#?&%\"'<>\[\]{}|\\^`\x00]")
MAX_KEY = 512


def asset_key(path: str | Path) -> str:
    """``file://<absolute path>`` in the form Prefect accepts as an asset key."""
    full = Path(path).resolve().as_posix()
    key = "file://" + _RESTRICTED.sub("_", full)
    if len(key) > MAX_KEY:
        key = key[: MAX_KEY - 17] + "-" + hashlib.sha256(full.encode()).hexdigest()[:16]
    return key


def output_files(written: Written) -> dict[str, dict]:
    """Published training files and the card: name under the output folder -> path, rows, sha256
    (quarantine/ and reports/ are left out: not training data)."""
    out: dict[str, dict] = {}
    for name, f in sorted(written.files.items()):
        if name.startswith("processed/") or name.endswith(".md"):
            out[name] = {"path": f.path, "rows": f.rows, "sha256": f.sha256}
    rl = written.rl or {}
    root = Path(rl.get("out_dir", ""))
    for key in ("exports", "response_only_exports"):
        for _fmt, splits in sorted(rl.get(key, {}).items()):
            for _split, info in sorted(splits.items()):
                out[f"rl/{info['path']}"] = {"path": str(root / info["path"]), "rows": info["rows"],
                                             "sha256": info["sha256"]}
    return out


def _asset(name: str, path: str, description: str):
    from prefect.assets import Asset, AssetProperties

    return Asset(key=asset_key(path), properties=AssetProperties(name=name, description=description[:2500]))


def _declare(outputs: dict[str, dict]) -> int:
    """The materializing task's body: rows and sha256 of each output as its event's metadata."""
    from prefect.assets import add_asset_metadata

    for info in outputs.values():
        add_asset_metadata(asset_key(info["path"]), {"rows": info["rows"], "sha256": info["sha256"]})
    return len(outputs)


def record_lineage(written: Written, inputs: list[dict]) -> int:
    """Materialize the run's outputs as assets with the input files upstream (call inside a flow).

    ``inputs`` are the detected files (source, path, relpath, sha256). Returns the number of
    output assets. A failure to record lineage is logged and never fails a run whose files are
    already written.
    """
    from prefect.assets import materialize
    from prefect.cache_policies import NO_CACHE

    outputs = output_files(written)
    if not outputs:
        return 0
    upstream = [
        _asset(f"{f['source']}/{f['relpath']}", f["path"], f"medprep input ({f['source']}), sha256 {f['sha256']}")
        for f in sorted(inputs, key=lambda f: (f["source"], f["relpath"]))
    ]
    assets = [_asset(name, info["path"], f"medprep output {name}: {info['rows']:,} rows, sha256 {info['sha256']}")
              for name, info in outputs.items()]
    task = materialize(*assets, asset_deps=upstream, name="record-lineage", cache_policy=NO_CACHE,
                       by="medprep")(_declare)
    try:
        return task(outputs)
    except Exception as err:  # lineage is a record of what was written, not a condition for it
        log().warning("could not record lineage (Prefect assets): %s", err)
        return 0

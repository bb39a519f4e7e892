"""Download a source from ModelScope (real API); offline, give up in seconds and use data/raw."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.core.logs import log
from tasks.ingest.sources import REGISTRY

DEFAULT_DOMAIN = "www.modelscope.cn"


@dataclass(frozen=True)
class DownloadResult:
    """What the download step did: status 'downloaded', 'offline', 'skipped' or 'not-on-modelscope'."""

    source: str
    status: str
    message: str
    local_dir: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain dict for logs and the data card."""
        return asdict(self)


def modelscope_host() -> str:
    """The ModelScope host the SDK talks to (MODELSCOPE_DOMAIN overrides, as in the SDK)."""
    return os.environ.get("MODELSCOPE_DOMAIN", DEFAULT_DOMAIN).split("://")[-1].split("/")[0]


def probe(host: str, port: int = 443, timeout: float = 3.0) -> str | None:
    """None when a TCP connection opens within ``timeout`` seconds, else the reason it did not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:  # DNS failure, refused, unreachable, timeout
        return f"{type(err).__name__}: {err}"


def snapshot(modelscope_id: str, files: list[str], cache_dir: Path) -> str:
    """Fetch the published files with ModelScope's dataset snapshot API; returns the local folder."""
    from modelscope import dataset_snapshot_download  # heavy import: only when downloading

    return dataset_snapshot_download(
        modelscope_id, cache_dir=str(cache_dir), allow_patterns=files
    )


# never cached: a cached "downloaded" would hide new data upstream; ModelScope's own cache
# makes a repeated snapshot cheap, and offline the probe answers in seconds
@task(name="download", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30], retry_jitter_factor=0.5)
def download_source(source: str, raw_dir: str, probe_timeout: float = 3.0) -> dict:
    """Download one source from ModelScope into raw_dir/modelscope; offline -> one line, no retries."""
    logger = log()
    spec = REGISTRY[source]
    if not spec.modelscope_id:
        return DownloadResult(source, "not-on-modelscope", "no ModelScope id; reading data/raw").to_dict()
    host = modelscope_host()
    reason = probe(host, timeout=probe_timeout)
    if reason:
        # the SDK would spend ~22 s in its own retries before saying the same thing
        msg = f"ModelScope unreachable ({host}: {reason}); using files under {raw_dir}"
        logger.warning("%s: %s", source, msg)
        return DownloadResult(source, "offline", msg).to_dict()
    t0 = time.perf_counter()
    local = snapshot(spec.modelscope_id, list(spec.files), Path(raw_dir) / "modelscope")
    secs = time.perf_counter() - t0
    logger.info("%s: downloaded %s to %s in %.1fs", source, spec.modelscope_id, local, secs)
    return DownloadResult(source, "downloaded", f"downloaded {spec.modelscope_id}", local, secs).to_dict()

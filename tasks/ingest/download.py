"""Download a source from ModelScope with the real SDK; offline or failed, say so in one line and use data/raw.

What the SDK (modelscope 1.40 -> ``modelscope_hub``) does for us, read from its source:

- endpoint: ``MODELSCOPE_ENDPOINT``, else ``MODELSCOPE_DOMAIN`` (a bare host gets ``https://``),
  else https://modelscope.cn (``modelscope_hub/config.py: HubConfig.__post_init__`` /
  ``normalize_endpoint``). :func:`modelscope_endpoint` computes the same URL, so the reachability
  probe knocks on the door the SDK will use (scheme, host and port).
- cache layout: ``<cache_dir>/datasets/<owner>--<name>/snapshots/<revision>/<file>``
  (``modelscope_hub/_download.py: DownloadManager.download_repo``); the detector reads it there.
- a file already in the snapshot whose size and SHA-256 match the listing is not fetched again
  (``DownloadManager._cache_hit``): a repeated run costs one listing request.
- per-file retries: a cut connection is resumed from ``<file>.incomplete`` with an HTTP Range
  request, a SHA-256 mismatch is downloaded again; a file that never verifies is never moved to
  its final name (``_download_with_resume`` / ``_finish_download``).
- login: the token goes out as ``Authorization: Bearer`` + ``m_session_id`` cookie.

On top of that this module retries the whole snapshot (only the files still missing are fetched)
when the failure was network I/O; anything else (login refused, unknown dataset or revision) is
reported at once. Either way the run continues from ``data/raw`` and the card says why.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.core.logs import log
from tasks.ingest.sources import REGISTRY

DEFAULT_ENDPOINT = "https://modelscope.cn"  # modelscope_hub.constants.DEFAULT_ENDPOINT
DEFAULT_REVISION = "master"  # what the SDK downloads when no revision is given
TOKEN_ENV = "MODELSCOPE_API_TOKEN"
RETRY_DELAYS_ENV = "MEDPREP_DOWNLOAD_RETRY_DELAYS"  # e.g. "5,30": seconds before retry 1, 2, ...
DEFAULT_RETRY_DELAYS = (5.0, 30.0)
CACHE_SUBDIR = "modelscope"  # raw_dir/modelscope is the SDK's cache_dir


@dataclass(frozen=True)
class DownloadResult:
    """What the download step did: status 'downloaded', 'offline', 'failed' or 'not-on-modelscope'.

    ``revision`` is the revision the snapshot was taken at (the pinned one, else the SDK's
    default branch); ``local_dir`` the snapshot folder (for 'failed': the folder that may hold a
    partial snapshot, which detection must not read).
    """

    source: str
    status: str
    message: str
    local_dir: str | None = None
    seconds: float = 0.0
    revision: str | None = None
    endpoint: str | None = None
    modelscope_id: str | None = None
    files: list[str] = field(default_factory=list)
    attempts: int = 0

    def to_dict(self) -> dict:
        """Plain dict for logs and the data card."""
        return asdict(self)


def modelscope_endpoint() -> str:
    """The endpoint URL the SDK will use, by the SDK's own precedence and normalisation."""
    value = os.environ.get("MODELSCOPE_ENDPOINT") or os.environ.get("MODELSCOPE_DOMAIN", "").strip()
    value = (value or "").strip() or DEFAULT_ENDPOINT
    if not value.lower().startswith(("http://", "https://")):
        value = f"https://{value}"
    return value.rstrip("/")


def _target(endpoint: str) -> tuple[str, int]:
    """(host, port) a TCP connection to ``endpoint`` opens: its proxy when one applies."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return proxy_parts.hostname or "", proxy_parts.port or 80
    return host, parts.port or (443 if parts.scheme == "https" else 80)


def probe(endpoint: str, timeout: float = 3.0) -> str | None:
    """None when a TCP connection to ``endpoint`` (URL) opens within ``timeout`` s, else why not."""
    host, port = _target(endpoint)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:  # DNS failure, refused, unreachable, timeout
        return f"{type(err).__name__}: {err}"


def snapshot_dir(raw_dir: str | Path, modelscope_id: str, revision: str) -> Path:
    """Where the SDK puts a dataset snapshot under raw_dir (its cache layout, see module doc)."""
    return Path(raw_dir) / CACHE_SUBDIR / "datasets" / modelscope_id.replace("/", "--") / "snapshots" / revision


def snapshot(modelscope_id: str, files: list[str], cache_dir: Path, revision: str | None = None,
             token: str | None = None) -> str:
    """Fetch the published files with ModelScope's dataset snapshot API; returns the local folder.

    A configured endpoint is passed explicitly: the SDK keeps the endpoint it resolved first in a
    process-wide default config, so a long-lived worker would otherwise keep an old setting while
    the probe follows the new one. Unset, the SDK picks modelscope.cn (falling back to .ai) itself.
    """
    from modelscope import dataset_snapshot_download  # heavy import: only when downloading

    configured = os.environ.get("MODELSCOPE_ENDPOINT") or os.environ.get("MODELSCOPE_DOMAIN", "").strip()
    return dataset_snapshot_download(
        modelscope_id, revision=revision, cache_dir=str(cache_dir), allow_patterns=files, token=token,
        endpoint=modelscope_endpoint() if configured else None,
    )


def is_network_error(exc: BaseException) -> bool:
    """True for failures of network I/O (worth retrying): cut connections, timeouts, 5xx, bad checksums.

    A refused login, an unknown dataset / revision or a bug is not retried. The SDK marks its
    own errors ``retryable`` (``modelscope_hub/errors.py``); its compat layer wraps 401/403/404 in
    ``requests.HTTPError`` with the SDK error as the cause.
    """
    import requests

    if hasattr(exc, "failed_files"):  # FileDownloadError: every file failed for a network reason
        return bool(exc.failed_files) and all(is_network_error(e) for e in exc.failed_files.values())
    if isinstance(exc, requests.HTTPError):
        return exc.__cause__ is not None and bool(getattr(exc.__cause__, "retryable", False))
    if hasattr(exc, "retryable"):
        return bool(exc.retryable)
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError))


def describe(exc: BaseException, token: str | None = None) -> str:
    """One line for a failed snapshot: which files and why (never the token)."""
    failed = getattr(exc, "failed_files", None)
    if failed:
        parts = [f"{path}: {_short(err)}" for path, err in sorted(failed.items())]
        total = getattr(exc, "total", None)
        head = f"{len(failed)} of {total} files failed" if total else f"{len(failed)} files failed"
        text = f"{head} ({'; '.join(parts)})"
    else:
        text = _short(exc)
    return text.replace(token, "***") if token else text


def _short(exc: BaseException) -> str:
    """An SDK error's message without the request/response dump that follows its first line."""
    cause = exc.__cause__ if exc.__cause__ is not None and "HTTPError" in type(exc).__name__ else exc
    msg = (str(getattr(cause, "message", "")) or str(cause)).splitlines()[0].strip()
    if getattr(cause, "status_code", None) in (401, 403):
        msg += f" (set {TOKEN_ENV} to a ModelScope access token with access to this dataset)"
    return f"{type(cause).__name__}: {msg}"


def retry_delays() -> tuple[float, ...]:
    """Seconds to wait before each snapshot retry (``MEDPREP_DOWNLOAD_RETRY_DELAYS``, default 5,30)."""
    raw = os.environ.get(RETRY_DELAYS_ENV)
    if not raw:
        return DEFAULT_RETRY_DELAYS
    return tuple(float(x) for x in raw.split(",") if x.strip())


# never cached: a cached "downloaded" would hide new data upstream; ModelScope's own cache
# makes a repeated snapshot cheap (one listing request), and offline the probe answers in seconds.
# No Prefect retries: only network I/O is retried, by the loop below, so a refused login or a bug
# is reported once instead of three times.
@task(name="download", cache_policy=NO_CACHE)
def download_source(source: str, raw_dir: str, probe_timeout: float = 3.0, revision: str | None = None) -> dict:
    """Download one source from ModelScope into raw_dir/modelscope (the SDK's cache layout).

    Offline -> one line, no retries. Network failures are retried (``retry_delays``), then
    reported in one line with status 'failed'; the run goes on with the files under raw_dir.
    The access token (``MODELSCOPE_API_TOKEN``) is passed to the SDK and never logged.
    """
    logger = log()
    spec = REGISTRY[source]
    if not spec.modelscope_id:
        return DownloadResult(source, "not-on-modelscope", "no ModelScope id; reading data/raw").to_dict()
    endpoint = modelscope_endpoint()
    rev = revision or DEFAULT_REVISION
    base = dict(revision=rev, endpoint=endpoint, modelscope_id=spec.modelscope_id)
    reason = probe(endpoint, timeout=probe_timeout)
    if reason:
        # the SDK would spend ~22 s in its own retries before saying the same thing
        msg = f"ModelScope unreachable ({endpoint}: {reason}); using files under {raw_dir}"
        logger.warning("%s: %s", source, msg)
        return DownloadResult(source, "offline", msg, **base).to_dict()
    token = os.environ.get(TOKEN_ENV) or None
    delays = retry_delays()
    local = str(snapshot_dir(raw_dir, spec.modelscope_id, rev))
    t0 = time.perf_counter()
    for attempt in range(1, len(delays) + 2):
        try:
            local = snapshot(spec.modelscope_id, list(spec.files), Path(raw_dir) / CACHE_SUBDIR, revision, token)
            break
        except Exception as exc:  # noqa: BLE001 - classified: network -> retry, else report
            line = describe(exc, token)
            if not is_network_error(exc) or attempt > len(delays):
                tried = f" after {attempt} attempts" if attempt > 1 else ""
                msg = (f"download of {spec.modelscope_id}@{rev} failed{tried}: {line}; "
                       f"using files under {raw_dir} (no partial download is read)")
                logger.warning("%s: %s", source, msg)
                return DownloadResult(source, "failed", msg, local, time.perf_counter() - t0,
                                      attempts=attempt, **base).to_dict()
            logger.warning("%s: attempt %d failed (%s); retrying in %.0fs", source, attempt, line, delays[attempt - 1])
            time.sleep(delays[attempt - 1])
    secs = time.perf_counter() - t0
    got = sorted(p.name for p in Path(local).iterdir() if p.is_file() and p.name in spec.files)
    logger.info("%s: %s@%s -> %s (%s) in %.1fs", source, spec.modelscope_id, rev, local, ", ".join(got), secs)
    return DownloadResult(source, "downloaded", f"downloaded {spec.modelscope_id} at revision {rev}",
                          local, secs, files=got, attempts=attempt, **base).to_dict()

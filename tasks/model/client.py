"""One client for every model-backed stage: an OpenAI-compatible ``/v1/chat/completions`` endpoint
(vLLM, SGLang, ``transformers serve``, a hosted API) behind a content-keyed on-disk cache.

Why ``httpx`` and not the ``openai`` package: httpx is already in the core install (Prefect depends on
it), so the pipeline gains no dependency; and the retry / backoff / concurrency policy must be ours
(counted, logged, tested), which with ``openai`` means switching its own retries off and wrapping it
anyway. The wire format is eight lines of JSON.

What it guarantees:

* **Key from the environment only.** :class:`Endpoint` holds the *name* of the variable
  (default ``MEDPREP_API_KEY``); the value is read when the HTTP client is built and goes into the
  ``Authorization`` header, nowhere else — not in ``repr``, logs, cache files, artifacts or the card.
  Flow parameters carry the variable's name, never the key (Prefect stores parameters).
* **Cache by content.** key = sha256 of (model, messages, sampling parameters, sample index); one
  JSON file per answered request under ``cache_dir``, written atomically as soon as the answer
  arrives. A rerun makes no request; a killed run resumes with what was answered. The base URL is
  not in the key: the same model behind another host answers the same.
* **Concurrency limit** (a semaphore over in-flight requests), per-request timeouts, retries with
  exponential backoff (and ``Retry-After``) on 429, 5xx and transport errors. A request that still
  fails comes back as a :class:`Reply` with ``error`` set — callers decide (fallback, quarantine);
  errors are never cached.
* **Progress** in the log (every ``progress_every`` seconds) and, inside a Prefect run, a progress
  artifact whose description says done / total, requests per second, cache hits and errors.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tasks.core.logs import log

DEFAULT_KEY_ENV = "MEDPREP_API_KEY"
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Endpoint:
    """Where a stage's model lives. ``api_key_env`` names the variable holding the key (never the key)."""

    base_url: str
    model: str
    api_key_env: str = DEFAULT_KEY_ENV
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 4
    backoff: float = 0.5  # first retry after ~backoff s, doubling, with jitter

    @property
    def url(self) -> str:
        base = self.base_url.rstrip("/")
        return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")

    def public(self) -> dict[str, Any]:
        """What may be written to meta, logs and the card (no key; the variable's name only)."""
        return {"base_url": self.base_url, "model": self.model, "api_key_env": self.api_key_env}

    @classmethod
    def parse(cls, value: Endpoint | dict | str | None, model: str | None = None, **kw: Any) -> Endpoint | None:
        """An Endpoint from a flow parameter: None (stage off), a URL (+ ``model``), or a dict."""
        if value is None or value == "" or isinstance(value, Endpoint):
            return value or None
        if isinstance(value, str):
            if not model:
                raise ValueError(f"endpoint {value!r} needs a model name")
            return cls(base_url=value, model=model, **kw)
        return cls(**{**kw, **value})


@dataclass(frozen=True)
class Request:
    """One chat completion. ``sample`` tells apart repeated draws of the same prompt (pass-rate)."""

    messages: tuple[tuple[str, str], ...]
    params: tuple[tuple[str, Any], ...] = ()
    sample: int = 0

    @classmethod
    def chat(cls, messages: list[dict[str, str]] | list[tuple[str, str]], sample: int = 0, **params: Any) -> Request:
        msgs = tuple((m["role"], m["content"]) if isinstance(m, dict) else tuple(m) for m in messages)
        return cls(msgs, tuple(sorted((k, v) for k, v in params.items() if v is not None)), sample)

    def key(self, model: str) -> str:
        blob = json.dumps({"model": model, "messages": self.messages, "params": self.params, "sample": self.sample},
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def body(self, model: str) -> dict[str, Any]:
        return {"model": model, "messages": [{"role": r, "content": c} for r, c in self.messages], **dict(self.params)}


@dataclass
class Reply:
    """A model's answer (``text``), or why there is none (``error``)."""

    text: str | None
    cached: bool = False
    error: str | None = None
    finish_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Stats:
    """Counters of one :meth:`ChatClient.run` (and, summed, of a stage)."""

    total: int = 0
    done: int = 0
    cache_hits: int = 0
    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    errors: int = 0
    seconds: float = 0.0
    max_in_flight: int = 0

    @property
    def req_per_s(self) -> float:
        return round(self.requests / self.seconds, 2) if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3), "req_per_s": self.req_per_s}

    def add(self, other: Stats) -> Stats:
        for k in ("total", "done", "cache_hits", "requests", "retries", "errors"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.seconds += other.seconds
        self.max_in_flight = max(self.max_in_flight, other.max_in_flight)
        return self


class Cache:
    """Content-keyed answers on disk: ``<dir>/<k[:2]>/<k>.json``, each written atomically."""

    def __init__(self, directory: str | Path | None):
        self.dir = Path(directory) if directory else None

    def _path(self, key: str) -> Path:
        assert self.dir is not None
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        if self.dir is None:
            return None
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # absent, or a torn file of a killed writer: ask again

    def put(self, key: str, value: dict) -> None:
        if self.dir is None:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


def _in_prefect_run() -> bool:
    try:
        from prefect.context import FlowRunContext, TaskRunContext

        return bool(TaskRunContext.get() or FlowRunContext.get())
    except Exception:
        return False


class ChatClient:
    """Answers a batch of :class:`Request` s through one endpoint, cache first."""

    def __init__(self, endpoint: Endpoint, cache_dir: str | Path | None, *, label: str = "model",
                 progress_every: float = 5.0, artifact: bool = True):
        self.endpoint = endpoint
        self.cache = Cache(cache_dir)
        self.label = label
        self.progress_every = progress_every
        self.artifact = artifact and _in_prefect_run()

    def __repr__(self) -> str:  # never the key
        return f"ChatClient({self.endpoint.public()!r}, label={self.label!r})"

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.endpoint.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    # -- public -------------------------------------------------------------------------------
    def run(self, requests: list[Request]) -> tuple[list[Reply], Stats]:
        """Replies in the order of ``requests`` and the run's counters. Never raises on HTTP errors."""
        coro = self._run(requests)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # called from inside an event loop (an async flow): run ours in a thread of its own
        box: dict[str, Any] = {}
        t = threading.Thread(target=lambda: box.setdefault("r", asyncio.run(coro)))
        t.start()
        t.join()
        return box["r"]

    # -- internals ----------------------------------------------------------------------------
    async def _run(self, requests: list[Request]) -> tuple[list[Reply], Stats]:
        import httpx

        ep = self.endpoint
        logger = log()  # before the clock starts: its first call imports Prefect (seconds on a busy machine)
        stats = Stats(total=len(requests))
        t0 = time.perf_counter()
        replies: list[Reply | None] = [None] * len(requests)
        todo: list[tuple[int, Request, str]] = []
        for i, req in enumerate(requests):
            key = req.key(ep.model)
            hit = self.cache.get(key)
            if hit is not None:
                replies[i] = Reply(hit.get("text"), cached=True, finish_reason=hit.get("finish_reason"))
                stats.cache_hits += 1
                stats.done += 1
            else:
                todo.append((i, req, key))
        if todo:
            logger.info("%s: %d requests (%d of %d answered from the cache) to %s, model %s, concurrency %d",
                        self.label, len(todo), stats.cache_hits, len(requests), ep.base_url, ep.model, ep.concurrency)
        sem = asyncio.Semaphore(max(1, ep.concurrency))
        in_flight = 0
        artifact_id = await self._artifact_create(stats) if todo else None
        last = time.perf_counter()

        async def one(client: httpx.AsyncClient, i: int, req: Request, key: str) -> None:
            nonlocal in_flight, last, artifact_id
            async with sem:
                in_flight += 1
                stats.max_in_flight = max(stats.max_in_flight, in_flight)
                try:
                    reply = await self._post(client, req, stats)
                finally:
                    in_flight -= 1
            if reply.ok:
                self.cache.put(key, {"text": reply.text, "finish_reason": reply.finish_reason, "model": ep.model})
            else:
                stats.errors += 1
            replies[i] = reply
            stats.done += 1
            now = time.perf_counter()
            if now - last >= self.progress_every or stats.done == stats.total:
                last = now
                stats.seconds = now - t0
                logger.info("%s: %d/%d done, %.1f req/s, %d cache hits, %d errors", self.label, stats.done,
                            stats.total, stats.req_per_s, stats.cache_hits, stats.errors)
                await self._artifact_update(artifact_id, stats)

        if todo:
            limits = httpx.Limits(max_connections=max(1, ep.concurrency), max_keepalive_connections=max(1, ep.concurrency))
            async with httpx.AsyncClient(timeout=httpx.Timeout(ep.timeout, connect=min(10.0, ep.timeout)),
                                         limits=limits, headers=self._headers()) as client:
                await asyncio.gather(*(one(client, i, r, k) for i, r, k in todo))
        stats.seconds = time.perf_counter() - t0
        return [r if r is not None else Reply(None, error="not run") for r in replies], stats

    async def _post(self, client, req: Request, stats: Stats) -> Reply:
        import httpx

        ep = self.endpoint
        body = req.body(ep.model)
        error = "no attempt"
        for attempt in range(ep.max_retries + 1):
            if attempt:
                stats.retries += 1
            stats.requests += 1
            delay = ep.backoff * (2 ** attempt) * (0.5 + random.random())
            try:
                resp = await client.post(ep.url, json=body)
            except httpx.HTTPError as err:  # connect / read errors, timeouts
                error = f"{type(err).__name__}"
            else:
                if resp.status_code == 200:
                    try:
                        choice = resp.json()["choices"][0]
                        return Reply(choice["message"].get("content") or "", finish_reason=choice.get("finish_reason"))
                    except (ValueError, KeyError, IndexError, TypeError):
                        return Reply(None, error="malformed response body")
                error = f"HTTP {resp.status_code}"
                if resp.status_code not in RETRY_STATUS:
                    return Reply(None, error=error)
                retry_after = resp.headers.get("retry-after")
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    delay = min(float(retry_after), 60.0)
            if attempt < ep.max_retries:
                await asyncio.sleep(delay)
        return Reply(None, error=f"{error} after {ep.max_retries + 1} attempts")

    def _describe(self, stats: Stats) -> str:
        return (f"{self.label}: {stats.done}/{stats.total} done, {stats.req_per_s} req/s, "
                f"{stats.cache_hits} cache hits, {stats.errors} errors")

    async def _artifact_create(self, stats: Stats):
        if not self.artifact:
            return None
        try:
            from prefect.artifacts import acreate_progress_artifact

            return await acreate_progress_artifact(progress=100.0 * stats.done / max(1, stats.total),
                                                   description=self._describe(stats))
        except Exception:  # an artifact is a convenience, never a failure
            return None

    async def _artifact_update(self, artifact_id, stats: Stats) -> None:
        if artifact_id is None:
            return
        try:
            from prefect.artifacts import aupdate_progress_artifact

            await aupdate_progress_artifact(artifact_id=artifact_id, progress=100.0 * stats.done / max(1, stats.total),
                                            description=self._describe(stats))
        except Exception:
            pass


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters sent with every request of a stage (part of the cache key)."""

    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int = 512
    seed: int | None = None
    extra: dict = field(default_factory=dict)

    def params(self, sample: int = 0) -> dict[str, Any]:
        seed = None if self.seed is None else self.seed + sample
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens,
                "seed": seed, **self.extra}

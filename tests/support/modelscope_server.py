"""A ModelScope-compatible dataset server on 127.0.0.1, for tests: it replaces the network, nothing else.

The real ``modelscope`` SDK (1.40, which delegates to ``modelscope_hub``) talks to it through its
ordinary endpoint setting (``MODELSCOPE_ENDPOINT`` / ``MODELSCOPE_DOMAIN``), writes its real cache
layout, and medprep's real detection and parsing read what it wrote. Only the HTTP answers are
ours. They follow what the installed SDK sends and parses (site-packages paths below):

``GET /api/v1/datasets/{owner}/{name}/repo/tree?Revision=&Recursive=True&PageNumber=&PageSize=[&Root=]``
    The file listing. Sent by ``modelscope_hub/_legacy_api.py: LegacyClient.list_dataset_files_paginated``
    (via ``_request_repo_tree`` / ``_fetch_tree_page``), called from
    ``modelscope_hub/_download.py: DownloadManager.download_repo``. The SDK reads
    ``body["Data"]`` (``LegacyClient._json_data``), then ``Data["Files"]`` (or a bare list), and
    pages until a page holds fewer than ``PageSize`` entries. Per entry ``download_repo`` reads
    ``Path`` (or ``Name``), ``Type`` ("tree" entries are skipped), ``Sha256`` and ``Size``; the
    SHA-256 and size are then checked by ``_download.py: _download_with_resume`` /
    ``_finish_download`` (size mismatch -> ``FileSizeMismatchError``, hash -> ``FileIntegrityError``,
    retried by ``DownloadManager._download_file``).
``GET /api/v1/datasets/{owner}/{name}/repo?Revision=&FilePath=``
    One file's bytes. Sent by ``_legacy_api.py: LegacyClient.download_stream`` (URL from
    ``get_download_url``); a resumed download sends ``Range: bytes=N-`` and expects
    ``206`` + ``Content-Range: bytes N-M/T`` (``_download.py: _parse_content_range``); a body shorter
    than ``Content-Length`` is resumed from the ``.incomplete`` file (``_IncompleteBodyError``).
``GET /api/v1/repos/internalAccelerationInfo``
    The intra-cloud region probe (``_download.py: DownloadManager._detect_region_uncached``,
    0.2 s timeout). Off Alibaba Cloud the real site gives nothing useful; we answer 404, which the
    SDK treats as "no region".
``GET /api/v1/datasets/{owner}/{name}`` and ``.../revisions``
    Repo info (``LegacyClient.get_repo_info``: ``Data``) and branches/tags
    (``LegacyClient.list_revisions``: ``Data.RevisionMap.{Branches,Tags}[].Revision``). The SDK
    calls repo info only when a listing root is missing; both are served so a probe of the repo
    answers like the site.

Errors use the site's JSON envelope ``{"Code", "Message", "RequestId", "Success": false}`` with the
HTTP status ``modelscope_hub/errors.py: raise_for_status`` maps (401 -> AuthenticationError,
404 -> NotExistError). Auth: the SDK sends ``Authorization: Bearer <token>`` and the
``m_session_id`` cookie (``LegacyClient._headers`` / ``_ensure_session_auth``); a repo created with
``token=`` answers 401 to anything else.

Every request is logged (:attr:`ModelScopeServer.log`) with the route it hit, so tests can count
file transfers. Faults for the failure tests: ``cut`` (send half the remaining bytes of a file,
then close the connection) and ``corrupt`` (send bytes of the right size whose SHA-256 does not
match the listing), each for the next N requests of that file.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "data" / "samples"

# the repo's shipped demo files (bench/synth*.py) under the published dataset ids and file names
# (tasks/ingest/sources/*.py: SPEC.modelscope_id and SPEC.files); README.md and .gitattributes
# stand in for the other files of a real dataset repo, which medprep must not fetch
PUBLISHED: dict[str, dict[str, Path | bytes]] = {
    "FreedomIntelligence/medical-o1-reasoning-SFT": {
        "medical_o1_sft.json": SAMPLES / "medical_o1_sft.json",
        "medical_o1_sft_Chinese.json": SAMPLES / "medical_o1_sft_Chinese.json",
        "README.md": b"# medical-o1-reasoning-SFT (test server stand-in)\n",
        ".gitattributes": b"*.json filter=lfs diff=lfs merge=lfs -text\n",
    },
    "FreedomIntelligence/medical-o1-verifiable-problem": {
        "medical_o1_verifiable_problem.json": SAMPLES / "medical_o1_verifiable_problem.json",
        "README.md": b"# medical-o1-verifiable-problem (test server stand-in)\n",
    },
    "krisfu/delicate_medical_r1_data": {
        "r1_data_example.jsonl": SAMPLES / "r1_data_example.jsonl",
        "README.md": b"# delicate_medical_r1_data (test server stand-in)\n",
    },
    "DatatangBeijing/203029Groups-ChineseMedicalQuestionAnsweringData": {
        "ChineseMedicalQuestionAnsweringData.jsonl": SAMPLES / "datatang" / "ChineseMedicalQuestionAnsweringData.jsonl",
        "README.md": b"# Datatang sample (test server stand-in)\n",
    },
}

BRANCH = "master"


def commit_id(repo_id: str, branch: str = BRANCH) -> str:
    """A stable 40-hex commit id for a repo's branch (what the site shows as the revision)."""
    return hashlib.sha1(f"{repo_id}@{branch}".encode()).hexdigest()


@dataclass
class Repo:
    """One dataset repo: files per revision, optional login."""

    repo_id: str
    files: dict[str, bytes]
    commit: str = ""
    token: str | None = None  # when set, requests without this Bearer token / cookie get 401
    extra_revisions: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.commit = self.commit or commit_id(self.repo_id)

    def at(self, revision: str) -> dict[str, bytes] | None:
        """The files of ``revision`` (the branch, its commit id, or an extra revision)."""
        if revision in (BRANCH, self.commit):
            return self.files
        return self.extra_revisions.get(revision)


def published_repos(token_for: dict[str, str] | None = None) -> dict[str, Repo]:
    """The shipped demo files as ModelScope repos; ``token_for`` = repo id -> required token."""
    repos = {}
    for repo_id, files in PUBLISHED.items():
        data = {name: src if isinstance(src, bytes) else src.read_bytes() for name, src in files.items()}
        repos[repo_id] = Repo(repo_id, data, token=(token_for or {}).get(repo_id))
    return repos


@dataclass
class Request:
    """One logged request: what the SDK asked, which route answered, what went back."""

    method: str
    path: str
    query: dict[str, str]
    route: str
    status: int
    sent: int  # body bytes sent
    headers: dict[str, str]


class ModelScopeServer:
    """A threaded HTTP server on 127.0.0.1 answering the SDK's dataset download calls.

    Use as a context manager; :attr:`url` is the endpoint to give the SDK. ``faults`` maps
    ``(repo_id, file name)`` to ``("cut" | "corrupt", times)``: the next ``times`` downloads of that
    file are broken that way (``times`` large = always).
    """

    def __init__(self, repos: dict[str, Repo] | None = None) -> None:
        self.repos = repos if repos is not None else published_repos()
        self.log: list[Request] = []
        self.faults: dict[tuple[str, str], list] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ModelScopeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fault(self, repo_id: str, name: str, kind: str, times: int = 10**6) -> None:
        """Break the next ``times`` downloads of one file (``kind``: 'cut' or 'corrupt')."""
        assert kind in ("cut", "corrupt")
        self.faults[(repo_id, name)] = [kind, times]

    def _take_fault(self, repo_id: str, name: str) -> str | None:
        with self._lock:
            f = self.faults.get((repo_id, name))
            if not f or f[1] <= 0:
                return None
            f[1] -= 1
            return f[0]

    def record(self, req: Request) -> None:
        with self._lock:
            self.log.append(req)

    def counts(self) -> Counter:
        """Requests per route ('GET tree', 'GET file', ...)."""
        return Counter(f"{r.method} {r.route}" for r in self.log)

    def transfers(self) -> list[Request]:
        """File downloads that sent bytes."""
        return [r for r in self.log if r.route == "file" and r.sent > 0]

    def clear(self) -> None:
        with self._lock:
            self.log.clear()


def _envelope(data, code: int = 200, message: str = "success") -> bytes:
    body = {"Code": code, "Data": data, "Message": message, "RequestId": uuid.uuid4().hex,
            "Success": code == 200}
    return json.dumps(body).encode()


def _handler(server: ModelScopeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: the request log is server.log
            pass

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        # ---- helpers
        def _send(self, status: int, body: bytes, route: str, ctype: str = "application/json",
                  extra: dict[str, str] | None = None, head: bool = False, cut: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            if cut:
                self.send_header("Connection", "close")
            self.end_headers()
            sent = 0
            if not head:
                payload = body[: len(body) // 2] if cut else body
                self.wfile.write(payload)
                self.wfile.flush()
                sent = len(payload)
            if cut:
                self.close_connection = True
                try:  # drop the connection mid-body, as a network cut would
                    self.connection.shutdown(2)
                except OSError:
                    pass
            self._record(route, status, sent)

        def _error(self, status: int, message: str, route: str, head: bool = False) -> None:
            self._send(status, _envelope(None, status, message), route, head=head)

        def _record(self, route: str, status: int, sent: int) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            server.record(Request(self.command, unquote(parts.path), query, route, status, sent,
                                  {k.lower(): v for k, v in self.headers.items()}))

        def _authorised(self, repo: Repo) -> bool:
            if repo.token is None:
                return True
            bearer = self.headers.get("Authorization", "") == f"Bearer {repo.token}"
            cookie = f"m_session_id={repo.token}" in self.headers.get("Cookie", "")
            return bearer or cookie

        # ---- routing
        def _serve(self, head: bool) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path).rstrip("/")
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            segs = path.split("/")
            if path == "/api/v1/repos/internalAccelerationInfo":
                return self._error(404, "not on Alibaba Cloud", "region-probe", head)
            if len(segs) < 6 or segs[:4] != ["", "api", "v1", "datasets"]:
                return self._error(404, f"no route {path}", "unknown", head)
            repo_id = f"{segs[4]}/{segs[5]}"
            rest = "/".join(segs[6:])
            route = {"": "repo-info", "revisions": "revisions", "repo/tree": "tree", "repo": "file"}.get(rest, "unknown")
            repo = server.repos.get(repo_id)
            if repo is None or route == "unknown":
                return self._error(404, f"dataset {repo_id} not found", route, head)
            if not self._authorised(repo):
                return self._error(401, "login required: this dataset needs an access token", route, head)
            if route == "repo-info":
                info = {"Id": abs(hash(repo_id)) % 10**6, "Name": segs[5], "Namespace": segs[4],
                        "Private": repo.token is not None, "Revision": BRANCH}
                return self._send(200, _envelope(info), route, head=head)
            if route == "revisions":
                tags = [{"Revision": r, "CreatedAt": 1700000000} for r in repo.extra_revisions]
                data = {"RevisionMap": {"Branches": [{"Revision": BRANCH, "CreatedAt": 1700000000}], "Tags": tags}}
                return self._send(200, _envelope(data), route, head=head)
            revision = query.get("Revision", BRANCH)
            files = repo.at(revision)
            if files is None:
                return self._error(404, f"revision {revision} not found", route, head)
            if route == "tree":
                return self._tree(repo, revision, files, query, head)
            return self._file(repo, files, query, head)

        def _tree(self, repo: Repo, revision: str, files: dict[str, bytes], query: dict, head: bool) -> None:
            page, size = int(query.get("PageNumber", 1)), int(query.get("PageSize", 200))
            root = query.get("Root", "").strip("/")
            names = sorted(n for n in files if not root or n == root or n.startswith(root + "/"))
            if root and not names:
                return self._error(404, f"path {root} not found", "tree", head)
            commit = repo.commit if revision in (BRANCH, repo.commit) else revision
            entries = [
                {"Name": n.rsplit("/", 1)[-1], "Path": n, "Type": "blob", "Size": len(files[n]),
                 "Sha256": hashlib.sha256(files[n]).hexdigest(), "Revision": commit, "IsLFS": n.endswith(".json")}
                for n in names[(page - 1) * size: page * size]
            ]
            self._send(200, _envelope({"Files": entries}), "tree", head=head)

        def _file(self, repo: Repo, files: dict[str, bytes], query: dict, head: bool) -> None:
            name = query.get("FilePath", "")
            if name not in files:
                return self._error(404, f"file {name} not found", "file", head)
            data = files[name]
            kind = None if head else server._take_fault(repo.repo_id, name)
            if kind == "corrupt":  # same size, wrong bytes: only the SHA-256 check can tell
                data = bytes(b ^ 0x20 if 0x61 <= b <= 0x7A else b for b in data)
            start = 0
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(data):
                    return self._error(416, "range not satisfiable", "file", head)
                body = data[start:]
                extra = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}", "Accept-Ranges": "bytes"}
                return self._send(206, body, "file", "application/octet-stream", extra, head, cut=kind == "cut")
            self._send(200, data, "file", "application/octet-stream", {"Accept-Ranges": "bytes"}, head,
                       cut=kind == "cut")

    return Handler

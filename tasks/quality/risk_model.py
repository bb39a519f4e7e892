"""Hashed byte n-gram features and the shipped linear models (risk level, specialty).

Why bytes: the labeller must label 900k rows in about ten seconds on two cores, and every Polars
string pass (NFKC, regex, padding) over ~400 MB of text costs seconds of its own. The features
are read straight from the Arrow UTF-8 buffer with numpy: ASCII lowercased, then every byte
n-gram of the orders in the model file (3 bytes = one Chinese character or an English trigram,
6 = a Chinese bigram, ...) is hashed into ``2**bits`` buckets. Each row is followed by
``max(order) - 1`` NUL bytes, so no n-gram spans two rows and a row's features depend on that
row alone. A row's feature value for a bucket is its n-gram count divided by the square root of
the row's byte length (long exam vignettes do not swamp the bias).

Only buckets with a non-zero weight are stored (the training script prunes the rest), so
inference is: hash, look the buckets up in a small sorted table, and sum the few weights that
hit, per row. Training (``eval/train_risk.py``) uses :func:`featurize` too, so the two cannot
drift apart. The model file format is described in ``docs/labels.md``.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

MODEL_DIR = Path(__file__).resolve().parent / "models"
RISK_MODEL_FILE = "risk.v4.npz"

_CHUNK_BYTES = 8 << 20  # rows are hashed in ~8 MB chunks (bounded memory, two threads)


@dataclass(frozen=True)
class Sparse:
    """Row-major sparse features: for row r, ``cols[indptr[r]:indptr[r+1]]`` with ``vals``."""

    indptr: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    n_rows: int


def _buffer(texts: pl.Series, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, int64 row offsets) of the texts, each followed by ``pad`` NUL bytes."""
    s = texts.cast(pl.String).fill_null("")
    if pad:
        s = s + "\x00" * pad
    arr = s.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    if hasattr(arr, "combine_chunks"):
        arr = arr.combine_chunks()
    _, off_buf, data_buf = arr.buffers()[:3]
    offsets = np.frombuffer(off_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return data, offsets


def _hash_chunk(data: np.ndarray, local: np.ndarray, orders: tuple[int, ...], bits: int) -> list[np.ndarray]:
    """Bucket ids (uint32) of every n-gram start position, one array per order (orders <= 8).
    ``local`` are the row offsets inside the chunk; an n-gram that would run into the next row
    (the last k-1 positions of a row's padded segment) gets the out-of-range id ``2**bits``.

    The chunk is copied with ASCII A-Z lowercased and 8 NUL bytes appended; an unaligned uint64
    view at every byte offset then holds the 8 bytes starting there, so the n-gram of order k is
    that word masked to its k low bytes (little-endian), hashed by one multiply and shift."""
    n = data.size
    buf = np.zeros(n + 8, np.uint8)
    buf[:n] = data
    upper = (buf - np.uint8(65)) < np.uint8(26)
    buf[upper] += np.uint8(32)
    words = np.ndarray(shape=(n,), dtype="<u8", buffer=buf.data, strides=(1,))
    shift = np.uint64(64 - bits)
    out = []
    for k in orders:
        mask = np.uint64((1 << (8 * k)) - 1)
        mix = np.uint64((0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019 * k) & 0xFFFFFFFFFFFFFFFF | 1)
        h = words & mask  # in place from here: one 8-byte temporary per order, not three
        h *= mix
        h >>= shift
        ids = h.astype(np.uint32)
        del h
        ends = local[1:]
        for j in range(1, k):
            ends_j = ends - j
            ids[ends_j[ends_j >= local[:-1]]] = np.uint32(1 << bits)
        out.append(ids)
    return out


def _chunks(offsets: np.ndarray) -> list[tuple[int, int]]:
    """Row ranges [r0, r1) of about ``_CHUNK_BYTES`` each."""
    n = offsets.size - 1
    if n <= 0:
        return []
    cuts = np.searchsorted(offsets, np.arange(offsets[0], offsets[-1], _CHUNK_BYTES), side="left")
    bounds = sorted({0, n, *[int(min(max(c, 0), n)) for c in cuts]})
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=False) if b > a]


def featurize(texts: pl.Series, orders: tuple[int, ...], bits: int) -> Sparse:
    """Hashed n-gram counts / sqrt(row bytes), as a row-major sparse matrix (training and tests)."""
    pad = max(orders) - 1
    data, offsets = _buffer(texts, pad)
    n_rows = offsets.size - 1
    rows_all, cols_all = [], []
    for r0, r1 in _chunks(offsets):
        lo, hi = int(offsets[r0]), int(offsets[r1])
        local = offsets[r0 : r1 + 1] - lo
        for buckets in _hash_chunk(data[lo:hi], local, orders, bits):
            pos = np.flatnonzero(buckets < (1 << bits))
            rows_all.append(np.searchsorted(local, pos, side="right") - 1 + r0)
            cols_all.append(buckets[pos].astype(np.int64))
    if not rows_all:
        return Sparse(np.zeros(n_rows + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), n_rows)
    rows = np.concatenate(rows_all)
    cols = np.concatenate(cols_all)
    key = rows * (1 << bits) + cols
    uniq, counts = np.unique(key, return_counts=True)
    r, c = uniq >> bits, uniq & ((1 << bits) - 1)
    length = np.maximum(np.diff(offsets) - pad, 1).astype(np.float64)
    vals = (counts / np.sqrt(length[r])).astype(np.float32)
    indptr = np.zeros(n_rows + 1, np.int64)
    np.add.at(indptr, r + 1, 1)
    return Sparse(np.cumsum(indptr), c, vals, n_rows)


@dataclass(frozen=True)
class LinearModel:
    """Sparse per-bucket weights for several heads sharing one hashing pass."""

    version: str
    orders: tuple[int, ...]
    bits: int
    buckets: np.ndarray  # sorted uint32 bucket ids with a non-zero weight in some head
    heads: dict[str, tuple[list[str], np.ndarray, np.ndarray]]  # name -> (classes, W[len(buckets), C], bias[C])
    meta: dict


def save_model(path: Path, model: LinearModel) -> None:
    """Write a model as a compressed npz (deterministic member order)."""
    arrays = {"buckets": model.buckets}
    for name, (_, w, b) in model.heads.items():
        arrays[f"W_{name}"] = w.astype(np.float16)
        arrays[f"b_{name}"] = b.astype(np.float32)
    header = {"version": model.version, "orders": list(model.orders), "bits": model.bits,
              "classes": {n: c for n, (c, _, _) in model.heads.items()}, "meta": model.meta}
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True, ensure_ascii=False).encode(), dtype=np.uint8)
    # np.savez stamps members with the current time; a fixed date keeps the file byte-identical
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue(),
                        compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(path)


def model_header(name: str = RISK_MODEL_FILE) -> dict | None:
    """The model file's JSON header (version, orders, classes, meta), or None when it is absent."""
    path = MODEL_DIR / name
    if not path.is_file():
        return None
    with np.load(path) as z:
        return json.loads(bytes(z["header"]).decode())


@functools.cache
def load_model(name: str = RISK_MODEL_FILE) -> LinearModel:
    """The shipped model file from tasks/quality/models/."""
    with np.load(MODEL_DIR / name) as z:
        header = json.loads(bytes(z["header"]).decode())
        heads = {n: (c, z[f"W_{n}"].astype(np.float32), z[f"b_{n}"]) for n, c in header["classes"].items()}
        return LinearModel(header["version"], tuple(header["orders"]), int(header["bits"]),
                           z["buckets"].astype(np.uint32), heads, header["meta"])


@functools.cache
def _lookup_table_cached(key: int, bits: int, buckets: bytes) -> np.ndarray:
    table = np.full((1 << bits) + 1, -1, np.int32)  # + the id of n-grams that cross rows
    ids = np.frombuffer(buckets, dtype=np.uint32)
    table[ids] = np.arange(ids.size, dtype=np.int32)
    return table


def _lookup_table(model: LinearModel) -> np.ndarray:
    """Dense bucket -> weight row (-1: no weight); 4 bytes x 2**bits, cached per model."""
    return _lookup_table_cached(id(model), model.bits, model.buckets.tobytes())


def _exact_f16(w: np.ndarray) -> bool:
    """True when every weight is a float16 value (the shipped npz stores float16).

    Then every weight is an integer multiple of 2**-24 below 2**16, so any float64 sum of fewer
    than 2**37 of them (times small integer counts) is exact: the order of summation cannot
    change a score, and a sparse matrix product gives the same bits as per-hit sums."""
    return bool(np.all(w.astype(np.float16).astype(w.dtype) == w))


def _score_chunk(data: np.ndarray, local: np.ndarray, model: LinearModel, wall: np.ndarray, pad: int,
                 exact: bool) -> np.ndarray:
    """Per-row scores (rows x all head columns) for one chunk of rows.

    ``wall`` is (head columns x buckets) float64, one contiguous row per column. With ``exact``
    (float16-exact weights, see :func:`_exact_f16`) each order's hits become a CSR matrix (rows x
    kept buckets, one entry per hit, row pointers from a cumulative hit count, no sort) whose
    product with the weights is one SciPy ``csr @ dense`` call; otherwise the hit weights are
    summed per row and column by ``np.bincount`` in hit order (the row of a hit from a per-byte
    row-id array)."""
    n_rows = local.size - 1
    n_b = wall.shape[1]
    table = _lookup_table(model)
    length = np.maximum(np.diff(local) - pad, 1).astype(np.float64)
    if exact:
        import scipy.sparse  # noqa: PLC0415 (only the scorer needs it)

        w = np.ascontiguousarray(wall.T)
        out = None
        for buckets in _hash_chunk(data, local, model.orders, model.bits):
            idx = table[buckets]
            del buckets
            hit = idx >= 0
            itype = np.int32 if idx.size < (1 << 31) - 1 else np.int64
            cum = np.zeros(idx.size + 1, itype)
            np.cumsum(hit, out=cum[1:])
            cols = idx[hit].astype(itype, copy=False)
            del idx, hit
            x = scipy.sparse.csr_array((np.ones(cols.size), cols, cum[local]), shape=(n_rows, n_b))
            part = x @ w
            out = part if out is None else out + part
        if out is None:
            out = np.zeros((n_rows, wall.shape[0]), np.float64)
        return out / np.sqrt(length)[:, None]
    hit_pos, hit_idx = [], []
    for buckets in _hash_chunk(data, local, model.orders, model.bits):
        idx = table[buckets]
        pos = np.flatnonzero(idx >= 0)
        hit_pos.append(pos)
        hit_idx.append(idx[pos].astype(np.intp))
    row_of_byte = np.repeat(np.arange(n_rows, dtype=np.intp), np.diff(local))
    rows = np.concatenate([row_of_byte[p] for p in hit_pos])
    idx = np.concatenate(hit_idx)
    out = np.zeros((n_rows, wall.shape[0]), np.float64)
    for j in range(wall.shape[0]):
        out[:, j] = np.bincount(rows, weights=wall[j][idx], minlength=n_rows)
    return out / np.sqrt(length)[:, None]


def scores(texts: pl.Series, model: LinearModel | None = None, heads: list[str] | None = None,
           threads: int = 2) -> dict[str, np.ndarray]:
    """Linear n-gram scores per head: ``{head: array (rows, classes)}`` (bias included)."""
    model = model or load_model()
    pad = max(model.orders) - 1
    data, offsets = _buffer(texts, pad)
    names = heads or list(model.heads)
    # (columns x buckets) float64: contiguous per-column gathers, no float32->float64 cast per hit
    wall = np.ascontiguousarray(np.concatenate([model.heads[n][1] for n in names], axis=1).T, dtype=np.float64)
    parts = _chunks(offsets)
    exact = _exact_f16(wall)

    def run(part: tuple[int, int]) -> np.ndarray:
        r0, r1 = part
        lo, hi = int(offsets[r0]), int(offsets[r1])
        return _score_chunk(data[lo:hi], offsets[r0 : r1 + 1] - lo, model, wall, pad, exact)

    if threads > 1 and len(parts) > 1:
        with ThreadPoolExecutor(threads) as ex:
            blocks = list(ex.map(run, parts))
    else:
        blocks = [run(p) for p in parts]
    total = np.concatenate(blocks) if blocks else np.zeros((0, wall.shape[0]))
    out, j = {}, 0
    for n in names:
        classes, w, b = model.heads[n]
        out[n] = total[:, j : j + len(classes)] + b[None, :]
        j += len(classes)
    return out


def sparse_dot(x: Sparse, w: np.ndarray) -> np.ndarray:
    """x @ w for a row-major sparse x and dense w (features x classes)."""
    rows = np.repeat(np.arange(x.n_rows), np.diff(x.indptr))
    out = np.zeros((x.n_rows, w.shape[1]))
    for j in range(w.shape[1]):
        out[:, j] = np.bincount(rows, weights=x.vals * w[x.cols, j], minlength=x.n_rows)
    return out

"""A content-addressed store for regenerable artefacts under ``data/interim``.

Entries are keyed by a hash of everything that determines them (data fingerprint, settings,
seed), written atomically, and safe to delete: a missing entry is simply recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Cache", "frame_fingerprint", "make_key"]


def make_key(*parts: Any) -> str:
    """A stable hex key for JSON-serialisable `parts`.

    >>> make_key("kmeans", {"k": 3}) == make_key("kmeans", {"k": 3})
    True
    """
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Hash of a DataFrame's index, columns and values (row order matters)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(list(map(str, frame.columns))).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()[:32]


class Cache:
    """Read and write cached frames and arrays; a cache without a folder stores nothing.

    Parameters
    ----------
    root : path-like or None
        Folder of the cache; None disables caching.
    """

    def __init__(self, root: str | Path | None) -> None:
        self.root = None if root is None else Path(root)

    def _path(self, kind: str, key: str, suffix: str) -> Path | None:
        return None if self.root is None else self.root / kind / f"{key}{suffix}"

    def load_frame(self, kind: str, key: str) -> pd.DataFrame | None:
        """The cached frame, or None."""
        path = self._path(kind, key, ".parquet")
        return pd.read_parquet(path) if path is not None and path.exists() else None

    def save_frame(self, kind: str, key: str, frame: pd.DataFrame) -> None:
        """Store `frame` (index included)."""
        path = self._path(kind, key, ".parquet")
        if path is not None:
            _atomic(path, lambda tmp: frame.to_parquet(tmp))

    def frame(self, kind: str, key: str, compute) -> pd.DataFrame:
        """The cached frame under (`kind`, `key`), or ``compute()`` stored there first."""
        stored = self.load_frame(kind, key)
        if stored is None:
            stored = compute()
            self.save_frame(kind, key, stored)
        return stored

    def load_arrays(self, kind: str, key: str) -> dict[str, Any] | None:
        """The cached arrays and their ``meta`` dict, or None."""
        path = self._path(kind, key, ".npz")
        if path is None or not path.exists():
            return None
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        arrays["meta"] = json.loads(str(arrays["meta"]))
        return arrays

    def save_arrays(self, kind: str, key: str, meta: dict, **arrays: np.ndarray) -> None:
        """Store named arrays with a JSON-serialisable ``meta`` dict."""
        path = self._path(kind, key, ".npz")
        if path is not None:
            payload = {**arrays, "meta": np.array(json.dumps(meta, default=float))}
            _atomic(path, lambda tmp: np.savez(tmp, **payload))


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

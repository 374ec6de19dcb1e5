"""A content-addressed store for regenerable artefacts (features, solutions, maps, whole runs).

Entries are keyed by a hash of everything that determines them (data fingerprint, settings,
seed) and of the code that computes them: the seglab version and a fingerprint of the source of
the stages involved (:data:`CODE`), so an upgraded algorithm never serves a stale result.
Entries are written atomically, touched when read (their age is the time since last use), and
safe to delete: a missing entry is simply recomputed. ``seglab cache info`` and ``seglab cache
prune`` show and trim the store.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.errors import ConfigError

__all__ = [
    "CODE",
    "Cache",
    "code_fingerprint",
    "default_cache_dir",
    "frame_fingerprint",
    "make_key",
]

#: The subpackages whose source decides each kind of entry (the base modules always count).
CODE: dict[str, tuple[str, ...]] = {
    "features": ("data", "features"),
    "solutions": ("cluster", "evaluate"),
    "gap": ("cluster", "evaluate"),
    "stability": ("cluster", "evaluate"),
    "embeddings": ("interpret",),
    "runs": ("data", "features", "heuristics", "cluster", "evaluate", "interpret", "run"),
    "renders": (
        "data", "features", "heuristics", "cluster", "evaluate", "interpret", "run", "report",
    ),
}  # fmt: skip
_BASE_MODULES = ("checks.py", "errors.py", "progress.py", "registry.py", "settings.py")
_PACKAGE = Path(__file__).resolve().parents[1]


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


@functools.cache
def code_fingerprint(kind: str) -> str:
    """The seglab version and a hash of the source of the stages that compute `kind`."""
    digest = hashlib.sha256(_version().encode())
    files = [_PACKAGE / name for name in _BASE_MODULES]
    for package in CODE.get(kind, tuple(CODE["runs"])):
        files += sorted((_PACKAGE / package).rglob("*.py"))
        files += sorted((_PACKAGE / package).rglob("*.yaml"))
    for file in files:
        digest.update(str(file.relative_to(_PACKAGE)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def default_cache_dir(config_dir: Path) -> Path:
    """Where a config's cache lives unless it says: the checkout's ``data/interim`` for the
    configs of a seglab checkout (``configs/`` beside ``data/interim/``), else the user's
    cache directory (``$XDG_CACHE_HOME/seglab``, by default ``~/.cache/seglab``)."""
    checkout = Path(config_dir).resolve().parent / "data" / "interim"
    if checkout.is_dir():
        return checkout
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "seglab"


class Cache:
    """Read and write cached frames, arrays and folders; a cache without a folder stores nothing.

    Parameters
    ----------
    root : path-like or None
        Folder of the cache; None disables caching.
    """

    def __init__(self, root: str | Path | None) -> None:
        self.root = None if root is None else Path(root)
        if self.root is not None and self.root.exists() and not self.root.is_dir():
            raise ConfigError(
                f"cache_dir '{self.root}' is a file, not a folder; point cache_dir at a folder "
                "(it is created when missing) or set cache_dir: null to cache nothing"
            )

    def path(self, kind: str, key: str, suffix: str = "") -> Path | None:
        """Where the entry (`kind`, `key`) lives: the key includes the code that computes it."""
        if self.root is None:
            return None
        return self.root / kind / f"{make_key(key, code_fingerprint(kind))}{suffix}"

    def load_frame(self, kind: str, key: str) -> pd.DataFrame | None:
        """The cached frame, or None."""
        path = self._hit(self.path(kind, key, ".parquet"))
        return None if path is None else pd.read_parquet(path)

    def save_frame(self, kind: str, key: str, frame: pd.DataFrame) -> None:
        """Store `frame` (index included)."""
        path = self.path(kind, key, ".parquet")
        if path is not None:
            _atomic(path, lambda tmp: frame.to_parquet(tmp))

    def frame(self, kind: str, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The cached frame under (`kind`, `key`), or ``compute()`` stored there first."""
        stored = self.load_frame(kind, key)
        if stored is None:
            stored = compute()
            self.save_frame(kind, key, stored)
        return stored

    def load_arrays(self, kind: str, key: str) -> dict[str, Any] | None:
        """The cached arrays and their ``meta`` dict, or None."""
        path = self._hit(self.path(kind, key, ".npz"))
        if path is None:
            return None
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        arrays["meta"] = json.loads(str(arrays["meta"]))
        return arrays

    def save_arrays(self, kind: str, key: str, meta: dict, **arrays: np.ndarray) -> None:
        """Store named arrays with a JSON-serialisable ``meta`` dict."""
        path = self.path(kind, key, ".npz")
        if path is not None:
            payload = {**arrays, "meta": np.array(json.dumps(meta, default=float))}
            _atomic(path, lambda tmp: np.savez(tmp, **payload))

    def folder(self, kind: str, key: str, write: Callable[[Path], None]) -> Path:
        """The cached folder under (`kind`, `key`), written by ``write(folder)`` when missing.

        Without a cache root the folder is written to a new temporary folder every time.
        """
        path = self._hit(self.path(kind, key))
        if path is not None:
            return path
        if self.root is None:
            target = Path(tempfile.mkdtemp(prefix=f"seglab-{kind}-"))
            write(target)
            return target
        target = self.path(kind, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            write(work)
            os.replace(work, target)
        except OSError:
            if not target.is_dir():  # another process did not publish it first
                raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target

    def info(self) -> pd.DataFrame:
        """Per kind of entry: ``entries``, ``megabytes``, ``oldest`` and ``newest`` last use."""
        rows = []
        for kind, entries in self._entries().items():
            ages = [_mtime(e) for e in entries]
            rows.append(
                {
                    "kind": kind,
                    "entries": len(entries),
                    "megabytes": round(sum(_size(e) for e in entries) / 1e6, 1),
                    "oldest": min(ages).isoformat(timespec="seconds") if ages else "",
                    "newest": max(ages).isoformat(timespec="seconds") if ages else "",
                }
            )
        return pd.DataFrame(rows, columns=["kind", "entries", "megabytes", "oldest", "newest"])

    def prune(self, older_than_days: float | None = None) -> tuple[int, int]:
        """Delete entries unused for more than `older_than_days` (every entry when None).

        Only seglab's own entries inside the cache root are touched; returns the number of
        entries and bytes removed.
        """
        limit = None
        if older_than_days is not None:
            limit = dt.datetime.now() - dt.timedelta(days=older_than_days)
        removed = freed = 0
        for entries in self._entries().values():
            for entry in entries:
                if limit is not None and _mtime(entry) >= limit:
                    continue
                freed += _size(entry)
                removed += 1
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        return removed, freed

    def _entries(self) -> dict[str, list[Path]]:
        if self.root is None or not self.root.is_dir():
            return {}
        found = {}
        for kind in sorted(CODE):
            folder = self.root / kind
            if folder.is_dir() and not folder.is_symlink():
                found[kind] = sorted(
                    p for p in folder.iterdir() if not p.name.startswith(".") and not p.is_symlink()
                )
        return found

    @staticmethod
    def _hit(path: Path | None) -> Path | None:
        if path is None or not path.exists():
            return None
        os.utime(path)  # an entry's age is the time since it was last used
        return path


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime)


def _version() -> str:
    try:
        return metadata.version("seglab")
    except metadata.PackageNotFoundError:
        return "unknown"


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

"""Stage results on disk: a folder per result, a Parquet file per table, JSON for the rest.

Every stage result is a frozen dataclass. :func:`save` writes its fields by type (a DataFrame or
Series as Parquet, an array as ``.npy``, a nested result or a mapping of tables as a subfolder,
plain values into ``fields.json``) and :func:`load` rebuilds the same class from its type hints,
so a notebook reading a run folder sees exactly what the orchestrator computed. Fields declared
with ``field(metadata={"transient": True})`` (fitted estimators, lazy engine tables) stay in
memory and load as their default.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

__all__ = ["load", "save"]

#: ``field(metadata={"transient": True})`` keeps a field out of the run folder.

_FIELDS = "fields.json"
_KEYS = "keys.json"


def save(result: Any, folder: str | Path) -> Path:
    """Write the dataclass `result` into `folder` (created); return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plain = {}
    for item in dataclasses.fields(result):
        if item.metadata.get("transient"):
            continue
        value = getattr(result, item.name)
        if not _write(value, folder / item.name):
            plain[item.name] = _to_json(value)
    (folder / _FIELDS).write_text(json.dumps(plain, indent=1), encoding="utf-8")
    return folder


def load(cls: type, folder: str | Path) -> Any:
    """Rebuild a dataclass of type `cls` written by :func:`save` into `folder`."""
    folder = Path(folder)
    plain = json.loads((folder / _FIELDS).read_text(encoding="utf-8"))
    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):
        if item.metadata.get("transient") or not item.init:
            continue
        if item.name in plain:
            values[item.name] = _from_json(plain[item.name], hints[item.name])
        else:
            values[item.name] = _read(folder / item.name, hints[item.name])
    return cls(**values)


def _write(value: Any, stem: Path) -> bool:
    """Write `value` next to `stem` when it is not plain JSON; False when it is."""
    if isinstance(value, pd.DataFrame):
        _write_frame(value, stem.with_suffix(".parquet"))
    elif isinstance(value, pd.Series):
        _write_frame(value.to_frame(_series_column(value)), stem.with_suffix(".series.parquet"))
    elif isinstance(value, np.ndarray):
        np.save(stem.with_suffix(".npy"), value, allow_pickle=False)
    elif dataclasses.is_dataclass(value):
        save(value, stem)
    elif isinstance(value, Mapping) and value and not _is_plain(value):
        stem.mkdir(parents=True, exist_ok=True)
        names = [str(key) for key in value]
        (stem / _KEYS).write_text(json.dumps(names), encoding="utf-8")
        for i, item in enumerate(value.values()):
            _write(item, stem / f"{i:03d}")
    else:
        return False
    return True


def _read(stem: Path, hint: Any) -> Any:
    kinds = _alternatives(hint)
    if stem.with_suffix(".parquet").exists():
        return _read_frame(stem.with_suffix(".parquet"))
    if stem.with_suffix(".series.parquet").exists():
        frame = _read_frame(stem.with_suffix(".series.parquet"))
        series = frame.iloc[:, 0]
        return series.rename(None) if frame.columns[0] == "__unnamed__" else series
    if stem.with_suffix(".npy").exists():
        return np.load(stem.with_suffix(".npy"), allow_pickle=False)
    if (stem / _KEYS).exists():
        mapping = next(k for k in kinds if typing.get_origin(k) in (dict, Mapping))
        item_hint = typing.get_args(mapping)[1]
        names = json.loads((stem / _KEYS).read_text(encoding="utf-8"))
        return {name: _read(stem / f"{i:03d}", item_hint) for i, name in enumerate(names)}
    if (stem / _FIELDS).exists():
        cls = next(k for k in kinds if dataclasses.is_dataclass(k))
        return load(cls, stem)
    raise FileNotFoundError(f"no stored value for '{stem.name}' in {stem.parent}")


def _alternatives(hint: Any) -> list:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [h for h in typing.get_args(hint) if h is not type(None)]
    return [hint]


def _is_plain(value: Any) -> bool:
    """True for values JSON holds exactly: numbers, text, dates, and lists and dicts of them."""
    if value is None or isinstance(value, bool | int | float | str | dt.date):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return isinstance(value, BaseModel)


def _to_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


def _from_json(value: Any, hint: Any) -> Any:
    if value is None:
        return None
    for kind in _alternatives(hint):
        origin = typing.get_origin(kind) or kind
        if isinstance(origin, type) and issubclass(origin, BaseModel):
            return origin.model_validate(value)
        if origin is dt.date:
            return dt.date.fromisoformat(value)
        if origin is tuple:
            args = typing.get_args(kind)
            item = args[0] if args else Any
            return tuple(_from_json(v, item) for v in value)
        if origin in (dict, Mapping) and typing.get_args(kind):
            item = typing.get_args(kind)[1]
            return {k: _from_json(v, item) for k, v in value.items()}
    return value


def _series_column(series: pd.Series) -> str:
    return "__unnamed__" if series.name is None else str(series.name)


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Parquet wants plain text column labels and typed columns: other labels (cluster numbers,
    categories) are written as text, and both they and the object columns (labels that are
    numbers or missing) are described in a sidecar so that they read back as they were."""
    labels = list(frame.columns)
    plain = isinstance(frame.columns.dtype, np.dtypes.ObjectDType | pd.StringDtype)
    sidecar = {}
    if not plain or not all(isinstance(label, str) for label in labels):
        sidecar = {"labels": [_to_json(label) for label in labels], "name": frame.columns.name}
        if isinstance(frame.columns, pd.CategoricalIndex):
            sidecar["categories"] = [_to_json(c) for c in frame.columns.categories]
            sidecar["ordered"] = bool(frame.columns.ordered)
        frame = frame.set_axis([str(label) for label in labels], axis=1)
    objects = [
        i for i, dtype in enumerate(frame.dtypes) if isinstance(dtype, np.dtypes.ObjectDType)
    ]
    if objects:
        sidecar["objects"] = objects
    if sidecar:
        path.with_suffix(".columns.json").write_text(json.dumps(sidecar), encoding="utf-8")
    frame.to_parquet(path)


def _read_frame(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    sidecar_path = path.with_suffix(".columns.json")
    if not sidecar_path.exists():
        return frame
    sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    for i in sidecar.get("objects", []):
        frame.isetitem(i, frame.iloc[:, i].map(_as_label, na_action="ignore").astype(object))
        frame.iloc[:, i] = frame.iloc[:, i].where(frame.iloc[:, i].notna(), None)
    if "categories" in sidecar:
        frame.columns = pd.CategoricalIndex(
            sidecar["labels"], sidecar["categories"], sidecar["ordered"], name=sidecar["name"]
        )
    elif "labels" in sidecar:
        frame.columns = pd.Index(sidecar["labels"], name=sidecar["name"])
    return frame


def _as_label(value: Any) -> Any:
    """A label read back from Parquet: whole floats (an int column with gaps) become ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value

"""A segmentation in one file, ``segmentation.skops``, that loads without running foreign code.

skops' format is a zip of JSON and NumPy arrays; loading it never unpickles. seglab loads a file
only when every type in it is plain data, a scikit-learn type skops trusts, or one of seglab's
own estimators listed in :data:`TRUSTED`; anything else (a pickle, another program's objects)
is refused before a byte of it runs. Tables are kept as columns of plain values.
"""

from __future__ import annotations

import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.cluster.assign import Assigner
from seglab.errors import ModelError
from seglab.interpret.model import SegmentModel
from seglab.interpret.segmentation import Segmentation

__all__ = ["FORMAT", "TRUSTED", "load_segmentation", "save_segmentation"]

FORMAT = "seglab.segmentation"
#: Bumped when the file's layout changes; a newer file than this seglab knows is refused.
FORMAT_VERSION = 1
#: seglab's own types a segmentation file may hold (scikit-learn's are trusted by skops).
TRUSTED = (
    "seglab.cluster.scaling.FeatureScaler",
    "seglab.cluster.scaling.signed_log1p",
    "seglab.cluster.fuzzy.FuzzyCMeans",
    "seglab.cluster.mixture.GaussianMixtureClustering",
    "seglab.cluster.kprototypes.KPrototypesClustering",
    "seglab.cluster.gower_hierarchical.GowerHierarchical",
    "seglab.cluster.gower.GowerSpace",
)
_TABLES = ("names", "differences", "profile", "identity", "drift")


def save_segmentation(segmentation: Segmentation, path: str | Path) -> Path:
    """Write `segmentation` (with its model) to `path` in skops' format; return the path."""
    import skops.io as sio

    model = segmentation.model
    if model is None:
        raise ModelError("this segmentation has no model to save (it was read from a run folder)")
    labels = segmentation.labels
    content = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seglab_version": version("seglab"),
        "solution": {
            "solution": segmentation.solution, "feature_set": segmentation.feature_set,
            "scaling": segmentation.scaling, "algorithm": segmentation.algorithm,
            "k": segmentation.k, "seed": segmentation.seed,
        },
        "features": list(model.features),
        "settings": model.settings,
        "scaler": model.scaler,
        "estimator": model.assigner.estimator,
        "segment_of": model.assigner.segment_of,
        "soft": model.assigner.soft,
        "training_agreement": model.assigner.training_agreement,
        "segment_ids": list(model.segment_ids),
        "centres": model.centres,
        "training": model.training,
        "categorical": list(model.categorical),
        "categories": [list(c) for c in model.categories],
        "labels": {"customer_id": _column(labels.index), "segment": labels.to_numpy("int16")},
        **{name: _pack(getattr(segmentation, name)) for name in _TABLES},
    }  # fmt: skip
    path = Path(path)
    sio.dump(content, path, compression=zipfile.ZIP_DEFLATED)
    return path


def load_segmentation(path: str | Path) -> Segmentation:
    """The segmentation saved in `path` (``reports/<name>/<as_of>/segmentation.skops``).

    Its ``score`` method assigns new customers; ``labels`` are the training customers' segments.
    Training memberships are not kept in the file (``score`` recomputes them).

    Raises
    ------
    ModelError
        The file is missing, damaged, not a seglab segmentation, from a newer seglab, or holds
        a type outside the trusted list.
    """
    content = _read(Path(path))
    solution = content["solution"]
    model = SegmentModel(
        features=tuple(content["features"]),
        settings=content["settings"],
        scaler=content["scaler"],
        assigner=Assigner(
            solution["algorithm"], content["estimator"], np.asarray(content["segment_of"]),
            bool(content["soft"]), float(content["training_agreement"]),
        ),
        segment_ids=tuple(content["segment_ids"]),
        centres=np.asarray(content["centres"]),
        training=content["training"],
        categorical=tuple(content.get("categorical", ())),
        categories=tuple(tuple(c) for c in content.get("categories", ())),
    )  # fmt: skip
    tables = {name: _unpack(content[name]) for name in _TABLES}
    labels = content["labels"]
    return Segmentation(
        solution=solution["solution"],
        feature_set=solution["feature_set"],
        scaling=solution["scaling"],
        algorithm=solution["algorithm"],
        features=model.features,
        k=int(solution["k"]),
        seed=int(solution["seed"]),
        labels=pd.Series(
            np.asarray(labels["segment"], dtype=np.int64),
            index=pd.Index(labels["customer_id"], name="customer_id"),
            name="cluster",
        ),
        memberships=None,
        model=model,
        **tables,
    )


def _read(path: Path) -> dict:
    """The file's content, after checking it is a trusted seglab segmentation."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    fix = "point --model at the segmentation.skops a seglab report wrote"
    if not path.is_file():
        raise ModelError(f"no segmentation file at '{path}'; {fix}")
    try:
        found = sio.get_untrusted_types(file=path)
        refused = sorted(set(found) - set(TRUSTED))
        if refused:
            raise ModelError(
                f"'{path}' holds types seglab does not trust ({', '.join(refused[:5])}); it was "
                f"refused without loading it. {fix[0].upper()}{fix[1:]}"
            )
        content = sio.load(path, trusted=[name for name in found if name in TRUSTED])
    except ModelError:
        raise
    except (zipfile.BadZipFile, UntrustedTypesFoundException, KeyError, ValueError, OSError,
            EOFError, TypeError, AttributeError, ImportError) as exc:  # fmt: skip
        raise ModelError(
            f"'{path}' is not a readable segmentation file (skops format): "
            f"{type(exc).__name__}: {exc}. A pickle or joblib file is never loaded; {fix}"
        ) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ModelError(f"'{path}' is a skops file but not a seglab segmentation; {fix}")
    made_by = content.get("seglab_version", "?")
    if content.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"'{path}' was written by seglab {made_by} in segmentation format "
            f"{content.get('format_version')}; this seglab ({version('seglab')}) reads format "
            f"{FORMAT_VERSION}. Render the report again with this seglab to get a new file"
        )
    return content


def _column(values) -> np.ndarray:
    """Numbers as they are, anything else as fixed-width text (no object arrays in the file)."""
    array = np.asarray(values)
    return array if array.dtype.kind in "biuf" else array.astype(str)


def _pack(frame: pd.DataFrame) -> dict:
    """A table as plain columns: missing text as None, index kept."""

    def plain(series: pd.Series):
        if series.dtype.kind in "biuf":
            return series.to_numpy()
        return [None if pd.isna(value) else str(value) for value in series]

    return {
        "index": plain(frame.index.to_series()),
        "index_name": frame.index.name,
        "columns": [str(c) for c in frame.columns],
        "values": [plain(frame[c]) for c in frame.columns],
    }


def _unpack(packed: dict) -> pd.DataFrame:
    columns = {
        name: values for name, values in zip(packed["columns"], packed["values"], strict=True)
    }
    index = pd.Index(packed["index"], name=packed["index_name"])
    return pd.DataFrame(columns, index=index)

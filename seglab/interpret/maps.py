"""Two-dimensional maps of customers (PCA, UMAP), seeded and sampled above a size.

UMAP's first call in a process compiles for about a minute on a 2-core machine (numba), so the
run stage keeps every embedding in its cache; reports draw PCA maps unless the config asks for
UMAP too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from seglab.checks import sample_rows
from seglab.errors import ConfigError
from seglab.registry import Registry

__all__ = ["METHODS", "embed", "pca_axes"]

METHODS: Registry = Registry("map method")
METHODS.register("pca", lambda seed: PCA(n_components=2, random_state=seed))


def _umap(seed: int):
    import umap  # imported on demand: importing it costs seconds

    return umap.UMAP(n_components=2, random_state=seed, n_neighbors=15, min_dist=0.1)


METHODS.register("umap", _umap)


def embed(
    scaled: np.ndarray,
    method: str = "pca",
    *,
    max_points: int = 20_000,
    random_state: int = 0,
) -> pd.DataFrame:
    """A 2-D embedding of the scaled features, on a seeded sample above `max_points` customers.

    Parameters
    ----------
    scaled : ndarray of shape (n_customers, n_features)
        The clustered (scaled) features.
    method : {"pca", "umap"}
        The embedding.
    max_points : int
        Above this many customers, a seeded random sample of this size is embedded.
    random_state : int
        Seed of the sample and the method.

    Returns
    -------
    DataFrame
        ``row`` (position of the customer in `scaled`), ``x``, ``y``; sorted by row.

    Raises
    ------
    ConfigError
        If `scaled` has fewer than two features (no clustering algorithm needs two; the map does).
    """
    build = METHODS.get(method)
    if scaled.shape[1] < 2:
        raise ConfigError(
            f"the {method} map draws customers in two dimensions and needs at least two "
            f"clustered features, but got {scaled.shape[1]}; cluster on a feature set of two "
            f"or more features, or leave '{method}' out of clustering.maps"
        )
    rows = sample_rows(scaled.shape[0], max_points, random_state)
    coordinates = build(random_state).fit_transform(scaled[rows])
    return pd.DataFrame({"row": rows, "x": coordinates[:, 0], "y": coordinates[:, 1]})


def pca_axes(
    scaled: np.ndarray,
    features: Sequence[str],
    *,
    max_points: int = 20_000,
    random_state: int = 0,
    top: int = 3,
) -> pd.DataFrame:
    """What the two axes of the PCA map are: explained variance and the largest loadings.

    Fitted on the same seeded sample as :func:`embed`, so it describes that map exactly.
    Returns ``axis`` (x, y), ``explained`` (share of variance) and ``label`` for the figure.
    """
    rows = sample_rows(scaled.shape[0], max_points, random_state)
    pca = METHODS.get("pca")(random_state).fit(scaled[rows])
    names = list(features) if len(features) == scaled.shape[1] else [
        f"component {i + 1}" for i in range(scaled.shape[1])
    ]  # fmt: skip
    records = []
    for axis, share, loadings in zip(
        "xy", pca.explained_variance_ratio_, pca.components_, strict=True
    ):
        order = np.argsort(-np.abs(loadings), kind="stable")[:top]
        mostly = ", ".join(f"{names[i]} {loadings[i]:+.2f}" for i in order)
        records.append(
            {"axis": axis, "explained": float(share),
             "label": f"PC{'xy'.index(axis) + 1} ({share:.0%} of variance): {mostly}"}
        )  # fmt: skip
    return pd.DataFrame(records)

"""The interpretation stage: what sets each segment apart, in rules, personas, answers and maps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import linkage

from seglab.checks import sample_rows
from seglab.evaluate.indices import silhouette_values
from seglab.interpret.maps import pca_axes
from seglab.interpret.profile import (
    Rules,
    boundary_customers,
    category_shares,
    distinguishing_features,
    personas,
    segment_answers,
    surrogate_rules,
    top_items,
)
from seglab.interpret.segmentation import Segmentation

__all__ = ["Interpretation", "interpret"]

#: Customers in the sample whose Ward tree the dendrogram draws.
TREE_SAMPLE = 2_000


@dataclass(frozen=True)
class Interpretation:
    """The chosen segmentation explained.

    Attributes
    ----------
    distinguishing : DataFrame
        The features that set each segment apart most (``segment``, ``rank``, ``feature``,
        ``difference``).
    rules : Rules
        Readable rules of a small surrogate decision tree, with their fidelity.
    personas : DataFrame
        Each segment's most typical customer.
    answers : DataFrame
        The practitioners' questions per segment: who, what they bring, what they buy, when.
    boundary : DataFrame or None
        Fuzzy solutions: customers whose highest membership is below the threshold.
    maps : dict of str to DataFrame
        2-D maps by method (``row``, ``x``, ``y``, ``segment`` (its name), ``segment_id``).
    silhouettes : DataFrame
        Per-customer silhouette of a seeded sample (``row``, ``cluster``, ``silhouette``).
    tree : ndarray
        Ward linkage of a seeded sample of the scaled features (for a dendrogram).
    map_axes : DataFrame
        What the PCA map's axes are (``axis``, ``explained``, ``label``); empty without it.
    categories : DataFrame
        Mixed feature sets: each segment's share of every category against the whole (see
        :func:`~seglab.interpret.profile.category_shares`); empty without categories.
    """

    distinguishing: pd.DataFrame
    rules: Rules
    personas: pd.DataFrame
    answers: pd.DataFrame
    boundary: pd.DataFrame | None
    maps: dict[str, pd.DataFrame]
    silhouettes: pd.DataFrame
    tree: np.ndarray
    map_axes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["axis", "explained", "label"])
    )
    categories: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_CATEGORIES))

    def map(self, method: str = "pca") -> pd.DataFrame | None:
        """The 2-D map drawn with `method`, None when the config did not ask for it."""
        return self.maps.get(method)

    def category_table(self) -> pd.DataFrame:
        """Category shares as one row per category: all customers, then each segment."""
        if self.categories.empty:
            return pd.DataFrame({"note": ["the chosen feature set has no categorical columns"]})
        wide = self.categories.pivot_table(
            index=["column", "category"], columns="segment", values="share", sort=False
        )
        overall = self.categories.groupby(["column", "category"], sort=False)["overall_share"]
        return wide.rename(columns=str).assign(**{"all customers": overall.first()}).reset_index()


_CATEGORIES = ["column", "category", "segment", "share", "overall_share", "lift"]


def interpret(
    segmentation: Segmentation,
    customers: pd.DataFrame,
    transactions,
    *,
    maps: Mapping[str, pd.DataFrame],
    rules_depth: int = 3,
    boundary_threshold: float = 0.6,
    map_sample: int = 20_000,
    random_state: int = 0,
    categorical: tuple[str, ...] = (),
) -> Interpretation:
    """Explain `segmentation` over the customer table it was fitted on.

    Parameters
    ----------
    segmentation : Segmentation
        The chosen solution, with its scaled features in memory.
    customers : DataFrame
        The customer table (features and attributes).
    transactions : ibis Table
        Clean transactions, for the items each segment buys most.
    maps : mapping of str to DataFrame
        2-D embeddings (``row``, ``x``, ``y``) by method; the segment names are added here.
    rules_depth : int
        Depth of the surrogate decision tree.
    boundary_threshold : float
        Fuzzy customers whose highest membership is below this are boundary customers.
    map_sample : int
        The sample size of the maps (the PCA axes are described on the same sample).
    random_state : int
        Seed of the samples (personas, silhouettes, tree).
    categorical : tuple of str
        The categorical columns of a mixed feature set, profiled by their shares.
    """
    labels, scaled = segmentation.labels, segmentation.scaled
    used = customers[list(segmentation.features)]
    names, ids = segmentation.segment_names.to_numpy(), segmentation.segment_ids.to_numpy()
    memberships = segmentation.memberships
    return Interpretation(
        distinguishing=distinguishing_features(segmentation.differences),
        rules=surrogate_rules(used, labels, depth=rules_depth),
        personas=personas(scaled, customers, labels, random_state=random_state),
        answers=segment_answers(customers, labels, top_items(transactions, labels)),
        boundary=(
            None if memberships is None else boundary_customers(memberships, boundary_threshold)
        ),
        maps={
            method: embedding.assign(
                segment=names[embedding["row"].to_numpy()],
                segment_id=ids[embedding["row"].to_numpy()],
            )
            for method, embedding in maps.items()
        },
        silhouettes=silhouette_values(scaled, labels.to_numpy(), random_state=random_state),
        tree=linkage(scaled[sample_rows(len(scaled), TREE_SAMPLE, random_state)], "ward"),
        **(
            {"map_axes": pca_axes(scaled, segmentation.features, max_points=map_sample,
                                  random_state=random_state)}
            if "pca" in maps else {}
        ),
        **(
            {"categories": category_shares(customers, segmentation.segment_ids, categorical)}
            if categorical else {}
        ),
    )  # fmt: skip

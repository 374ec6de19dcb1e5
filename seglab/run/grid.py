"""The experiment grid: feature set x scaling x algorithm x k x seed, cached and resumable.

Each fitted solution is cached under ``data/interim/solutions`` keyed by the feature table's
fingerprint and every setting that shapes it, as soon as it is fitted: a rerun with one changed
setting computes only what changed, and an interrupted run resumes where it stopped. Results come
back as tidy tables (one row per solution, every metric and its timing); labels and memberships
are retrievable by solution id.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from joblib.externals.loky import get_reusable_executor
from sklearn import config_context
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from seglab.checks import sample_rows
from seglab.cluster import FittedSolution, fit_many
from seglab.cluster.algorithms import ALGORITHMS, check_params, takes
from seglab.cluster.scaling import FeatureScaler
from seglab.errors import ConfigError, DataError
from seglab.evaluate.choice import gap_statistic
from seglab.evaluate.indices import evaluate_solution, reuse_distances
from seglab.evaluate.selection import solution_id
from seglab.features import FEATURES, categorical_columns, resolve_feature_set
from seglab.features.categorical import (
    check_attribute_columns,
    encode_categories,
    learn_categories,
)
from seglab.progress import progress_bar
from seglab.registry import suggest
from seglab.run.cache import Cache, make_key
from seglab.run.config import Config

__all__ = ["Grid", "Scaled", "array_key", "gap_table", "release_workers", "run_grid", "workers"]

log = logging.getLogger(__name__)

#: prctl option: the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1
#: scikit-learn's memory for chunked distance computations in a job (its default is 1 GB).
WORKING_MB = 256
GAP_SAMPLE = 2_000
GAP_REFERENCES = 10
#: Model criteria an algorithm may measure (``AlgorithmSpec.criteria``), kept with its solutions.
MODEL_CRITERIA = ("bic", "aic")


@dataclass(frozen=True)
class Scaled:
    """One (feature set, scaling) of the grid: the fitted scaler and the scaled features.

    For a mixed feature set, also its categorical columns, their categories and the customers'
    codes (:mod:`seglab.features.categorical`); the scaling touches the numbers only.
    """

    scaler: FeatureScaler
    X: np.ndarray
    categorical: tuple[str, ...] = ()
    categories: tuple[tuple[str, ...], ...] = ()
    codes: np.ndarray | None = None

    @property
    def clustered(self) -> np.ndarray:
        """What the algorithms cluster: the scaled numbers, then the category codes."""
        return self.X if self.codes is None else np.column_stack([self.X, self.codes])

    @property
    def positions(self) -> tuple[int, ...]:
        """Positions of the category codes in :attr:`clustered` (none for numbers only)."""
        return tuple(range(self.X.shape[1], self.X.shape[1] + len(self.categorical)))


@dataclass(frozen=True)
class Grid:
    """What a grid run produced: tidy tables, and in memory each solution's labels by id.

    Attributes
    ----------
    results : DataFrame
        One row per solution: id, feature set, scaling, algorithm, k, seed, every metric,
        ``fit_seconds``, ``fit_sampled`` (the algorithm clustered a seeded sample and assigned
        the others: ``gower_hierarchical`` above ``max_exact``) and ``cached``; with a Gaussian
        mixture in the grid, also ``bic`` and ``aic`` (NaN for the algorithms that do not
        measure them).
    gap : DataFrame
        Gap statistic per numeric (feature set, scaling), from k-means on a seeded sample; none
        for a mixed feature set (k-means on its numbers would ignore its categories).
    cache_hits, computed : int
        Solutions read from the cache and fitted in this run.
    notes : list of str
        What the grid left out and why (a feature set the data cannot give).
    customer_ids : Index
        The customers, in the row order of every labelling (in memory only).
    solutions : mapping
        Solution id -> :class:`~seglab.cluster.FittedSolution` (in memory only).
    scaled : mapping
        (feature set, scaling) -> :class:`Scaled` (in memory only).
    """

    results: pd.DataFrame
    gap: pd.DataFrame
    cache_hits: int
    computed: int
    notes: list[str]
    customer_ids: pd.Index = field(
        default_factory=lambda: pd.Index([]), metadata={"transient": True}
    )
    solutions: Mapping[str, FittedSolution] = field(
        default_factory=dict, metadata={"transient": True}
    )
    scaled: Mapping[tuple[str, str], Scaled] = field(
        default_factory=dict, metadata={"transient": True}
    )

    def labels(self, solution: str) -> pd.Series:
        """Hard labels of one solution, indexed by customer (0 = largest cluster)."""
        return pd.Series(
            self.fitted(solution).labels, index=self.customer_ids, name="cluster"
        ).astype("int64")

    def series(self, solution: str) -> pd.DataFrame:
        """Every solution on the same features, scaling and seed as `solution` (all algorithms
        and k), with the gap statistic: the evidence for k around it."""
        row = self.results.set_index("solution").loc[solution]
        keys = ["feature_set", "scaling", "seed"]
        same = (self.results[keys] == row[keys].to_numpy()).all(axis=1)
        gap = self.gap[["feature_set", "scaling", "algorithm", "seed", "k", "gap"]]
        return self.results[same].merge(gap, on=[*keys, "algorithm", "k"], how="left")

    def fitted(self, solution: str) -> FittedSolution:
        """The fitted solution `solution` (labels, memberships, centres)."""
        try:
            return self.solutions[solution]
        except KeyError:
            known = sorted(self.solutions)
            raise ConfigError(
                f"unknown solution '{solution}'{suggest(solution, known) or '.'} "
                f"The grid has {len(known)} solutions, e.g. {known[0] if known else '-'}."
            ) from None


def run_grid(
    config: Config, features: pd.DataFrame, cache: Cache, *, progress: bool = True
) -> Grid:
    """Run the config's experiment grid on a feature table and score every solution.

    Parameters
    ----------
    config : Config
        The run config (its ``experiments`` section is the grid).
    features : DataFrame
        The customer table (one row per customer, the features as columns; the attribute
        columns too when a feature set names categorical columns).
    cache : Cache
        Where fitted solutions, gap tables and stability figures are kept.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Grid

    Raises
    ------
    ConfigError
        Before any work, for a parameter that an algorithm does not take; for a feature set that
        a scaling cannot prepare (fewer features than ``pca`` components, all constant); for
        categorical columns the customer table lacks.
    DataError
        When ``k_max`` exceeds the number of customers or features hold NaN or infinite values.
    """
    grid = config.experiments
    for algorithm, params in grid.params.items():
        check_params(algorithm, params)
    if grid.k_max > len(features):
        raise DataError(
            f"experiments.k_max={grid.k_max} is larger than the {len(features)} customers; "
            f"lower k_max to at most {len(features)} or cluster more customers"
        )
    feature_sets, notes = _usable_feature_sets(features, config)
    scaled = _scale(features, config, feature_sets)
    data_keys = {key: array_key(item.clustered) for key, item in scaled.items()}
    jobs = [
        (feature_set, scaling, algorithm, seed)
        for feature_set in feature_sets
        for scaling in grid.scalings
        for algorithm in grid.algorithms
        if takes(algorithm, scaled[feature_set, scaling].categorical)
        for seed in grid.seeds
    ]
    notes += _pairs_left_out(scaled, feature_sets, grid)
    rows, solutions, hits = [], {}, 0
    trim_heap()
    with workers():
        outputs = Parallel(n_jobs=grid.n_jobs, return_as="generator_unordered")(
            delayed(_run_job)(
                scaled[job[:2]].clustered, scaled[job[:2]].positions, job, grid.ks,
                grid.params.get(job[2], {}), cache.root, data_keys[job[:2]],
                (grid.silhouette_exact_max, grid.silhouette_sample),
            )
            for job in jobs
        )  # fmt: skip
        for job_rows, job_solutions, job_hits in progress_bar(
            outputs, total=len(jobs), desc="experiments", unit="job", enabled=progress
        ):
            rows += job_rows
            solutions.update(job_solutions)
            hits += job_hits
        results = _tidy(rows, grid)
        gap = _gap_tables(scaled, grid, config.seed, cache, data_keys, progress=progress)
    log.info("%d solutions: %d from the cache, %d fitted", len(rows), hits, len(rows) - hits)
    return Grid(results, gap, hits, len(rows) - hits, notes, features.index, solutions, scaled)


def workers():
    """The worker processes of the grid and the choice (one pool, reused): they follow the run,
    killed with it, and end ten seconds after their last task, or when :func:`release_workers`
    ends them (a run does after the choice)."""
    follow = {"initializer": _follow_parent, "initargs": (os.getpid(),)}
    return parallel_config(backend="loky", idle_worker_timeout=10, **follow)


def trim_heap() -> None:
    """Hand the heap memory this process has freed back to the system before the workers start
    beside it (glibc's ``malloc_trim``; elsewhere nothing). The stages before the grid free
    more than the C library returns by itself: 0.13 GB of 1.6 with a million customers."""
    if sys.platform.startswith("linux"):
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # absent from musl
        if trim is not None:
            trim(0)


def release_workers() -> None:
    """End the worker processes now rather than after their idle timeout: the stages after the
    choice run in this process, and the maps and profiles need the memory (1M customers: the
    two workers held 0.8 GB during the profile stage)."""
    get_reusable_executor(reuse=True).shutdown(wait=True, kill_workers=True)


def array_key(X: np.ndarray) -> str:
    """Fingerprint of the exact scaled array a job clusters: every setting that shapes it
    (feature set members, scaling, winsorising, PCA, seed, the data) is in its bytes."""
    return make_key(str(X.shape), hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest())


def _pairs_left_out(scaled, feature_sets: list[str], grid) -> list[str]:
    """A note for each algorithm that leaves out the feature sets of the other kind."""
    notes = []
    for algorithm in grid.algorithms:
        kinds = {name: scaled[name, grid.scalings[0]].categorical for name in feature_sets}
        skipped = [name for name, categorical in kinds.items() if not takes(algorithm, categorical)]
        if skipped:
            kind = "numbers and categories" if ALGORITHMS.get(algorithm).mixed else "numbers only"
            notes.append(
                f"{algorithm} clusters {kind}, so it leaves out feature set(s) {', '.join(skipped)}"
            )
    return notes


def _usable_feature_sets(features: pd.DataFrame, config: Config) -> tuple[list[str], list[str]]:
    """The grid's feature sets the data can give, and a note for each one it cannot.

    A feature set the config names explicitly is refused with a ConfigError when a feature is
    missing (say a log without product ids and ``product_breadth``); a default one is skipped.
    Categorical columns the customer table lacks are a ConfigError (only a config names them).
    """
    explicit = "feature_sets" in config.experiments.model_fields_set
    usable, notes = [], []
    for feature_set in config.experiments.feature_sets:
        check_attribute_columns(
            features, categorical_columns(feature_set, config.features.sets),
            f"feature set '{feature_set}'",
        )  # fmt: skip
        columns = resolve_feature_set(feature_set, config.features.sets)
        missing = [c for c in columns if c not in features.columns]
        if not missing:
            usable.append(feature_set)
            continue
        needs = sorted({n for c in missing if c in FEATURES for n in FEATURES.get(c).needs})
        why = f" (they need the column(s) {', '.join(needs)})" if needs else ""
        message = (
            f"feature set '{feature_set}' needs {', '.join(missing)}, which the data cannot "
            f"give{why}"
        )
        if explicit:
            raise ConfigError(
                f"experiments.feature_sets: {message}; map the column under data.columns or "
                f"leave '{feature_set}' out of experiments.feature_sets"
            )
        notes.append(f"{message}: the grid skips it")
    if not usable:
        raise DataError(
            "no feature set of the grid can be computed from this data: " + "; ".join(notes)
        )
    return usable, notes


def _scale(
    features: pd.DataFrame, config: Config, feature_sets: list[str]
) -> dict[tuple[str, str], Scaled]:
    """Fitted scaler and scaled features per (feature set, scaling), shared by every job."""
    grid = config.experiments
    scaled = {}
    for feature_set in feature_sets:
        columns = list(resolve_feature_set(feature_set, config.features.sets))
        categorical = categorical_columns(feature_set, config.features.sets)
        categories = learn_categories(features, categorical)
        codes = encode_categories(features, categorical, categories) if categorical else None
        for scaling in grid.scalings:
            scaler = FeatureScaler(
                scaling, winsorize=grid.winsorize, pca=grid.pca, random_state=config.seed
            )
            try:
                X = scaler.fit_transform(features[columns])
            except ConfigError as exc:
                raise ConfigError(
                    f"feature set '{feature_set}', scaling '{scaling}': {exc}"
                ) from None
            scaled[feature_set, scaling] = Scaled(scaler, X, categorical, categories, codes)
    return scaled


def _run_job(X, categorical, job, ks, params, cache_root, data_key, silhouette):
    """Fit (or read from the cache) one (feature set, scaling, algorithm, seed) at every k.

    `categorical` are the positions of the category codes in `X` (a mixed feature set). Jobs
    run side by side on the cores, so each keeps its numerical libraries to one thread.
    """
    with threadpool_limits(limits=1), config_context(working_memory=WORKING_MB):
        return _fit_job(X, categorical, job, ks, params, cache_root, data_key, silhouette)


def _follow_parent(parent: int, poll_seconds: float = 0.5) -> None:
    """Make this worker process end as soon as the run `parent` that started it is gone (killed,
    say), instead of holding its memory until joblib's idle timeout.

    On Linux the kernel kills the worker when its parent dies (``PR_SET_PDEATHSIG``), even while
    compiled code holds the GIL; elsewhere a thread polls the parent.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the run died before this worker was ready
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="seglab-parent-watch", daemon=True).start()


def _fit_job(X, categorical, job, ks, params, cache_root, data_key, silhouette):
    feature_set, scaling, algorithm, seed = job
    cache = Cache(cache_root)
    keys = {k: make_key(data_key, categorical, job, params, k, silhouette) for k in ks}
    found = {k: cache.load_arrays("solutions", key) for k, key in keys.items()}
    missing = [k for k, stored in found.items() if stored is None]
    fitted = {}
    if missing:
        # A tree is built once for every k; other algorithms fit each k apart, so one at a time:
        # only one solution's float64 memberships are held (1M customers, k = 8: 64 MB).
        batches = [missing] if ALGORITHMS.get(algorithm).tree else [[k] for k in missing]
        with reuse_distances():
            for batch in batches:
                fits = fit_many(
                    X, algorithm, batch, random_state=seed, categorical=categorical, **params
                )
                for solution in fits:
                    metrics = _metrics(X, categorical, solution, params, silhouette, seed)
                    meta = {
                        **metrics, **solution.criteria, "fit_seconds": solution.seconds,
                        "fit_notes": solution.notes, "fit_sampled": solution.sampled,
                    }  # fmt: skip
                    arrays = _compact(solution)
                    cache.save_arrays("solutions", keys[solution.k], meta, **arrays)
                    found[solution.k] = {**arrays, "meta": meta}
                    fitted[solution.k] = True
                del fits, solution  # the float64 memberships go before the next k is fitted
    rows, solutions = [], {}
    for k in ks:
        stored = found[k]
        sid = solution_id(feature_set, scaling, algorithm, k, seed)
        meta = stored["meta"]
        solutions[sid] = FittedSolution(
            k, stored["labels"], stored.get("memberships"), stored.get("centres"),
            meta["fit_seconds"], meta["fit_notes"],
            {name: meta[name] for name in MODEL_CRITERIA if name in meta},
            bool(meta.get("fit_sampled", False)),
        )  # fmt: skip
        rows.append(
            {
                "solution": sid, "feature_set": feature_set, "scaling": scaling,
                "algorithm": algorithm, "k": k, "seed": seed, **stored["meta"],
                "cached": k not in fitted,
            }
        )  # fmt: skip
    return rows, solutions, len(ks) - len(missing)


def _compact(solution: FittedSolution) -> dict[str, np.ndarray]:
    """The arrays of a solution as cached and sent back to the run: labels as int16 and
    memberships as float32 (1M customers at k = 8: 2 MB and 32 MB instead of 8 and 64), measured
    before on the fit's own float64 memberships."""
    labels = solution.labels
    arrays = {"labels": labels.astype(np.int16 if solution.k < 2**15 else np.int32)}
    if solution.memberships is not None:
        arrays["memberships"] = np.asarray(solution.memberships, dtype=np.float32)
        arrays["centres"] = solution.centres
    return arrays


def _metrics(X, categorical, solution: FittedSolution, params, silhouette, seed) -> dict:
    exact_max, sample = silhouette
    metrics = evaluate_solution(
        X,
        solution.labels,
        memberships=solution.memberships,
        centres=solution.centres,
        m=params.get("m", 2.0),
        silhouette_max_exact=exact_max,
        silhouette_sample_size=sample,
        random_state=seed,
        categorical=categorical,
    ).to_dict()
    metrics["sizes"] = ",".join(map(str, metrics["sizes"]))
    return metrics


def _tidy(rows: list[dict], grid) -> pd.DataFrame:
    """One row per solution, in grid order (independent of the order jobs finished)."""
    order = {
        "feature_set": grid.feature_sets,
        "scaling": grid.scalings,
        "algorithm": grid.algorithms,
        "seed": grid.seeds,
    }
    results = pd.DataFrame(rows)
    sort_keys = [results[c].map({v: i for i, v in enumerate(o)}) for c, o in order.items()]
    results = results.assign(**{f"_{i}": key for i, key in enumerate(sort_keys)})
    results = results.sort_values([f"_{i}" for i in range(len(sort_keys))] + ["k"])
    return results.drop(columns=[f"_{i}" for i in range(len(sort_keys))]).reset_index(drop=True)


def gap_table(X: np.ndarray, ks, seed: int, cache: Cache, data_key: str) -> pd.DataFrame:
    """Gap statistic of the scaled data `X` at every k of `ks` (and 1), on a seeded sample of at
    most GAP_SAMPLE customers, with k-means as the clustering of data and references: it
    measures how much cluster structure the data hold at each k, whichever algorithm then
    partitions them (running every algorithm on the references would cost the grid's whole time
    budget). Cached under the data, ks and seed."""
    ks = [k for k in ks if k <= min(len(X), GAP_SAMPLE)]
    key = make_key(data_key, ks, seed, GAP_SAMPLE, GAP_REFERENCES)
    # The same customers for every scaling, in the order they were drawn.
    sample = X[sample_rows(len(X), GAP_SAMPLE, seed, ordered=False)]

    def compute() -> pd.DataFrame:
        # 110 fits on a small sample: one thread each is faster than a team, and its sums do
        # not depend on the machine's core count.
        with threadpool_limits(limits=1):
            return gap_statistic(
                sample,
                ks,
                lambda data, n: KMeans(n, n_init=1, random_state=seed).fit_predict(data),
                n_references=GAP_REFERENCES,
                random_state=seed,
            )

    return cache.frame("gap", key, compute)


def _gap_tables(scaled, grid, seed: int, cache: Cache, data_keys, *, progress: bool):
    """:func:`gap_table` of every (feature set, scaling), repeated for its series; the spaces
    share the cores (inside the grid's ``parallel_config``); none for a mixed feature set."""
    numeric = {space: item for space, item in scaled.items() if not item.categorical}
    outputs = Parallel(n_jobs=grid.n_jobs)(
        delayed(gap_table)(item.X, grid.ks, seed, cache, data_keys[space])
        for space, item in numeric.items()
    )
    tables = []
    for (feature_set, scaling), table in progress_bar(
        zip(numeric, outputs, strict=True), desc="gap statistic", unit="space",
        total=len(numeric), enabled=progress,
    ):  # fmt: skip
        for algorithm in grid.algorithms:
            for grid_seed in grid.seeds:
                labelled = table.assign(
                    feature_set=feature_set, scaling=scaling, algorithm=algorithm, seed=grid_seed
                )
                tables.append(labelled)
    if not tables:  # every feature set is mixed
        columns = ["k", "log_w", "ref_log_w", "gap", "sd", "gap_se", "n_references"]
        return pd.DataFrame(columns=[*columns, "feature_set", "scaling", "algorithm", "seed"])
    return pd.concat(tables, ignore_index=True)

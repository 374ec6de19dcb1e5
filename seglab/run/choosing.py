"""The choice stage: apply the rule of :mod:`seglab.evaluate.selection` to a grid.

Here live the steps that need the grid's fitted solutions and the customer table: silhouettes in
each feature set's reference space, bootstrap stability of the leading candidates (refits), and
the gap statistic in the reference space of the chosen feature set.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from seglab.checks import sample_rows
from seglab.cluster import FeatureScaler, fit_many
from seglab.errors import ConfigError, SeglabWarning
from seglab.evaluate.choice import gap_choice
from seglab.evaluate.indices import evaluate_solution
from seglab.evaluate.selection import (
    SERIES,
    Choice,
    Rules,
    eligibility,
    explain,
    rank_candidates,
    series_winners,
    solution_id,
)
from seglab.evaluate.selection import constrain as meet
from seglab.evaluate.stability import bootstrap_stability, seed_stability
from seglab.features import Features, resolve_feature_set
from seglab.progress import progress_bar
from seglab.run.cache import Cache, make_key
from seglab.run.config import Config
from seglab.run.grid import Grid, array_key, gap_table, workers

__all__ = ["REFERENCE_SCALING", "choose"]

#: The scaling of every feature set's reference space (see seglab.evaluate.selection).
REFERENCE_SCALING = "log_standard"
#: Customers in the seeded sample the reference silhouettes are computed on.
REFERENCE_SAMPLE = 3_000


def choose(
    config: Config, grid: Grid, features: Features, cache: Cache, *, progress: bool = False
) -> Choice:
    """The solution the run shows, with the evidence; see :mod:`seglab.evaluate.selection`.

    Raises
    ------
    ConfigError
        When ``choose: config`` names a solution the grid does not hold.
    """
    spec = config.clustering
    rules = Rules(spec.min_segment_share, spec.min_segment_size, spec.min_stability)
    table = eligibility(grid.results, rules)
    results = grid.results if spec.choose == "config" else meet(grid.results, spec.constraints)
    if results.empty:
        raise ConfigError(
            "no solution of the grid meets the clustering constraints "
            f"({', '.join(f'{k}: {v}' for k, v in spec.constraints.items() if v is not None)}); "
            "widen them or the experiment grid"
        )
    winners, votes = series_winners(results, table, grid.gap)
    references = _reference_spaces(config, features, grid)
    named = None
    if spec.choose == "config":
        named = solution_id(spec.feature_set, spec.scaling, spec.algorithm, spec.k, spec.seed or 0)
        if named not in set(grid.results["solution"]):
            raise ConfigError(
                f"clustering names the solution {named}, which the experiment grid does not "
                "hold; add its feature set, scaling, algorithm, k and seed to 'experiments', or "
                "set clustering.choose: vote"
            )
    winners = winners.assign(
        reference_silhouette=[
            _reference_silhouette(references, grid, row.feature_set, row.solution, config.seed)
            for row in winners.itertuples()
        ]
    )
    ranked = rank_candidates(winners, table)
    if named is not None and named not in set(ranked["solution"]):
        ranked = pd.concat([_alone(named, grid, table, references, config), ranked])
    ranked, stability = _stable(ranked, grid, config, cache, rules, named, progress)
    structure = True
    if named is not None:
        solution = named
    elif len(ranked) and ranked["eligible"].iloc[0]:
        solution = ranked["solution"].iloc[0]
    else:
        solution, structure = _practical(results, table), False
        measured = _measure_stability(solution, grid, config, cache)
        alone = _alone(solution, grid, table, references, config)
        alone = alone.assign(**{key: value for key, value in measured.items() if key != "solution"})
        ranked = pd.concat([alone, ranked]).assign(rank=lambda t: np.arange(1, len(t) + 1))
        stability = pd.concat([stability, pd.DataFrame([measured])], ignore_index=True)
    feature_set = grid.results.set_index("solution").loc[solution, "feature_set"]
    gap_k = None
    if not grid.scaled[feature_set, config.experiments.scalings[0]].categorical:
        gap_k = _reference_gap_k(references[feature_set], grid, config, cache)
    structure = structure and gap_k != 1
    candidates = _with_named_first(ranked, solution)
    statement = explain(
        candidates, votes, structure=structure, gap_k=gap_k, chosen_by=spec.choose,
        constraints=spec.constraints if named is None else {},
    )  # fmt: skip
    mine = votes if votes.empty else _series_votes(votes, grid, solution)
    return Choice(solution, spec.choose, structure, statement, candidates, table, mine, stability)


def _reference_spaces(config: Config, features: Features, grid: Grid) -> dict[str, np.ndarray]:
    """Each feature set's reference space on the seeded sample of customers: a mixed set's
    category codes (as the grid clustered them) follow its log-scaled numbers."""
    rows = sample_rows(len(features.table), REFERENCE_SAMPLE, config.seed)
    spaces = {}
    for feature_set in sorted(set(grid.results["feature_set"])):
        columns = list(resolve_feature_set(feature_set, config.features.sets))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeglabWarning)  # constant features: said by the grid
            scaled = FeatureScaler(REFERENCE_SCALING).fit_transform(features.table[columns])
        codes = grid.scaled[feature_set, config.experiments.scalings[0]].codes
        spaces[feature_set] = (
            scaled[rows] if codes is None else np.column_stack([scaled, codes])[rows]
        )
    return {**spaces, "_rows": rows}


def _reference_silhouette(references, grid: Grid, feature_set: str, solution: str, seed: int):
    """The solution's silhouette in its feature set's reference space (Gower when mixed)."""
    labels = grid.fitted(solution).labels[references["_rows"]]
    X = references[feature_set]
    row = grid.results.set_index("solution").loc[solution]
    metrics = evaluate_solution(
        X, labels, silhouette_max_exact=len(X) + 1, silhouette_sample_size=2, random_state=seed,
        categorical=grid.scaled[feature_set, row["scaling"]].positions,
    )  # fmt: skip
    return metrics.silhouette


def _stable(ranked, grid, config, cache, rules, named, progress=False):
    """Measure the stability of the leading candidates (and of a named solution), mark those
    with a segment under ``min_stability`` ineligible, and keep measuring until
    ``stability_top`` eligible candidates are measured or none is left."""
    measured: dict[str, dict] = {}
    wanted = config.experiments.stability_top
    if named is not None and wanted:
        measured[named] = _measure_stability(named, grid, config, cache)
    while wanted:
        usable = [
            solution
            for solution, eligible in zip(ranked["solution"], ranked["eligible"], strict=True)
            if eligible and _steady(measured.get(solution), rules)
        ]
        todo = [solution for solution in usable[:wanted] if solution not in measured]
        if not todo:
            break
        measured.update(_measure_many(todo, grid, config, cache, progress=progress))
    stability = pd.DataFrame(list(measured.values()))
    if stability.empty:
        return ranked, stability
    ranked = ranked.merge(stability, on="solution", how="left")
    unstable = ranked["bootstrap_min_cluster_jaccard"] < rules.min_stability
    ranked.loc[unstable, "eligible"] = False
    ranked.loc[unstable, "reason"] = [
        f"a segment dissolves under resampling (bootstrap Jaccard {value:.2f} < "
        f"{rules.min_stability:g})"
        for value in ranked.loc[unstable, "bootstrap_min_cluster_jaccard"]
    ]
    ranked = pd.concat([ranked[ranked["eligible"]], ranked[~ranked["eligible"]]])
    return ranked.assign(rank=np.arange(1, len(ranked) + 1)).reset_index(drop=True), stability


def _steady(stability: dict | None, rules: Rules) -> bool:
    return stability is None or stability["bootstrap_min_cluster_jaccard"] >= rules.min_stability


def _measure_stability(solution: str, grid: Grid, config: Config, cache: Cache) -> dict:
    """:func:`_measure_many` of one solution."""
    return _measure_many([solution], grid, config, cache)[solution]


def _measure_many(
    solutions: list[str], grid: Grid, config: Config, cache: Cache, *, progress: bool = False
) -> dict[str, dict]:
    """Bootstrap Jaccard and ARI across seeds of each solution on a seeded subsample of at most
    ``stability_sample`` customers (its size is recorded); cached under the scaled data, the
    solution and the stability settings. The solutions not in the cache share the cores."""
    spec = config.experiments
    found, todo = {}, {}
    for solution in solutions:
        row = grid.results.set_index("solution").loc[solution]
        params = spec.params.get(row["algorithm"], {})
        scaled = grid.scaled[row["feature_set"], row["scaling"]]
        X_all = scaled.clustered
        key = make_key(
            array_key(X_all), solution, params, spec.bootstrap, spec.stability_seeds,
            spec.stability_sample,
        )  # fmt: skip
        stored = cache.load_frame("stability", key)
        if stored is not None:
            found[solution] = stored.iloc[0].to_dict()
            continue
        seed = int(row["seed"])
        sample = sample_rows(len(X_all), spec.stability_sample, seed)
        labels = grid.fitted(solution).labels[sample]
        todo[solution] = (key, X_all[sample], labels, row, params, scaled.positions)
    with workers():
        outputs = Parallel(n_jobs=spec.n_jobs, return_as="generator")(
            delayed(_stability)(
                solution, X, labels, row["algorithm"], int(row["k"]), int(row["seed"]), params,
                spec.bootstrap, spec.stability_seeds, categorical,
            )
            for solution, (_, X, labels, row, params, categorical) in todo.items()
        )  # fmt: skip
        for solution, frame in zip(
            todo,
            progress_bar(outputs, total=len(todo), desc="bootstrap", unit="solution",
                         enabled=progress),
            strict=True,
        ):  # fmt: skip
            cache.save_frame("stability", todo[solution][0], frame)
            found[solution] = frame.iloc[0].to_dict()
    return {solution: found[solution] for solution in solutions}


def _stability(
    solution, X, labels, algorithm, k, seed, params, n_boot, n_seeds, categorical=()
) -> pd.DataFrame:
    """The stability figures of one solution on its subsample, as a one-row table; refits on a
    few thousand customers run one thread each (faster than a team, and machine-independent).
    `categorical`: positions of the category codes in X (mixed feature sets)."""

    def refit(data, with_seed):
        return fit_many(
            data, algorithm, [k], random_state=with_seed, categorical=categorical, **params
        )[0].labels

    with threadpool_limits(limits=1):
        boot = bootstrap_stability(
            X, labels, lambda data: refit(data, seed), n_boot=n_boot, random_state=seed
        )
        seeds = seed_stability(X, refit, seeds=[seed + i for i in range(n_seeds)])
    return pd.DataFrame(
        [{"solution": solution, "stability_n": len(X), **boot.to_dict(), **seeds.to_dict()}]
    )


def _reference_gap_k(X_reference: np.ndarray, grid: Grid, config: Config, cache: Cache) -> int:
    """The gap statistic's 1-SE k in a feature set's reference space (k = 1: no structure)."""
    ks = config.experiments.ks
    table = gap_table(X_reference, ks, config.seed, cache, array_key(X_reference))
    return gap_choice(table)


def _practical(results: pd.DataFrame, table: pd.DataFrame) -> str:
    """With no eligible solution: the one whose smallest segment is largest (a practical
    partition, said as such)."""
    evidence = table[table["solution"].isin(results["solution"])]
    best = evidence.sort_values(["smallest_share", "solution"], ascending=[False, True])
    return best["solution"].iloc[0]


def _alone(solution: str, grid: Grid, table: pd.DataFrame, references, config) -> pd.DataFrame:
    """One solution as a ranked candidates table (the practical partition)."""
    row = grid.results[grid.results["solution"] == solution].assign(
        votes=0, n_voting=0, support=np.nan, voters=""
    )
    feature_set = row["feature_set"].iloc[0]
    row = row.assign(
        reference_silhouette=_reference_silhouette(
            references, grid, feature_set, solution, config.seed
        )
    )
    evidence = table.set_index("solution").loc[solution]
    ranked = rank_candidates(row, table)
    return ranked.assign(eligible=bool(evidence["eligible"]), reason=evidence["reason"])


def _with_named_first(ranked: pd.DataFrame, solution: str) -> pd.DataFrame:
    """The candidates with the chosen solution first (a named one may rank lower, or not at
    all when it was not its series' winner)."""
    if ranked.empty or ranked["solution"].iloc[0] == solution:
        return ranked
    rest = ranked[ranked["solution"] != solution]
    mine = ranked[ranked["solution"] == solution]
    table = pd.concat([mine, rest]) if len(mine) else rest
    return table.assign(rank=np.arange(1, len(table) + 1)).reset_index(drop=True)


def _series_votes(votes: pd.DataFrame, grid: Grid, solution: str) -> pd.DataFrame:
    row = grid.results.set_index("solution").loc[solution]
    return votes[(votes[SERIES] == row[SERIES].to_numpy()).all(axis=1)].reset_index(drop=True)

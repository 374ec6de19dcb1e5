"""The run configuration: one typed, frozen object per run, loaded from YAML and validated.

Unknown keys are errors that name the key and suggest the nearest known one; relative paths
resolve against the folder of the config file.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from seglab.cluster.algorithms import ALGORITHMS, check_params, refuse_mismatch, takes
from seglab.cluster.scaling import SCALERS
from seglab.data.settings import DataConfig
from seglab.errors import ConfigError
from seglab.features.catalogue import categorical_columns, resolve_feature_set
from seglab.features.lifetime import ClvConfig
from seglab.features.settings import FeaturesConfig
from seglab.heuristics.schemes import HeuristicsConfig, default_schemes
from seglab.interpret.identity import SEGMENT_ID
from seglab.run.cache import default_cache_dir
from seglab.settings import Section, check_registered, describe_errors, resolve_path

#: A config name: one folder name (it becomes reports/<name>/).
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)

__all__ = [
    "ClusteringConfig",
    "Config",
    "ExperimentsConfig",
    "as_config",
    "check_date",
    "config_from_dict",
    "load_config",
    "resolve_as_of",
]


class ExperimentsConfig(Section):
    """The experiment grid: feature sets x scalings x algorithms x k x seeds."""

    feature_sets: tuple[str, ...] = Field(("rfm", "value", "behaviour"), min_length=1)
    scalings: tuple[str, ...] = Field(
        ("standard", "log_standard", "robust", "quantile"), min_length=1
    )
    algorithms: tuple[str, ...] = Field(("kmeans", "fuzzy_cmeans", "ward"), min_length=1)
    k_min: int = Field(2, ge=1)
    k_max: int = Field(10, ge=1)
    seeds: tuple[int, ...] = Field((0,), min_length=1)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Extra parameters per algorithm, e.g. {fuzzy_cmeans: {m: 1.8}}."""
    winsorize: tuple[float, float] | None = None
    """Percentiles at which features are clipped before scaling, e.g. [1, 99]."""
    pca: int | float | None = Field(None, gt=0)
    """PCA after scaling: a number of components (>= 1) or a share of variance (< 1)."""
    n_jobs: int = -1
    """Parallel jobs (joblib); -1 uses every core, -2 all but one, 1 no parallelism."""
    silhouette_exact_max: int = Field(10_000, ge=100)
    """Silhouette is exact up to this many customers, and on a seeded sample above."""
    silhouette_sample: int = Field(3_000, ge=100)
    """Size of that sample (at most silhouette_exact_max); recorded with every result."""
    stability_top: int = Field(5, ge=0)
    """How many of the best solutions get bootstrap and seed stability (0: none)."""
    bootstrap: int = Field(20, ge=2)
    stability_seeds: int = Field(3, ge=2)
    stability_sample: int = Field(5_000, ge=100)
    """Stability is measured on a seeded subsample of at most this many customers."""

    @field_validator("scalings")
    @classmethod
    def _known_scalers(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_registered(SCALERS, name) for name in names)

    @field_validator("algorithms")
    @classmethod
    def _known_algorithms(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_registered(ALGORITHMS, name) for name in names)

    @field_validator("params")
    @classmethod
    def _params_of_known_algorithms(cls, params: dict) -> dict:
        for name, values in params.items():
            check_registered(ALGORITHMS, name)
            try:
                check_params(name, values)
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("experiments.params.")) from None
        return params

    @field_validator("n_jobs")
    @classmethod
    def _some_jobs(cls, n_jobs: int) -> int:
        if n_jobs == 0:
            raise ValueError("0 jobs would run nothing; use -1 (every core) or a positive number")
        return n_jobs

    @model_validator(mode="after")
    def _k_range(self) -> ExperimentsConfig:
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        if self.silhouette_sample > self.silhouette_exact_max:
            raise ValueError(
                f"silhouette_sample ({self.silhouette_sample}) must not exceed "
                f"silhouette_exact_max ({self.silhouette_exact_max})"
            )
        return self

    @property
    def ks(self) -> tuple[int, ...]:
        """Every k of the grid."""
        return tuple(range(self.k_min, self.k_max + 1))


class SegmentName(Section):
    """The analyst's name and action for one segment of the chosen solution."""

    name: str = ""
    action: str = ""


Names = str | tuple[str, ...]


class ClusteringConfig(Section):
    """The solution the report shows and how it is interpreted.

    ``choose: vote`` picks it by the rule of :mod:`seglab.evaluate.selection`, among the
    solutions that meet the constraints given here (``feature_set``, ``scaling``, ``algorithm``,
    ``seed``: a name or a list; ``k``: a number or an inclusive range ``[low, high]``).
    ``choose: config`` shows the one solution named by ``feature_set``, ``scaling``,
    ``algorithm``, ``k`` (and ``seed``, 0 by default).
    """

    choose: Literal["vote", "config"] = "vote"
    feature_set: Names | None = None
    scaling: Names | None = None
    algorithm: Names | None = None
    k: int | tuple[int, int] | None = None
    seed: int | tuple[int, ...] | None = None
    min_segment_share: float = Field(0.02, ge=0, lt=1)
    """A solution whose smallest segment holds a smaller share of the customers is ineligible."""
    min_segment_size: int = Field(30, ge=1)
    """A solution whose smallest segment holds fewer customers is ineligible."""
    min_stability: float = Field(0.6, ge=0, le=1)
    """A solution with a segment whose mean bootstrap Jaccard is lower is ineligible."""
    names: dict[str, SegmentName] = Field(default_factory=dict)
    """The analyst's names and actions by segment id: {S1: {name: ..., action: ...}}."""
    reference: Path | None = None
    """A saved segmentation (``segmentation.skops``) whose segment ids, names and actions this
    run's segments inherit when they match (a series uses the previous period's)."""
    match_limit: float = Field(0.5, gt=0)
    """A segment is the reference's when its centre lies within this share of the distance
    from that reference centre to its nearest neighbour; else it is new."""
    boundary_threshold: float = Field(0.6, gt=0, lt=1)
    """Fuzzy customers whose highest membership is below this are boundary customers."""
    maps: tuple[Literal["pca", "umap"], ...] = ("pca",)
    """2-D maps to draw; UMAP costs about a minute the first time in a process."""
    map_sample: int = Field(20_000, ge=100)
    rules_depth: int = Field(3, ge=1, le=6)

    _resolve_reference = field_validator("reference")(resolve_path)

    @field_validator("names", mode="before")
    @classmethod
    def _keyed_by_segment_id(cls, names: Any) -> Any:
        for key in names if isinstance(names, dict) else ():
            if not isinstance(key, str) or not SEGMENT_ID.match(key):
                raise ValueError(
                    f"names are keyed by segment id (S1, S2, ... as the report lists them), "
                    f"got {key!r}; e.g. names: {{S1: {{name: Loyal big spenders}}}}"
                )
        return names

    @field_validator("scaling")
    @classmethod
    def _known_scaler(cls, names: Names | None) -> Names | None:
        for name in _as_list(names):
            check_registered(SCALERS, name)
        return names

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, names: Names | None) -> Names | None:
        for name in _as_list(names):
            check_registered(ALGORITHMS, name)
        return names

    @field_validator("k")
    @classmethod
    def _k_or_range(cls, k: int | tuple[int, int] | None) -> int | tuple[int, int] | None:
        low, high = (k, k) if isinstance(k, int) or k is None else k
        if k is not None and not 1 <= low <= high:
            raise ValueError("k is a number >= 1 or a range [low, high] with low <= high")
        return k

    @model_validator(mode="after")
    def _the_mode_uses_every_setting(self) -> ClusteringConfig:
        if self.choose == "vote":
            return self
        named = {"feature_set": self.feature_set, "scaling": self.scaling,
                 "algorithm": self.algorithm, "k": self.k}  # fmt: skip
        missing = [key for key, value in named.items() if value is None]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise ValueError(
                f"choose: config names one solution, but {', '.join(missing)} {verb} not set; "
                "set feature_set, scaling, algorithm and k, or use choose: vote"
            )
        several = [key for key, value in {**named, "seed": self.seed}.items()
                   if isinstance(value, tuple)]  # fmt: skip
        if several:
            raise ValueError(
                f"{', '.join(several)}: choose: config names one solution, so each takes one "
                "value; a list or range restricts the vote: use choose: vote"
            )
        return self

    @property
    def constraints(self) -> dict[str, object]:
        """What the vote is restricted to (None: no restriction)."""
        return {"feature_set": self.feature_set, "scaling": self.scaling,
                "algorithm": self.algorithm, "k": self.k, "seed": self.seed}  # fmt: skip


def _as_list(names: Names | None) -> list[str]:
    return [] if names is None else [names] if isinstance(names, str) else list(names)


class Config(Section):
    """A whole run: what data, as of when, which analysis, with which seed."""

    name: str
    """Names the report folder ``reports/<name>/``: one path segment of letters, digits, ``_``,
    ``-`` and ``.``, starting with a letter or digit."""
    seed: int = 0
    as_of: dt.date | None = None
    data: DataConfig
    features: FeaturesConfig = FeaturesConfig()
    experiments: ExperimentsConfig = ExperimentsConfig()
    clustering: ClusteringConfig = ClusteringConfig()
    clv: ClvConfig = ClvConfig()
    heuristics: HeuristicsConfig = Field(default_factory=HeuristicsConfig)
    cache_dir: Path | None = None
    """Folder of regenerable caches (features, solutions, runs); null disables caching. When the
    key is absent: ``data/interim`` of the checkout for its own configs, else the user's cache
    directory (see :func:`seglab.run.cache.default_cache_dir`)."""
    source: Path | None = None

    _resolve_cache = field_validator("cache_dir")(resolve_path)

    @field_validator("name")
    @classmethod
    def _one_safe_folder_name(cls, name: str) -> str:
        if not SAFE_NAME.match(name):
            raise ValueError(
                "the name becomes the report folder reports/<name>/, so it must be one folder "
                "name: letters, digits, '_', '-' and '.', starting with a letter or digit, at "
                "most 100 characters (no '/', no '..'); e.g. 'monthly_shop'"
            )
        return name

    @field_validator("as_of")
    @classmethod
    def _plausible_date(cls, as_of: dt.date | None) -> dt.date | None:
        return None if as_of is None else check_date(as_of, "as_of")

    @model_validator(mode="before")
    @classmethod
    def _default_cache(cls, raw: Any, info: ValidationInfo) -> Any:
        if isinstance(raw, dict) and "cache_dir" not in raw:
            base = (info.context or {}).get("base_dir") or Path.cwd()
            raw = {**raw, "cache_dir": default_cache_dir(Path(base))}
        return raw

    @model_validator(mode="before")
    @classmethod
    def _bcg_follows_the_growth_window(cls, raw: Any) -> Any:
        """BCG's "new" cell uses features.growth_months unless ``params.bcg`` sets its own."""
        features = raw.get("features") if isinstance(raw, dict) else None
        months = (
            features.get("growth_months")
            if isinstance(features, dict)
            else getattr(features, "growth_months", None)
        )
        if isinstance(months, bool) or not isinstance(months, int) or months < 1:
            return raw
        if months == default_schemes()["bcg"].params["growth_months"]:
            return raw
        heuristics = raw.get("heuristics") or {}
        if isinstance(heuristics, HeuristicsConfig):
            params = dict(heuristics.params)
        elif isinstance(heuristics, dict) and isinstance(heuristics.get("params") or {}, dict):
            params = dict(heuristics.get("params") or {})
        else:
            return raw
        bcg = params.get("bcg") or {}
        if not isinstance(bcg, dict) or "growth_months" in bcg:
            return raw
        params["bcg"] = {**bcg, "growth_months": months}
        if isinstance(heuristics, HeuristicsConfig):
            heuristics = heuristics.model_copy(update={"params": params})
        else:
            heuristics = {**heuristics, "params": params}
        return {**raw, "heuristics": heuristics}

    @model_validator(mode="after")
    def _known_feature_set(self) -> Config:
        named = [("clustering.feature_set", name) for name in _as_list(self.clustering.feature_set)]
        named += [("experiments.feature_sets", name) for name in self.experiments.feature_sets]
        choosable = _as_list(self.clustering.feature_set) or list(self.experiments.feature_sets)
        for key, name in named:
            try:
                members = resolve_feature_set(name, self.features.sets)
            except ConfigError as exc:
                raise ValueError(f"{key}: {exc}") from None
            if len(members) < 2 and self.clustering.maps and name in choosable:
                raise ValueError(
                    f"{key}: feature set '{name}' has one feature ({members[0]}), but the "
                    f"clustering.maps ({', '.join(self.clustering.maps)}) draw the chosen "
                    "solution in two dimensions; add a feature to the set or set "
                    "clustering.maps: []"
                )
        self._kinds_match()
        k = self.clustering.k
        low, high = (k, k) if isinstance(k, int) else k or (None, None)
        if k is not None and (high < self.experiments.k_min or low > self.experiments.k_max):
            raise ValueError(
                f"clustering.k: {k} is outside the grid's k_min..k_max "
                f"({self.experiments.k_min}..{self.experiments.k_max}); widen experiments or "
                "change clustering.k"
            )
        for key, values in self.clustering.constraints.items():
            grid = {
                "feature_set": self.experiments.feature_sets,
                "scaling": self.experiments.scalings,
                "algorithm": self.experiments.algorithms,
                "seed": self.experiments.seeds,
            }.get(key)
            if grid is None or values is None:
                continue
            missing = [
                v for v in (values if isinstance(values, tuple) else [values]) if v not in grid
            ]
            if missing:
                raise ValueError(
                    f"clustering.{key}: {', '.join(map(str, missing))} is not in the experiment "
                    f"grid (experiments: {', '.join(map(str, grid))}); add it there, or change "
                    f"clustering.{key}"
                )
        return self

    def _kinds_match(self) -> None:
        """Every algorithm has a feature set of its kind in the grid (numeric-only algorithms a
        numeric set, mixed-type ones a set with categorical columns), a solution named by
        ``choose: config`` pairs them, and categorical columns have an attribute table."""
        sets = self.features.sets
        categorical = {
            name: categorical_columns(name, sets) for name in self.experiments.feature_sets
        }
        mixed = [name for name, columns in categorical.items() if columns]
        if mixed and self.data.customers is None:
            raise ValueError(
                f"feature set '{mixed[0]}' names categorical columns "
                f"({', '.join(categorical[mixed[0]])}), which are read from the customer "
                "attribute table: set data.customers to its file"
            )
        for algorithm in self.experiments.algorithms:
            if not any(takes(algorithm, columns) for columns in categorical.values()):
                name = self.experiments.feature_sets[0]
                try:
                    refuse_mismatch(algorithm, f"feature set '{name}'", categorical[name])
                except ConfigError as exc:
                    raise ValueError(
                        f"experiments.algorithms: no feature set of the grid suits {algorithm} "
                        f"({', '.join(self.experiments.feature_sets)}): {exc}"
                    ) from None
        if self.clustering.choose == "config":
            name = self.clustering.feature_set
            try:
                refuse_mismatch(
                    self.clustering.algorithm, f"feature set '{name}'",
                    categorical_columns(name, sets),
                )  # fmt: skip
            except ConfigError as exc:
                raise ValueError(f"clustering: {exc}") from None


def config_from_dict(raw: dict[str, Any], *, base_dir: str | Path = ".", source: str = "config"):
    """Validate a config given as a dict; relative paths resolve against `base_dir`.

    Parameters
    ----------
    raw : dict
        The parsed YAML.
    base_dir : path-like
        Folder that relative paths in the config are relative to.
    source : str
        Name of the config in error messages (usually its file path).

    Returns
    -------
    Config
    """
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: expected a mapping of keys to values, got {type(raw).__name__}"
        )
    try:
        return Config.model_validate(raw, context={"base_dir": Path(base_dir).resolve()})
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, source, Config)) from None


def check_date(day: dt.date, what: str) -> dt.date:
    """`day` when it lies in the years seglab computes with (1900 to 2999), else a ConfigError."""
    if not EARLIEST <= day <= LATEST:
        raise ConfigError(
            f"{what} {day.isoformat()} is outside {EARLIEST.isoformat()} to {LATEST.isoformat()}; "
            "give the date of the data's report period (YYYY-MM-DD)"
        )
    return day


def as_config(config: Config | str | Path) -> Config:
    """`config` itself, or the config read from the YAML file at that path."""
    return config if isinstance(config, Config) else load_config(config)


def resolve_as_of(config: Config, as_of: str | dt.date | None) -> dt.date:
    """The report date: the argument if given, else the config's ``as_of``."""
    if as_of is None:
        as_of = config.as_of
    if as_of is None:
        raise ConfigError("no as_of date: set 'as_of' in the config or pass --as-of YYYY-MM-DD")
    if not isinstance(as_of, dt.date):
        try:
            as_of = dt.date.fromisoformat(str(as_of))
        except ValueError:
            raise ConfigError(f"as_of '{as_of}' is not a date; expected YYYY-MM-DD") from None
    return check_date(as_of, "as_of")


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read and validate a YAML config file, with optional overrides.

    Parameters
    ----------
    path : path-like
        The YAML file.
    overrides : dict, optional
        Nested values that replace the file's (e.g. from a notebook's parameters cell:
        ``{"experiments": {"feature_sets": ["rfm"]}}``); None values are ignored.

    Returns
    -------
    Config
        Frozen; `source` holds the absolute path of the file.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ConfigError(f"config file '{path}' {what}; pass the path of a YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start}); "
            "save the config as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(raw, dict):
        raw = _merge(raw, overrides or {})
        raw = {**raw, "source": str(path.resolve())}
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{key_node.start_mark.name}: key '{key}' is written twice, on lines "
                    f"{seen[key]} and {line}; YAML would silently keep the second: remove one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _merge(base: dict, overrides: dict) -> dict:
    """`base` with `overrides` applied recursively; None in `overrides` keeps the base value.

    >>> _merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3, "c": None}})
    {'a': {'b': 3, 'c': 2}}
    """
    merged = dict(base)
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged

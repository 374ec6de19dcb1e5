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

from seglab.cluster.algorithms import ALGORITHMS, check_params
from seglab.cluster.scaling import SCALERS
from seglab.data.settings import DataConfig
from seglab.errors import ConfigError
from seglab.features.catalogue import resolve_feature_set
from seglab.features.settings import FeaturesConfig
from seglab.heuristics.schemes import HeuristicsConfig
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
    """The analyst's name and action for one cluster of the chosen solution."""

    name: str = ""
    action: str = ""


class ClusteringConfig(Section):
    """The solution the report shows and how it is interpreted.

    With ``choose: vote`` the grid's vote picks it; with ``choose: config`` it is the grid's
    solution named by ``feature_set``, ``scaling``, ``algorithm``, ``k`` and ``seed``.
    """

    choose: Literal["vote", "config"] = "vote"
    feature_set: str = "value"
    scaling: str = "log_standard"
    algorithm: str = "kmeans"
    k: int = Field(7, ge=1)
    seed: int = 0
    names: dict[int, SegmentName] = Field(default_factory=dict)
    """Overrides of the generated cluster names: {cluster: {name: ..., action: ...}}."""
    boundary_threshold: float = Field(0.6, gt=0, lt=1)
    """Fuzzy customers whose highest membership is below this are boundary customers."""
    maps: tuple[Literal["pca", "umap"], ...] = ("pca",)
    """2-D maps to draw; UMAP costs about a minute the first time in a process."""
    map_sample: int = Field(20_000, ge=100)
    rules_depth: int = Field(3, ge=1, le=6)

    @field_validator("scaling")
    @classmethod
    def _known_scaler(cls, name: str) -> str:
        return check_registered(SCALERS, name)

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, name: str) -> str:
        return check_registered(ALGORITHMS, name)


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

    @model_validator(mode="after")
    def _known_feature_set(self) -> Config:
        named = [("clustering.feature_set", self.clustering.feature_set)]
        named += [("experiments.feature_sets", name) for name in self.experiments.feature_sets]
        for key, name in named:
            try:
                members = resolve_feature_set(name, self.features.sets)
            except ConfigError as exc:
                raise ValueError(f"{key}: {exc}") from None
            chosen_from = "config" if key.startswith("clustering") else "vote"
            if len(members) < 2 and self.clustering.maps and self.clustering.choose == chosen_from:
                raise ValueError(
                    f"{key}: feature set '{name}' has one feature ({members[0]}), but the "
                    f"clustering.maps ({', '.join(self.clustering.maps)}) draw the chosen "
                    "solution in two dimensions; add a feature to the set or set "
                    "clustering.maps: []"
                )
        return self

    @property
    def clustering_features(self) -> tuple[str, ...]:
        """The features of the clustering's feature set."""
        return resolve_feature_set(self.clustering.feature_set, self.features.sets)


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

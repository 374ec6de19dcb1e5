"""The run configuration: one typed, frozen object per run, loaded from YAML and validated.

Unknown keys are errors that name the key and suggest the nearest known one; relative paths
resolve against the folder of the config file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from seglab.errors import ConfigError
from seglab.registry import suggest

__all__ = [
    "CleaningConfig",
    "ClusteringConfig",
    "Config",
    "DataConfig",
    "FeaturesConfig",
    "SyntheticConfig",
    "config_from_dict",
    "load_config",
]

CONTRACT_COLUMNS = (
    "customer_id",
    "order_date",
    "amount",
    "order_id",
    "quantity",
    "unit_price",
    "product_id",
    "category",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _resolve(value: Path | None, info: ValidationInfo) -> Path | None:
    base = (info.context or {}).get("base_dir")
    if value is None or value.is_absolute() or base is None:
        return value
    return (Path(base) / value).resolve()


class SyntheticConfig(_Section):
    """Generate the transaction and customer files with `seglab.synth` when they are absent."""

    customers: int = Field(20_000, ge=1)
    seed: int = 0
    start: dt.date = dt.date(2024, 11, 1)
    end: dt.date = dt.date(2026, 10, 31)


class CleaningConfig(_Section):
    """The cleaning policy. Unset values (None) take the preset's default, else the general one.

    Every rule is counted in the cleaning account: rows and revenue it matched and removed.
    """

    return_prefix: str | None = None
    """Order ids starting with this mark returns (preset: "C"); "" or unset: negative amounts."""
    cancellations: Literal["net", "drop"] = "net"
    """Returns are netted against revenue (and feed the returns features) or dropped."""
    non_product_codes: tuple[str, ...] | None = None
    """Product ids that are not products (postage, fees); a trailing * matches a prefix."""
    drop_non_positive_prices: bool = True
    drop_duplicates: bool = False
    """Exact duplicate lines are kept by default (they may be genuine repeated scans)."""
    logistic_minimum: float = Field(0.0, ge=0)
    """Orders worth less than this are ignored for every feature (SEGMENTS.md, scheme 1)."""


class DataConfig(_Section):
    """Where the transactions (and optional customer attributes) are and how to read them."""

    transactions: Path
    customers: Path | None = None
    preset: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    cleaning: CleaningConfig = CleaningConfig()
    synthetic: SyntheticConfig | None = None

    _resolve_paths = field_validator("transactions", "customers")(_resolve)

    @field_validator("columns")
    @classmethod
    def _known_contract_names(cls, columns: dict[str, str]) -> dict[str, str]:
        for name in columns:
            if name not in CONTRACT_COLUMNS:
                raise ValueError(
                    f"'{name}' is not a contract column{suggest(name, list(CONTRACT_COLUMNS))} "
                    f"Contract columns: {', '.join(CONTRACT_COLUMNS)}"
                )
        return columns


class FeaturesConfig(_Section):
    """How customer features are computed, and the analyst's own named feature sets."""

    window_months: int | None = Field(None, ge=1)
    growth_months: int = Field(6, ge=1)
    recent_days: int = Field(91, ge=1)
    sets: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("sets")
    @classmethod
    def _known_features(cls, sets: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        from seglab.features import FEATURES

        for name, members in sets.items():
            if not members:
                raise ValueError(f"feature set '{name}' is empty; name at least one feature")
            for member in members:
                _check_registered(FEATURES, member)
        return sets

    def options(self):
        """The computation options as :class:`seglab.features.FeatureOptions`."""
        from seglab.features import FeatureOptions

        return FeatureOptions(
            window_months=self.window_months,
            growth_months=self.growth_months,
            recent_days=self.recent_days,
        )


class ClusteringConfig(_Section):
    """The one clustering solution the report shows."""

    feature_set: str = "value"
    scaling: str = "log_standard"
    algorithm: str = "kmeans"
    k: int = Field(7, ge=1)
    n_init: int = Field(10, ge=1)

    @field_validator("scaling")
    @classmethod
    def _known_scaler(cls, name: str) -> str:
        from seglab.scaling import SCALERS

        return _check_registered(SCALERS, name)

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, name: str) -> str:
        from seglab.cluster import ALGORITHMS

        return _check_registered(ALGORITHMS, name)


def _check_registered(registry, name: str) -> str:
    try:
        registry.get(name)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return name


class Config(_Section):
    """A whole run: what data, as of when, which analysis, with which seed."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = 0
    as_of: dt.date | None = None
    data: DataConfig
    features: FeaturesConfig = FeaturesConfig()
    clustering: ClusteringConfig = ClusteringConfig()
    source: Path | None = None

    @model_validator(mode="after")
    def _known_feature_set(self) -> Config:
        from seglab.features import resolve_feature_set

        try:
            resolve_feature_set(self.clustering.feature_set, self.features.sets)
        except ConfigError as exc:
            raise ValueError(f"clustering.feature_set: {exc}") from None
        return self

    @property
    def clustering_features(self) -> tuple[str, ...]:
        """The features of the clustering's feature set."""
        from seglab.features import resolve_feature_set

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
        raise ConfigError(_describe(exc, source)) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file.

    Parameters
    ----------
    path : path-like
        The YAML file.

    Returns
    -------
    Config
        Frozen; `source` holds the absolute path of the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist; pass the path of a YAML file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(raw, dict):
        raw = {**raw, "source": str(path.resolve())}
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    errors = sorted(exc.errors(), key=lambda err: err["type"] != "extra_forbidden")
    for err in errors:
        loc = [str(part) for part in err["loc"]]
        key = ".".join(loc)
        if err["type"] == "extra_forbidden":
            known = _known_keys(loc[:-1])
            hint = suggest(loc[-1], known)
            lines.append(f"unknown key '{key}'{hint or '.'} Known keys here: {', '.join(known)}.")
        elif err["type"] == "missing":
            lines.append(f"missing required key '{key}'.")
        else:
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"key '{key}': {message} (got {err.get('input')!r}).")
    return f"{source}: " + " ".join(lines)


def _known_keys(parent: list[str]) -> list[str]:
    model: type[BaseModel] = Config
    for part in parent:
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        model = next(c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel))
    return [name for name in model.model_fields if name != "source"]

"""Scheme specifications: rule tables as data, the defaults of ``schemes.yaml``, the settings.

A scheme (:class:`SchemeSpec`) is named parameters (thresholds), the derived columns it needs
first (:mod:`seglab.heuristics.derived`), an ordered list of segments (a name, a condition of
:mod:`seglab.heuristics.rules`, a description and an optional action) and a fallback label.
:class:`HeuristicsConfig` is the ``heuristics:`` section of a run config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from seglab.errors import ConfigError
from seglab.heuristics.derived import DERIVATIONS
from seglab.heuristics.rules import FUNCTIONS, parse_condition
from seglab.registry import suggest
from seglab.settings import Section, describe_errors

__all__ = [
    "DEFAULT_FLAGS",
    "REVENUE",
    "DeriveSpec",
    "FlagSource",
    "HeuristicsConfig",
    "SchemeSpec",
    "SegmentSpec",
    "as_heuristics_config",
    "default_schemes",
    "resolve_schemes",
    "rules_table",
]

REVENUE = "monetary_total"
"""The revenue column: summaries' revenue and revenue share, conservation to the cent."""

DEFAULT_FLAGS = ("blacklist", "competitor_customer", "occasional")
"""Flags that always exist as boolean columns when the rules run."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEME_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"


def _param_value(value: Any) -> Any:
    scalar = (bool, int, float, str)
    if value is None or isinstance(value, scalar):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, scalar) for v in value):
        return list(value)
    raise ValueError(
        f"a parameter is a number, a text, true/false, a list of those or null, got {value!r}"
    )


ParamValue = Annotated[Any, PlainValidator(_param_value)]


def _value_error(exc: ConfigError) -> ValueError:
    return ValueError(str(exc))


class SegmentSpec(Section):
    """One row of a rule table.

    Parameters
    ----------
    name : str
        The label customers get.
    when : str
        The condition (see :mod:`seglab.rules`); parsed and checked when the spec is built.
    description : str
        What the segment is, in business words.
    action : str, optional
        The business action attached (discount, payment terms, contact policy).
    """

    name: str = Field(min_length=1)
    when: str
    description: str = ""
    action: str | None = None

    @field_validator("when")
    @classmethod
    def _parses(cls, text: str) -> str:
        try:
            parse_condition(text)
        except ConfigError as exc:
            raise _value_error(exc) from None
        return text


class DeriveSpec(Section):
    """A derived column step: a registered derivation and its arguments.

    Parameters
    ----------
    use : str
        Name in :data:`seglab.derived.DERIVATIONS`.
    args : dict
        Keyword arguments. A string value ``"$name"`` stands for the scheme's parameter
        ``name``, so a threshold used by a derivation is overridden like any other.
    """

    use: str
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_derivation(self) -> DeriveSpec:
        try:
            derivation = DERIVATIONS.get(self.use)
        except ConfigError as exc:
            raise _value_error(exc) from None
        accepted = derivation.parameters()
        for arg in self.args:
            if arg not in accepted:
                raise ValueError(
                    f"derivation '{self.use}' has no argument '{arg}'"
                    f"{suggest(arg, list(accepted)) or '.'} Arguments: {', '.join(accepted)}."
                )
        required = [k for k, p in accepted.items() if p.default is p.empty]
        missing = [k for k in required if k not in self.args]
        if missing:
            raise ValueError(f"derivation '{self.use}' needs the argument(s) {', '.join(missing)}")
        return self


class WarnSpec(Section):
    """When a scheme's segments are reported as too small, too large or too many."""

    min_share: float = Field(0.02, ge=0, le=1)
    max_share: float = Field(0.5, ge=0, le=1)
    max_segments: int = Field(12, ge=1)


class ConcentrationSpec(Section):
    """The healthy range of the share of customers in `segment` (ABC: A should be 15-25 %)."""

    segment: str
    min_share: float = Field(0.15, ge=0, le=1)
    max_share: float = Field(0.25, ge=0, le=1)


class SchemeSpec(Section):
    """A heuristic scheme as data.

    Parameters
    ----------
    title : str
        One or two sentences: what the scheme is and where it comes from.
    kind : {"labels", "tags"}
        ``labels``: one label per customer, first match wins. ``tags``: every matching segment
        applies (any number per customer); ``fallback`` names the customers with no tag.
    params : dict
        Named thresholds (numbers, texts, booleans or lists), referenced by name in conditions.
        ``null`` means "not set": a derivation then computes the value from the data (a
        currency threshold defaults to a quantile, see :mod:`seglab.heuristics.thresholds`).
    derive : list of DeriveSpec
        Derived columns computed, in order, before the rules run.
    segments : list of SegmentSpec
        The rule table.
    label_from : str, optional
        Instead of segments: the label is the value of this column (geography). Missing values
        get the fallback; the summary lists values by number of customers, descending.
    fallback : str
        Label of customers no rule places.
    fallback_description : str
        Description of the fallback row.
    concentration : ConcentrationSpec, optional
        Warn when this segment's share of customers is outside the range.
    warn : WarnSpec
        Thresholds of the size warnings.
    """

    title: str = ""
    kind: Literal["labels", "tags"] = "labels"
    params: dict[str, ParamValue] = Field(default_factory=dict)
    derive: tuple[DeriveSpec, ...] = ()
    segments: tuple[SegmentSpec, ...] = ()
    label_from: str | None = None
    fallback: str = Field("unclassified", min_length=1)
    fallback_description: str = "matched none of the rules"
    concentration: ConcentrationSpec | None = None
    warn: WarnSpec = WarnSpec()

    @field_validator("params")
    @classmethod
    def _param_names(cls, params: dict[str, ParamValue]) -> dict[str, ParamValue]:
        for name in params:
            if not _IDENTIFIER.match(name) or name.startswith("__") or name in FUNCTIONS:
                raise ValueError(
                    f"parameter name '{name}' must be an identifier (letters, digits, _), "
                    f"not start with '__' and not be one of {', '.join(FUNCTIONS)}"
                )
        return params

    @model_validator(mode="after")
    def _consistent(self) -> SchemeSpec:
        names = [segment.name for segment in self.segments]
        if self.kind == "tags" and (self.label_from or self.concentration):
            raise ValueError("a tags scheme has segments only (no label_from, no concentration)")
        if bool(self.segments) == bool(self.label_from):
            raise ValueError("give either segments (a rule table) or label_from (a column)")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"segment names must be unique; repeated: {', '.join(duplicates)}")
        if self.fallback in names:
            raise ValueError(f"the fallback '{self.fallback}' is also a segment name")
        for step in self.derive:
            for arg, value in step.args.items():
                if (
                    isinstance(value, str)
                    and value.startswith("$")
                    and value[1:] not in self.params
                ):
                    raise ValueError(
                        f"derivation '{step.use}' argument '{arg}' refers to {value}, which is not "
                        f"a parameter{suggest(value[1:], list(self.params)) or '.'} "
                        f"Parameters: {', '.join(self.params) or 'none'}."
                    )
        if self.concentration and self.concentration.segment not in names:
            raise ValueError(f"concentration names '{self.concentration.segment}', not a segment")
        return self


class _Catalogue(Section):
    version: Literal[1]
    schemes: dict[str, SchemeSpec]


class FlagSource(Section):
    """Where a flag comes from: an attribute column, or a file listing customer ids.

    Exactly one of `column` and `file`. A file holds one customer_id per line (blank lines and
    lines starting with ``#`` ignored; a first line ``customer_id`` is a header), or is a CSV
    (``.csv``) with a ``customer_id`` column. A relative path resolves against the folder of the
    config file. A column is read as true/false: booleans, numbers (non-zero is true) or texts
    (true/yes/y/t/1/x and false/no/n/f/0/empty); missing is false.
    """

    column: str | None = None
    file: Path | None = None

    @field_validator("file")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is None or value.is_absolute() or base is None:
            return value
        return (Path(base) / value).resolve()

    @model_validator(mode="after")
    def _one_source(self) -> FlagSource:
        if (self.column is None) == (self.file is None):
            raise ValueError("give exactly one of 'column' or 'file'")
        return self


class HeuristicsConfig(Section):
    """Which heuristic schemes run and how: the ``heuristics:`` section of a run config.

    Parameters
    ----------
    schemes : list of str, optional
        The default schemes to run, in this order; all of them when omitted. A scheme named
        here is explicit: a column it needs that the table lacks is an error, not a skip.
    drop : list of str
        Schemes not to run.
    params : dict
        ``{scheme: {param: value}}`` threshold overrides; the value must be of the same kind
        (number, text, true/false, list) as the default. A parameter whose default is ``null``
        (a currency amount computed from the data unless given) takes a number or a list.
    add : dict
        ``{name: scheme}`` new schemes, written like the defaults in ``schemes.yaml``.
    flags : dict
        ``{flag: {column: name}}`` or ``{flag: {file: path}}``; see :class:`FlagSource`.

    Examples
    --------
    >>> cfg = HeuristicsConfig(params={"abc": {"a_share": 0.7}}, drop=["rfm_bins"])
    >>> resolve_schemes(cfg)["abc"].params["a_share"]
    0.7
    """

    schemes: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()
    params: dict[str, dict[str, ParamValue]] = Field(default_factory=dict)
    add: dict[str, SchemeSpec] = Field(default_factory=dict)
    flags: dict[str, FlagSource] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_names(self) -> HeuristicsConfig:
        defaults = default_schemes()
        for name in self.add:
            if name in defaults:
                raise ValueError(
                    f"add: '{name}' is a default scheme; change its thresholds under params, "
                    "or drop it and add yours under another name"
                )
            if not re.match(_SCHEME_NAME, name):
                raise ValueError(f"add: scheme name '{name}' must be an identifier")
        known = [*defaults, *self.add]
        for key, names in (
            ("schemes", self.schemes or ()),
            ("drop", self.drop),
            ("params", self.params),
        ):
            for name in names:
                if name not in known:
                    raise ValueError(
                        f"{key}: unknown scheme '{name}'{suggest(name, known) or '.'} "
                        f"Known: {', '.join(known)}."
                    )
        for scheme, overrides in self.params.items():
            spec = defaults.get(scheme) or self.add[scheme]
            for param, value in overrides.items():
                if param not in spec.params:
                    raise ValueError(
                        f"params.{scheme}: unknown parameter '{param}'"
                        f"{suggest(param, list(spec.params)) or '.'} "
                        f"Parameters: {', '.join(spec.params) or 'none'}."
                    )
                default = spec.params[param]
                if default is None:
                    if isinstance(value, bool | str):
                        raise ValueError(
                            f"params.{scheme}.{param}: expected a number or a list (null: computed "
                            f"from the data), got {value!r}"
                        )
                elif _kind(value) != _kind(default):
                    raise ValueError(
                        f"params.{scheme}.{param}: expected {_kind(default)} like {default!r}, "
                        f"got {value!r}"
                    )
        for flag in self.flags:
            if not _IDENTIFIER.match(flag) or flag.startswith("__"):
                raise ValueError(f"flags: '{flag}' must be an identifier (it becomes a column)")
        return self


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list"


def _load_defaults() -> _Catalogue:
    text = files("seglab.heuristics").joinpath("schemes.yaml").read_text(encoding="utf-8")
    try:
        return _Catalogue.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise ConfigError(
            describe_errors(exc, "seglab/heuristics/schemes.yaml", _Catalogue)
        ) from None


def default_schemes() -> dict[str, SchemeSpec]:
    """The default schemes shipped in ``seglab/schemes.yaml``, by name, in file order.

    Examples
    --------
    >>> list(default_schemes())[:3]
    ['frequency_tiers', 'prospect_tiers', 'abc']
    """
    return dict(_load_defaults().schemes)


def as_heuristics_config(config: HeuristicsConfig | Mapping[str, Any] | None) -> HeuristicsConfig:
    if config is None:
        return HeuristicsConfig()
    if isinstance(config, HeuristicsConfig):
        return config
    if not isinstance(config, Mapping):
        raise ConfigError(f"heuristics: expected a mapping, got {type(config).__name__}")
    try:
        return HeuristicsConfig.model_validate(dict(config))
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, "heuristics", HeuristicsConfig)) from None


def resolve_schemes(
    config: HeuristicsConfig | Mapping[str, Any] | None = None,
) -> dict[str, SchemeSpec]:
    """The schemes a config runs, in order, with its parameter overrides applied.

    Parameters
    ----------
    config : HeuristicsConfig or mapping, optional
        The ``heuristics`` section; all defaults when omitted.

    Returns
    -------
    dict of str to SchemeSpec
        The chosen defaults (in the order of ``schemes``, else file order) minus ``drop``,
        then the added schemes.

    Examples
    --------
    >>> list(resolve_schemes({"schemes": ["abc", "xyz"], "drop": ["xyz"]}))
    ['abc']
    """
    config = as_heuristics_config(config)
    defaults = default_schemes()
    names = list(config.schemes) if config.schemes is not None else list(defaults)
    chosen = {name: defaults[name] for name in names if name in defaults}
    chosen.update(config.add)
    for name in config.drop:
        chosen.pop(name, None)
    for name, overrides in config.params.items():
        if name in chosen:
            spec = chosen[name]
            chosen[name] = spec.model_copy(update={"params": {**spec.params, **overrides}})
    seen: dict[str, str] = {}
    for name, spec in chosen.items():
        if spec.kind != "tags":
            continue
        for segment in spec.segments:
            if segment.name in seen:
                raise ConfigError(
                    f"tag '{segment.name}' is defined by both '{seen[segment.name]}' and '{name}'; "
                    "tag names become columns and must be unique"
                )
            seen[segment.name] = name
    return chosen


def rules_table(scheme: SchemeSpec) -> pd.DataFrame:
    """A scheme's rule table for display: ``segment``, ``condition``, ``description``, ``action``.

    The fallback is the last row, with condition ``(otherwise)``.

    Examples
    --------
    >>> rules_table(default_schemes()["lifecycle"])["segment"].tolist()
    ['active', 'inactive', 'sleeping', 'closed', 'unclassified']
    """
    rows = [(s.name, s.when, s.description, s.action) for s in scheme.segments]
    if scheme.label_from:
        rows.append((f"<{scheme.label_from}>", f"value of {scheme.label_from}", "", None))
    rows.append((scheme.fallback, "(otherwise)", scheme.fallback_description, None))
    return pd.DataFrame(rows, columns=["segment", "condition", "description", "action"])

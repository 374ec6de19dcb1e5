"""The shape every settings section shares: frozen, typed, unknown keys refused with a hint.

Each stage owns its section (``data.settings``, ``features.settings``, the heuristics' schemes);
``seglab.run.config`` composes them into one run config. Paths resolve against the folder of the
config file (passed as ``base_dir`` in the validation context).
"""

from __future__ import annotations

from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo

from seglab.errors import ConfigError
from seglab.registry import Registry, suggest

__all__ = ["Section", "check_registered", "describe_errors", "known_keys", "resolve_path"]


class Section(BaseModel):
    """Base of every settings section: keys are fixed, values immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """A relative path made absolute against the config file's folder (a field validator)."""
    base = (info.context or {}).get("base_dir")
    if value is None or value.is_absolute() or base is None:
        return value
    return (Path(base) / value).resolve()


def check_registered(registry: Registry, name: str) -> str:
    """`name` if `registry` knows it, else the registry's message as a ValueError (for pydantic)."""
    try:
        registry.get(name)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return name


def describe_errors(exc: ValidationError, source: str, model: type[BaseModel]) -> str:
    """pydantic's errors as one paragraph: unknown keys first, each with the nearest known key.

    Parameters
    ----------
    exc : ValidationError
        What pydantic raised while validating `model`.
    source : str
        Where the values came from (a file path or a section name), the start of every message.
    model : BaseModel subclass
        The model validated, to list the keys allowed where an unknown one was found.
    """
    lines, seen = [], {}
    errors = sorted(exc.errors(), key=lambda err: err["type"] != "extra_forbidden")
    for err in errors:
        loc = [str(part) for part in err["loc"] if not _is_type_name(str(part))]
        key = ".".join(loc)
        if key in seen and err["type"] not in ("extra_forbidden", "missing"):
            # a value that fits none of a field's alternatives: one sentence for all of them
            lines[seen[key]] = lines[seen[key]].replace(" (got", f" or {_message(err)} (got", 1)
            continue
        seen[key] = len(lines)
        if err["type"] == "extra_forbidden":
            known = known_keys(loc[:-1], model)
            hint = suggest(loc[-1], known)
            lines.append(f"unknown key '{key}'{hint or '.'} Known keys here: {', '.join(known)}.")
        elif err["type"] == "missing":
            lines.append(f"missing required key '{key}'.")
        elif not key:  # a check of the whole config: the input is the whole config
            lines.append(f"{_message(err)}.")
        else:
            lines.append(f"key '{key}': {_message(err)} (got {err.get('input')!r}).")
    return f"{source}: " + " ".join(lines)


def _message(err: dict) -> str:
    return err["msg"].removeprefix("Value error, ")


def _is_type_name(part: str) -> bool:
    """pydantic names the alternative of a union it tried (``int``, ``tuple[int, int]``)."""
    return part in {"int", "float", "str", "bool", "list", "dict"} or "[" in part


def known_keys(loc: list[str | int], model: type[BaseModel]) -> list[str]:
    """The keys allowed at `loc` (a pydantic error location) inside `model`.

    Walks through fields, dict values (``add: {name: scheme}``) and list items, so that an
    unknown key deep inside a nested section is answered with the keys allowed there: in the
    heuristics section, ``["add", "my_scheme", "segments", 0]`` gives a segment's keys.
    """
    current: Any = model
    for part in loc:
        current = _step(current, part)
    found = _as_model(current)
    return [name for name in found.model_fields if name != "source"] if found else []


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if get_origin(annotation) is Annotated:
        return _as_model(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ():
        if _as_model(arg):
            return _as_model(arg)
    return None


def _step(annotation: Any, part: str | int) -> Any:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    model = _as_model(annotation)
    if model is not None:
        field = model.model_fields.get(str(part))
        return field.annotation if field else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        containers = [a for a in args if get_origin(a) in (dict, list, tuple)]
        return _step(containers[0], part) if containers else None
    if origin is dict:
        return args[1]
    if origin in (list, tuple):
        return args[0]
    return None

"""Safe conditions over a customer table: parsed with :mod:`ast`, checked, evaluated vectorised.

A condition is a Python-syntax expression over the columns of the customer table and the named
parameters of a scheme, such as ``recency_days <= active_days and region in ['North', 'East']``.
It is never handed to ``eval``, ``exec``, ``DataFrame.eval`` or ``DataFrame.query``: the tree is
checked against a whitelist when parsed and walked by this module when evaluated, one vectorised
pandas operation per node.

The language
------------
- literals: numbers, strings in quotes, ``True``, ``False``;
- names: a column of the table or a parameter of the scheme (one namespace: a name that is both
  is an error); names must be identifiers and must not start with ``__``;
- arithmetic on numbers: ``+ - * / %`` and unary ``-`` (division by zero gives ``inf`` or
  missing, never an error);
- comparisons ``== != < <= > >=``, chained as in Python (``0 <= age < 15``), between two numbers,
  two texts or two true/false values;
- ``x in [a, b]`` and ``x not in [a, b]`` with a list of literals, or a parameter holding a list;
- ``and``, ``or``, ``not`` over true/false values;
- three functions, and no other call: ``between(x, low, high)`` (``low <= x <= high``, both ends
  included), ``isna(x)`` and ``notna(x)``.

Anything else (attribute access ``a.b``, indexing, other calls, lambdas, comprehensions,
``**``, ``&``, ``if``-expressions, f-strings, ``None``) is rejected with a
:class:`~seglab.errors.ConfigError` that quotes the offending piece. A condition is at most
:data:`MAX_CONDITION_LENGTH` characters and :data:`MAX_CONDITION_DEPTH` levels deep.

Missing values
--------------
A comparison, ``in`` or ``between`` involving a missing value (NaN, None, NA) is *unknown*;
``and``, ``or`` and ``not`` follow three-valued logic as in SQL (``unknown and False`` is False,
``unknown or True`` is True, ``not unknown`` is unknown). A condition whose result is unknown does
not match. In short a comparison with NaN is never true, and neither is its negation, so such
customers fall through to later rules or the fallback; test for missing values explicitly with
``isna(x)`` or ``notna(x)``. Arithmetic with a missing value gives a missing value.

Examples
--------
>>> table = pd.DataFrame({"recency_days": [10.0, 45.0, np.nan], "region": ["North", None, "West"]})
>>> cond = parse_condition("recency_days <= active_days or region in ['West']")
>>> cond.names
('recency_days', 'active_days', 'region')
>>> cond.evaluate(table, {"active_days": 30}).tolist()
[True, False, True]
>>> parse_condition("__import__('os')")
Traceback (most recent call last):
...
seglab.errors.ConfigError: condition "__import__('os')": the call '__import__('os')' is not ...
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seglab.errors import ConfigError
from seglab.registry import suggest

__all__ = [
    "FUNCTIONS",
    "MAX_CONDITION_DEPTH",
    "MAX_CONDITION_LENGTH",
    "Condition",
    "UnknownColumnError",
    "parse_condition",
]

MAX_CONDITION_LENGTH = 2000
"""Longest condition accepted, in characters."""

MAX_CONDITION_DEPTH = 50
"""Deepest nesting of a condition's syntax tree accepted."""

FUNCTIONS = {"between": 3, "isna": 1, "notna": 1}
"""The only callable names, with their number of arguments."""

_ARITHMETIC: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Mod: ("%", operator.mod),
}
_COMPARISONS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
}
_ORDERING = {ast.Lt, ast.LtE, ast.Gt, ast.GtE}
_FORBIDDEN_OPERATORS: dict[type, tuple[str, str]] = {
    ast.Pow: ("**", ""),
    ast.FloorDiv: ("//", ""),
    ast.MatMult: ("@", ""),
    ast.LShift: ("<<", ""),
    ast.RShift: (">>", ""),
    ast.BitAnd: ("&", "; write 'and'"),
    ast.BitOr: ("|", "; write 'or'"),
    ast.BitXor: ("^", ""),
    ast.Invert: ("~", "; write 'not'"),
    ast.Is: ("is", "; test for missing values with isna(x) or notna(x)"),
    ast.IsNot: ("is not", "; test for missing values with isna(x) or notna(x)"),
}
_FORBIDDEN_NODES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.IfExp: "an if-expression",
    ast.JoinedStr: "an f-string",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.NamedExpr: "an assignment",
    ast.Starred: "unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}

# Kinds of values while evaluating: every value is one of these.
_NUMBER, _TEXT, _BOOL, _LIST, _NULL, _OTHER = (
    "number",
    "text",
    "true/false",
    "list",
    "null",
    "other",
)


class UnknownColumnError(ConfigError):
    """A condition or derivation names a column the customer table does not have.

    Parameters
    ----------
    message : str
        The full message (names the column, suggests the nearest, lists the known ones).
    column : str
        The missing name.
    """

    def __init__(self, message: str, *, column: str) -> None:
        super().__init__(message)
        self.column = column


def unknown_column(name: str, known: list[str], *, params: Mapping[str, Any] = (), where: str = ""):
    """Build the :class:`UnknownColumnError` for `name`, listing `known` columns and `params`.

    Examples
    --------
    >>> print(unknown_column("recency", ["frequency", "recency_days"]))
    unknown column 'recency'; did you mean 'recency_days'? Known columns: frequency, recency_days.
    """
    hint = suggest(name, [*known, *params])
    where = f" in {where}" if where else ""
    message = f"unknown column '{name}'{where}{hint or '.'} Known columns: {', '.join(known)}."
    if params:
        message += f" Parameters: {', '.join(params)}."
    return UnknownColumnError(message, column=name)


@dataclass(frozen=True)
class Condition:
    """A parsed, checked condition; :func:`parse_condition` builds it.

    Attributes
    ----------
    text : str
        The condition as written.
    names : tuple of str
        Every column or parameter name it uses, in order of first appearance.
    """

    text: str
    names: tuple[str, ...]
    _tree: ast.expr = field(repr=False, compare=False)

    def evaluate(self, table: pd.DataFrame, params: Mapping[str, Any] | None = None) -> pd.Series:
        """Evaluate the condition for every row of `table`.

        Parameters
        ----------
        table : DataFrame
            One row per customer; the condition's names are looked up among its columns.
        params : mapping, optional
            Named parameters (numbers, strings, booleans, or lists for ``in``).

        Returns
        -------
        Series of bool
            Aligned with `table`; True where the condition holds, False where it does not or is
            unknown because of missing values.

        Raises
        ------
        UnknownColumnError
            When a name is neither a column nor a parameter.
        ConfigError
            When a name is both, or the operands do not fit (text compared with a number, a number
            used as true/false, arithmetic on text).
        """
        params = dict(params or {})
        clash = [name for name in self.names if name in params and name in table.columns]
        if clash:
            raise ConfigError(
                f"condition {self.text!r}: '{clash[0]}' is both a column of the table and a "
                "parameter; rename the parameter"
            )
        evaluator = _Evaluator(self.text, table, params)
        try:
            with np.errstate(all="ignore"):
                value = evaluator.visit(self._tree)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"condition {self.text!r} cannot be evaluated: {exc}") from None
        if value.kind not in (_BOOL, _NULL):
            raise ConfigError(
                f"condition {self.text!r} gives {_a(value.kind)}, not true/false; "
                "compare it, e.g. 'frequency > 0'"
            )
        return _as_mask(value.data, table.index)


def parse_condition(text: str) -> Condition:
    """Parse and check a condition; raise ConfigError naming anything that is not allowed.

    Parameters
    ----------
    text : str
        The condition. Line breaks (from folded YAML) count as spaces.

    Returns
    -------
    Condition

    Examples
    --------
    >>> parse_condition("0 <= age < youth_from").names
    ('age', 'youth_from')
    >>> parse_condition("region.upper() == 'X'")
    Traceback (most recent call last):
    ...
    seglab.errors.ConfigError: condition "region.upper() == 'X'": the call 'region.upper()' ...
    """
    if not isinstance(text, str):
        raise ConfigError(f"a condition must be text, got {type(text).__name__} {text!r}")
    return _parse(text)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Condition:
    source = text.replace("\r", " ").replace("\n", " ").replace("\t", " ").strip()
    if not source:
        raise ConfigError("a condition is empty; write an expression such as 'frequency >= 2'")
    if len(source) > MAX_CONDITION_LENGTH:
        raise ConfigError(
            f"a condition is {len(source)} characters long, more than the "
            f"{MAX_CONDITION_LENGTH} allowed; split the rule or use parameters"
        )
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        where = f" at character {exc.offset}" if exc.offset else ""
        hint = "; did you mean '=='?" if "=" in source and "==" not in source else ""
        raise ConfigError(
            f"condition {text!r} is not a valid expression{where}: {exc.msg}{hint}"
        ) from None
    except (ValueError, RecursionError, MemoryError):
        raise ConfigError(f"condition {text!r} cannot be parsed (too deep or invalid)") from None
    names: dict[str, None] = {}
    _Checker(source, text, names).check(tree, 1)
    return Condition(text=text, names=tuple(names), _tree=tree)


class _Checker:
    """Walk a parsed tree top-down; reject every node outside the whitelist."""

    def __init__(self, source: str, text: str, names: dict[str, None]) -> None:
        self.source, self.text, self.names = source, text, names

    def fail(self, node: ast.AST, what: str, hint: str = "") -> None:
        """Raise ConfigError: `what` may hold ``{piece}``, the offending source, else it follows."""
        piece = (ast.get_source_segment(self.source, node) or "")[:60]
        if "{piece}" in what:
            what = what.replace("{piece}", f"'{piece}'")
        elif piece:
            what = f"{what} ('{piece}')"
        raise ConfigError(f"condition {self.text!r}: {what} is not allowed{hint}")

    def check(self, node: ast.AST, depth: int) -> None:
        if depth > MAX_CONDITION_DEPTH:
            raise ConfigError(
                f"condition {self.text[:80]!r} is nested more than {MAX_CONDITION_DEPTH} levels "
                "deep; simplify it"
            )
        method = getattr(self, f"check_{type(node).__name__}", None)
        if method is None:
            what = _FORBIDDEN_NODES.get(type(node), f"the construct {type(node).__name__}")
            self.fail(node, f"{what} {{piece}}")
        method(node, depth + 1)

    def check_Constant(self, node: ast.Constant, depth: int) -> None:
        value = node.value
        if value is None:
            self.fail(node, "None", "; test for missing values with isna(x) or notna(x)")
        if isinstance(value, bool | str):
            return
        if isinstance(value, int | float):
            try:
                float(value)
            except OverflowError:
                self.fail(node, "the number {piece}", "; it is too large")
            return
        self.fail(node, f"the {type(value).__name__} literal {{piece}}")

    def check_Name(self, node: ast.Name, depth: int) -> None:
        if node.id.startswith("__"):
            self.fail(node, "the name {piece}", "; names must not start with '__'")
        self.names.setdefault(node.id, None)

    def fail_operator(self, node: ast.AST, op: ast.AST, allowed: str = "") -> None:
        symbol, hint = _FORBIDDEN_OPERATORS[type(op)]
        self.fail(node, f"the operator '{symbol}' in {{piece}}", hint or allowed)

    def check_UnaryOp(self, node: ast.UnaryOp, depth: int) -> None:
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            self.fail_operator(node, node.op)
        self.check(node.operand, depth)

    def check_BinOp(self, node: ast.BinOp, depth: int) -> None:
        if type(node.op) not in _ARITHMETIC:
            self.fail_operator(node, node.op, "; arithmetic allows + - * / %")
        self.check(node.left, depth)
        self.check(node.right, depth)

    def check_BoolOp(self, node: ast.BoolOp, depth: int) -> None:
        for value in node.values:  # noqa: PD011 (an ast node, not a DataFrame)
            self.check(value, depth)

    def check_Compare(self, node: ast.Compare, depth: int) -> None:
        self.check(node.left, depth)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if isinstance(right, ast.List | ast.Tuple):
                    self.check_literal_list(right)
                elif isinstance(right, ast.Name):
                    self.check(right, depth)
                else:
                    self.fail(
                        right, "{piece} after 'in'", "; write a [list] or a parameter holding one"
                    )
                continue
            if type(op) not in _COMPARISONS:
                self.fail_operator(node, op)
            if isinstance(right, ast.List | ast.Tuple):
                self.fail(right, "the list {piece} outside 'in [...]'")
            self.check(right, depth)

    def check_literal_list(self, node: ast.List | ast.Tuple) -> None:
        for item in node.elts:
            signed = isinstance(item, ast.UnaryOp) and isinstance(item.op, ast.USub | ast.UAdd)
            literal = item.operand if signed else item
            allowed = (int, float) if signed else (bool, int, float, str)
            if not (
                isinstance(literal, ast.Constant)
                and isinstance(literal.value, allowed)
                and not (signed and isinstance(literal.value, bool))
            ):
                self.fail(
                    item,
                    "the list item {piece}",
                    "; lists hold number, text or True/False literals",
                )
            self.check_Constant(literal, 0)

    def check_Call(self, node: ast.Call, depth: int) -> None:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            self.fail(node, "the call {piece}", f"; the only functions are {', '.join(FUNCTIONS)}")
        if node.keywords or len(node.args) != FUNCTIONS[name]:
            self.fail(node, "the call {piece}", f"; write {_SIGNATURES[name]}")
        for arg in node.args:
            self.check(arg, depth)

    def check_List(self, node: ast.List, depth: int) -> None:
        self.fail(node, "the list {piece} outside 'in [...]'")

    check_Tuple = check_List


_SIGNATURES = {"between": "between(x, low, high)", "isna": "isna(x)", "notna": "notna(x)"}


@dataclass(frozen=True)
class _Value:
    """An intermediate result: a scalar or a Series aligned with the table, and its kind."""

    kind: str
    data: Any
    label: str


class _Evaluator:
    """Evaluate a checked tree over a table, one vectorised operation per node."""

    def __init__(self, text: str, table: pd.DataFrame, params: dict[str, Any]) -> None:
        self.text, self.table, self.params = text, table, params
        self.columns: dict[str, _Value] = {}

    def fail(self, message: str) -> None:
        raise ConfigError(f"condition {self.text!r}: {message}")

    def visit(self, node: ast.AST) -> _Value:
        return getattr(self, f"visit_{type(node).__name__}")(node)

    def visit_Constant(self, node: ast.Constant) -> _Value:
        return _scalar(node.value, repr(node.value))

    def visit_Name(self, node: ast.Name) -> _Value:
        name = node.id
        if name in self.params:
            value = self.params[name]
            if isinstance(value, list | tuple):
                return _Value(_LIST, list(value), f"parameter '{name}'")
            return _scalar(value, f"parameter '{name}'")
        if name not in self.table.columns:
            raise unknown_column(
                name,
                [str(c) for c in self.table.columns],
                params=self.params,
                where=repr(self.text),
            )
        if name not in self.columns:
            self.columns[name] = _column(self.table[name], name)
        return self.columns[name]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Value:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            self.need(value, _BOOL, "'not'")
            data = (not value.data) if _is_scalar(value.data) else ~_kleene(value.data)
            return _Value(_BOOL, data, f"not {value.label}")
        self.need(value, _NUMBER, "a sign")
        data = -value.data if isinstance(node.op, ast.USub) else value.data
        return _Value(_NUMBER, data, value.label)

    def visit_BinOp(self, node: ast.BinOp) -> _Value:
        symbol, func = _ARITHMETIC[type(node.op)]
        left, right = self.visit(node.left), self.visit(node.right)
        self.need(left, _NUMBER, f"'{symbol}'")
        self.need(right, _NUMBER, f"'{symbol}'")
        data = func(_number(left.data), _number(right.data))
        return _Value(_NUMBER, data, f"{left.label} {symbol} {right.label}")

    def visit_BoolOp(self, node: ast.BoolOp) -> _Value:
        word = "and" if isinstance(node.op, ast.And) else "or"
        values = [self.visit(v) for v in node.values]  # noqa: PD011 (an ast node)
        for value in values:
            self.need(value, _BOOL, f"'{word}'")
        combine = operator.and_ if word == "and" else operator.or_
        data = functools.reduce(combine, [_kleene(v.data) for v in values])
        return _Value(_BOOL, data, word)

    def visit_Compare(self, node: ast.Compare) -> _Value:
        left = self.visit(node.left)
        results = []
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                right = self.list_operand(right_node)
                results.append(self.membership(left, right, negate=isinstance(op, ast.NotIn)))
                left = right
                continue
            right = self.visit(right_node)
            results.append(self.compare(type(op), left, right))
            left = right
        data = functools.reduce(operator.and_, [_kleene(r) for r in results])
        return _Value(_BOOL, data, "comparison")

    def visit_Call(self, node: ast.Call) -> _Value:
        name = node.func.id
        args = [self.visit(arg) for arg in node.args]
        if name == "between":
            value, low, high = args
            data = _kleene(self.compare(ast.LtE, low, value)) & _kleene(
                self.compare(ast.LtE, value, high)
            )
            return _Value(_BOOL, data, "between")
        (value,) = args
        if value.kind == _LIST:
            self.fail(f"{name}() needs a column or a value, not the list {value.label}")
        missing = pd.isna(value.data)
        if name == "isna":
            return _Value(_BOOL, missing, name)
        return _Value(_BOOL, (not missing) if _is_scalar(value.data) else ~missing, name)

    def list_operand(self, node: ast.expr) -> _Value:
        if isinstance(node, ast.List | ast.Tuple):
            items = [ast.literal_eval(item) for item in node.elts]
            return _Value(_LIST, items, "the list")
        value = self.visit(node)
        if value.kind != _LIST:
            self.fail(f"'in' needs a list; {value.label} is {_a(value.kind)}")
        return value

    def membership(self, left: _Value, right: _Value, *, negate: bool) -> Any:
        if left.kind == _LIST:
            self.fail("a list cannot be on the left of 'in'")
        for item in right.data:
            kind = _scalar(item, repr(item)).kind
            if not _comparable(left.kind, kind):
                self.fail(f"'in' compares {left.label} ({left.kind}) with {item!r} ({kind})")
        if _is_scalar(left.data):
            found = left.data in right.data
            return (not found) if negate else found
        found = pd.array(left.data.isin(right.data).to_numpy(), dtype="boolean")
        found[np.asarray(pd.isna(left.data))] = pd.NA
        return pd.Series(~found if negate else found, index=left.data.index)

    def compare(self, op: type, left: _Value, right: _Value) -> Any:
        symbol, func = _COMPARISONS[op]
        for value in (left, right):
            if value.kind == _LIST:
                self.fail(f"{value.label} is a list; a list can only follow 'in'")
        if not _comparable(left.kind, right.kind) or (
            op in _ORDERING and _OTHER in (left.kind, right.kind)
        ):
            self.fail(
                f"'{symbol}' compares {left.label} ({left.kind}) with {right.label} ({right.kind})"
            )
        if op in _ORDERING and _BOOL in (left.kind, right.kind):
            self.fail(f"'{symbol}' cannot order true/false values ({left.label})")
        a, b = left.data, right.data
        if _is_scalar(a) and _is_scalar(b):
            return bool(func(a, b))
        index = (b if _is_scalar(a) else a).index
        unknown = np.zeros(len(index), dtype=bool)
        for side in (a, b):
            if not _is_scalar(side):
                unknown |= np.asarray(pd.isna(side), dtype=bool)
        if _NULL in (left.kind, right.kind):
            unknown[:] = True
        known = ~unknown
        result = pd.array(np.zeros(len(index), dtype=bool), dtype="boolean")
        if known.any():
            raw = func(_known_values(a, known), _known_values(b, known))
            result[known] = np.asarray(raw, dtype=bool)
        result[unknown] = pd.NA
        return pd.Series(result, index=index)

    def need(self, value: _Value, kind: str, where: str) -> None:
        if value.kind == kind or (value.kind == _NULL and kind != _LIST):
            return
        if kind == _BOOL and value.kind == _NUMBER:
            self.fail(
                f"{where} needs true/false but {value.label} is a number; "
                f"compare it, e.g. {value.label} > 0"
            )
        self.fail(f"{where} needs {_a(kind)} but {value.label} is {_a(value.kind)}")


def _a(kind: str) -> str:
    return {_NUMBER: "a number", _TEXT: "text", _BOOL: "true/false", _LIST: "a list"}.get(
        kind, f"{kind} values"
    )


def _is_scalar(data: Any) -> bool:
    return not isinstance(data, pd.Series)


def _scalar(value: Any, label: str) -> _Value:
    if isinstance(value, bool | np.bool_):
        return _Value(_BOOL, bool(value), label)
    if isinstance(value, int | float | np.integer | np.floating):
        return _Value(_NUMBER, np.float64(value), label)
    if isinstance(value, str):
        return _Value(_TEXT, value, label)
    raise ConfigError(f"{label} has the value {value!r}; use a number, text, true/false or a list")


def _column(series: pd.Series, name: str) -> _Value:
    """Classify a column by what it holds; numbers become float64, true/false nullable boolean."""
    label = f"'{name}'"
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return _Value(_BOOL, series.astype("boolean"), label)
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return _Value(_NUMBER, pd.Series(values, index=series.index), label)
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "string":
        return _Value(_TEXT, series, label)
    if inferred == "boolean":
        return _Value(_BOOL, series.astype("boolean"), label)
    if inferred in {"integer", "floating", "mixed-integer-float", "decimal"}:
        values = pd.to_numeric(series).to_numpy(dtype="float64", na_value=np.nan)
        return _Value(_NUMBER, pd.Series(values, index=series.index), label)
    if inferred == "empty":
        return _Value(_NULL, pd.Series(np.nan, index=series.index), label)
    return _Value(_OTHER, series, label)


def _comparable(a: str, b: str) -> bool:
    return a == b or _NULL in (a, b) or _OTHER in (a, b)


def _number(data: Any) -> Any:
    return data if isinstance(data, pd.Series) else np.float64(data)


def _known_values(data: Any, known: np.ndarray) -> Any:
    """The values of a Series at the rows where no operand is missing (a scalar as it is)."""
    if _is_scalar(data):
        return data
    if isinstance(data.dtype, pd.BooleanDtype):
        return data.to_numpy(dtype=bool, na_value=False)[known]
    return data.to_numpy()[known]


def _kleene(data: Any) -> Any:
    """Missing-aware booleans: a Series becomes nullable boolean; a scalar stays a bool."""
    if _is_scalar(data):
        return bool(data)
    if isinstance(data.dtype, pd.BooleanDtype):
        return data
    missing = np.asarray(pd.isna(data), dtype=bool)
    values = pd.array(np.zeros(len(data), dtype=bool), dtype="boolean")
    values[~missing] = data.to_numpy()[~missing].astype(bool)
    values[missing] = pd.NA
    return pd.Series(values, index=data.index)


def _as_mask(data: Any, index: pd.Index) -> pd.Series:
    if _is_scalar(data):
        return pd.Series(bool(data), index=index)
    return pd.Series(_kleene(data).fillna(False).to_numpy(dtype=bool), index=index)

"""Error text for every input file: one line per problem, ``key.path: problem (allowed: ...)``.

:class:`ScenarioError` carries the lines; :func:`describe` turns one pydantic error into one line,
following the error's location through the schema to say which keys or bounds are allowed;
:func:`suggest` adds "did you mean" for a misspelt name. Nothing here knows the scenario schema, so
sweep files and calibration specs can describe their own errors the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, get_args, get_origin

import annotated_types
from pydantic import BaseModel

# Pydantic's names for numeric bounds, as they read in a message.
BOUND_SYMBOLS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


class ScenarioError(Exception):
    """A scenario (or override, or other input file) that cannot be used, one line per problem.

    Attributes:
        source: The file (or ``--set``) the problems were found in.
        problems: One line per problem, each ``key.path: what is wrong (allowed: ...)``.
    """

    def __init__(self, source: str, problems: Iterable[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


def suggest(name: str, allowed: Iterable[str]) -> str:
    """The allowed names, led by the closest one to ``name`` if any is close.

    >>> suggest("Torkam", ["Torkham", "Chaman"])
    "did you mean 'Torkham'? (allowed: Torkham, Chaman)"
    """
    allowed = list(allowed)
    return f"{did_you_mean(name, allowed)}(allowed: {', '.join(allowed)})"


def unknown_key(path: str, name: str, allowed: Iterable[str]) -> str:
    """The problem line of an unknown key: ``PATH: unknown key; did you mean 'X'? (allowed: ...)``.

    Without a close name: ``PATH: unknown key (allowed: ...)``.
    """
    allowed = list(allowed)
    hint = did_you_mean(name, allowed)
    return f"{path}: unknown key{'; ' + hint if hint else ' '}(allowed: {', '.join(allowed)})"


def did_you_mean(name: str, allowed: Iterable[str]) -> str:
    """``did you mean 'X'? `` for the allowed name closest to ``name``; empty if none is close.

    >>> did_you_mean("Torkam", ["Torkham", "Chaman"])
    "did you mean 'Torkham'? "
    """
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'? " if close else ""


def check_names(values: Iterable[str], allowed: tuple[str, ...], what: str) -> None:
    """Refuse the first value that is not an allowed name (for pydantic validators).

    Raises:
        ValueError: ``unknown <what> '<value>'; did you mean ...? (allowed: ...)``, without the
            hint (and its semicolon) when no allowed name is close.
    """
    for value in values:
        if value not in allowed:
            hint = did_you_mean(value, allowed)
            lead = f"; {hint}" if hint else " "
            raise ValueError(f"unknown {what} '{value}'{lead}(allowed: {', '.join(allowed)})")


def format_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a key path: ``triggers[0].threshold``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(document)"


def bounds_from_context(ctx: Mapping[str, Any]) -> str:
    """The bounds a pydantic range error reports in its context: ``>= 0 and <= 1``."""
    return " and ".join(f"{BOUND_SYMBOLS[k]} {v}" for k, v in ctx.items() if k in BOUND_SYMBOLS)


def describe(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    """One line for one pydantic error: key path, what was wrong and what is allowed.

    Args:
        error: One item of ``ValidationError.errors()``.
        model: The model of the whole document, through which the error's location is followed
            to name the allowed keys (unknown key) or bounds (value out of range).
    """
    loc = tuple(error.get("loc", ()))
    path = format_path(loc)
    kind = error.get("type", "")
    given = error.get("input")
    if kind == "extra_forbidden":
        parent, key = loc[:-1], str(loc[-1])
        return unknown_key(path, key, allowed_keys(model, parent))
    if kind == "missing":
        return f"{path}: required key is missing"
    if not loc and kind == "value_error":  # checks across keys name their keys themselves
        return str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    bounds = bounds_text(model, loc)
    if kind in _RANGE_ERRORS:
        if not bounds:
            bounds = bounds_from_context(error.get("ctx") or {})
        return f"{path}: {given!r} is out of range (allowed: {bounds})"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    # Not pydantic's "... or instance of PatrolParams": a class name means nothing in a TOML file.
    if kind == "model_type":
        message = "Input should be a table"
    shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
    extra = f" (allowed: {bounds})" if bounds else ""
    return f"{path}: {message}{shown}{extra}"


def schema_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[Any, list[Any]]:
    """Follow an error location through a model: the annotation there and its constraints.

    Returns ``(None, [])`` where the location leaves the schema (an unknown key).
    """
    annotation: Any = model
    metadata: list[Any] = []
    for part in loc:
        if get_origin(annotation) is tuple:
            annotation, metadata = get_args(annotation)[0], []
            if isinstance(part, int):
                continue
        if get_origin(annotation) is dict:
            annotation, metadata = _unwrap(get_args(annotation)[1])
            continue
        inner = inner_model(annotation)
        if inner is None or part not in inner.model_fields:
            return None, []
        info = inner.model_fields[str(part)]
        annotation, metadata = info.annotation, list(info.metadata)
    return annotation, metadata


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """``Annotated[T, Field(...)]`` to ``(T, constraints)``."""
    if get_origin(annotation) is Annotated:
        inner, *extras = get_args(annotation)
        return inner, [m for extra in extras for m in getattr(extra, "metadata", [extra])]
    return annotation, []


def inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X``, ``tuple[X, ...]``, ``dict[str, X]`` or ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        inner = inner_model(arg)
        if inner is not None:
            return inner
    return None


def allowed_keys(model: type[BaseModel], parent: tuple[int | str, ...]) -> list[str]:
    """The keys of the table at ``parent`` (empty if that is not a table of the schema)."""
    inner = inner_model(schema_at(model, parent)[0])
    return list(inner.model_fields) if inner is not None else []


def bounds_text(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The numeric bounds the schema sets on the value at ``loc``: ``>= 0.0 and <= 1.0``."""
    parts = []
    for item in schema_at(model, loc)[1]:
        for attr, symbol in BOUND_SYMBOLS.items():
            bound = getattr(item, attr, None)
            if bound is not None and isinstance(item, annotated_types.BaseMetadata):
                parts.append(f"{symbol} {bound}")
    return " and ".join(parts)

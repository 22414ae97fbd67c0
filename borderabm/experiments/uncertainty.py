"""Plausible worlds for a robust comparison: parameter draws read from a posterior or from ranges.

``borderabm compare A B … --uncertainty FILE --draws N`` evaluates every policy on the same N
draws of the uncertain parameters (× the same seeds). FILE is one of:

* a **posterior** table (CSV), e.g. the calibration's ``docs/calibration/posterior.csv``: one
  plausible parameter set per row; its columns that name scenario keys (``population.traders``)
  are the parameters, the calibration's bookkeeping (``predicted.*``, ``distance``) is left out.
  N rows are picked with a seeded generator, without replacement while the table has rows enough
  (as the hindcast picks its draws: :func:`pick_rows`);
* a **calibration spec** or a **sweep file** (TOML) whose ``[parameters."key"]`` give ranges
  (``low``, ``high``, optionally ``integer`` and ``log``): N points of a Latin hypercube over them
  (the prior, not a posterior: every world the ranges allow counts as plausible).

A draw is laid over each scenario by :func:`typed_overrides` (whole numbers for integer fields), and
checked against the scenario schema by the sweep that uses it; problems with the file itself are
:class:`~borderabm.scenario.ScenarioError` lines naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from borderabm.experiments.designs import Parameter, generate
from borderabm.scenario import Scenario, ScenarioError, read_toml_file

MAX_DRAWS = 10_000
# Columns of the posterior CSV that are not parameters (what the surrogate predicted, the distance).
POSTERIOR_EXTRA_PREFIXES = ("predicted.",)
POSTERIOR_EXTRA_COLUMNS = ("distance",)


@dataclass(frozen=True)
class Draws:
    """The parameter sets of a robust comparison.

    Attributes:
        source: The file they came from (as given).
        kind: ``posterior`` (rows of a table) or ``ranges`` (a Latin hypercube over prior ranges).
        parameters: The dotted scenario keys that vary, in the file's order.
        points: One mapping of key to value per draw.
    """

    source: str
    kind: str
    parameters: tuple[str, ...]
    points: list[dict[str, float]]

    def ranges(self) -> dict[str, dict[str, Any]]:
        """Each parameter's smallest and largest drawn value (the manifest's design record)."""
        return {
            key: {"low": min(p[key] for p in self.points), "high": max(p[key] for p in self.points)}
            for key in self.parameters
        }


def posterior_columns(frame: pd.DataFrame) -> list[str]:
    """The parameter columns of a posterior table (not the calibration's bookkeeping)."""
    return [str(c) for c in frame.columns if not str(c).startswith(POSTERIOR_EXTRA_PREFIXES)
            and str(c) not in POSTERIOR_EXTRA_COLUMNS]  # fmt: skip


def pick_rows(rows: int, count: int, seed: int) -> np.ndarray:
    """``count`` of ``rows`` rows, picked with a seeded generator (without replacement if it can)."""
    return np.random.default_rng(seed).choice(rows, size=count, replace=count > rows)


def typed_overrides(
    scenario: Scenario, values: dict[str, float]
) -> tuple[dict[str, float | int], list[str]]:
    """A draw's values as overrides of ``scenario``: integer fields get the rounded value.

    Returns:
        The overrides, and the keys that are not fields of the scenario (left out).
    """
    document = scenario.model_dump(mode="json")
    overrides: dict[str, float | int] = {}
    unknown = []
    for key, value in values.items():
        node: Any = document
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                unknown.append(key)
                break
            node = node[part]
        else:
            is_integer = isinstance(node, int) and not isinstance(node, bool)
            overrides[key] = int(round(value)) if is_integer else float(value)
    return overrides, unknown


def load_draws(path: str | Path, draws: int, seed: int = 1) -> Draws:
    """Read ``draws`` plausible parameter sets from a posterior CSV or a TOML file of ranges.

    Args:
        path: The file (``.csv``: a posterior table; ``.toml``: ``[parameters]`` ranges).
        draws: How many parameter sets.
        seed: Seed of the choice of rows (posterior) or of the Latin hypercube (ranges).

    Raises:
        ScenarioError: Naming the file: missing, unreadable, no parameter columns or ranges, too
            few rows, values that are not finite numbers.
    """
    path = Path(path)
    source = str(path)
    if not 1 <= draws <= MAX_DRAWS:
        raise ScenarioError(source, [f"draws: {draws} (allowed: 1 to {MAX_DRAWS:,})"])
    if path.suffix.lower() == ".toml":
        return _ranges(path, draws, seed)
    if path.suffix.lower() != ".csv":
        raise ScenarioError(source, [
            f"uncertainty: unknown kind of file '{path.suffix or path.name}' (allowed: a posterior "
            ".csv, or a calibration spec or sweep file .toml with [parameters] ranges)"
        ])  # fmt: skip
    return _posterior(path, draws, seed)


def _repeated_columns(path: Path) -> list[tuple[str, int]]:
    """The header's names that appear more than once, with their counts, in header order."""
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    names = [str(name) for name in header.iloc[0]] if len(header) else []
    return [(name, names.count(name)) for name in dict.fromkeys(names) if names.count(name) > 1]


def _posterior(path: Path, draws: int, seed: int) -> Draws:
    source = str(path)
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise ScenarioError(source, ["file not found"]) from None
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ScenarioError(source, [f"cannot read the table: {error}"]) from None
    repeated = _repeated_columns(path)
    if repeated:  # pandas would read the second one as "name.1", a key nobody wrote
        raise ScenarioError(source, [
            f"{name}: column given {'twice' if count == 2 else f'{count} times'} (allowed: each "
            "column once)" for name, count in repeated
        ])  # fmt: skip
    columns = posterior_columns(table)
    if not columns:
        raise ScenarioError(source, [
            "columns: no parameter column (allowed: dotted scenario keys such as "
            "population.traders; predicted.* and distance are bookkeeping)"
        ])  # fmt: skip
    if table.empty:
        raise ScenarioError(source, [
            f"the table has no rows, only its header (allowed: at least {draws} row"
            f"{'s' if draws > 1 else ''}, one per world)"
        ])  # fmt: skip
    if len(table) < draws:  # each world a different row: no world counted twice
        raise ScenarioError(source, [
            f"draws: {draws} asked but the table has {len(table)} rows (allowed: 1 to {len(table)})"
        ])  # fmt: skip
    values = table[columns].apply(pd.to_numeric, errors="coerce")
    bad = [c for c in columns if not np.isfinite(values[c].to_numpy(dtype=float)).all()]
    if bad:
        raise ScenarioError(source, [f"{c}: a value is not a finite number" for c in bad])
    rows = pick_rows(len(table), draws, seed)
    points = [{c: float(values[c].iloc[r]) for c in columns} for r in rows]
    return Draws(source, "posterior", tuple(columns), points)


def _ranges(path: Path, draws: int, seed: int) -> Draws:
    source = str(path)
    _, document = read_toml_file(path, "uncertainty file")
    table = document.get("parameters")
    if not isinstance(table, dict) or not table:
        raise ScenarioError(source, [
            "parameters: no [parameters] ranges (allowed: a calibration spec or sweep file whose "
            '[parameters."key"] have low and high)'
        ])  # fmt: skip
    parameters, problems = [], []
    for key, entry in table.items():
        entry = entry if isinstance(entry, dict) else {}
        given = (entry.get("low"), entry.get("high"))
        low, high = (_finite_or_nan(v) for v in given)
        if not low < high:  # NaN (not a number) compares False too
            problems.append(f'parameters."{key}": needs numbers low < high (got {given[0]!r}, '
                            f"{given[1]!r})")  # fmt: skip
            continue
        log = bool(entry.get("log", False))
        if log and low <= 0:
            problems.append(f'parameters."{key}".log: a log range needs low > 0 (got {low!r})')
            continue
        parameters.append(Parameter(str(key), None, low, high, bool(entry.get("integer", False)),
                                    log))  # fmt: skip
    if problems:
        raise ScenarioError(source, problems)
    points = generate("lhs", parameters, draws, seed)
    return Draws(source, "ranges", tuple(p.key for p in parameters), points)


def _finite_or_nan(value: Any) -> float:
    """A finite number as a float, NaN for anything else (a string, a boolean, an infinity)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan

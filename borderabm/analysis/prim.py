"""PRIM, the Patient Rule Induction Method, through the EMA Workbench, with what discovery adds.

PRIM (Friedman & Fisher 1999, "Bump hunting in high-dimensional data", Statistics and Computing
9:123-143) finds a *box*: a lower and upper limit on some parameters where the cases of interest
concentrate. Scenario discovery (Bryant & Lempert 2010, Technological Forecasting and Social Change
77:34-49) judges a box by its **coverage** (share of all cases of interest in the box), **density**
(share of the box's cases that are of interest) and **mass** (share of all cases in the box).

The EMA Workbench's ``ema_workbench.analysis.prim`` (an optional extra, ``borderabm[discovery]``)
does the algorithm itself:

* **peeling**: from the box of all remaining cases, cut off ``peel_alpha`` of the box's cases at
  the low or high end of one parameter (at sdtoolkit's quantile, midway between neighbouring
  distinct values), keeping the cut with the best objective (``original``: Friedman & Fisher's
  density of the box left; ``lenient1``, ``lenient2``: the gain in density weighed by the cases
  removed), ties to more unrestricted parameters, while the box keeps ``min_mass`` of all cases;
* **pasting**: widen restricted limits by ``paste_alpha`` of the cases just outside while that
  raises both mass and density;
* **quasi-p values** (Bryant & Lempert 2010): per restricted limit, the one-sided binomial
  probability of the box's density if that limit were opened; above ~0.05 the limit may be an
  artefact of the sample.

The Workbench leaves the rest to an analyst at a notebook, so this module adds it (``Prim`` pastes
only from the last peeled box and never chooses one; ``drop_restriction`` opens both limits of a
parameter, on request):

1. **Choosing a box** on the peeling trajectory (:func:`select_step`): the densest box with at
   least ``min_coverage`` of the cases of interest, or with ``min_density`` the box of highest
   coverage at least that dense.
2. **Pasting the chosen box**, not the last peeled one.
3. **Opening limits** (``max_quasi_p``): open the chosen box's least significant limit, one side at
   a time, while its quasi-p value exceeds the bound, so the box keeps only the limits the data
   support.
4. **Covering** (``max_boxes`` > 1): remove the chosen box's cases and look for the next box among
   the rest; coverage and mass stay shares of *all* cases, so the boxes' coverages add up.
5. **Whole-number limits** for integer parameters (:func:`reported_limits`).

Every parameter is given to the Workbench as a float (it peels integer columns with a different
rule) under a positional name (it drops a column named ``scenario``).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
import pandas as pd

Objective = Literal["lenient1", "lenient2", "original"]
OBJECTIVES: tuple[str, ...] = ("original", "lenient1", "lenient2")
# The Workbench's PRIM calls private methods of its own (_peel, _paste) that this module calls too:
# a version it was checked against (tests/test_discovery.py compares its boxes with the Workbench's).
EMA_REQUIREMENT = "ema-workbench>=3.0,<3.1"


class PrimUnavailableError(ImportError):
    """The EMA Workbench, which does PRIM, is not installed."""


@dataclass(frozen=True, eq=False)  # arrays: compare steps by their fields
class Step:
    """One box on a peeling (or pasting) trajectory.

    Attributes:
        lower: Lower limit per parameter (the data's minimum where unrestricted).
        upper: Upper limit per parameter (the data's maximum where unrestricted).
        inside: Which of all cases are in the box (only cases not taken by earlier boxes count).
        cases: Number of cases in the box.
        of_interest: Number of cases of interest in the box.
        coverage: ``of_interest`` / all cases of interest.
        density: ``of_interest`` / ``cases``.
        mass: ``cases`` / all cases.
        restricted: Names of the parameters whose limits are narrower than the data's range.
        phase: How the step was made: ``"start"`` (the box of all remaining cases), ``"peel"``,
            ``"paste"`` or ``"open"`` (a limit with too high a quasi-p value opened again).
    """

    lower: np.ndarray
    upper: np.ndarray
    inside: np.ndarray
    cases: int
    of_interest: int
    coverage: float
    density: float
    mass: float
    restricted: tuple[str, ...]
    phase: str


@dataclass(frozen=True)
class Box:
    """A box found by PRIM: its trajectory, the chosen step and the quasi-p values of its limits.

    Attributes:
        number: 1 for the first box, 2 for the box found after removing the first's cases, ...
        trajectory: Peeling steps (from the box of all remaining cases), then pasting steps.
        chosen: Index of the chosen step in ``trajectory``.
        quasi_p: Per restricted parameter of the chosen step, the one-sided binomial p-values of
            its density against the box with the lower, and with the upper, limit opened (NaN for
            a side that is open already).
        remaining_cases: Cases left when this box was sought.
        remaining_of_interest: Cases of interest left when this box was sought.
        selection: How the step was chosen, in words.
    """

    number: int
    trajectory: list[Step]
    chosen: int
    quasi_p: dict[str, tuple[float, float]]
    remaining_cases: int
    remaining_of_interest: int
    selection: str

    @property
    def step(self) -> Step:
        """The chosen step."""
        return self.trajectory[self.chosen]


@dataclass(frozen=True)
class PrimResult:
    """The boxes found on one data set, with what they were found on.

    Attributes:
        names: Parameter names, in column order.
        x: The parameter values, one row per case.
        y: Whether each case is of interest.
        boxes: The boxes found (at least one).
        settings: The PRIM settings used.
    """

    names: list[str]
    x: np.ndarray
    y: np.ndarray
    boxes: list[Box]
    settings: dict[str, Any]

    @property
    def base_rate(self) -> float:
        """Share of all cases that are of interest."""
        return float(self.y.mean())

    @property
    def data_lower(self) -> np.ndarray:
        """The data's minimum per parameter (the limits of the box of all cases)."""
        return self.x.min(axis=0)

    @property
    def data_upper(self) -> np.ndarray:
        """The data's maximum per parameter."""
        return self.x.max(axis=0)


def ema_prim() -> ModuleType:
    """The EMA Workbench's ``prim`` module, imported on first use.

    Imported late: the Workbench takes seconds to import (scikit-learn, statsmodels, seaborn) and
    is an optional extra. Its warning that ipyparallel is missing concerns none of our uses.

    Raises:
        PrimUnavailableError: If the EMA Workbench is not installed.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError as error:
        raise PrimUnavailableError(
            f"scenario discovery needs the EMA Workbench, which cannot be imported ({error}); "
            f"install borderabm's optional extra 'discovery', or: pip install '{EMA_REQUIREMENT}'"
        ) from None
    return prim


@contextmanager
def _workbench_calls(cases: int) -> Iterator[None]:
    """Room and quiet for the Workbench's PRIM.

    It peels and pastes recursively, one call per step, and each step takes at least one case: a
    small ``peel_alpha`` on many cases would otherwise overrun Python's recursion limit. Its pandas
    calls warn about pandas deprecations that are the Workbench's to follow, not the user's.
    """
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + cases + 100)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.setrecursionlimit(limit)


def _in_box(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return np.all((x >= lower) & (x <= upper), axis=1)


class PrimState:
    """One PRIM analysis over the Workbench's ``Prim``: data and settings; :func:`prim` drives it.

    Its steps are public so that each can be checked on its own (the tests compare them with the
    Workbench's ``find_box``): :meth:`peel`, :meth:`paste`, :meth:`open_limits` and
    :meth:`quasi_p`, each over the indices of the cases not yet taken by a box.

    Args:
        x: Parameter values, one row per case.
        y: Whether each case is of interest.
        names: Parameter names, one per column of ``x``.
        settings: ``peel_alpha``, ``paste_alpha``, ``min_mass`` and ``objective`` (as in
            :func:`prim`).

    Raises:
        PrimUnavailableError: If the EMA Workbench is not installed.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, names: list[str], settings: dict[str, Any]):
        self.ema = ema_prim()
        self.x = x
        self.y = y.astype(float)
        self.names = names
        self.n = len(y)
        self.total_of_interest = max(int(y.sum()), 1)
        self.init_lower = x.min(axis=0)
        self.init_upper = x.max(axis=0)
        self.columns = [f"x{j}" for j in range(x.shape[1])]
        with _workbench_calls(self.n):
            self.workbench = self.ema.Prim(
                pd.DataFrame(x, columns=self.columns, dtype=float),
                y.astype(int),
                obj_function=self.ema.PRIMObjectiveFunctions(settings["objective"]),
                peel_alpha=settings["peel_alpha"],
                paste_alpha=settings["paste_alpha"],
                mass_min=settings["min_mass"],
            )

    def restricted(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Which parameters a box's limits restrict (narrower than the range of all cases)."""
        return (lower != self.init_lower) | (upper != self.init_upper)

    def step(self, lower: np.ndarray, upper: np.ndarray, indices: np.ndarray, phase: str) -> Step:
        """The box with these limits holding the cases ``indices``, with its numbers."""
        inside = np.zeros(self.n, dtype=bool)
        inside[indices] = True
        of_interest = int(self.y[indices].sum())
        cases = int(indices.size)
        return Step(
            lower=lower.copy(),
            upper=upper.copy(),
            inside=inside,
            cases=cases,
            of_interest=of_interest,
            coverage=of_interest / self.total_of_interest,
            density=of_interest / cases if cases else 0.0,
            mass=cases / self.n,
            restricted=tuple(
                name for name, r in zip(self.names, self.restricted(lower, upper), strict=True) if r
            ),
            phase=phase,
        )

    def _workbench_box(self, start: Step, remaining: np.ndarray) -> Any:
        """A Workbench ``PrimBox`` over the ``remaining`` cases whose current box is ``start``.

        Its trajectory begins with the box of all cases, as the Workbench's own boxes do: it
        computes quasi-p values against the first box of the trajectory.
        """
        self.workbench.yi_remaining = remaining
        with _workbench_calls(self.n):
            box = self.ema.PrimBox(self.workbench, self.workbench.box_init, remaining)
            if start.restricted:
                limits = pd.DataFrame([start.lower, start.upper], columns=self.columns)
                box.update(limits, np.flatnonzero(start.inside))
        return box

    def _steps(self, limits: list[pd.DataFrame], phase: str, remaining: np.ndarray) -> list[Step]:
        """Steps from the Workbench's box limits, each with the ``remaining`` cases it holds."""
        steps = []
        for box_lim in limits:
            lower, upper = box_lim.loc[0].to_numpy(float), box_lim.loc[1].to_numpy(float)
            indices = remaining[_in_box(self.x[remaining], lower, upper)]
            steps.append(self.step(lower, upper, indices, phase))
        return steps

    def peel(self, remaining: np.ndarray) -> list[Step]:
        """The peeling trajectory over the ``remaining`` cases (indices)."""
        start = self.step(self.init_lower, self.init_upper, remaining, "start")
        box = self._workbench_box(start, remaining)
        with _workbench_calls(self.n):
            self.workbench._peel(box)
        return [start, *self._steps(box.box_lims[1:], "peel", remaining)]

    def paste(self, start: Step, remaining: np.ndarray) -> list[Step]:
        """Pasting steps from ``start`` over the ``remaining`` cases (empty if none helps)."""
        box = self._workbench_box(start, remaining)
        known = len(box.box_lims)
        with _workbench_calls(self.n):
            self.workbench._paste(box)
        return self._steps(box.box_lims[known:], "paste", remaining)

    def open_limits(self, start: Step, remaining: np.ndarray, max_quasi_p: float) -> list[Step]:
        """Open the limits of ``start`` whose quasi-p value exceeds ``max_quasi_p``, one at a time.

        Each time the least significant limit (ties: the first parameter, lower side first) is
        opened and the quasi-p values are computed again for the wider box.

        Returns:
            One ``open`` step per opened limit (empty if every limit is significant).
        """
        steps: list[Step] = []
        current = start
        while current.restricted:
            worst: tuple[float, int, int] | None = None
            for name, sides in self.quasi_p(current, remaining).items():
                for side, value in enumerate(sides):
                    significant = not np.isfinite(value) or value <= max_quasi_p
                    if not significant and (worst is None or value > worst[0]):
                        worst = (value, self.names.index(name), side)
            if worst is None:
                break
            _, j, side = worst
            lower, upper = current.lower.copy(), current.upper.copy()
            if side == 0:
                lower[j] = self.init_lower[j]
            else:
                upper[j] = self.init_upper[j]
            indices = remaining[_in_box(self.x[remaining], lower, upper)]
            current = self.step(lower, upper, indices, "open")
            steps.append(current)
        return steps

    def quasi_p(self, chosen: Step, remaining: np.ndarray) -> dict[str, tuple[float, float]]:
        """Bryant & Lempert's quasi-p values of a box's limits, as the Workbench computes them.

        Returns:
            Per restricted parameter, (lower, upper): NaN for a side that is open.
        """
        if not chosen.restricted:
            return {}
        values = self._workbench_box(chosen, remaining).p_values[-1]
        return {
            self.names[self.columns.index(column)]: (_p_or_nan(sides[0]), _p_or_nan(sides[1]))
            for column, sides in values.items()
        }


def _p_or_nan(value: float) -> float:
    """The Workbench marks a side that is open with -1."""
    return float("nan") if value == -1 else float(value)


def select_step(
    trajectory: list[Step], min_coverage: float = 0.5, min_density: float | None = None
) -> tuple[int, str]:
    """Choose a box on a trajectory.

    Args:
        trajectory: Steps of a peeling trajectory.
        min_coverage: Without ``min_density``: the densest step with at least this coverage (ties:
            the higher coverage, then the earlier step).
        min_density: If given: the step of highest coverage with at least this density (ties: the
            fewer restricted parameters, then the earlier step); if no step is that dense, the
            densest step.

    Returns:
        The index of the chosen step and the rule that chose it, in words.
    """
    order = range(len(trajectory))
    if min_density is not None:
        dense = [i for i in order if trajectory[i].density >= min_density]
        if dense:
            best = max(dense, key=lambda i: (trajectory[i].coverage,
                                             -len(trajectory[i].restricted), -i))  # fmt: skip
            return best, f"highest coverage with density >= {min_density:g}"
        best = max(order, key=lambda i: (trajectory[i].density, trajectory[i].coverage, -i))
        return best, f"no box reaches density {min_density:g}: the densest box"
    eligible = [i for i in order if trajectory[i].coverage >= min_coverage - 1e-12]
    best = max(eligible, key=lambda i: (trajectory[i].density, trajectory[i].coverage, -i))
    return best, f"highest density with coverage >= {min_coverage:g}"


def prim(
    x: pd.DataFrame,
    y: np.ndarray | pd.Series,
    *,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_mass: float = 0.05,
    paste: bool = True,
    min_coverage: float = 0.5,
    min_density: float | None = None,
    max_boxes: int = 1,
    objective: Objective = "original",
    max_quasi_p: float | None = None,
) -> PrimResult:
    """Find boxes of the parameter space where the cases of interest concentrate.

    Args:
        x: Numeric parameters, one row per case (booleans count as 0/1).
        y: Whether each case is of interest (booleans or 0/1).
        peel_alpha: Share of a box's cases cut off per peel (0 < alpha < 0.5).
        paste_alpha: Share of the cases just outside a limit added per paste (0 < alpha < 0.5).
        min_mass: Peeling stops before a box would hold fewer than this share of all cases.
        paste: Whether to paste after choosing a box.
        min_coverage: Selection: the densest box with at least this coverage.
        min_density: Selection instead: the box of highest coverage with at least this density.
        max_boxes: Boxes to find by covering (each after removing the previous boxes' cases).
        objective: ``original`` (Friedman & Fisher: the candidate's density; peels down to
            ``min_mass`` and leaves the choice to the selection rule), ``lenient1`` (gain in
            density per case removed; the EMA Workbench's default) or ``lenient2`` (Friedman &
            Fisher's eq. 14.6). The lenient objectives stop at the first box that no single peel
            makes denser, which on a few dozen noisy design points is often far too early.
        max_quasi_p: If given, open the chosen box's limits whose quasi-p value exceeds it, the
            least significant first, recomputing after each (Bryant & Lempert 2010 drop such
            restrictions); the opened boxes join the trajectory as ``open`` steps.

    Returns:
        The boxes, at least one (the first box may restrict nothing if no peel helps).

    Raises:
        ValueError: For bad settings, non-numeric or non-finite parameters, or ``y`` that is not
            binary or has another length.
        PrimUnavailableError: If the EMA Workbench is not installed.
    """
    _check_settings(peel_alpha, paste_alpha, min_mass, min_coverage, min_density, max_boxes,
                    objective, max_quasi_p)  # fmt: skip
    names, values, target = _case_arrays(x, y)
    settings = {"peel_alpha": peel_alpha, "paste_alpha": paste_alpha, "min_mass": min_mass,
                "paste": paste, "min_coverage": min_coverage, "min_density": min_density,
                "max_boxes": max_boxes, "objective": objective,
                "max_quasi_p": max_quasi_p}  # fmt: skip
    state = PrimState(values, target, names, settings)
    remaining = np.arange(len(target))
    boxes: list[Box] = []
    while len(boxes) < max_boxes and remaining.size and target[remaining].any():
        box = _find_box(state, remaining, len(boxes) + 1, settings)
        if boxes and not box.step.restricted:
            break  # a later box that restricts nothing is just "the rest": not a finding
        boxes.append(box)
        remaining = remaining[~box.step.inside[remaining]]  # covering: look among the rest
    return PrimResult(names=names, x=values, y=target, boxes=boxes, settings=settings)


def _case_arrays(
    x: pd.DataFrame, y: np.ndarray | pd.Series
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Parameter names, parameter values as floats and ``y`` as booleans, checked.

    Raises:
        ValueError: For no parameters, non-finite values, or ``y`` that is not binary or not one
            value per case.
    """
    names = [str(c) for c in x.columns]
    if not names:
        raise ValueError("no parameters")
    values = x.astype(float).to_numpy()
    if not np.isfinite(values).all():
        raise ValueError("parameters must be finite numbers")
    target = np.asarray(y)
    if target.ndim != 1 or target.shape[0] != values.shape[0] or target.shape[0] == 0:
        raise ValueError(f"y must be one value per case ({values.shape[0]}), got {target.shape}")
    if not np.isin(target, (0, 1)).all():
        raise ValueError("y must be binary (cases of interest: True or 1)")
    return names, values, target.astype(bool)


def _find_box(
    state: PrimState, remaining: np.ndarray, number: int, settings: dict[str, Any]
) -> Box:
    """One box among the ``remaining`` cases: peel, select, then paste and open limits if asked."""
    trajectory = state.peel(remaining)
    # Coverage counts all cases of interest; a later box can only cover what is left of them.
    min_coverage = settings["min_coverage"] * trajectory[0].coverage
    chosen, rule = select_step(trajectory, min_coverage, settings["min_density"])
    if settings["paste"] and trajectory[chosen].restricted:
        pasted = state.paste(trajectory[chosen], remaining)
        if pasted:
            rule += f", then pasted ({_count(len(pasted), 'step')})"
            trajectory = trajectory + pasted
            chosen = len(trajectory) - 1
    max_quasi_p = settings["max_quasi_p"]
    if max_quasi_p is not None and trajectory[chosen].restricted:
        opened = state.open_limits(trajectory[chosen], remaining, max_quasi_p)
        if opened:
            rule += f", then opened {_count(len(opened), 'limit')} with quasi-p > {max_quasi_p:g}"
            trajectory = trajectory + opened
            chosen = len(trajectory) - 1
    return Box(
        number=number,
        trajectory=trajectory,
        chosen=chosen,
        quasi_p=state.quasi_p(trajectory[chosen], remaining),
        remaining_cases=int(remaining.size),
        remaining_of_interest=int(state.y[remaining].sum()),
        selection=rule,
    )


def _count(number: int, noun: str) -> str:
    """``"1 step"``, ``"2 steps"``."""
    return f"{number} {noun}{'s' if number != 1 else ''}"


def _check_settings(peel_alpha, paste_alpha, min_mass, min_coverage, min_density, max_boxes,
                    objective, max_quasi_p) -> None:  # fmt: skip
    problems = setting_problems(peel_alpha=peel_alpha, paste_alpha=paste_alpha, min_mass=min_mass,
                                min_coverage=min_coverage, min_density=min_density,
                                max_boxes=max_boxes, objective=objective,
                                max_quasi_p=max_quasi_p)  # fmt: skip
    if problems:
        raise ValueError("; ".join(f"{name}: {what}" for name, what in problems))


def setting_problems(
    *,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_mass: float = 0.05,
    paste: bool = True,
    min_coverage: float = 0.5,
    min_density: float | None = None,
    max_boxes: int = 1,
    objective: str = "original",
    max_quasi_p: float | None = None,
) -> list[tuple[str, str]]:
    """What is wrong with the settings of :func:`prim` (the same defaults), each as a pair.

    Returns:
        ``(setting, "VALUE is out of range (allowed: ...)")`` per bad setting, in signature order;
        empty if all are good. A caller names its own options (``borderabm discover`` writes
        ``--peel-alpha``).
    """

    def outside(value: Any, allowed: str) -> str:
        return f"{value:g} is out of range (allowed: {allowed})"

    del paste  # a switch: either value is good
    problems = []
    if not 0 < peel_alpha < 0.5:
        problems.append(("peel_alpha", outside(peel_alpha, "above 0 and below 0.5")))
    if not 0 < paste_alpha < 0.5:
        problems.append(("paste_alpha", outside(paste_alpha, "above 0 and below 0.5")))
    if not 0 < min_mass <= 1:
        problems.append(("min_mass", outside(min_mass, "above 0, up to 1")))
    if not 0 <= min_coverage <= 1:
        problems.append(("min_coverage", outside(min_coverage, "0 to 1")))
    if min_density is not None and not 0 <= min_density <= 1:
        problems.append(("min_density", outside(min_density, "0 to 1")))
    if max_boxes < 1:
        problems.append(("max_boxes", outside(max_boxes, "1 or more")))
    # 0 opens every limit with a quasi-p above 0: the whole space, but a well-defined request.
    if max_quasi_p is not None and not 0 <= max_quasi_p <= 1:
        problems.append(("max_quasi_p", outside(max_quasi_p, "0 to 1")))
    if objective not in OBJECTIVES:
        problems.append(("objective", f"unknown objective {objective!r} "
                                      f"(allowed: {', '.join(OBJECTIVES)})"))  # fmt: skip
    return problems


# Tables ----------------------------------------------------------------------------------------
def reported_limits(
    step: Step, names: list[str], integers: tuple[str, ...] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """A box's limits as reported: whole numbers for whole-number parameters.

    PRIM cuts midway between neighbouring values, so a limit on a whole-number parameter can fall
    between two whole numbers (807.5 units). For whole-number values ``x >= 807.5`` is
    ``x >= 808`` and ``x <= 807.5`` is ``x <= 807``, so the lower limit is rounded up and the upper
    one down: the reported box holds exactly the cases PRIM's box holds (its coverage, density and
    mass stay true), and its limits are values a parameter can take. (Rounding the other way would
    let in cases PRIM cut off.)

    Args:
        step: The box.
        names: Parameter names, in column order.
        integers: The parameters whose values are all whole numbers.
    """
    lower, upper = step.lower.copy(), step.upper.copy()
    for j, name in enumerate(names):
        if name in integers:
            # The tolerance keeps a limit that is already whole (up to float error) where it is.
            lower[j] = math.ceil(lower[j] - 1e-9)
            upper[j] = math.floor(upper[j] + 1e-9)
    return lower, upper


def open_sides(step: Step, result: PrimResult) -> tuple[np.ndarray, np.ndarray]:
    """Which limits of a box are open: per parameter, the lower and the upper side.

    A side is open where the box's limit is the data's (PRIM did not cut there): the box keeps
    every case on that side, whatever the value. An unrestricted parameter is open on both sides.
    """
    return step.lower == result.data_lower, step.upper == result.data_upper


def boxes_table(
    result: PrimResult,
    ranges: dict[str, tuple[float, float]] | None = None,
    integers: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per box and parameter: limits, whether restricted, quasi-p and the box's numbers.

    An open limit (:func:`open_sides`) is NaN, with ``open_low``/``open_high`` true: the box keeps
    every value on that side, as ``discovery.md`` shows it (a dash). Writing the data's hull there
    would cut cases of another sample that the box keeps.

    Args:
        result: A :func:`prim` result.
        ranges: The design's range per parameter (reported beside the box's limits); default the
            data's range.
        integers: Whole-number parameters, whose limits are reported as whole numbers (see
            :func:`reported_limits`).
    """
    rows = []
    for box in result.boxes:
        step = box.step
        lower, upper = reported_limits(step, result.names, integers)
        open_low, open_high = open_sides(step, result)
        for j, name in enumerate(result.names):
            low, high = (ranges or {}).get(
                name, (float(result.data_lower[j]), float(result.data_upper[j]))
            )
            rows.append({
                "box": box.number, "parameter": name, "restricted": name in step.restricted,
                "low": np.nan if open_low[j] else float(lower[j]),
                "high": np.nan if open_high[j] else float(upper[j]),
                "open_low": bool(open_low[j]), "open_high": bool(open_high[j]),
                "range_low": float(low), "range_high": float(high),
                "quasi_p_low": box.quasi_p.get(name, (np.nan, np.nan))[0],
                "quasi_p_high": box.quasi_p.get(name, (np.nan, np.nan))[1],
                "coverage": step.coverage,
                "density": step.density, "mass": step.mass, "cases": step.cases,
                "cases_of_interest": step.of_interest, "base_rate": result.base_rate,
                "remaining_base_rate": box.remaining_of_interest / box.remaining_cases,
            })  # fmt: skip
    return pd.DataFrame(rows)


def trajectory_table(result: PrimResult) -> pd.DataFrame:
    """One row per step of every box's trajectory, with ``chosen`` marking the chosen steps."""
    rows = []
    for box in result.boxes:
        for index, step in enumerate(box.trajectory):
            rows.append({
                "box": box.number, "step": index, "phase": step.phase, "coverage": step.coverage,
                "density": step.density, "mass": step.mass, "cases": step.cases,
                "cases_of_interest": step.of_interest, "restricted": len(step.restricted),
                "parameters": " ".join(step.restricted), "chosen": index == box.chosen,
            })  # fmt: skip
    return pd.DataFrame(rows)

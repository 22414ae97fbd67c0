"""Scenario discovery on a sweep's results with PRIM, the Patient Rule Induction Method.

Which ranges of the varied parameters lead to an outcome of interest ("the trade corridor does not
raise attacks")? PRIM (Friedman & Fisher 1999, "Bump hunting in high-dimensional data", Statistics
and Computing 9:123-143) answers with a *box*: a lower and upper limit on some of the parameters.
Scenario discovery (Bryant & Lempert 2010, Technological Forecasting and Social Change 77:34-49)
judges a box by three numbers:

* **coverage** — the share of all cases of interest that fall in the box;
* **density** — the share of the cases in the box that are of interest;
* **mass** — the share of all cases that fall in the box.

The algorithm, in numpy (the EMA Workbench's ``prim`` is a dev dependency only; the tests check
that this implementation finds the same boxes):

1. **Peeling.** Start from the box that holds every case. For every parameter, try cutting off the
   ``peel_alpha`` share of the box's cases at its low end and at its high end (cut at the
   quantile, midway between neighbouring distinct values, so ties never leave a cut that removes
   nothing). Keep the cut with the best objective — by default Friedman & Fisher's: the density
   of the box that is left (``original``); the EMA Workbench's ``lenient1`` and ``lenient2``
   weigh the gain in density by the cases removed. Ties go to the cut that leaves more parameters
   unrestricted. Repeat while the box keeps at least ``min_mass`` of all cases and the objective is
   positive (``original``: until ``min_mass``; the lenient objectives also stop when no cut makes
   the box denser, which on a few dozen noisy design points happens far too early). Every box on
   the way is a step of the **peeling trajectory**.
2. **Selection.** Choose one box on the trajectory: by default the densest box whose coverage is at
   least ``min_coverage``; with ``min_density``, the box of highest coverage whose density is at
   least that (or, if none is that dense, the densest box).
3. **Pasting** (optional, on by default). Widen the chosen box's restricted limits again by
   ``paste_alpha`` of the cases just outside, while that raises both mass and density.
4. **Opening limits** (optional, ``max_quasi_p``; the CLI opens limits with quasi-p > 0.05). Open
   the chosen box's least significant limit while its quasi-p value (below) exceeds the bound, so
   the box keeps only the limits the data support (Bryant & Lempert 2010).
5. **Covering** (optional, ``max_boxes`` > 1). Remove the chosen box's cases and look for the next
   box among the rest. Coverage and mass stay shares of *all* cases, so the boxes' coverages add up.

For each restricted limit of a chosen box the **quasi-p value** (Bryant & Lempert 2010; per side,
as in the EMA Workbench) is the one-sided binomial probability of the box's density if that limit
were opened: a large value (above ~0.05) says the limit may be an artefact of the sample.

Cases: by default one case per **design point**, with the outcome averaged over the point's
replicates (common seeds): the box then describes where the *expected* outcome is of interest and
its mass is a share of the design space (an LHS sample spreads points evenly over it). Replicate
noise would otherwise blur the boxes: a run is "of interest" partly by luck, and PRIM cannot tell
runs at one point apart by their parameters. ``cases="run"`` uses one case per run instead. With a
reference scenario the outcome is the **paired difference** scenario − reference of each run on
the same design point and replicate (so the same seed and, by the per-kind random streams, the same
luck), averaged per point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

# The run rows' bookkeeping columns (neither parameters nor metrics): one definition for both
# readers of a sweep store.
from borderabm.experiments.sensitivity import FIXED_COLUMNS
from borderabm.experiments.store import MANIFEST, RUNS, ResultsStore, StoreError, atomic_write

if TYPE_CHECKING:
    from rich.console import Console

Objective = Literal["lenient1", "lenient2", "original"]
OBJECTIVES: tuple[str, ...] = ("original", "lenient1", "lenient2")
CASE_UNITS: tuple[str, ...] = ("point", "run")
BOXES_CSV = "boxes.csv"
TRAJECTORY_CSV = "trajectory.csv"
REPORT_MD = "discovery.md"
LIMIT_COLUMNS = ("parameter", "box low", "quasi-p low", "box high", "quasi-p high", "design range")
TRAJECTORY_PNG = "trajectory.png"


class DiscoveryError(ValueError):
    """Input that scenario discovery cannot use (reported as ``error:`` lines by the CLI).

    Args:
        message: What is wrong, and what is allowed.
        source: The file or directory at fault, if not the sweep directory.
    """

    def __init__(self, message: str, source: str | None = None):
        super().__init__(message)
        self.source = source


# PRIM ------------------------------------------------------------------------------------------
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


def sd_quantile(values: np.ndarray, quantile: float) -> float:
    """The quantile PRIM peels at: the midpoint between two neighbouring distinct values.

    This is the quantile of sdtoolkit and the EMA Workbench. On the low side (``quantile`` <= 0.5)
    it moves up past values equal to the quantile's order statistic, on the high side down, so a
    cut at the returned value always separates at least one case from the rest (unless every value
    is equal).

    Args:
        values: Non-empty sample.
        quantile: Strictly between 0 and 1.

    Returns:
        The cut value.
    """
    data = np.sort(np.asarray(values, dtype=float))
    position = (len(data) - 1) * quantile
    low, high = math.floor(position), math.ceil(position)
    if quantile > 0.5:
        while data[low] == data[high] and low > 0:
            low -= 1
    else:
        while data[low] == data[high] and high < len(data) - 1:
            high += 1
    return float((data[low] + data[high]) / 2)


def _objective(kind: str, y_old: np.ndarray, y_new: np.ndarray) -> float:
    """How much better a candidate box (``y_new``) is than the current one (``y_old``)."""
    if kind == "original":  # Friedman & Fisher: the candidate's mean
        return float(y_new.mean()) if y_new.size else -1.0
    mean_old = float(y_old.mean())
    mean_new = float(y_new.mean()) if y_new.size else 0.0
    if mean_new == mean_old:
        return 0.0
    change = abs(y_old.size - y_new.size)
    if kind == "lenient1":  # gain in mean per case removed (or added)
        return (mean_new - mean_old) / change
    return y_new.size * (mean_new - mean_old) / change  # lenient2: Friedman & Fisher eq. 14.6


def _in_box(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return np.all((x >= lower) & (x <= upper), axis=1)


class PrimState:
    """One PRIM analysis: data and settings; :func:`prim` drives it box by box.

    Its steps are public so that each can be checked on its own (the tests compare them with the
    EMA Workbench's): :meth:`peel`, :meth:`paste` and :meth:`quasi_p`, each over the indices of the
    cases not yet taken by a box.

    Args:
        x: Parameter values, one row per case.
        y: Whether each case is of interest.
        names: Parameter names, one per column of ``x``.
        settings: ``peel_alpha``, ``paste_alpha``, ``min_mass`` and ``objective`` (as in
            :func:`prim`).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, names: list[str], settings: dict[str, Any]):
        self.x = x
        self.y = y.astype(float)
        self.names = names
        self.n = len(y)
        self.total_of_interest = max(int(y.sum()), 1)
        self.init_lower = x.min(axis=0)
        self.init_upper = x.max(axis=0)
        self.peel_alpha = settings["peel_alpha"]
        self.paste_alpha = settings["paste_alpha"]
        self.min_mass = settings["min_mass"]
        self.objective = settings["objective"]

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

    def _best(
        self, current: np.ndarray, candidates
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """The candidate with the best objective.

        Ties go to more unrestricted parameters, then to the earlier candidate (parameters in
        column order, the high side before the low), as in the EMA Workbench.
        """
        best = None
        for lower, upper, indices in candidates:
            score = _objective(self.objective, self.y[current], self.y[indices])
            free = int(np.count_nonzero(~self.restricted(lower, upper)))
            if best is None or (score, free) > (best[0], best[1]):
                best = (score, free, lower, upper, indices)
        assert best is not None
        return best[0], best[2], best[3], best[4]

    def peel(self, remaining: np.ndarray) -> list[Step]:
        """The peeling trajectory over the ``remaining`` cases (indices)."""
        lower, upper, current = self.init_lower.copy(), self.init_upper.copy(), remaining
        trajectory = [self.step(lower, upper, current, "start")]
        while True:
            candidates = []
            for j in range(len(self.names)):
                column = self.x[current, j]
                cut = sd_quantile(column, 1 - self.peel_alpha)
                new_upper = upper.copy()
                new_upper[j] = cut
                candidates.append((lower, new_upper, current[column <= cut]))
                cut = sd_quantile(column, self.peel_alpha)
                new_lower = lower.copy()
                new_lower[j] = cut
                candidates.append((new_lower, upper, current[column >= cut]))
            score, new_lower, new_upper, indices = self._best(current, candidates)
            mass_old, mass_new = current.size / self.n, indices.size / self.n
            if not (mass_new >= self.min_mass and mass_new < mass_old and score > 0):
                return trajectory
            lower, upper, current = new_lower, new_upper, indices
            trajectory.append(self.step(lower, upper, current, "peel"))

    def paste(self, start: Step, remaining: np.ndarray) -> list[Step]:
        """Pasting steps from ``start`` over the ``remaining`` cases (empty if none helps)."""
        lower, upper = start.lower.copy(), start.upper.copy()
        current = np.flatnonzero(start.inside)
        x = self.x[remaining]
        steps: list[Step] = []
        while True:
            candidates = []
            for j in np.flatnonzero(self.restricted(lower, upper)):
                for side in ("lower", "upper"):
                    # The cases just outside this limit, within the other limits.
                    strip_lower, strip_upper = lower.copy(), upper.copy()
                    if side == "lower":
                        strip_lower[j], strip_upper[j] = self.init_lower[j], lower[j]
                    else:
                        strip_lower[j], strip_upper[j] = upper[j], self.init_upper[j]
                    strip = x[_in_box(x, strip_lower, strip_upper), j]
                    new_lower, new_upper = lower.copy(), upper.copy()
                    if side == "lower":
                        value = (sd_quantile(strip, 1 - self.paste_alpha) if strip.size
                                 else self.init_lower[j])  # fmt: skip
                        new_lower[j] = value
                    else:
                        value = (sd_quantile(strip, self.paste_alpha) if strip.size
                                 else self.init_upper[j])  # fmt: skip
                        new_upper[j] = value
                    indices = remaining[_in_box(x, new_lower, new_upper)]
                    candidates.append((new_lower, new_upper, indices))
            if not candidates:
                return steps
            score, new_lower, new_upper, indices = self._best(current, candidates)
            mass_old, mass_new = current.size / self.n, indices.size / self.n
            gain = self.y[indices].mean() > self.y[current].mean() if indices.size else False
            if not (mass_new >= self.min_mass and mass_new > mass_old and score > 0 and gain):
                return steps
            lower, upper, current = new_lower, new_upper, indices
            steps.append(self.step(lower, upper, current, "paste"))

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
        """Bryant & Lempert's quasi-p values of a box's limits.

        Returns:
            Per restricted parameter, (lower, upper): NaN for a side that is open.
        """
        from scipy.stats import binomtest

        values = {}
        x, y = self.x[remaining], self.y[remaining]
        for name in chosen.restricted:
            j = self.names.index(name)
            sides = []
            for side, opened in ((0, self.init_lower[j]), (1, self.init_upper[j])):
                lower, upper = chosen.lower.copy(), chosen.upper.copy()
                limits = lower if side == 0 else upper
                if limits[j] == opened:
                    sides.append(float("nan"))
                    continue
                limits[j] = opened
                density_opened = float(y[_in_box(x, lower, upper)].mean())
                test = binomtest(
                    chosen.of_interest, chosen.cases, density_opened, alternative="greater"
                )
                sides.append(float(test.pvalue))
            values[name] = (sides[0], sides[1])
        return values


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
    problems = []
    if not 0 < peel_alpha < 0.5:
        problems.append(f"peel_alpha must be between 0 and 0.5 (got {peel_alpha})")
    if not 0 < paste_alpha < 0.5:
        problems.append(f"paste_alpha must be between 0 and 0.5 (got {paste_alpha})")
    if not 0 < min_mass <= 1:
        problems.append(f"min_mass must be in (0, 1] (got {min_mass})")
    if not 0 <= min_coverage <= 1:
        problems.append(f"min_coverage must be in [0, 1] (got {min_coverage})")
    if min_density is not None and not 0 <= min_density <= 1:
        problems.append(f"min_density must be in [0, 1] (got {min_density})")
    if max_boxes < 1:
        problems.append(f"max_boxes must be at least 1 (got {max_boxes})")
    if max_quasi_p is not None and not 0 < max_quasi_p <= 1:
        problems.append(f"max_quasi_p must be in (0, 1] (got {max_quasi_p})")
    if objective not in OBJECTIVES:
        problems.append(f"unknown objective {objective!r} (allowed: {', '.join(OBJECTIVES)})")
    if problems:
        raise ValueError("; ".join(problems))


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


def boxes_table(
    result: PrimResult,
    ranges: dict[str, tuple[float, float]] | None = None,
    integers: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per box and parameter: limits, whether restricted, quasi-p and the box's numbers.

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
        for j, name in enumerate(result.names):
            low, high = (ranges or {}).get(
                name, (float(result.data_lower[j]), float(result.data_upper[j]))
            )
            rows.append({
                "box": box.number, "parameter": name, "restricted": name in step.restricted,
                "low": float(lower[j]), "high": float(upper[j]),
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


# Reading a sweep store --------------------------------------------------------------------------
@dataclass
class Cases:
    """The data PRIM sees: parameters and outcome per case, and what they mean.

    Attributes:
        x: Varied numeric parameters, one row per case.
        outcome: The metric (or paired difference) per case.
        label: What the outcome is, e.g. ``attacks (trade_corridor − baseline)``.
        unit: ``"point"`` (design point, mean over replicates) or ``"run"``.
        scenario: The scenario whose runs are used.
        reference: The reference scenario of a paired difference, or None.
        replicates: Replicates per case (min and max over cases; 1 per run).
        ranges: The design's range of each parameter.
        sweep: The sweep's name.
        notes: What was left out and why.
        integers: The parameters the design declares ``integer = true`` (and whose values are
            all whole numbers): their limits are reported as whole numbers.
    """

    x: pd.DataFrame
    outcome: pd.Series
    label: str
    unit: str
    scenario: str
    reference: str | None
    replicates: tuple[int, int]
    ranges: dict[str, tuple[float, float]]
    sweep: str
    notes: list[str] = field(default_factory=list)
    integers: tuple[str, ...] = ()


def load_cases(
    store: ResultsStore,
    metric: str,
    scenario: str | None = None,
    relative_to: str | None = None,
    unit: str = "point",
) -> Cases:
    """Read the cases of one scenario (or a paired difference) from a sweep's results store.

    Args:
        store: A results directory written by ``borderabm sweep``.
        metric: A summary metric of the runs.
        scenario: The scenario whose runs to use; may be omitted when the store holds one scenario,
            or two with ``relative_to`` naming the other.
        relative_to: A reference scenario: the outcome is scenario − reference per run on the same
            design point and replicate.
        unit: ``"point"`` (one case per design point, mean over replicates) or ``"run"``.

    Raises:
        DiscoveryError: For a directory that is not a sweep store, no finished runs, an unknown
            scenario, reference or metric, no paired runs, or no varied numeric parameters.
    """
    if unit not in CASE_UNITS:
        raise DiscoveryError(f"unknown case unit {unit!r} (allowed: {', '.join(CASE_UNITS)})")
    manifest = _read_manifest(store)
    design = manifest.get("design") or {}
    names = list(design.get("parameters") or {})
    points = design.get("points") or []
    if not names or not points:
        raise DiscoveryError("the sweep varies no parameters, so there are no ranges to discover "
                             "(a comparison of scenarios only); sweep some parameters first")  # fmt: skip
    runs = _read_runs(store)
    if runs.empty:
        raise DiscoveryError("no finished runs yet; run the sweep first")
    scenario = _choose_scenario(manifest, runs, scenario, relative_to)
    _check_metric(runs, names, metric)
    notes: list[str] = []
    values, label = _run_outcomes(runs, metric, scenario, relative_to, notes)
    parameters, ranges = _parameter_frame(points, names, design.get("parameters") or {}, notes)
    x, outcome, replicates = _cases_of(values, parameters, unit)
    varied = _varied_parameters(x, notes)
    integers = _whole_number_parameters(x[varied], design.get("parameters") or {})
    sweep = (manifest.get("sweep") or {}).get("name", store.root.name)
    return Cases(x=x[varied], outcome=outcome, label=label, unit=unit, scenario=scenario,
                 reference=relative_to, replicates=replicates,
                 ranges={n: ranges[n] for n in varied}, sweep=sweep, notes=notes,
                 integers=integers)  # fmt: skip


def _whole_number_parameters(x: pd.DataFrame, specs: dict[str, Any]) -> tuple[str, ...]:
    """The parameters the design declares ``integer = true`` whose values are all whole numbers.

    The second condition keeps the rounding of :func:`reported_limits` exact even for a store
    whose points were not rounded.
    """
    declared = [n for n in x.columns if isinstance(specs.get(n), dict) and specs[n].get("integer")]
    return tuple(n for n in declared if (x[n] == np.round(x[n])).all())


def _choose_scenario(
    manifest: dict[str, Any], runs: pd.DataFrame, scenario: str | None, relative_to: str | None
) -> str:
    """The scenario whose runs to use: as asked, or the only one besides the reference.

    Raises:
        DiscoveryError: For an unknown scenario or reference, a reference equal to the scenario, or
            no scenario named when the store holds several.
    """
    listed = list(manifest.get("scenarios") or {})
    with_runs = set(runs["scenario"])
    # The sweep file's order first, then any scenario only the runs know; only those with runs.
    available = [s for s in listed + sorted(with_runs - set(listed)) if s in with_runs]
    allowed = ", ".join(available)
    if relative_to is not None and relative_to not in available:
        raise DiscoveryError(
            f"--relative-to: unknown scenario {relative_to!r} (allowed: {allowed})"
        )
    if scenario is None:
        candidates = [s for s in available if s != relative_to]
        if len(candidates) != 1:
            raise DiscoveryError(f"the store holds several scenarios; choose one with --scenario "
                                 f"(allowed: {allowed})")  # fmt: skip
        scenario = candidates[0]
    elif scenario not in available:
        raise DiscoveryError(f"--scenario: unknown scenario {scenario!r} (allowed: {allowed})")
    if relative_to == scenario:
        raise DiscoveryError(f"--relative-to must name another scenario than {scenario!r} "
                             f"(allowed: {', '.join(s for s in available if s != scenario)})")  # fmt: skip
    return scenario


def _check_metric(runs: pd.DataFrame, names: list[str], metric: str) -> None:
    """Raise a DiscoveryError unless ``metric`` is a numeric summary metric of the runs."""
    metrics = [c for c in runs.columns if c not in FIXED_COLUMNS and c not in names
               and pd.api.types.is_numeric_dtype(runs[c])
               and not pd.api.types.is_bool_dtype(runs[c])]  # fmt: skip
    if metric not in metrics:
        raise DiscoveryError(f"--metric: unknown metric {metric!r} (allowed: {', '.join(metrics)})")


def _run_outcomes(
    runs: pd.DataFrame, metric: str, scenario: str, relative_to: str | None, notes: list[str]
) -> tuple[pd.DataFrame, str]:
    """The outcome of each run (or pair of runs), and what it is in words.

    Returns:
        Rows with ``point``, ``replicate`` and ``value`` (runs without a value left out, with a
        note), and the outcome's label.

    Raises:
        DiscoveryError: If no run has a value, or paired runs do not share their seeds or do not
            exist.
    """
    own = runs.loc[runs["scenario"] == scenario, ["point", "replicate", "seed", metric]]
    if relative_to is None:
        values = own.rename(columns={metric: "value"})
        label = f"{metric} ({scenario})"
    else:
        values = _paired_differences(runs, own, metric, scenario, relative_to, notes)
        label = f"{metric} ({scenario} − {relative_to})"
    missing = values["value"].isna()
    if missing.any():
        notes.append(f"{int(missing.sum())} runs with no value of {metric} (NaN) left out")
        values = values[~missing]
    if values.empty:
        raise DiscoveryError(f"no run of {scenario!r} has a value of {metric}")
    return values, label


def _paired_differences(
    runs: pd.DataFrame,
    own: pd.DataFrame,
    metric: str,
    scenario: str,
    relative_to: str,
    notes: list[str],
) -> pd.DataFrame:
    """Scenario − reference per design point and replicate (same seed), as column ``value``."""
    other = runs.loc[runs["scenario"] == relative_to, ["point", "replicate", "seed", metric]]
    paired = own.merge(other, on=["point", "replicate"], suffixes=("", "_ref"))
    if (paired["seed"] != paired["seed_ref"]).any():
        raise DiscoveryError(f"runs of {scenario!r} and {relative_to!r} at the same design point "
                             "and replicate have different seeds; they cannot be paired")  # fmt: skip
    unpaired = len(own) + len(other) - 2 * len(paired)
    if unpaired:
        notes.append(f"{unpaired} runs without a partner in the other scenario left out "
                     "(an unfinished sweep?)")  # fmt: skip
    if paired.empty:
        raise DiscoveryError(f"no runs of {scenario!r} and {relative_to!r} share a design point "
                             "and replicate")  # fmt: skip
    return paired.assign(value=paired[metric] - paired[f"{metric}_ref"])


def _cases_of(
    values: pd.DataFrame, parameters: pd.DataFrame, unit: str
) -> tuple[pd.DataFrame, pd.Series, tuple[int, int]]:
    """One case per design point (mean over its replicates) or per run.

    Returns:
        The parameters and outcome per case, and the fewest and most replicates per case.

    Raises:
        DiscoveryError: If runs refer to design points the manifest does not list.
    """
    if not values["point"].isin(parameters.index).all():
        raise DiscoveryError("runs refer to design points the manifest does not list; "
                             "was the store written by this version of borderabm?")  # fmt: skip
    if unit == "point":
        grouped = values.groupby("point")["value"]
        outcome = grouped.mean()
        counts = grouped.size()
        replicates = (int(counts.min()), int(counts.max()))
        x = parameters.loc[outcome.index]
    else:
        outcome = values["value"]
        x = parameters.loc[values["point"].to_numpy()]
        replicates = (1, 1)
    return x.reset_index(drop=True), outcome.reset_index(drop=True).astype(float), replicates


def _varied_parameters(x: pd.DataFrame, notes: list[str]) -> list[str]:
    """The parameters that vary over the cases (PRIM cannot cut a constant).

    Raises:
        DiscoveryError: If none does.
    """
    varied = [c for c in x.columns if x[c].nunique() > 1]
    fixed = [c for c in x.columns if c not in varied]
    if fixed:
        notes.append(f"parameters constant over these cases left out: {', '.join(fixed)}")
    if not varied:
        raise DiscoveryError("no varied numeric parameters among the cases; nothing to discover")
    return varied


def _read_manifest(store: ResultsStore) -> dict[str, Any]:
    """The store's manifest, checked to be shaped like one that ``borderabm sweep`` writes.

    Raises:
        DiscoveryError: Naming the manifest file, if it is missing, unreadable, not JSON, or not a
            JSON object with an object ``design`` of object ``parameters`` and a list of ``points``.
    """
    path = store.root / MANIFEST
    try:
        manifest = store.manifest()
    except StoreError as error:  # unreadable, not JSON or not an object: the message names it
        raise DiscoveryError(str(error).removeprefix(f"{path}: "), str(path)) from None
    except (OSError, ValueError) as error:
        raise DiscoveryError(f"cannot read: {error}", str(path)) from None
    if manifest is None:
        raise DiscoveryError("not a results directory written by `borderabm sweep` "
                             "(no manifest.json)")  # fmt: skip
    _expect_json(manifest, dict, "not a sweep manifest", path)
    design = manifest.get("design") or {}
    _expect_json(design, dict, "design", path)
    _expect_json(design.get("parameters") or {}, dict, "design.parameters", path)
    _expect_json(design.get("points") or [], list, "design.points", path)
    if not all(isinstance(point, dict) for point in design.get("points") or []):
        raise DiscoveryError("design.points: every point must be a JSON object", str(path))
    return manifest


def _expect_json(value: Any, kind: type, key: str, path: Path) -> None:
    """Raise a DiscoveryError naming ``path`` unless ``value`` is of the JSON type ``kind``."""
    if not isinstance(value, kind):
        wanted = "a JSON object" if kind is dict else "a JSON array"
        raise DiscoveryError(f"{key}: {wanted} was expected, got {_json_kind(value)}", str(path))


def _json_kind(value: Any) -> str:
    """The JSON type of a parsed value, in words (for error messages)."""
    kinds = ((dict, "an object"), (list, "an array"), (str, "a string"), (bool, "a boolean"),
             (int | float, "a number"))  # fmt: skip
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def _read_runs(store: ResultsStore) -> pd.DataFrame:
    """The store's run rows.

    Raises:
        DiscoveryError: Naming the first run file that cannot be read (a corrupt or foreign
            Parquet file), or the runs folder if the rows cannot be put together.
    """
    try:
        return store.runs()
    except (OSError, ValueError, KeyError, pa.ArrowException) as error:
        failure: BaseException = error
    # Only on failure: read the files one by one to name the culprit.
    folder = store.root / RUNS
    for path in sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(".")):
        try:
            pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as error:
            raise DiscoveryError(f"cannot read this run row: {error}", str(path)) from None
    raise DiscoveryError(f"cannot read the run rows: {failure!r}", str(folder)) from None


def _parameter_frame(
    points: list[dict[str, Any]], names: list[str], specs: dict[str, Any], notes: list[str]
) -> tuple[pd.DataFrame, dict[str, tuple[float, float]]]:
    """The design points as numbers (booleans as 0/1), indexed by point, and each one's range."""
    frame = pd.DataFrame(points, columns=names)
    numeric: dict[str, pd.Series] = {}
    skipped = []
    for name in names:
        column = frame[name]
        if all(isinstance(v, bool | int | float) and not isinstance(v, str) for v in column):
            numeric[name] = column.astype(float)
        else:
            skipped.append(name)
    if skipped:
        notes.append(f"non-numeric parameters left out (PRIM here handles numbers only): "
                     f"{', '.join(skipped)}")  # fmt: skip
    if not numeric:
        raise DiscoveryError("no varied numeric parameters in the sweep; nothing to discover")
    parameters = pd.DataFrame(numeric)
    ranges = {}
    for name, column in parameters.items():
        spec = specs.get(name) or {}
        if spec.get("low") is not None and spec.get("high") is not None:
            ranges[str(name)] = (float(spec["low"]), float(spec["high"]))
        else:
            ranges[str(name)] = (float(column.min()), float(column.max()))
    return parameters, ranges


# The command -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Discovery:
    """Everything ``borderabm discover`` found and reports."""

    cases: Cases
    threshold: float
    below: bool
    result: PrimResult

    @property
    def condition(self) -> str:
        """The outcome of interest, in words."""
        sign = "<=" if self.below else ">"
        return f"{self.cases.label} {sign} {self.threshold:g}"


def interest(outcome: pd.Series, threshold: float, below: bool) -> np.ndarray:
    """Cases of interest: outcome > threshold, or with ``below`` outcome <= threshold.

    ``below`` is the exact complement of the default, so that ``--threshold 0 --below`` on a paired
    difference means "does not raise", no change included: with common random numbers many design
    points can give exactly the same count in both scenarios.
    """
    values = outcome.to_numpy(dtype=float)
    return values <= threshold if below else values > threshold


def discover(
    store: ResultsStore,
    metric: str,
    threshold: float,
    *,
    below: bool = False,
    scenario: str | None = None,
    relative_to: str | None = None,
    unit: str = "point",
    **prim_settings: Any,
) -> Discovery:
    """Read a sweep store, mark the cases of interest and run PRIM on them.

    Args:
        store: A results directory written by ``borderabm sweep``.
        metric: The summary metric.
        threshold: Cases of interest have the outcome above it (at or below it with ``below``).
        below: Look for outcome <= threshold instead of > threshold.
        scenario: See :func:`load_cases`.
        relative_to: See :func:`load_cases`.
        unit: See :func:`load_cases`.
        **prim_settings: Passed to :func:`prim`.

    Raises:
        DiscoveryError: For unusable input (see :func:`load_cases`), a threshold that leaves no
            case, or every case, of interest, or bad PRIM settings.
    """
    cases = load_cases(store, metric, scenario, relative_to, unit)
    y = interest(cases.outcome, threshold, below)
    sign = "<=" if below else ">"
    if y.all() or not y.any():
        values = cases.outcome
        which = "every case" if y.all() else "no case"
        raise DiscoveryError(
            f"--threshold {threshold:g}: {which} of {len(y)} has {cases.label} {sign} {threshold:g}, "
            f"so there is nothing to tell apart (over the cases it runs from {values.min():.4g} "
            f"to {values.max():.4g}, median {values.median():.4g})"
        )
    try:
        result = prim(cases.x, y, **prim_settings)
    except ValueError as error:
        raise DiscoveryError(str(error)) from None
    return Discovery(cases=cases, threshold=threshold, below=below, result=result)


def print_discovery(discovery: Discovery, console: Console) -> None:
    """Print the question, the base rate and every box with its limits and numbers."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cases, result = discovery.cases, discovery.result
    unit = "design points" if cases.unit == "point" else "runs"
    k, n = int(result.y.sum()), len(result.y)
    # Room for the dotted keys and five numbers even when the output goes to a pipe or log.
    wide = Console(file=console.file, width=max(console.width, 120), highlight=False,
                   color_system=console.color_system, force_terminal=console.is_terminal)  # fmt: skip
    console.print(Text(f"{cases.sweep}: cases of interest: {discovery.condition}"),
                  soft_wrap=True)  # fmt: skip
    replicates = _replicates_text(cases)
    console.print(f"{n} {unit}{replicates}; {k} of interest: base rate {result.base_rate:.3f}")
    for note in cases.notes:
        console.print(f"note: {note}")
    for box in result.boxes:
        step = box.step
        console.print(
            f"\nbox {box.number}: coverage {step.coverage:.3f}, density {step.density:.3f}, "
            f"mass {step.mass:.3f}, {step.cases} cases ({step.of_interest} of interest); "
            f"{_base_rate_text(box, result)}; chosen: {box.selection}",
            soft_wrap=True,
        )
        if not step.restricted:
            console.print("  no restriction helps: the whole design space (density = base rate)")
            continue
        table = Table(show_edge=False, pad_edge=False)
        for column in LIMIT_COLUMNS:
            if column == "parameter":  # dotted keys must stay whole to be usable
                table.add_column(column, no_wrap=True, min_width=max(map(len, step.restricted)))
            else:
                table.add_column(column, justify="right")
        for name in step.restricted:
            table.add_row(*_limit_cells(name, box, result, cases))
        wide.print(table)
    if len(result.boxes) < result.settings["max_boxes"]:
        console.print("\n" + _no_more_boxes(result), soft_wrap=True)


def _no_more_boxes(result: PrimResult) -> str:
    wanted = result.settings["max_boxes"]
    return f"No box {len(result.boxes) + 1} (of {wanted} asked): {_why_no_more_boxes(result)}."


def _why_no_more_boxes(result: PrimResult) -> str:
    taken = np.zeros(len(result.y), dtype=bool)
    for box in result.boxes:
        taken |= box.step.inside
    left, of_interest = int((~taken).sum()), int(result.y[~taken].sum())
    if not of_interest:
        return "the boxes hold every case of interest"
    significant = " with significant limits" if result.settings["max_quasi_p"] is not None else ""
    return (f"among the {left} cases left ({of_interest} of interest) no box{significant} is "
            "denser than the rest")  # fmt: skip


def _replicates_text(cases: Cases) -> str:
    if cases.unit != "point":
        return ""
    low, high = cases.replicates
    count = f"{low}" if low == high else f"{low}-{high}"
    return f" (mean of {count} replicate{'s' if high > 1 else ''} each)"


def _base_rate_text(box: Box, result: PrimResult) -> str:
    if box.number == 1:
        return f"base rate {result.base_rate:.3f}"
    rate = box.remaining_of_interest / box.remaining_cases
    return f"base rate of the {box.remaining_cases} cases left {rate:.3f}"


def _limit_cells(name: str, box: Box, result: PrimResult, cases: Cases) -> list[str]:
    """Parameter, limits (a dash where open), their quasi-p values and the design range."""
    j = result.names.index(name)
    step = box.step
    low, high = cases.ranges[name]
    p_low, p_high = box.quasi_p[name]
    open_low, open_high = (
        step.lower[j] == result.data_lower[j],
        step.upper[j] == result.data_upper[j],
    )
    lower, upper = reported_limits(step, result.names, cases.integers)
    number = "{:.0f}" if name in cases.integers else "{:.4g}"  # 1250 units, not 1.25e+03
    return [
        name,
        "—" if open_low else number.format(lower[j]),
        "—" if open_low else _p_value(p_low),
        "—" if open_high else number.format(upper[j]),
        "—" if open_high else _p_value(p_high),
        f"{low:.4g} – {high:.4g}",
    ]


def _p_value(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def write_outputs(discovery: Discovery, out: Path) -> list[Path]:
    """Write ``boxes.csv``, ``trajectory.csv``, ``discovery.md`` and ``trajectory.png`` to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    boxes = boxes_table(discovery.result, discovery.cases.ranges, discovery.cases.integers)
    trajectory = trajectory_table(discovery.result)
    written = []
    for name, table in ((BOXES_CSV, boxes), (TRAJECTORY_CSV, trajectory)):
        atomic_write(out / name, lambda p, t=table: t.to_csv(p, index=False))
        written.append(out / name)
    atomic_write(out / TRAJECTORY_PNG, lambda p: trajectory_chart(discovery, p))
    written.append(out / TRAJECTORY_PNG)
    text = markdown_report(discovery)
    atomic_write(out / REPORT_MD, lambda p: p.write_text(text))
    written.append(out / REPORT_MD)
    return written


def trajectory_chart(discovery: Discovery, out: Path) -> None:
    """Coverage against density along each box's trajectory, the chosen box marked with a star.

    Points are coloured by the number of restricted parameters; pasting steps are squares, opened
    limits diamonds.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    result = discovery.result
    panels = len(result.boxes)
    figure = Figure(figsize=(5.6 * panels + 0.8, 4.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    most = max(len(s.restricted) for b in result.boxes for s in b.trajectory)
    scatter = None
    for ax, box in zip(axes, result.boxes, strict=True):
        coverage = np.array([s.coverage for s in box.trajectory])
        density = np.array([s.density for s in box.trajectory])
        restricted = np.array([len(s.restricted) for s in box.trajectory])
        phases = np.array([s.phase for s in box.trajectory])
        peeled = np.isin(phases, ("start", "peel"))
        ax.plot(coverage[peeled], density[peeled], color="#999999", linewidth=0.8, zorder=1)
        scatter = ax.scatter(coverage[peeled], density[peeled], c=restricted[peeled],
                             cmap="viridis", vmin=0, vmax=max(most, 1), s=28, zorder=2,
                             label="peeling")  # fmt: skip
        for phase, marker, label in (("paste", "s", "pasting"), ("open", "D", "opening limits")):
            shown = phases == phase
            if shown.any():
                ax.scatter(coverage[shown], density[shown], c=restricted[shown], cmap="viridis",
                           vmin=0, vmax=max(most, 1), marker=marker, s=34, zorder=2,
                           edgecolor="#333333", linewidth=0.5, label=label)  # fmt: skip
        step = box.step
        ax.scatter([step.coverage], [step.density], marker="*", s=320, facecolor="none",
                   edgecolor="#d62728", linewidth=1.6, zorder=3,
                   label=f"chosen: {len(step.restricted)} restricted")  # fmt: skip
        ax.annotate(f"box {box.number}\ncov {step.coverage:.2f}, dens {step.density:.2f}",
                    (step.coverage, step.density), textcoords="offset points", xytext=(8, -26),
                    fontsize=8, color="#d62728")  # fmt: skip
        base = box.remaining_of_interest / box.remaining_cases
        ax.axhline(base, color="#555555", linestyle=":", linewidth=0.9,
                   label=f"base rate {base:.2f}")  # fmt: skip
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel("coverage (share of all cases of interest in the box)")
        ax.set_ylabel("density (share of the box's cases of interest)")
        ax.set_title(f"box {box.number}: peeling trajectory", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=7)
    if scatter is not None:
        bar = figure.colorbar(scatter, ax=list(axes), label="restricted parameters", shrink=0.85)
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    figure.suptitle(f"{discovery.cases.sweep}: {discovery.condition}", fontsize=11)
    figure.savefig(out, dpi=110, format="png")


def markdown_report(discovery: Discovery) -> str:
    """The discovery as Markdown: question, data, settings, boxes and how to read them."""
    cases, result = discovery.cases, discovery.result
    unit = "design points" if cases.unit == "point" else "runs"
    settings = result.settings
    lines = [
        f"# Scenario discovery: {cases.sweep}",
        "",
        f"**Cases of interest:** {discovery.condition}.",
        "",
        f"- Cases: {len(result.y)} {unit}{_replicates_text(cases)} of scenario `{cases.scenario}`"
        + (
            f", paired with `{cases.reference}` on the same design point and seed"
            if cases.reference
            else ""
        )  # fmt: skip
        + ".",
        f"- Of interest: {int(result.y.sum())} (base rate {result.base_rate:.3f}).",
        f"- PRIM: peel alpha {settings['peel_alpha']:g}, paste alpha {settings['paste_alpha']:g} "
        f"(pasting {'on' if settings['paste'] else 'off'}), minimum mass {settings['min_mass']:g}, "
        f"objective {settings['objective']}, up to {settings['max_boxes']} box(es).",
    ]
    lines += [f"- Note: {note}." for note in cases.notes]
    lines.append("")
    for box in result.boxes:
        step = box.step
        lines += [
            f"## Box {box.number}",
            "",
            f"Coverage **{step.coverage:.3f}**, density **{step.density:.3f}**, mass "
            f"**{step.mass:.3f}**: {step.cases} cases, {step.of_interest} of interest; "
            f"{_base_rate_text(box, result)}. Chosen on the trajectory: {box.selection}.",
            "",
        ]
        if not step.restricted:
            lines += ["No restriction raises the density: the whole design space.", ""]
            continue
        lines += ["| " + " | ".join(LIMIT_COLUMNS) + " |",
                  "|---" + "|---:" * (len(LIMIT_COLUMNS) - 1) + "|"]  # fmt: skip
        for name in step.restricted:
            cells = _limit_cells(name, box, result, cases)
            lines.append("| " + " | ".join([f"`{cells[0]}`", *cells[1:]]) + " |")
        lines.append("")
    if len(result.boxes) < settings["max_boxes"]:
        lines += [_no_more_boxes(result), ""]
    lines += [
        f"![Peeling trajectory]({TRAJECTORY_PNG})",
        "",
        "## How to read this",
        "",
        "- *Coverage*: share of all cases of interest inside the box; *density*: share of the "
        "box's cases that are of interest; *mass*: share of all cases inside the box.",
        "- A dash is an open limit (the box does not restrict that side).",
        "- *Quasi-p* (Bryant & Lempert 2010): how likely the box's density would be with that "
        "limit opened; above about 0.05 the limit may be an artefact of the sample.",
        "- The numbers are in-sample: with few design points or replicates, re-run with more "
        "samples (or another seed) before trusting a limit.",
        f"- Tables: `{BOXES_CSV}` (limits of every parameter per box), `{TRAJECTORY_CSV}` "
        "(every step of the trajectories).",
        "",
    ]
    return "\n".join(lines)


def command(
    sweep_dir: Path,
    metric: str,
    threshold: float,
    *,
    below: bool,
    scenario: str | None,
    relative_to: str | None,
    unit: str,
    out: Path | None,
    console: Console,
    **prim_settings: Any,
) -> Discovery:
    """``borderabm discover``: print the boxes, then write the files if ``out`` is given.

    Raises:
        DiscoveryError: For unusable input (see :func:`discover`), or an ``out`` that cannot be
            written (checked before computing, and reported after printing if writing fails).
    """
    if out is not None:
        from borderabm.runner import prepare_output_dir

        try:
            prepare_output_dir(out)
        except OSError as error:
            raise DiscoveryError(
                f"cannot write outputs: {error.strerror or error}", str(out)
            ) from None
    found = discover(ResultsStore(sweep_dir), metric, threshold, below=below, scenario=scenario,
                     relative_to=relative_to, unit=unit, **prim_settings)  # fmt: skip
    print_discovery(found, console)
    if out is not None:
        try:
            written = write_outputs(found, out)
        except OSError as error:  # the boxes are printed above, so nothing is lost
            raise DiscoveryError(
                f"cannot write outputs: {error.strerror or error}", str(out)
            ) from None
        console.print("\nwrote " + ", ".join(str(p) for p in written))
    return found

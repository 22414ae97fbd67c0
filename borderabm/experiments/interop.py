"""Drive borderabm from the tools analysts already use: Mesa's ``batch_run`` and the EMA Workbench.

Mesa
----
:class:`BatchBorderModel` is a :class:`~borderabm.model.BorderModel` built from keyword parameters,
so ``mesa.batch_run`` can construct it::

    from mesa.batchrunner import batch_run

    rows = batch_run(
        BatchBorderModel,
        parameters={"scenario": "baseline", "days": 90, "fence.coverage": [0.5, 1.0]},
        rng=[1, 2, 3],
        max_steps=90,
        data_collection_period=-1,
        number_processes=1,
    )

Parameters: ``scenario`` (a shipped scenario name or a TOML path), ``days`` (the horizon; the
scenario's own when None), ``seed`` and every other keyword as a dotted-key override of the
scenario (``"fence.coverage"``, ``"crossings.Torkham.open"``; ``fence__coverage`` is accepted too).
Because the signature names ``seed``, Mesa 3.5's ``batch_run`` passes each of its ``rng`` values as
``seed=``. An integer seed is the scenario's ``seed`` (the same run as ``borderabm run --seed``);
``None`` follows Mesa's convention: a fresh seed from the operating system, so that
``rng=[None] * 5`` gives five different replicates. Sequences of ints and ``SeedSequence``
objects are turned into a seed deterministically.

Each row that ``batch_run`` returns holds (``data_collection_period=-1``: one row per run, at its
last day; ``1``: one row per day):

* Mesa's ``RunId``, ``iteration``, ``Step`` and the parameters as passed (``scenario``, the
  override keys);
* ``seed``: the seed the run actually used (so a ``None`` replicate can be reproduced);
* the run summary to date under the names of :meth:`BorderModel.summary` (and of
  ``borderabm run --json``), in real units: ``attacks``, ``militant_crossings``,
  ``formal_trade_usd`` (US$), ``refugee_crossings_formal`` (people), ``policy_cost_usd``, ...,
  and ``days`` (days simulated). On the final row these are the run's totals;
* ``daily.<name>``: that day's value of every daily series of :meth:`BorderModel.timeseries`
  (``daily.attacks`` is the attacks of that one day, ``daily.open.Torkham`` the gate's status).

EMA Workbench
-------------
:func:`ema_model` is a plain function to wrap in ``ema_workbench.Model``: uncertainties and levers
are its keyword arguments, named after scenario keys with ``__`` in place of ``.``
(``fence__coverage``, ``refugees__conflict_intensity``), plus ``scenario``, ``days`` and ``seed``
(give those as ``Constant`` parameters); it returns the run summary, whose keys are the outcome
names.
See ``docs/examples/ema_workbench_example.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from borderabm.experiments.run import geography, run_one
from borderabm.metrics import summarise
from borderabm.model import BorderModel, DailyCollector
from borderabm.scenario import Scenario, ScenarioError, load_scenario

SeedLike = int | np.integer | Sequence[int] | np.random.SeedSequence | np.random.Generator | None
"""What ``seed``/``rng`` may be: as Mesa's ``batch_run`` accepts them."""

DAILY_PREFIX = "daily."
"""Prefix of the daily-series columns in :class:`BatchBorderModel`'s data collector."""

EMA_SEPARATOR = "__"
"""Stands for ``.`` in EMA parameter names (``fence__coverage`` is ``fence.coverage``)."""

MAX_SEED = 2**63 - 1  # the largest seed a scenario accepts


def scenario_key(name: str) -> str:
    """The dotted scenario key for a parameter name (``fence__coverage`` -> ``fence.coverage``)."""
    return name.replace(EMA_SEPARATOR, ".")


def resolve_seed(value: SeedLike) -> int | None:
    """Turn a Mesa-style seed into a scenario seed (an int in ``[0, 2**63 - 1]``).

    Args:
        value: An int (kept as it is), a sequence of ints or a ``SeedSequence`` (hashed into one
            int), a ``numpy`` Generator (one draw), or None.

    Returns:
        The seed, or None when ``value`` is None.

    Raises:
        TypeError: For anything else (a float, a string).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"a seed must be an integer, not {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.random.Generator):
        return int(value.integers(MAX_SEED, dtype=np.int64, endpoint=True))
    if isinstance(value, np.random.SeedSequence):
        sequence = value
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        try:
            sequence = np.random.SeedSequence([int(v) for v in value])
        except (TypeError, ValueError) as error:
            raise TypeError(f"a seed sequence must hold non-negative ints: {value!r}") from error
    else:
        raise TypeError(f"cannot use {value!r} ({type(value).__name__}) as a seed")
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def fresh_seed() -> int:
    """A seed from operating-system entropy (what Mesa does for ``rng=None``)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))


def _native(value: Any) -> Any:
    """Numpy scalars (as samplers produce them) to Python values, for scenario validation."""
    return value.item() if isinstance(value, np.generic) else value


def load_settings(
    scenario: str | Path = "baseline",
    overrides: Mapping[str, Any] | None = None,
    *,
    days: int | None = None,
    seed: int | None = None,
) -> Scenario:
    """Load a shipped scenario (by name) or a scenario file, with overrides.

    Args:
        scenario: A shipped scenario name (``"baseline"``) or the path of a TOML file.
        overrides: Parameter names to values; names are dotted scenario keys, with ``__`` accepted
            for ``.``. Numpy scalars are converted to Python values.
        days: The horizon (``horizon_days``); the scenario's own when None.
        seed: The run's seed; the scenario's own when None.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: If the file is missing or invalid, or an override names an unknown key or an
            allowed value is out of range (the message names the key and what is allowed).
        ValueError: If a key is given twice (e.g. ``fence.coverage`` and ``fence__coverage``, or
            ``days`` and ``horizon_days``).
    """
    from borderabm.scenario import resolve_scenario_path

    keys: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for name, value in (overrides or {}).items():
        key = scenario_key(name)
        if key in keys:
            raise ValueError(
                f"scenario key {key!r} is given twice: as {given_as[key]!r} and {name!r}"
            )
        keys[key], given_as[key] = _native(value), name
    for key, value in (("horizon_days", days), ("seed", seed)):
        if value is None:
            continue
        if key in keys:
            raise ValueError(f"{key!r} is given twice (as an override and as an argument)")
        keys[key] = _native(value)
    return load_scenario(resolve_scenario_path(str(scenario)), keys)


@dataclass(frozen=True)
class _Pending:
    """A collected row whose summary columns are still to be filled in."""

    rows: int  # daily rows collected up to and including this one
    seed: int


class RunCollector(DailyCollector):
    """A data collector whose rows are self-contained: the day's values and the run to date.

    Every daily reporter of :class:`BorderModel` is collected as ``daily.<name>``. Each row also
    holds the model's summary of the run to that day (as :meth:`BorderModel.summary`) under the
    summary's own names, and the run's ``seed``; Mesa's ``batch_run`` reads all of these columns.

    The summary columns are filled in when ``model_vars`` is read (by ``batch_run``,
    ``get_model_vars_dataframe`` or any other reader), not at every collection: a summary costs a
    pass over the whole series, and computing one per day would make a year's run several times
    slower; the summary of a row is computed from the daily series up to that row, so its values
    are those of the day the row was collected.
    """

    def __init__(self, daily_reporters: Mapping[str, Callable[[Any], Any]]):
        """Create the collector.

        Args:
            daily_reporters: The model's daily reporters, by series name.
        """
        self._columns: dict[str, list] = {}
        self._pending: list[_Pending] = []
        self._collecting = False
        super().__init__(
            model_reporters={DAILY_PREFIX + name: r for name, r in daily_reporters.items()}
        )
        self.daily_names = tuple(daily_reporters)

    @property
    def model_vars(self) -> dict[str, list]:
        """Every column by name (Mesa's attribute), summary columns filled in up to date."""
        if not self._collecting:
            self._complete()
        return self._columns

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:
        self._columns = value

    def series(self, name: str) -> list:
        """The values of the daily series ``name`` collected so far (``daily.<name>``)."""
        return self._columns[DAILY_PREFIX + name]

    def collect(self, model: BorderModel) -> None:
        """Collect the day's values; the day's summary is filled in when the columns are read."""
        self._collecting = True
        try:
            super().collect(model)
        finally:
            self._collecting = False
        self._pending.append(
            _Pending(
                rows=len(self._columns[DAILY_PREFIX + self.daily_names[0]]),
                seed=model.settings.seed,
            )
        )

    def daily_frame(self) -> pd.DataFrame:
        """The daily series collected so far, with their plain names (one row per day)."""
        return pd.DataFrame({name: self._columns[DAILY_PREFIX + name] for name in self.daily_names})

    def _complete(self) -> None:
        """Append the summary columns of the rows collected since the last read."""
        if not self._pending:
            return
        frame = self.daily_frame()
        for pending in self._pending:
            series = frame.iloc[: pending.rows]
            summary = summarise(series)  # as BorderModel.summary: from the series alone
            for name, value in {**summary, "seed": pending.seed}.items():
                column = self._columns.setdefault(name, [])
                column.extend([math.nan] * (pending.rows - 1 - len(column)))  # a key new today
                column.append(value)
            for column in self._columns.values():
                if len(column) < pending.rows:  # a summary key missing today
                    column.append(math.nan)
        self._pending.clear()


class BatchBorderModel(BorderModel):
    """A :class:`BorderModel` built from keyword parameters, for ``mesa.batch_run``.

    Attributes:
        scenario_source: The scenario file the run was loaded from.
        overrides: The dotted-key overrides applied to it (without ``horizon_days``/``seed``).
        datacollector: A :class:`RunCollector`: ``daily.<name>`` columns plus the summary to date.
    """

    def __init__(
        self,
        scenario: str | Path = "baseline",
        days: int | None = None,
        seed: SeedLike = None,
        rng: SeedLike = None,
        **overrides: Any,
    ) -> None:
        """Load the scenario, apply the parameters and build the model.

        Args:
            scenario: A shipped scenario name or a path to a scenario TOML file. (Mesa's own
                ``Model.scenario`` attribute is left alone; the file is in ``scenario_source``.)
            days: The horizon in days (``horizon_days``); the scenario's own when None. The model
                stops (``running`` turns False) at the horizon, or earlier at ``max_steps``.
            seed: The run's seed. ``batch_run`` passes its ``rng`` values here. None draws a fresh
                seed from the operating system (Mesa's convention); the seed used is reported in
                the ``seed`` column.
            rng: The same as ``seed``, for callers that use Mesa's ``rng`` keyword; give one only.
            **overrides: Scenario keys to set, dotted (``**{"fence.coverage": 0.5}``) or with
                ``__`` for ``.`` (``fence__coverage=0.5``).

        Raises:
            ScenarioError: For an unknown scenario, an unknown key or a value out of range.
            ValueError: If both ``seed`` and ``rng`` are given, or a key is given twice.
            TypeError: For a seed that is not an int, a sequence of ints or a SeedSequence.
        """
        if seed is not None and rng is not None:
            raise ValueError("give either seed or rng, not both")
        chosen = resolve_seed(seed if seed is not None else rng)
        settings = load_settings(
            scenario, overrides, days=days, seed=fresh_seed() if chosen is None else chosen
        )
        # The world every run of the process shares, as experiments.run.build_model gives it.
        world, routes = geography(settings)
        super().__init__(settings, world=world, routes=routes)
        self.scenario_source = str(scenario)
        self.overrides = {scenario_key(k): _native(v) for k, v in overrides.items()}
        self.datacollector = RunCollector(self._reporters())

    def timeseries(self) -> pd.DataFrame:
        """The daily series collected so far, one row per simulated day (plain names)."""
        return self.datacollector.daily_frame().astype({"date": "datetime64[s]"})


def ema_model(**parameters: Any) -> dict[str, float]:
    """Run one scenario for the EMA Workbench and return its summary outcomes.

    Wrap it as ``ema_workbench.Model("borderabm", function=ema_model)``. EMA calls it with the
    experiment's uncertainties, levers and constants as keyword arguments.

    Args:
        **parameters: ``scenario`` (shipped name or path; default ``"baseline"``), ``days``
            (horizon; the scenario's own when absent), ``seed`` (the scenario's own when absent or
            None, so experiments share common random numbers; vary it with a ``ReplicatorModel``
            and ``replications=[{"seed": 1}, {"seed": 2}]``) and scenario keys with ``__`` for
            ``.`` (``fence__coverage=0.8``, ``corridor__enabled=True``, ``patrols__units=900``).
            Dotted names work too (an EMA parameter with ``variable_name="fence.coverage"``).

    Returns:
        The run summary (:meth:`BorderModel.summary`): metric name to a number in real units, e.g.
        ``attacks``, ``militant_crossings``, ``formal_trade_usd``, ``policy_cost_usd``.

    Raises:
        ScenarioError: For an unknown scenario, a name that is no scenario key, or a value out of
            range; the message names the parameter, its scenario key and what is allowed.
        ValueError: If a key is given twice (``fence__coverage`` and ``fence.coverage``).
    """
    scenario = parameters.pop("scenario", "baseline")
    days = parameters.pop("days", None)
    seed = resolve_seed(_native(parameters.pop("seed", None)))
    try:
        settings = load_settings(scenario, parameters, days=days, seed=seed)
    except ScenarioError as error:
        names = ", ".join(f"{n} -> {scenario_key(n)}" for n in parameters) or "none"
        raise ScenarioError(
            f"ema_model(scenario={str(scenario)!r})",
            [
                *error.problems,
                f"parameters given (name -> scenario key): {names}; besides scenario keys "
                "(with __ for .), ema_model takes scenario, days and seed",
            ],
        ) from None
    return run_one(settings).summary

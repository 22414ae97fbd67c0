"""Exploratory modelling of borderabm with the EMA Workbench.

Wraps :func:`borderabm.experiments.interop.ema_model` in an EMA ``Model``: two deep uncertainties
(how often militant cells try to infiltrate, how hard conflict pushes refugees), three policy levers
(fence coverage, a trade corridor on or off, patrol units) and three outcomes. Scenarios and
policies are Latin-hypercube samples, run in this process with the ``SequentialEvaluator``.

EMA parameter names are scenario keys with ``__`` in place of ``.`` (``fence__coverage`` sets
``fence.coverage``); ``scenario``, ``days`` and ``seed`` are constants. Every experiment uses the
same seed (common random numbers), so differences between policies are not sampling noise of the
model. Run it with::

    python docs/examples/ema_workbench_example.py

It needs no network; the first run builds the map (about a second) and caches it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ema_workbench import (
    BooleanParameter,
    Constant,
    IntegerParameter,
    Model,
    RealParameter,
    ScalarOutcome,
    SequentialEvaluator,
)

from borderabm.experiments.interop import ema_model

OUTCOMES = ("attacks", "formal_trade_usd", "militant_crossings")
"""Outcomes recorded for every experiment (keys of the run summary, in real units)."""


def build_model(scenario: str = "baseline", days: int = 30, seed: int = 1) -> Model:
    """The EMA model around ``ema_model``.

    Args:
        scenario: The shipped scenario (or scenario file) the experiments start from.
        days: Days simulated per experiment.
        seed: The model's seed, the same in every experiment.

    Returns:
        An ``ema_workbench.Model`` with uncertainties, levers, outcomes and constants set.
    """
    model = Model("borderabm", function=ema_model)
    model.uncertainties = [
        RealParameter("militants__infiltrations_per_cell_year", 0.3, 1.5),
        RealParameter("refugees__conflict_intensity", 0.5, 3.0),
    ]
    model.levers = [
        RealParameter("fence__coverage", 0.0, 1.0),
        BooleanParameter("corridor__enabled"),
        IntegerParameter("patrols__units", 200, 1500),
    ]
    model.outcomes = [
        ScalarOutcome("attacks", kind=ScalarOutcome.MINIMIZE),
        ScalarOutcome("formal_trade_usd", kind=ScalarOutcome.MAXIMIZE),
        ScalarOutcome("militant_crossings", kind=ScalarOutcome.MINIMIZE),
    ]
    model.constants = [
        Constant("scenario", scenario),
        Constant("days", days),
        Constant("seed", seed),
    ]
    return model


def run(
    n_scenarios: int = 8,
    n_policies: int = 4,
    days: int = 30,
    *,
    scenario: str = "baseline",
    seed: int = 1,
    sampling_seed: int = 42,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Sample scenarios and policies and run every combination (``n_scenarios * n_policies``).

    Args:
        n_scenarios: Samples of the uncertainties.
        n_policies: Samples of the levers.
        days: Days simulated per experiment.
        scenario: The shipped scenario (or scenario file) to start from.
        seed: The model's seed, the same in every experiment.
        sampling_seed: Seed of the Latin-hypercube samplers, so the design is reproducible.

    Returns:
        EMA's results: the experiments (one row per experiment: parameters, ``scenario``,
        ``policy``, ``model``) and the outcomes (name to an array aligned with the rows).
    """
    model = build_model(scenario, days, seed)
    with SequentialEvaluator(model) as evaluator:
        return evaluator.perform_experiments(
            scenarios=n_scenarios,
            policies=n_policies,
            uncertainty_sampling_kwargs={"rng": sampling_seed},
            lever_sampling_kwargs={"rng": sampling_seed + 1},
        )


def policy_table(experiments: pd.DataFrame, outcomes: dict[str, np.ndarray]) -> pd.DataFrame:
    """Mean outcomes per policy over the scenarios, with the policy's lever values."""
    levers = ["fence__coverage", "corridor__enabled", "patrols__units"]
    frame = experiments[["policy", *levers]].copy()
    for name in OUTCOMES:
        frame[name] = outcomes[name]
    return frame.groupby(["policy", *levers], sort=False).mean().reset_index()


def main() -> None:
    """Run a small experiment and print the outcomes by policy."""
    experiments, outcomes = run()
    print(f"{len(experiments)} experiments; outcomes over all of them:")
    for name in OUTCOMES:
        values = outcomes[name]
        print(f"  {name:>20}: mean {values.mean():14,.0f}  min {values.min():14,.0f}  "
              f"max {values.max():14,.0f}")  # fmt: skip
    print("\nMean outcomes by policy (over the sampled scenarios):")
    with pd.option_context("display.width", 120, "display.float_format", "{:,.2f}".format):
        print(policy_table(experiments, outcomes).to_string(index=False))


if __name__ == "__main__":
    main()

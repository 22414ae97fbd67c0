"""Experiment (not part of ``make bench``): does one compiled kernel make a rule's day much faster?

Needs numba, which borderabm does not depend on: ``.venv/bin/pip install numba==0.68.1``, then
``.venv/bin/python benchmarks/prototype_numba_point_choice.py``.

The refugees' choice of an informal crossing point (``Refugees._leave_irregularly``) is the rule
called most often with the most array operations (about 1,160 calls a year, ~50 groups each, ~40
numpy calls per call). Here its cost matrix, its masks and its ``argmin`` run as one numba kernel
over the same inputs (the Gumbel noise still comes from numpy: numpy's vectorised ``log`` and the C
library's differ in the last bit, so computing it in the kernel would change the choices). The script
runs the fitted 2024 year twice, with the numpy rule and with the kernel, and prints the time spent
in the rule and whether every summary metric is identical.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from borderabm.metrics import Tally
from borderabm.model import BorderModel
from borderabm.rules import refugees
from borderabm.rules.population import FOOT, gumbel, other_side
from borderabm.scenario import load_scenario
from borderabm.scenario.paths import resolve_scenario_path

SCENARIO = "history_2024"  # the fitted 2024 year, 85,714 agents


@njit(cache=True)
def choose_points(here, community, destination, to_points, distance, reach, risk, fence,
                  passage, through, noise):  # fmt: skip
    """The cheapest point for each group (first of equals, as ``argmin``) and whether it exists."""
    n_points, n = to_points.shape[0], here.size
    best = np.empty(n, np.int64)
    ok = np.empty(n, np.bool_)
    for j in range(n):
        h, c, d = here[j], community[j], destination[j]
        best_cost, best_i = np.inf, 0
        for i in range(n_points):
            walk = to_points[i, h]
            hours = walk + (0.0 if c else to_points[i, d])
            turned_back = refugees.TURNED_BACK_WALKS * (walk if np.isfinite(walk) else 0.0)
            at_fence = fence[i] * ((1.0 - passage) * turned_back + through[i])
            cost = hours + risk[i] + at_fence + noise[i, j]
            if c and distance[i, h] > reach:
                cost = np.inf
            if cost < best_cost:
                best_cost, best_i = cost, i
        best[j] = best_i
        ok[j] = np.isfinite(best_cost)
    return best, ok


def leave_irregularly_compiled(self, today, rows):
    """``Refugees._leave_irregularly`` with its cost matrix in :func:`choose_points`."""
    if rows.size == 0:
        return
    routes = today.routes
    foot = routes.hours(FOOT)
    here = self._current_cells(rows, today)
    community = self.group[rows] == refugees.COMMUNITY
    if (~community).any():
        targets = rows[~community]
        unset = self.target_town[targets] < 0
        if unset.any():
            leaving = targets[unset]
            self.target_town[leaving] = self._towns_on(other_side(self.side[leaving]))
    destination = np.where(community, here, self.town_flat[np.maximum(self.target_town[rows], 0)])
    to_points = routes.informal_hours(FOOT)
    risk, point_fence, passage, through = self._point_costs(today)
    noise = gumbel(self.rng, (to_points.shape[0], rows.size), refugees.CHOICE_NOISE_HOURS)
    best, ok = choose_points(here, community, destination, to_points, today.point_distance_km,
                             today.settings.refugees.community_range_km, risk[:, 0],
                             point_fence[:, 0], passage, through[:, 0], noise)  # fmt: skip
    today.metrics.add(Tally.COMMUNITY_TRIPS_IMPOSSIBLE, int(np.count_nonzero(~ok & community)))
    go = rows[ok]
    self.point[go] = best[ok]
    self.state[go] = refugees.TO_POINT
    nodes = routes.informal[best[ok]]
    self.journey.start(go, nodes, here[ok], foot[nodes, here[ok]], FOOT)
    stay = rows[~ok]
    self.state[stay] = np.where(self.state[stay] == refugees.VISITING, refugees.VISITING,
                                refugees.SETTLED)  # fmt: skip


def timed_year(rule) -> tuple[float, float, dict]:
    """Seconds in the rule, CPU seconds of the year, and the summary, with ``rule`` in place."""
    spent = [0.0]

    def timed_rule(self, today, rows):
        start = time.perf_counter()
        rule(self, today, rows)
        spent[0] += time.perf_counter() - start

    refugees.Refugees._leave_irregularly = timed_rule
    model = BorderModel(load_scenario(resolve_scenario_path(SCENARIO)))
    model.step()  # compiles (or loads) the kernel outside the timing
    spent[0] = 0.0
    cpu = time.process_time()
    model.run()
    return spent[0], time.process_time() - cpu, model.summary()


def main() -> None:
    original = refugees.Refugees._leave_irregularly
    rule_numpy, year_numpy, summary_numpy = timed_year(original)
    rule_numba, year_numba, summary_numba = timed_year(leave_irregularly_compiled)
    print(f"in the rule: numpy {rule_numpy:.3f} s, numba {rule_numba:.3f} s "
          f"({rule_numpy / rule_numba:.2f}x)")  # fmt: skip
    print(f"the year (CPU): numpy {year_numpy:.2f} s, numba {year_numba:.2f} s")
    same = summary_numpy.keys() == summary_numba.keys() and all(
        summary_numpy[k] == summary_numba[k]
        or (summary_numpy[k] != summary_numpy[k] and summary_numba[k] != summary_numba[k])
        for k in summary_numpy
    )
    print("every summary metric identical:", same)


if __name__ == "__main__":
    main()

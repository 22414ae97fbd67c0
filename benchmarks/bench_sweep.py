"""Sweep engine benchmarks (part of ``make bench``). Prints a Markdown table.

* throughput of an 80-run sweep (baseline, 730 days: ~1.2 s per run) with 1 and 2 local workers
  (1 worker runs in this process; 2 spawn processes, whose start-up, ~1.5 s, is included);
* the same sweep on a Dask LocalCluster with 2 workers: overhead against the local pool;
* the sweep process's resident memory as 200 short runs accumulate (it should stay flat);
* the robust comparison of issue 14: 4 policies x 50 posterior draws x 2 seeds x 365 days (400
  runs) on 2 local workers, with its analysis (target: under 3 minutes).
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from borderabm.analysis.robust import load_robust
from borderabm.experiments.store import ResultsStore
from borderabm.experiments.sweep import comparison_sweep, load_sweep, run_sweep
from borderabm.experiments.uncertainty import load_draws
from borderabm.scenario import resolve_relative, resolve_scenario_path

REPO = Path(__file__).resolve().parents[1]
ROBUST_POLICIES = ("baseline", "fence_full", "trade_corridor", "fence_and_corridor")

THROUGHPUT_SWEEP = """
name = "bench_throughput"
scenarios = ["baseline"]
replicates = 80
days = 730
series = false
"""
MEMORY_SWEEP = """
name = "bench_memory"
scenarios = ["baseline"]
replicates = 200
days = 10
series = true
"""


def rss_mb() -> float:
    """Current resident memory of this process, MB (from /proc; peak from getrusage otherwise)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_sweep(text: str, workers: int, dask: str | None = None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sweep.toml"
        path.write_text(text)
        sweep = load_sweep(path, resolve_relative)
        start = time.perf_counter()
        executed = run_sweep(sweep, ResultsStore(Path(folder) / "out"), workers=workers, dask=dask)
        return time.perf_counter() - start, executed


def memory_profile() -> list[tuple[int, float]]:
    samples: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sweep.toml"
        path.write_text(MEMORY_SWEEP)
        sweep = load_sweep(path, resolve_relative)
        count = {"n": 0}

        def on_done(result: dict) -> None:
            count["n"] += 1
            if count["n"] % 25 == 0:
                samples.append((count["n"], rss_mb()))

        run_sweep(sweep, ResultsStore(Path(folder) / "out"), workers=2, on_done=on_done)
    return samples


def timed_robust_comparison() -> tuple[float, int]:
    """The robust comparison of issue 14 as ``compare --uncertainty`` runs it, analysis included."""
    draws = load_draws(REPO / "docs" / "calibration" / "posterior.csv", 50, seed=1)
    paths = [resolve_scenario_path(name) for name in ROBUST_POLICIES]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        sweep = comparison_sweep(paths, replicates=2, seed=1, days=365, draws=draws)
        store = ResultsStore(Path(folder) / "out")
        executed = run_sweep(sweep, store, workers=2)
        load_robust(store)
        return time.perf_counter() - start, executed


def main() -> None:
    robust, robust_runs = timed_robust_comparison()
    one, runs = timed_sweep(THROUGHPUT_SWEEP, workers=1)
    two, _ = timed_sweep(THROUGHPUT_SWEEP, workers=2)
    dask, _ = timed_sweep(THROUGHPUT_SWEEP, workers=2, dask="local")
    memory = memory_profile()
    print("| what | measured | target |")
    print("|---|---|---|")
    print(f"| {runs} runs, 1 local worker | {one:.1f} s ({runs / one:.2f} runs/s, "
          f"{one / runs:.2f} s/run) | |")  # fmt: skip
    print(f"| {runs} runs, 2 local workers | {two:.1f} s ({runs / two:.2f} runs/s) | |")
    print(f"| speed-up, 2 workers vs 1 | **{one / two:.2f}x** | >= 1.8x |")
    print(
        f"| {runs} runs, Dask LocalCluster, 2 workers | {dask:.1f} s ({runs / dask:.2f} runs/s) | |"
    )
    print(f"| Dask overhead vs local pool | **{(dask / two - 1) * 100:+.1f}%** | <= 10% |")
    print(f"| robust comparison: {robust_runs} runs (4 policies x 50 draws x 2 seeds x 365 days), "
          f"2 local workers, with its analysis | **{robust:.0f} s** ({robust / robust_runs:.2f} "
          "s/run) | < 180 s |")  # fmt: skip
    first, last = memory[0], memory[-1]
    print(f"| sweep process RSS after {first[0]} / {last[0]} runs | {first[1]:.0f} MB / "
          f"{last[1]:.0f} MB (**{last[1] - first[1]:+.1f} MB**) | flat |")  # fmt: skip


if __name__ == "__main__":
    main()

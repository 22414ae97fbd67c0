"""The stored summaries every refactoring must keep: each shipped scenario, seeds 1–3, 365 days.

``python tests/results_fixture.py`` rewrites ``tests/data/summaries_365d.json``. Only a commit that
changes behaviour on purpose may do that, and it says so and reports the effect.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "data" / "summaries_365d.json"
SEEDS = (1, 2, 3)
DAYS = 365


def cases() -> list[tuple[str, int]]:
    """Every shipped scenario at every seed, in a stable order."""
    from borderabm.scenario import shipped_scenarios_dir

    names = sorted(path.stem for path in shipped_scenarios_dir().glob("*.toml"))
    return [(name, seed) for name in names for seed in SEEDS]


def summary_of(name: str, seed: int) -> dict[str, float]:
    """The summary of one shipped scenario run for DAYS days, through the public run path."""
    from borderabm.experiments.run import run_one
    from borderabm.scenario import load_scenario, resolve_scenario_path

    scenario = load_scenario(resolve_scenario_path(name), {"seed": seed, "horizon_days": DAYS})
    return run_one(scenario).summary


def key(name: str, seed: int) -> str:
    """The fixture's key for one case."""
    return f"{name}/seed{seed}"


def main() -> None:
    """Run every case and store its summary (floats as Python's shortest exact repr)."""
    stored = {key(name, seed): summary_of(name, seed) for name, seed in cases()}
    FIXTURE.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(stored)} summaries to {FIXTURE}", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()

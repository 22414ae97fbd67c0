"""Store, or check against a stored copy, the results of every shipped scenario.

A refactoring must keep results identical. This script runs each shipped scenario through the CLI
(``borderabm run NAME --seed S --days D --json --out DIR``) and either stores the JSON summary and
the daily series (``snapshot``) or compares a fresh run with a stored one (``check``): the JSON must
be byte-identical and the Parquet series equal, column by column.

Besides the shipped scenarios, a few variants of the baseline (``VARIANTS``) exercise the patrol
strategies the shipped files do not use, and a dated change to patrol units. ``--src DIR`` runs the
package found in DIR (e.g. ``git archive main borderabm | tar -x -C DIR``) instead of the installed
one, so variants can be stored from an older commit.

Usage::

    python scripts/results_identity.py snapshot /tmp/rules-before
    python scripts/results_identity.py check /tmp/rules-before
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from borderabm.scenario import shipped_scenarios_dir

SEEDS = (1, 2)
DAYS = 120
# Variants of the baseline: name -> --set overrides.
VARIANTS = {
    "baseline+uniform": ['patrols.strategy="uniform"'],
    "baseline+adaptive": ['patrols.strategy="adaptive"'],
    "baseline+stackelberg": ['patrols.strategy="stackelberg"'],
    "baseline+uniform+patrol_change": [
        'patrols.strategy="uniform"',
        'changes=[{day = 30, set = {"patrols.units" = 900}}]',
    ],
}


def _run(name: str, seed: int, days: int, out_dir: Path, src: Path | None = None) -> bytes:
    """Run one case through the CLI; return its JSON summary and write its series into out_dir."""
    scenario, _, _ = name.partition("+")
    overrides = [arg for value in VARIANTS.get(name, []) for arg in ("--set", value)]
    if src is None:
        cli = [str(Path(sys.executable).with_name("borderabm"))]
    else:
        start = f"import sys; sys.path.insert(0, {str(src)!r}); from borderabm.apps.cli.main import app; app()"
        cli = [sys.executable, "-c", start]
    command = [
        *cli,
        "run",
        scenario,
        *overrides,
        "--seed",
        str(seed),
        "--days",
        str(days),
        "--json",
        "--out",
        str(out_dir),
    ]
    return subprocess.run(command, check=True, capture_output=True).stdout


def _cases() -> list[tuple[str, int]]:
    """Every shipped scenario at every seed."""
    names = sorted(path.stem for path in shipped_scenarios_dir().glob("*.toml")) + list(VARIANTS)
    return [(name, seed) for name in names for seed in SEEDS]


def snapshot(root: Path, days: int, src: Path | None) -> None:
    """Store summaries and series of every case under root (cases already stored are kept)."""
    for name, seed in _cases():
        case_dir = root / f"{name}-seed{seed}"
        if (case_dir / "run.json").exists():
            continue
        case_dir.mkdir(parents=True, exist_ok=True)
        (case_dir / "run.json").write_bytes(_run(name, seed, days, case_dir, src))
        print(f"stored {case_dir.name}")


def check(root: Path, days: int) -> int:
    """Compare a fresh run of every case with the stored one; return how many differ."""
    differing = 0
    compared = 0
    for name, seed in _cases():
        stored = root / f"{name}-seed{seed}"
        with tempfile.TemporaryDirectory() as tmp:
            fresh_dir = Path(tmp)
            fresh_json = _run(name, seed, days, fresh_dir)
            problems = []
            if fresh_json != (stored / "run.json").read_bytes():
                problems.append("JSON summary differs")
            before = pd.read_parquet(stored / "timeseries.parquet")
            after = pd.read_parquet(fresh_dir / "timeseries.parquet")
            if list(before.columns) != list(after.columns):
                problems.append("series columns differ")
            elif not before.equals(after):
                columns = [c for c in before.columns if not before[c].equals(after[c])]
                problems.append(f"series differ in {columns}")
        compared += 1
        if problems:
            differing += 1
            print(f"DIFFERS {name} seed {seed}: {'; '.join(problems)}")
        else:
            print(f"identical {name} seed {seed}")
    print(f"{compared - differing} of {compared} scenario x seed runs identical")
    return differing


def main() -> None:
    """Parse the command line and snapshot or check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["snapshot", "check"])
    parser.add_argument("root", type=Path)
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--src", type=Path, help="run the borderabm package in this folder")
    args = parser.parse_args()
    if args.action == "snapshot":
        snapshot(args.root, args.days, args.src)
    else:
        sys.exit(1 if check(args.root, args.days) else 0)


if __name__ == "__main__":
    main()

"""Write the calibration's fitted values into every shipped scenario that holds the fitted block.

The shared parameter set is fitted once (``borderabm calibrate calibration/baseline.toml``, to 2024
only) and must be the same in the history and in every 2025 scenario, so that comparisons with the
baseline stay fair. This script reads the fitted values from the calibration's fitted scenario
(``docs/calibration/baseline_fitted.toml``, whose header lists them) and sets them, comments and
layout kept, in each shipped scenario that is not an episode cut from the history (the episodes
inherit the history's values), and copies the calibration's posterior (``posterior.csv`` beside the
fitted scenario) into the package, where ``borderabm hindcast`` draws from it by default. It then
loads every shipped scenario to check it still validates.

Usage::

    python scripts/apply_fit.py docs/calibration/baseline_fitted.toml
"""

from __future__ import annotations

import argparse
import re
import shutil
import tomllib
from pathlib import Path

from borderabm.scenario import load_scenario, packaged_dir
from borderabm.scenario.toml_write import set_toml_values

FITTED_LINE = re.compile(r"^#   ([\w.]+) = (.+)$")


def fitted_values(fitted_scenario: Path) -> dict[str, object]:
    """The fitted values listed in the header of a fitted scenario written by calibrate."""
    values = {}
    for line in fitted_scenario.read_text().splitlines():
        if not line.startswith("#"):
            break
        match = FITTED_LINE.match(line)
        if match:
            key, literal = match.groups()
            values[key] = tomllib.loads(f"v = {literal}")["v"]
    if not values:
        raise SystemExit(f"error: {fitted_scenario}: no fitted values in its header")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fitted_scenario", type=Path)
    args = parser.parse_args()
    values = fitted_values(args.fitted_scenario)
    folder = packaged_dir("scenarios")
    for path in sorted(folder.glob("*.toml")):
        text = path.read_text()
        if "cut_from" in tomllib.loads(text):
            continue
        path.write_text(set_toml_values(text, values))
        print(f"{path.name}: {len(values)} fitted values set")
    posterior = args.fitted_scenario.parent / "posterior.csv"
    shutil.copyfile(posterior, packaged_dir("calibration") / "baseline_posterior.csv")
    print(f"{posterior} copied into the package")
    for path in sorted(folder.glob("*.toml")):
        load_scenario(path)  # raises on a scenario the values made invalid


if __name__ == "__main__":
    main()

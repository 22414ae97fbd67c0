"""The fitted scenario file: the base scenario's TOML with the fitted values written in.

Comments and layout of the base file are kept; the written file is read back and checked before it
is renamed into place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from borderabm.experiments.calibration.spec import Calibration, CalibrationError, dotted_value
from borderabm.experiments.store import atomic_write
from borderabm.scenario import (
    ScenarioError,
    load_scenario,
)

if TYPE_CHECKING:
    pass


def _shown(path: Path) -> str:
    """A path as the report shows it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(float(value)) if not float(value).is_integer() else f"{value:.1f}"
    return json.dumps(value)


def set_toml_values(text: str, values: Mapping[str, Any]) -> str:
    """Write ``section.key`` values into TOML text, keeping its comments and layout.

    A key already in its ``[section]`` has its value replaced (a trailing comment is kept); a
    missing key goes at the end of its section; a missing section is added before the first array
    of tables (or at the end).

    Raises:
        ValueError: For a key that is not of the form ``section.key``.
    """
    lines = text.splitlines()
    for dotted, value in values.items():
        parts = dotted.split(".")
        if len(parts) != 2:
            raise ValueError(f"'{dotted}': only section.key parameters can be written to a file")
        section, key = parts
        literal = _toml_literal(value)
        header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]\s*(#.*)?$")
        start = next((i for i, line in enumerate(lines) if header.match(line)), None)
        if start is None:
            first_array = next((i for i, line in enumerate(lines)
                                if line.lstrip().startswith("[[")), None)  # fmt: skip
            block = [f"[{section}]", f"{key} = {literal}", ""]
            if first_array is None:
                lines += ([""] if lines and lines[-1].strip() else []) + block[:-1]
            else:
                at = first_array
                while at > 0 and lines[at - 1].lstrip().startswith("#"):
                    at -= 1  # keep the comment that introduces the array of tables with it
                lines[at:at] = block
            continue
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].lstrip().startswith("[")), len(lines))  # fmt: skip
        assignment = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*)([^#]*?)(\s*#.*)?$")
        for i in range(start + 1, end):
            match = assignment.match(lines[i])
            if match:
                lines[i] = f"{match.group(1)}{literal}{match.group(3) or ''}"
                break
        else:
            last = max((i for i in range(start + 1, end) if lines[i].strip()
                        and not lines[i].lstrip().startswith("#")), default=start)  # fmt: skip
            lines.insert(last + 1, f"{key} = {literal}")
    return "\n".join(lines) + "\n"


def fitted_toml(calibration: Calibration, fitted: Mapping[str, Any], written: str) -> str:
    """The base scenario file with the fitted values and a header saying where they came from."""
    text = calibration.base_path.read_text()
    header = [
        f"# Written by `borderabm calibrate` on {written} from {_shown(calibration.source)}",
        f"# (spec sha256 {calibration.source_sha256[:16]}); base scenario "
        f"{_shown(calibration.base_path)}.",
        "# Fitted values (the rest of the file is the base scenario, unchanged):",
        *[f"#   {key} = {_toml_literal(value)}" for key, value in fitted.items()],
    ]
    return "\n".join(header) + "\n" + set_toml_values(text, fitted)


def write_fitted_scenario(
    calibration: Calibration, fitted: Mapping[str, Any], path: Path, written: str
) -> None:
    """Write the fitted scenario file atomically, after reading it back to check the values.

    Raises:
        CalibrationError: If the written file does not load or does not hold the fitted values
            (the file is then not written).
    """
    text = fitted_toml(calibration, fitted, written)

    def write_and_check(temp: Path) -> None:
        temp.write_text(text)
        try:
            document = load_scenario(temp).model_dump(mode="json")
        except ScenarioError as error:
            raise CalibrationError(f"the fitted scenario does not load: {error}") from None
        wrong = {key: value for key, value in fitted.items()
                 if dotted_value(document, key) != value}  # fmt: skip
        if wrong:
            raise CalibrationError(f"the fitted scenario file does not hold {wrong}")

    atomic_write(path, write_and_check)

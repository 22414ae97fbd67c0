"""The ODD description keeps up with the code: every scenario parameter is documented."""

from pydantic import BaseModel

from borderabm.scenario import Scenario
from tests.conftest import REPO

ODD = (REPO / "docs" / "odd.md").read_text()


def parameter_names(model: type[BaseModel]) -> list[tuple[str, str]]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += [(name, inner) for _, inner in parameter_names(annotation)]
        else:
            names.append(("", name))
    return names


def test_every_parameter_appears_in_the_odd():
    wanted = [
        f"{section}.{name}" if section else name for section, name in parameter_names(Scenario)
    ]
    missing = [path for path in wanted if f"`{path}`" not in ODD and f"{path}," not in ODD]
    assert not missing, f"parameters missing from docs/odd.md: {missing}"


def test_every_module_the_odd_points_to_exists():
    import re

    for path in set(re.findall(r"`(borderabm/[\w/]+\.py)", ODD)):
        assert (REPO / path).exists(), path


def _layout_rows() -> dict[str, str]:
    """The README's layout table: path -> the row's text."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Layout") : readme.index("## How do we know?")]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = cells[2]
    return rows


def test_the_readme_layout_names_every_module_and_nothing_that_is_gone():
    rows = _layout_rows()
    package = REPO / "borderabm"
    missing = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "__init__.py":
            continue  # a package is a row, or named in its parent's row, through its modules
        relative = path.relative_to(REPO)
        if str(relative) in rows:
            continue
        # A module is named in its package's row (or its parent package's row) as `name`.
        named = False
        for folder in (path.parent, path.parent.parent):
            row = rows.get(f"{folder.relative_to(REPO)}/")
            stem = path.stem if folder == path.parent else path.parent.name
            if row is not None and (f"`{stem}`" in row or f"`{stem}/`" in row):
                named = True
        if not named:
            missing.append(str(relative))
    assert not missing, f"modules missing from the README's layout table: {missing}"
    for path in rows:
        assert (REPO / path).exists(), f"the README's layout names {path}, which does not exist"


def test_the_odd_points_every_element_to_a_module():
    table = ODD[ODD.index("## Where each element lives") : ODD.index("## 1. Purpose")]
    elements = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    numbers = {element.split()[0] for element in elements if element[0].isdigit()}
    assert {"1", "2", "3", "4", "5", "6", "7.3", "7.4", "7.9", "7.10", "7.11", "8", "9"} <= numbers


def test_every_fitted_parameter_names_its_shipped_value_in_the_odd():
    """A parameter row of the ODD gives the shipped, fitted value beside the default.

    ``population.refugees`` listed only its default, 21,800, while every scenario ships 65,600
    (audit-shown D11). The fitted parameters are the calibration's posterior columns; their
    shipped values are the baseline scenario's.
    """
    import re
    import tomllib

    import pandas as pd

    posterior = pd.read_csv(REPO / "docs" / "calibration" / "posterior.csv", nrows=1)
    fitted = [c for c in posterior.columns if "." in c and not c.startswith("predicted.")]
    baseline = tomllib.loads((REPO / "scenarios" / "baseline.toml").read_text())
    for name in fitted:
        section, key = name.split(".")
        if section == "conditions":  # a table of dated conditions, with "fitted X" in its range
            continue
        shipped = float(baseline[section][key])
        row = re.search(rf"^\| `{re.escape(name)}` \| [^|]*\(shipped scenarios: ([\d,.]+), "
                        r"fitted to 2024", ODD, re.MULTILINE)  # fmt: skip
        assert row, f"docs/odd.md: {name}: no '(shipped scenarios: ..., fitted to 2024' note"
        assert float(row.group(1).replace(",", "")) == shipped, name

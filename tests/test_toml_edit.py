"""Writing values into TOML (tomlkit): comments and layout kept, the fitted scenario, no import cycle."""

import ast
import tomllib
from pathlib import Path

import pytest

from borderabm.analysis.calibration.fitted_scenario import fitted_toml
from borderabm.analysis.calibration.spec import load_calibration
from borderabm.scenario import resolve_relative, shipped_scenarios_dir
from borderabm.scenario.toml_write import set_toml_values, toml_literal

REPO = Path(__file__).resolve().parent.parent
CALIBRATION = REPO / "borderabm" / "analysis" / "calibration"
TOML_WRITER = REPO / "borderabm" / "scenario" / "toml_write.py"


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def runtime_imports(tree: ast.AST) -> set[str]:
    """Modules imported at run time: at module level or inside functions, not for types only."""
    found = set()
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        found |= runtime_imports(node)
    return found


def test_the_calibration_modules_import_each_other_without_a_cycle_at_run_time():
    # Imports inside functions count: the old TOML editor imported the spec, and the spec
    # imported the editor inside a function to break the cycle.
    package = "borderabm.analysis.calibration"
    graph = {}
    for path in CALIBRATION.glob("*.py"):
        name = f"{package}.{path.stem}" if path.stem != "__init__" else package
        imported = runtime_imports(ast.parse(path.read_text()))
        graph[name] = {m for m in imported if m.startswith(package + ".")}

    def reaches(start, goal, seen=()):
        return any(m == goal or (m not in seen and reaches(m, goal, (*seen, m)))
                   for m in graph.get(start, ()))  # fmt: skip

    assert "borderabm.scenario.toml_write" in runtime_imports(
        ast.parse((CALIBRATION / "spec.py").read_text())
    )  # the spec checks what it can write
    assert sorted(m for m in graph if reaches(m, m)) == []
    # The writer sits in the scenario layer and needs nothing above it.
    writer_imports = runtime_imports(ast.parse(TOML_WRITER.read_text()))
    assert {m for m in writer_imports if m.startswith("borderabm.")} <= {"borderabm.scenario"}


# The shipped scenarios that hold the fitted parameter set (the episodes inherit the history's).
FULL_SCENARIOS = sorted(
    path for path in shipped_scenarios_dir().glob("*.toml") if "cut_from" not in path.read_text()
)


def fitted_example(calibration) -> dict:
    """A value for every fitted parameter, of its type, unlike any shipped value."""
    return {key: (int(prior.high) - 1 if prior.integer else round(prior.high * 0.97, 4))
            for key, prior in calibration.spec.parameters.items()}  # fmt: skip


@pytest.mark.parametrize("path", FULL_SCENARIOS, ids=lambda p: p.stem)
def test_the_fit_changes_only_the_fitted_lines_of_each_shipped_scenario_and_keeps_every_comment(
    path,
):
    calibration = load_calibration(REPO / "calibration" / "baseline.toml", resolve_relative)
    fitted = fitted_example(calibration)
    base = path.read_text()
    body = set_toml_values(base, fitted)
    old_lines, new_lines = base.splitlines(), body.splitlines()
    # Every fitted parameter already has its line in every shipped scenario: none is added.
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(changed) == len(fitted)
    for old, new in changed:  # same key, new value, the trailing "# fitted" comment kept
        key, comment = old.split("=")[0], old.split("#")[1]
        assert new.startswith(key) and new.endswith("#" + comment) and "fitted" in comment
    assert comments(body) == comments(base)
    document = tomllib.loads(body)
    for key, value in fitted.items():
        section, name = key.split(".")
        assert document[section][name] == value and type(document[section][name]) is type(value)


def test_the_fitted_scenario_is_the_base_with_the_fitted_values_and_a_header():
    calibration = load_calibration(REPO / "calibration" / "baseline.toml", resolve_relative)
    fitted = fitted_example(calibration)
    text = fitted_toml(calibration, fitted, "2026-12-02T10:00:00+00:00")
    header = text.splitlines()[: 3 + len(fitted)]
    assert header[0].startswith("# Written by `borderabm calibrate` on 2026-12-02T10:00:00+00:00")
    assert header[3:] == [f"#   {key} = {toml_literal(value)}" for key, value in fitted.items()]
    assert comments(text)[len(header) :] == comments(calibration.base_path.read_text())
    document = tomllib.loads(text)
    for key, value in fitted.items():
        section, name = key.split(".")
        assert document[section][name] == value


# The shipped scenarios with trigger rules (the history replays the record without them, and its
# episodes hold only their window).
WITH_TRIGGERS = sorted(
    path for path in shipped_scenarios_dir().glob("*.toml") if "[[triggers]]" in path.read_text()
)


@pytest.mark.parametrize("path", WITH_TRIGGERS, ids=lambda p: p.stem)
def test_a_missing_section_goes_above_the_comments_that_introduce_the_triggers(path):
    text = path.read_text()
    before = text.splitlines()
    first_array = next(i for i, line in enumerate(before) if line.startswith("[["))
    introduction = 0
    while before[first_array - introduction - 1].startswith("#"):
        introduction += 1
    edited = set_toml_values(text, {"newsection.count": 7, "newsection.share": 0.5})
    lines = edited.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("[["))
    # The array keeps its introducing comments right above it, the new section above them.
    assert lines[at - introduction : at] == before[first_array - introduction : first_array]
    assert lines[at - introduction - 4:at - introduction] == ["[newsection]", "count = 7",
                                                               "share = 0.5", ""]  # fmt: skip
    assert comments(edited) == comments(text)
    document = tomllib.loads(edited)
    assert document["newsection"] == {"count": 7, "share": 0.5}
    assert document["triggers"] == tomllib.loads(text)["triggers"]


def test_keys_that_are_not_a_section_key_are_refused_and_inline_tables_edited_in_place():
    text = 'name = "x"\ninl = { a = 1 } # note\n\n[[triggers]]\nthreshold = 3\n'
    for key in ("crossings.Torkham.open", "name.x", "triggers.threshold"):
        with pytest.raises(ValueError, match=key.replace(".", r"\.")):
            set_toml_values(text, {key: 1})
    edited = set_toml_values(text, {"inl.a": 2, "inl.b": True})
    line = edited.splitlines()[1]  # edited on its own line, its comment kept
    assert line.startswith("inl = {") and line.endswith("} # note")
    assert tomllib.loads(edited)["inl"] == {"a": 2, "b": True}


def test_floats_keep_a_decimal_point_and_never_an_exponent_for_whole_numbers():
    text = set_toml_values("[s]\na = 1\n", {"s.a": 1e17, "s.b": 26000.0, "s.c": 3.25e-05})
    assert "a = 100000000000000000.0\nb = 26000.0\nc = 3.25e-05\n" in text
    assert tomllib.loads(text)["s"] == {"a": 1e17, "b": 26000.0, "c": 3.25e-05}

"""The scenario format: what a valid file gives, and how every kind of bad input is reported."""

import datetime as dt
import subprocess
import sys

import pytest
from pydantic import Field, ValidationError
from tiny_world import tiny_world

from borderabm.model import BorderModel
from borderabm.rules.gates import GateClosures
from borderabm.scenario import (
    Closure,
    ScenarioError,
    StrictModel,
    apply_overrides,
    bounds_from_context,
    describe,
    format_path,
    load_scenario,
    parse_override,
    suggest,
    validate_document,
    with_overrides,
)
from borderabm.world.routes import build_routes
from tests.conftest import OFFICIAL_CROSSINGS, SCENARIOS

SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))


def problems_of(document) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        validate_document(document, "doc.toml")
    assert caught.value.source == "doc.toml"
    return caught.value.problems


def test_the_required_scenarios_are_shipped():
    required = {
        "baseline",
        "no_fence",
        "fence_full",
        "trade_corridor",
        "fence_and_corridor",
        "closures_oct2025",
        "deportation_drive",
    }
    assert required <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_validate(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.name == name
    assert scenario.description


def test_defaults_fill_every_gate():
    scenario = validate_document({}, "empty.toml")
    assert list(scenario.crossings) == OFFICIAL_CROSSINGS
    assert scenario.crossings["Torkham"].capacity_people_per_day == 25_000
    assert not scenario.crossings["Gursal"].open  # closed since 2011
    assert scenario.map.resolution_km == 5.0


def test_a_partial_gate_table_keeps_the_gate_defaults():
    scenario = validate_document({"crossings": {"Torkham": {"tariff_pct": 3.0}}}, "x.toml")
    assert scenario.crossings["Torkham"].tariff_pct == 3.0
    assert scenario.crossings["Torkham"].capacity_people_per_day == 25_000


def test_scenario_is_immutable():
    scenario = validate_document({}, "x.toml")
    with pytest.raises(ValidationError):
        scenario.horizon_days = 3
    with pytest.raises(ValidationError):
        scenario.fence.coverage = 0.1


def test_dated_policy_data():
    scenario = validate_document(
        {
            "crossings": {"Torkham": {"closures": [{"start": 120, "end": 150}]}},
            "fence": {"schedule": [{"day": 0, "coverage": 0.8}, {"day": 100, "coverage": 1.0}]},
            "triggers": [
                {"metric": "attacks", "window_days": 30, "threshold": 5, "duration_days": 14}
            ],
            "changes": [{"day": 200, "set": {"patrols.units": 900}}],
        },
        "x.toml",
    )
    assert scenario.crossings["Torkham"].closures[0] == Closure(start=120, end=150)
    assert scenario.fence.coverage_on(50) == pytest.approx(0.9)
    assert scenario.fence.coverage_on(500) == pytest.approx(1.0)
    assert scenario.triggers[0].gates()[0] == "Torkham"
    assert scenario.changes[0].set == {"patrols.units": 900}


# The gate rule the model runs (rules/gates.py), on the days a scenario's closures give.
@pytest.fixture(scope="module")
def tiny():
    world = tiny_world()
    return world, build_routes(world, use_cache=False)


def _gate_days(tiny, document, horizon_days=8):
    """Open (1) or closed (0) on each day, per gate, in a run of a tiny world with no agents."""
    quiet = {"traders": 0, "refugees": 0, "militants": 0}
    scenario = validate_document(
        {"horizon_days": horizon_days, "population": quiet, "patrols": {"units": 0}, **document},
        "x.toml",
    )
    world, routes = tiny
    model = BorderModel(scenario, world=world, routes=routes)
    model.run()
    series = model.timeseries()
    return {gate: series[f"open.{gate}"].tolist() for gate in ("Torkham", "Chaman")}


def test_a_dated_closure_shuts_its_gate_from_start_to_end_exclusive(tiny):
    closed = {"crossings": {"Torkham": {"closures": [{"start": 3, "end": 6}]}}}
    assert _gate_days(tiny, closed) == {"Torkham": [1, 1, 1, 0, 0, 0, 1, 1], "Chaman": [1] * 8}


def test_corridor_gates_are_exempt_from_closures(tiny):
    closures = {"closures": [{"start": 0, "end": 5}]}
    both_closed = {"crossings": {"Torkham": closures, "Chaman": closures}}
    corridor = {"corridor": {"enabled": True, "gates": ["Torkham"]}}
    assert _gate_days(tiny, {**both_closed, **corridor}) == {
        "Torkham": [1] * 8,
        "Chaman": [0] * 5 + [1] * 3,
    }
    not_exempt = {
        "corridor": {"enabled": True, "gates": ["Torkham"], "exempt_from_closures": False}
    }
    assert _gate_days(tiny, {**both_closed, **not_exempt})["Torkham"] == [0] * 5 + [1] * 3


def test_closures_nest_and_a_gate_shut_by_status_stays_shut():
    settings = validate_document({"crossings": {"Chaman": {"open": False}}}, "x.toml")
    gates = GateClosures(("Torkham", "Chaman"))
    gates.close("Torkham")
    gates.close("Torkham")  # a trigger closure on top of a dated one
    gates.reopen("Torkham")
    assert not gates.is_open("Torkham", settings)  # one closure is still in force
    gates.reopen("Torkham")
    assert gates.is_open("Torkham", settings)
    assert not gates.is_open("Chaman", settings)
    assert gates.closed_against_normal(settings) == ["Chaman"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fence.coverage=1.0", ("fence.coverage", 1.0)),
        ("corridor.enabled=true", ("corridor.enabled", True)),
        ("patrols.strategy=adaptive", ("patrols.strategy", "adaptive")),
        ('patrols.strategy="uniform"', ("patrols.strategy", "uniform")),
        ('corridor.gates=["Torkham"]', ("corridor.gates", ["Torkham"])),
        ("crossings.Angoor Adda.open=false", ("crossings.Angoor Adda.open", False)),
        ("seed = 7", ("seed", 7)),
    ],
)
def test_parse_override(text, expected):
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["fence.coverage", "=1", "fence..coverage=1", ".x=1"])
def test_malformed_override(text):
    with pytest.raises(ScenarioError, match="dotted.key=value"):
        parse_override(text)


def test_overrides_reach_any_field():
    base = validate_document({"triggers": [{"threshold": 5}]}, "x.toml")
    changed = with_overrides(
        base,
        {"fence.coverage": 1.0, "crossings.Chaman.open": False, "triggers.0.threshold": 9},
        "--set",
    )
    assert changed.fence.coverage == 1.0
    assert not changed.crossings["Chaman"].open
    assert changed.triggers[0].threshold == 9
    assert base.fence.coverage == 0.0  # the original is untouched


def test_override_through_a_value_is_reported():
    with pytest.raises(ScenarioError, match="horizon_days"):
        apply_overrides({"horizon_days": 3}, {"horizon_days.x": 1})
    with pytest.raises(ScenarioError, match="not an index"):
        apply_overrides({"triggers": []}, {"triggers.0.threshold": 1})
    # Found by the fuzzer: a Unicode digit is not a list index (int("²") raises).
    with pytest.raises(ScenarioError, match="not an index"):
        apply_overrides({"triggers": [{}]}, {"triggers.²": 1})


def test_unknown_key_suggests_the_closest():
    [problem] = problems_of({"fence": {"coverge": 1.0}})
    assert problem.startswith("fence.coverge: unknown key")
    assert "did you mean 'coverage'" in problem
    [problem] = problems_of({"patrol": {}})
    assert "did you mean 'patrols'" in problem
    [problem] = problems_of({"crossings": {"Torkham": {"opne": False}}})
    assert problem.startswith("crossings.Torkham.opne") and "'open'" in problem


@pytest.mark.parametrize(
    ("document", "path", "allowed"),
    [
        ({"fence": {"coverage": 1.5}}, "fence.coverage", ">= 0.0 and <= 1.0"),
        ({"horizon_days": 0}, "horizon_days", ">= 1 and <= 36500"),
        ({"map": {"resolution_km": 50}}, "map.resolution_km", ">= 2.0 and <= 20.0"),
        ({"fence": {"sectors": {"Khyber": -1}}}, "fence.sectors.Khyber", ">= 0.0"),
        (
            {"crossings": {"Chaman": {"capacity_people_per_day": -1}}},
            "crossings.Chaman.capacity_people_per_day",
            ">= 0",
        ),
        ({"triggers": [{"window_days": 0}]}, "triggers[0].window_days", ">= 1"),
    ],
)
def test_out_of_range_names_path_and_range(document, path, allowed):
    [problem] = problems_of(document)
    assert problem.startswith(f"{path}: ")
    assert "out of range" in problem and allowed in problem


@pytest.mark.parametrize(
    ("document", "path", "what"),
    [
        (
            {"crossings": {"Torkam": {}}},
            "crossings",
            "unknown crossing 'Torkam'; did you mean 'Torkham'",
        ),
        ({"corridor": {"gates": ["Chamann"]}}, "corridor.gates", "did you mean 'Chaman'"),
        ({"fence": {"sectors": {"Kyber": 1.0}}}, "fence.sectors", "unknown sector 'Kyber'"),
        ({"triggers": [{"crossings": ["Nowhere"]}]}, "triggers[0].crossings", "allowed: Torkham"),
        (
            {"militants": {"sanctuaries": ["Kunarr"]}},
            "militants.sanctuaries",
            "did you mean 'Kunar'",
        ),
        ({"patrols": {"strategy": "clever"}}, "patrols.strategy", "'stackelberg'"),
    ],
)
def test_unknown_names_list_what_is_allowed(document, path, what):
    [problem] = problems_of(document)
    assert problem.startswith(f"{path}: ")
    assert what in problem


def test_a_value_where_a_table_belongs_names_no_python_class():
    problems = problems_of({"patrols": 3, "fence": "full", "triggers": [1]})
    assert problems == [
        "fence: Input should be a table (got 'full')",
        "patrols: Input should be a table (got 3)",
        "triggers[0]: Input should be a table (got 1)",
    ]


def test_inconsistent_dates():
    [problem] = problems_of({"crossings": {"Torkham": {"closures": [{"start": 9, "end": 3}]}}})
    assert problem.startswith("crossings.Torkham.closures[0]: ") and "after start" in problem
    [problem] = problems_of(
        {"fence": {"schedule": [{"day": 5, "coverage": 0.1}, {"day": 2, "coverage": 0.2}]}}
    )
    assert "strictly increasing" in problem


def test_changes_are_validated_like_overrides():
    [problem] = problems_of({"changes": [{"day": 10, "set": {"fence.coverage": 3}}]})
    assert problem.startswith("changes[0].set: fence.coverage: 3 is out of range")
    [problem] = problems_of({"changes": [{"day": 10, "set": {"horizon_days": 3}}]})
    assert "only set policy fields" in problem
    [problem] = problems_of({"changes": [{"day": 10, "set": {"fence.coverge": 1}}]})
    assert "did you mean 'coverage'" in problem


def test_several_problems_are_all_reported():
    problems = problems_of({"horizon_days": -1, "fence": {"coverage": 2}, "bogus": 1})
    assert len(problems) == 3


def test_toml_syntax_error_gives_line_and_column(write_toml):
    path = write_toml('name = "x"\nhorizon_days = = 3\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    [problem] = caught.value.problems
    assert caught.value.source == str(path)
    assert problem.startswith("line 2, column 16: TOML syntax error")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe bad", "not UTF-8"), (b'a = "unterminated', "TOML syntax error")],
)
def test_unreadable_content(tmp_path, content, message):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_name_defaults_to_the_file_stem(write_toml):
    assert load_scenario(write_toml("horizon_days = 10\n", "my_case.toml")).name == "my_case"


def test_dates_and_horizon(write_toml):
    scenario = load_scenario(write_toml("start_date = 2025-09-01\nhorizon_days = 30\n"))
    assert scenario.start_date == dt.date(2025, 9, 1)
    assert scenario.end_date == dt.date(2025, 9, 30)


def test_reading_a_scenario_imports_no_part_of_the_world():
    # The schema checks place names through the gazetteer (standard library only): validating a
    # file must not load the GIS stack or build anything.
    code = (
        "import sys; from borderabm.scenario import load_scenario; "
        f"load_scenario({str(SCENARIOS / 'baseline.toml')!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('shapely', 'pyproj') "
        "or m.startswith('borderabm.world')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


class _Entry(StrictModel):
    weight: float = Field(1.0, gt=0.0)


class _Spec(StrictModel):
    """Another input file's schema: the error text is the same for every strict model."""

    share: float = Field(0.5, ge=0.0, le=1.0)
    names: dict[str, _Entry] = Field(default_factory=dict)


@pytest.mark.parametrize(
    ("document", "line"),
    [
        ({"shares": 1}, "shares: unknown key; did you mean 'share'? (allowed: share, names)"),
        ({"share": 2.0}, "share: 2.0 is out of range (allowed: >= 0.0 and <= 1.0)"),
        ({"names": {"a": {"weight": 0}}}, "names.a.weight: 0 is out of range (allowed: > 0.0)"),
        ({"names": {"a": {"wieght": 1}}}, "names.a.wieght: unknown key; did you mean 'weight'?"),
        ({"share": float("inf")}, "share: Input should be a finite number (got inf)"),
    ],
)
def test_errors_describe_any_strict_model(document, line):
    with pytest.raises(ValidationError) as caught:
        _Spec.model_validate(document)
    [error] = caught.value.errors()
    assert describe(error, _Spec).startswith(line)


def test_error_helpers_shared_by_every_input_file():
    assert format_path(("triggers", 0, "threshold")) == "triggers[0].threshold"
    assert format_path(()) == "(document)"
    assert suggest("Torkam", ["Torkham", "Chaman"]) == (
        "did you mean 'Torkham'? (allowed: Torkham, Chaman)"
    )
    assert suggest("zzz", ["a", "b"]) == "(allowed: a, b)"
    assert bounds_from_context({"ge": 0, "lt": 5, "other": 1}) == ">= 0 and < 5"


def test_an_unknown_name_with_nothing_close_has_no_dangling_semicolon():
    with pytest.raises(ScenarioError) as caught:
        validate_document({"militants": {"targets": ["Nowhere"]}}, "s.toml")
    line = str(caught.value)
    assert "unknown province 'Nowhere' (allowed: Badakhshan" in line
    assert "; (allowed" not in line

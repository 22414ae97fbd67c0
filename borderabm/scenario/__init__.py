"""Scenario files: TOML validated into one immutable :class:`Scenario`.

A scenario holds the run settings (horizon, seed, map), the populations and every policy lever.
Dated policy changes are data: closures carry their days, the fence has a construction schedule,
trigger rules fire on metrics, and ``[[changes]]`` sets any policy field from a given day on.

The package's modules, in the order a file goes through them:

* :mod:`~borderabm.scenario.paths`: where shipped and user files are found;
* :mod:`~borderabm.scenario.load`: the TOML reader, ``--set`` overrides, validation;
* :mod:`~borderabm.scenario.schema`: the sections of a scenario (pydantic);
* :mod:`~borderabm.scenario.history`: episodes cut from a dated history;
* :mod:`~borderabm.scenario.errors`: :class:`ScenarioError` and the text of every problem;
* :mod:`~borderabm.scenario.toml_write`: writing values back into TOML, comments kept.

Everything public is importable from here: ``from borderabm.scenario import load_scenario``.
"""

from borderabm.scenario.errors import (
    ScenarioError,
    bounds_from_context,
    check_names,
    describe,
    format_path,
    suggest,
)
from borderabm.scenario.history import cut
from borderabm.scenario.load import (
    MAX_FILE_BYTES,
    MAX_NESTING,
    apply_levers,
    apply_overrides,
    load_scenario,
    nesting_depth,
    parse_override,
    parse_toml,
    parse_value,
    read_toml_file,
    replaced_dated_settings,
    scenario_from_document,
    validate_document,
    with_levers,
    with_overrides,
)
from borderabm.scenario.paths import (
    PACKAGE_DATA,
    SHIPPED_KINDS,
    packaged_dir,
    resolve_relative,
    resolve_scenario_path,
    resolve_shipped_file,
    shipped_scenarios_dir,
)
from borderabm.scenario.schema import (
    CONDITION_NAMES,
    DEFAULT_CROSSINGS,
    FENCE_COST_USD_PER_KM,
    PATROL_STRATEGIES,
    POLICY_SECTIONS,
    Change,
    Closure,
    Conditions,
    Corridor,
    CrossingPolicy,
    Day,
    Deportation,
    Fence,
    FencePoint,
    Fraction,
    MapSettings,
    MilitantParams,
    NonNegative,
    PatrolParams,
    PatrolStrategy,
    Population,
    RefugeeParams,
    Scale,
    Scenario,
    StrictModel,
    TraderParams,
    Trigger,
    TriggerMetric,
    normally_open_gates,
)

__all__ = [
    "CONDITION_NAMES",
    "DEFAULT_CROSSINGS",
    "FENCE_COST_USD_PER_KM",
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "PACKAGE_DATA",
    "PATROL_STRATEGIES",
    "POLICY_SECTIONS",
    "SHIPPED_KINDS",
    "Change",
    "Closure",
    "Conditions",
    "Corridor",
    "CrossingPolicy",
    "Day",
    "Deportation",
    "Fence",
    "FencePoint",
    "Fraction",
    "MapSettings",
    "MilitantParams",
    "NonNegative",
    "PatrolParams",
    "PatrolStrategy",
    "Population",
    "RefugeeParams",
    "Scale",
    "Scenario",
    "ScenarioError",
    "StrictModel",
    "TraderParams",
    "Trigger",
    "TriggerMetric",
    "apply_levers",
    "apply_overrides",
    "bounds_from_context",
    "check_names",
    "cut",
    "describe",
    "format_path",
    "load_scenario",
    "nesting_depth",
    "normally_open_gates",
    "packaged_dir",
    "parse_override",
    "parse_toml",
    "parse_value",
    "read_toml_file",
    "replaced_dated_settings",
    "resolve_relative",
    "resolve_scenario_path",
    "resolve_shipped_file",
    "scenario_from_document",
    "shipped_scenarios_dir",
    "suggest",
    "validate_document",
    "with_levers",
    "with_overrides",
]

"""A help line per lever of the Run tab: what it means, its unit, its range and its source.

The meaning is the scenario schema's own field description wherever the schema gives one (read
from the schema, so the two cannot drift apart); the source is the one ``docs/odd.md`` gives for
the lever's default, quoted with the key of its row there (a test checks every quote against the
table).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from borderabm.apps.ui.run_setup import DAYS, NUMBER_LEVERS, SEED, STRATEGIES
from borderabm.gazetteer import crossing_names, sector_names
from borderabm.rules.patrols import ALLOCATORS
from borderabm.scenario import Corridor, Deportation, Fence, PatrolParams, Trigger

_ANY_GATE = f"any of the {len(crossing_names())} official crossings"


def field_text(model: type[BaseModel], field: str) -> str:
    """A schema field's description, else its class's first docstring line."""
    description = model.model_fields[field].description
    if description:
        return description
    return (model.__doc__ or field).strip().splitlines()[0].rstrip(".")


@dataclass(frozen=True)
class LeverHelp:
    """What a lever means, its unit and range, and where its default comes from."""

    key: str
    meaning: str
    unit: str
    allowed: str
    source: str
    odd_key: str  # the row of docs/odd.md's parameter tables that gives the source ("" for none)

    def line(self) -> str:
        """The help line as the page shows it under the lever."""
        where = f" (docs/odd.md, {self.odd_key})" if self.odd_key else ""
        unit = f" Unit: {self.unit}." if self.unit != "—" else ""
        return f"{self.meaning}.{unit} Allowed: {self.allowed}. Source: {self.source}{where}."


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _strategy_rules() -> str:
    rules = []
    for name in STRATEGIES:
        rule = ALLOCATORS.get(name)
        doc = (rule.__doc__ or "").strip().splitlines()[0].rstrip(".") if rule else ""
        rules.append(f"{name}: {_first_lower(doc)}" if doc else name)
    return "; ".join(rules)


LEVER_HELP: dict[str, LeverHelp] = {
    "fence": LeverHelp(
        "fence",
        f"{field_text(Fence, 'coverage').capitalize()} (replaces a dated build-up)",
        "share of the border",
        NUMBER_LEVERS["fence"].bounds(),
        "≈94% complete by Jan 2022 (news reports, geo reference)",
        "fence.coverage",
    ),
    "units": LeverHelp(
        "units",
        "Border-force units posted along the line each day; each watches "
        f"{PatrolParams.model_fields['coverage_km_per_unit'].default:g} km of border "
        "(patrols.coverage_km_per_unit)",
        "units",
        NUMBER_LEVERS["units"].bounds(),
        "assumption (mid-2021 ≈1,000 check posts: geo reference)",
        "patrols.units",
    ),
    "strategy": LeverHelp(
        "strategy",
        f"How the units are posted each day — {_strategy_rules()}",
        "—",
        ", ".join(STRATEGIES),
        "scenario choice",
        "patrols.strategy",
    ),
    "lethal": LeverHelp(
        "lethal",
        f"{field_text(PatrolParams, 'lethal_force').capitalize()}",
        "on/off",
        "on or off",
        "2017 shoot-to-kill order (seed 001)",
        "patrols.lethal_force",
    ),
    "corridor": LeverHelp(
        "corridor",
        field_text(Corridor, "enabled"),
        "on/off",
        "on or off",
        'seed 000: "trade corridors should not be closed under any circumstances"',
        "corridor.enabled",
    ),
    "corridor_gates": LeverHelp(
        "corridor_gates",
        "The gates the corridor runs through (an empty list: no corridor)",
        "gates",
        _ANY_GATE,
        'seed 000: "trade corridors should not be closed under any circumstances"',
        "corridor.gates",
    ),
    "deportation": LeverHelp(
        "deportation",
        f"{field_text(Deportation, 'daily_rate').capitalize()} deported in a "
        "drive of undocumented Afghans in Pakistan (0: no drive)",
        "people/day",
        NUMBER_LEVERS["deportation"].bounds(),
        "seeds 000, 003 give no counts — scenario data",
        "deportation.daily_rate",
    ),
    "trigger": LeverHelp(
        "trigger",
        "The first trigger rule's threshold: "
        f"{_first_lower((Trigger.__doc__ or '').strip().rstrip('.').replace('``', ''))} "
        "(0: no rules)",
        "events of the rule's metric in its window",
        NUMBER_LEVERS["trigger"].bounds(),
        "seed 002: attacks lead to closures, then talks; numbers: assumption",
        "triggers",
    ),
    "closed_gates": LeverHelp(
        "closed_gates",
        "Official crossings closed for the whole run (the gate's status, "
        "crossings.<gate>.open; dated closures come on top)",
        "gates",
        _ANY_GATE,
        "geo reference: Gursal closed to trade since 2011, Nawa Pass since 2007",
        "crossings.<gate>.open",
    ),
    "unfenced_sectors": LeverHelp(
        "unfenced_sectors",
        f"Sectors with no fence at all ({field_text(Fence, 'sectors')})",
        "sectors",
        f"any of the {len(sector_names())} sectors",
        "scenario data",
        "fence.sectors",
    ),
    "seed": LeverHelp(
        "seed",
        "The root of every random stream: the same scenario and seed give the same "
        "numbers in the page and in borderabm run",
        "—",
        SEED.bounds(),
        "the analyst's choice",
        "",
    ),
    "days": LeverHelp(
        "days",
        "Days simulated from the scenario's start date",
        "days",
        DAYS.bounds(),
        "the scenario file's horizon_days by default",
        "",
    ),
}


def help_line(key: str) -> str:
    """The help line of a lever ("" for a lever without one)."""
    entry = LEVER_HELP.get(key)
    return entry.line() if entry else ""

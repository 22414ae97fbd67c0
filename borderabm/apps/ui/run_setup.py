"""What the Run tab runs: the scenarios it lists, the levers it shows, and the model it builds.

Until the analyst changes a lever, the page runs exactly the scenario file (the same settings as
``borderabm run FILE --seed S --days N``): the levers start at the file's exact values and a lever
left at its file value adds no override at all, so triggers, cooldowns, fence schedules and dated
closures stay as the file has them. Only changed levers become dotted-key overrides, applied to the
file's document the way ``--set`` is. The page's bounds apply only to what the analyst changed
(a lever, or a seed or days other than the file's): a file may set values beyond them (the scenario
schema allows more), and it still runs exactly as the CLI runs it. Changed values out of bounds
are refused (never clamped), with a message naming the lever and what is allowed. A file whose own
population exceeds the page's agent cap is listed as an error entry saying so.

The page never takes a path from the browser: it lists the shipped scenarios plus, when
``BORDERABM_SCENARIOS`` names a folder, the files of that folder (a file there replaces a shipped
one of the same name). A file that cannot be read or validated is listed with a one-line reason
that names no server path. A file uploaded in a tab (:data:`uploaded_scenarios`, kernel-scoped) is
held in memory as text and offered to that tab only (:func:`run_entries`), never written anywhere.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import solara

from borderabm.experiments.run import build_model as build_scenario_model
from borderabm.gazetteer import crossing_names, sector_names
from borderabm.metrics import MetricName
from borderabm.model import BorderModel
from borderabm.rules.gate_travellers import agents_per_gate
from borderabm.scenario import (
    PATROL_STRATEGIES,
    Scenario,
    ScenarioError,
    load_scenario,
    packaged_dir,
    parse_toml,
    scenario_from_document,
    shipped_scenarios_dir,
)

SCENARIOS_ENV = "BORDERABM_SCENARIOS"
DEFAULT_SCENARIO = "closures_oct2025"
MAX_AGENTS = 2_000_000  # a page may not ask the server for more than this
MAX_PROBLEM_CHARS = 160  # a picker entry's reason stays one short line
MAX_NUMBER_CHARS = 24  # a refused number is quoted this long at most
STRATEGIES = PATROL_STRATEGIES  # each has its rule in borderabm.rules.patrols.ALLOCATORS
# The trigger the page adds to a scenario that has none: the 2025 escalation rule of the shipped
# scenarios (30-day window, 14-day closures, 14 days of cooldown), with the page's threshold.
PAGE_TRIGGER: dict[str, Any] = {
    "name": "page trigger",
    "metric": MetricName.ATTACKS.value,
    "window_days": 30,
    "crossings": ["all"],
    "duration_days": 14,
    "cooldown_days": 14,
}


@dataclass(frozen=True)
class NumberLever:
    """A numeric lever: its label, unit and the bounds the server accepts."""

    key: str
    label: str
    unit: str
    low: float
    high: float
    integer: bool

    def bounds(self) -> str:
        """The allowed range as a person reads it: "0 to 10,000" (or "0 or more")."""
        if math.isinf(self.high):
            return f"{self.text(self.low)} or more"
        return f"{self.text(self.low)} to {self.text(self.high)}"

    def text(self, value: float) -> str:
        """``value`` as a person reads it; never raises, however large the number."""
        return number_text(value, self.integer)

    def check(self, value: Any) -> str:
        """Why ``value`` is refused ("" when it is accepted)."""
        allowed = f"allowed: {self.bounds()}{', whole numbers' if self.integer else ''}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{self.label}: {str(value)[:MAX_NUMBER_CHARS]!r} is not a number ({allowed})"
        shown = number_text(value, isinstance(value, int))
        if isinstance(value, float) and not math.isfinite(value):
            return f"{self.label}: {shown} is not a finite number ({allowed})"
        if not self.low <= value <= self.high:
            return f"{self.label}: {shown} is out of bounds ({allowed})"
        if self.integer and value != int(value):
            return f"{self.label}: {shown} is not a whole number ({allowed})"
        return ""


def number_text(value: float, integer: bool = False) -> str:
    """A number as a person reads it ("1,234,567,890", "0.94"), shortened when very long.

    Never raises: Python ints of any size (which ``:g`` and even ``str`` cannot always format)
    are described by their number of digits.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**MAX_NUMBER_CHARS:  # str() of a huge int is slow, or refused
            digits = int(abs(value).bit_length() * math.log10(2)) + 1
            return f"{'-' if value < 0 else ''}a number of about {digits:,} digits"
        return f"{value:,}"
    if integer and math.isfinite(value) and value == int(value) and abs(value) < 1e18:
        return f"{int(value):,}"
    return repr(float(value))


NUMBER_LEVERS = {
    "fence": NumberLever("fence", "Fence coverage", "share of the border, 0–1", 0.0, 1.0, False),
    "units": NumberLever("units", "Patrol units", "units", 0, 10_000, True),
    "deportation": NumberLever(
        "deportation", "Deportations per day (0 = none)", "people/day", 0, 50_000, True
    ),
    # No upper bound: the threshold's scale depends on the rule's metric and window.
    "trigger": NumberLever(
        "trigger",
        "Trigger threshold of the first rule (0 = no rules)",
        "events",
        0,
        math.inf,
        False,
    ),
}
SEED = NumberLever("seed", "Seed", "", 0, 2**63 - 1, True)
DAYS = NumberLever("days", "Days to run", "days", 1, 3_650, True)
LEVER_BOUNDS = {
    "fence.coverage": (NUMBER_LEVERS["fence"].low, NUMBER_LEVERS["fence"].high),
    "patrols.units": (NUMBER_LEVERS["units"].low, NUMBER_LEVERS["units"].high),
    "deportation.daily_rate": (NUMBER_LEVERS["deportation"].low, NUMBER_LEVERS["deportation"].high),
    "trigger_threshold": (NUMBER_LEVERS["trigger"].low, NUMBER_LEVERS["trigger"].high),
}
"""The bounds a changed lever must respect, by scenario key: the page's inputs and the server
enforce the same ones (:meth:`NumberLever.check`). A lever left at the file's value is not
checked: the scenario schema may allow more."""


@dataclass(frozen=True)
class ScenarioEntry:
    """One file of the scenario folders, valid (``settings``) or not (``problem``).

    An uploaded file (this browser tab only) carries its TOML ``text``: it is read from memory,
    never from the disk, and its ``path`` is only its file name.
    """

    name: str
    path: Path
    settings: Scenario | None
    problem: str = ""
    text: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the file loads as a valid scenario."""
        return self.settings is not None

    @property
    def uploaded(self) -> bool:
        """Whether the file was uploaded in this tab (held in memory, not in a folder)."""
        return self.text is not None

    def source_text(self) -> str:
        """The file's TOML text (an upload's own, a listed file's read from its folder).

        Raises:
            OSError: If a listed file cannot be read any more.
        """
        return self.text if self.text is not None else self.path.read_text(encoding="utf-8")

    def load(self, overrides: dict[str, Any] | None = None) -> Scenario:
        """The file's scenario with dotted-key ``overrides`` applied (as ``--set`` applies them).

        Raises:
            ScenarioError: For overrides the scenario rejects.
        """
        if self.text is None:
            return load_scenario(self.path, overrides)
        return scenario_from_document(parse_toml(self.text, self.path.name), self.path, overrides)


UPLOAD_PREFIX = "uploaded:"
# The scenarios uploaded in this browser tab, by picker name (kernel-scoped: one dict per tab).
uploaded_scenarios: solara.Reactive[dict[str, ScenarioEntry]] = solara.reactive({})


def run_entries() -> dict[str, ScenarioEntry]:
    """What the Run tab may open: the listed files, then this tab's uploads."""
    return {**scenario_entries(), **uploaded_scenarios.value}


class LeverError(ScenarioError):
    """Levers the server refuses; one line per lever, meant for the page."""


def scenario_folders() -> list[Path]:
    """The folders listed, in order: the shipped scenarios, then ``$BORDERABM_SCENARIOS``.

    A later folder's file replaces an earlier one of the same name.
    """
    candidates = [packaged_dir("scenarios"), shipped_scenarios_dir()]
    configured = os.environ.get(SCENARIOS_ENV)
    if configured:
        candidates.append(Path(configured))
    folders: list[Path] = []
    seen: set[Path] = set()
    for folder in candidates:
        try:
            real = folder.resolve()
        except OSError:
            continue
        if folder.is_dir() and real not in seen:
            seen.add(real)
            folders.append(folder)
    if configured and Path(configured).is_dir():  # the configured folder always comes last
        folders = [f for f in folders if f.resolve() != Path(configured).resolve()]
        folders.append(Path(configured))
    return folders


_LOADED: dict[Path, tuple[tuple[int, int], ScenarioEntry]] = {}


def scenario_entries() -> dict[str, ScenarioEntry]:
    """Every scenario file the page may open, by name (sorted), each loaded once per version."""
    files: dict[str, Path] = {}
    for folder in scenario_folders():
        try:
            found = sorted(folder.glob("*.toml"))
        except OSError:
            continue
        for path in found:
            files[path.stem] = path
    entries = {}
    for name in sorted(files):
        entries[name] = _entry(name, files[name])
    return entries


def _entry(name: str, path: Path) -> ScenarioEntry:
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = (-1, -1)
    cached = _LOADED.get(path)
    if cached and cached[0] == version:
        return cached[1]
    try:
        settings = load_scenario(path)
        too_many = agent_count(settings) > MAX_AGENTS
        entry = ScenarioEntry(name, path, None if too_many else settings,
                              f"{agent_count(settings):,} agents: more than the page's "
                              f"{MAX_AGENTS:,} (run it with the CLI)" if too_many else "")  # fmt: skip
    except ScenarioError as error:
        entry = ScenarioEntry(name, path, None, one_line(error.problems, path))
    except Exception as error:  # noqa: BLE001 - one bad file must not break the page
        entry = ScenarioEntry(name, path, None, one_line([type(error).__name__], path))
    _LOADED[path] = (version, entry)
    return entry


def agent_count(settings: Scenario) -> int:
    """Agents a scenario asks for: trucks, refugees, gate travellers, militants and patrol units."""
    population = settings.population
    travellers = int(agents_per_gate(settings, crossing_names()).sum())
    return (population.traders + population.refugee_agents + travellers + population.militants
            + settings.patrols.units)  # fmt: skip


def one_line(problems: list[str], path: Path) -> str:
    """The first problem as one short line, with the file's folder removed."""
    text = " ".join(str(problems[0] if problems else "invalid").split())
    folders = {str(path.parent), str(path.parent.resolve())} if path.parent != Path() else set()
    for folder in folders:  # an upload's path is its bare name: no folder to remove
        text = text.replace(folder + os.sep, "").replace(folder, "")
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more)"
    return text if len(text) <= MAX_PROBLEM_CHARS else text[: MAX_PROBLEM_CHARS - 1] + "…"


def default_scenario(entries: dict[str, ScenarioEntry]) -> str | None:
    """The scenario the page opens first: the 2025 closures if valid, else the first valid one."""
    valid = [name for name, entry in entries.items() if entry.ok]
    if DEFAULT_SCENARIO in valid:
        return DEFAULT_SCENARIO
    return valid[0] if valid else None


def levers_of(settings: Scenario) -> dict[str, Any]:
    """The levers exactly as a scenario file sets them (day 0 for a fence built over time)."""
    trigger = settings.triggers[0] if settings.triggers else None
    return {
        "fence": settings.fence.coverage_on(0),
        "units": settings.patrols.units,
        "strategy": settings.patrols.strategy,
        "lethal": settings.patrols.lethal_force,
        "corridor": settings.corridor.enabled,
        "deportation": settings.deportation.daily_rate if settings.deportation.enabled else 0,
        "trigger": trigger.threshold if trigger else 0,
        "closed_gates": [g for g, c in settings.crossings.items() if not c.open],
        "unfenced_sectors": [s for s, share in settings.fence.sectors.items() if share == 0],
        "corridor_gates": list(settings.corridor.gates),
    }


def trigger_lever(settings: Scenario) -> tuple[NumberLever, str]:
    """The trigger lever as the page shows it for a scenario, and a line saying what it does.

    The lever sets the threshold of the file's first rule only (its other rules stay as they
    are); 0 removes every rule. A file without rules gets the page's own rule.
    """
    rules = settings.triggers
    first = rules[0] if rules else None
    metric = (first.metric if first else PAGE_TRIGGER["metric"]).replace("_", " ")
    window = first.window_days if first else PAGE_TRIGGER["window_days"]
    which = f"rule “{first.name}”" if first else "a new rule"
    label = f"Trigger: {metric} in {window} days above ({which}; 0 = no rules)"
    if len(rules) > 1:
        others = ", ".join(f"“{rule.name}”" for rule in rules[1:])
        help_text = (f"Sets the threshold of the first rule only; {others} keep their own. "
                     f"0 removes all {len(rules)} rules.")  # fmt: skip
    elif first:
        help_text = "Sets the threshold of the file's rule; 0 removes it."
    else:
        help_text = (f"The file has no rule: a value above 0 adds one ({window}-day window, closes "
                     f"all gates for {PAGE_TRIGGER['duration_days']} days).")  # fmt: skip
    base = NUMBER_LEVERS["trigger"]
    return NumberLever(base.key, label, metric, base.low, base.high, base.integer), help_text


def changed_levers(settings: Scenario, levers: dict[str, Any]) -> list[str]:
    """The keys of the levers that differ from the file's values."""
    original = levers_of(settings)
    changed = []
    for key, value in original.items():
        if isinstance(value, list):
            if set(levers.get(key, value)) != set(value):
                changed.append(key)
        elif levers.get(key, value) != value:
            changed.append(key)
    return changed


def lever_overrides(settings: Scenario, levers: dict[str, Any], source: str) -> dict[str, Any]:
    """Dotted-key overrides for the changed levers only (none while no lever is touched).

    Raises:
        LeverError: For a value out of bounds, of the wrong type, or a name that is not listed.
    """
    # Only what the analyst changed is checked: the file's own values may lie beyond the page's
    # bounds (the schema allows more) and run as they are.
    changed = changed_levers(settings, levers)
    problems = [
        problem
        for key, lever in NUMBER_LEVERS.items()
        if key in changed and (problem := lever.check(levers[key]))
    ]
    if "strategy" in changed and levers["strategy"] not in STRATEGIES:
        problems.append(
            f"Patrol strategy: {levers['strategy']!r} (allowed: {', '.join(STRATEGIES)})"
        )
    for key, allowed, what in (
        ("closed_gates", crossing_names(), "Closed gates"),
        ("corridor_gates", crossing_names(), "Corridor gates"),
        ("unfenced_sectors", sector_names(), "Sectors left unfenced"),
    ):
        unknown = [str(v) for v in levers[key] if v not in allowed] if key in changed else []
        if unknown:
            problems.append(f"{what}: {', '.join(unknown)} (allowed: {', '.join(allowed)})")
    if problems:
        raise LeverError(source, problems)

    overrides: dict[str, Any] = {}
    if "fence" in changed:
        overrides["fence.coverage"] = float(levers["fence"])  # holds for the run: apply_levers
    if "units" in changed:
        overrides["patrols.units"] = int(levers["units"])
    if "strategy" in changed:
        overrides["patrols.strategy"] = levers["strategy"]
    if "lethal" in changed:
        overrides["patrols.lethal_force"] = bool(levers["lethal"])
    if "corridor" in changed:
        overrides["corridor.enabled"] = bool(levers["corridor"])
    if "corridor_gates" in changed:
        overrides["corridor.gates"] = list(levers["corridor_gates"])
    corridor_touched = {"corridor", "corridor_gates"} & set(changed)
    if corridor_touched and levers["corridor"] and not levers["corridor_gates"]:
        overrides["corridor.enabled"] = False  # a corridor through no gate is no corridor
    if "deportation" in changed:
        rate = int(levers["deportation"])
        overrides["deportation.enabled"] = rate > 0
        if rate > 0:
            overrides["deportation.daily_rate"] = rate
    if "trigger" in changed:
        threshold = float(levers["trigger"])
        if threshold <= 0:
            overrides["triggers"] = []
        elif settings.triggers:  # the file's first rule keeps its window, duration and cooldown
            overrides["triggers.0.threshold"] = threshold
        else:
            overrides["triggers"] = [{**PAGE_TRIGGER, "threshold": threshold}]
    if "closed_gates" in changed:
        for gate, crossing in settings.crossings.items():
            if crossing.open == (gate in levers["closed_gates"]):
                overrides[f"crossings.{gate}.open"] = not crossing.open
    if "unfenced_sectors" in changed:
        unfenced = set(levers["unfenced_sectors"])
        sectors = {s: v for s, v in settings.fence.sectors.items() if v != 0 or s in unfenced}
        overrides["fence.sectors"] = {**sectors, **dict.fromkeys(sorted(unfenced), 0.0)}
    return overrides


def base_settings(entry: ScenarioEntry, extra: dict[str, Any] | None = None) -> Scenario:
    """The file's settings, with a replayed sweep run's own overrides (its design point) if any.

    Raises:
        ScenarioError: For a file that is not valid, or overrides it rejects (no server path).
    """
    source = entry.path.name
    if entry.settings is None:
        raise ScenarioError(source, [entry.problem])
    if not extra:
        return entry.settings
    try:
        return entry.load(extra)
    except ScenarioError as error:
        raise ScenarioError(source, [one_line([p], entry.path) for p in error.problems]) from None


def run_settings(
    entry: ScenarioEntry,
    levers: dict[str, Any] | None = None,
    seed: int | None = None,
    days: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Scenario:
    """The settings the page runs: the file, its changed levers, and the seed and days shown.

    Args:
        entry: A listed scenario file.
        levers: The page's levers (None: the file's own); only changed ones become overrides.
        seed: The seed shown (None: the file's).
        days: The days shown (None: the file's horizon).
        extra: Overrides a replayed sweep run had (its design point), applied before the levers.

    Raises:
        ScenarioError: For a file that is not valid, levers or a seed/days the server refuses, or
            too many agents. Messages name the file by its name, never its server path.
    """
    source = entry.path.name
    overrides = run_overrides(entry, levers, seed, days, extra)
    if not overrides:
        settings = base_settings(entry)  # the file's own (no extra overrides either)
    else:
        try:
            settings = entry.load(overrides)
        except ScenarioError as error:
            raise ScenarioError(
                source, [one_line([p], entry.path) for p in error.problems]
            ) from None
    if agent_count(settings) > MAX_AGENTS:
        raise LeverError(source, [f"more than {MAX_AGENTS:,} agents"])
    return settings


def run_overrides(
    entry: ScenarioEntry,
    levers: dict[str, Any] | None = None,
    seed: int | None = None,
    days: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every dotted-key override of a run, in the order applied: ``extra``, levers, seed, days.

    The file with these overrides is the run (see :func:`run_settings`); a scenario file saved
    from the page writes them into the file's text.

    Raises:
        ScenarioError: For a file that is not valid, or levers or a seed/days the server refuses.
    """
    source = entry.path.name
    base = base_settings(entry, extra)
    overrides = dict(extra or {})
    if levers is not None:
        overrides |= lever_overrides(base, levers, source)
    problems = [  # a seed or days other than the file's must be within the page's bounds
        problem
        for value, lever, own in ((seed, SEED, base.seed), (days, DAYS, base.horizon_days))
        if value is not None and not _same_number(value, own) and (problem := lever.check(value))
    ]
    if problems:
        raise LeverError(source, problems)
    if seed is not None and seed != base.seed:
        overrides["seed"] = int(seed)
    if days is not None and days != base.horizon_days:
        overrides["horizon_days"] = int(days)
    return overrides


def _same_number(value: Any, own: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value == own


def build_model(
    name: str,
    levers: dict[str, Any] | None = None,
    seed: int | None = None,
    days: int | None = None,
    extra: dict[str, Any] | None = None,
) -> BorderModel:
    """The model the Run tab's Reset builds for a listed scenario, its levers, seed and days.

    Raises:
        ScenarioError: For a name that is not listed, or settings the server refuses.
    """
    return build_scenario_model(settings_for(name, levers, seed, days, extra))


def settings_for(
    name: str,
    levers: dict[str, Any] | None = None,
    seed: int | None = None,
    days: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Scenario:
    """:func:`run_settings` of a listed scenario (or one uploaded in this tab), by name.

    Raises:
        ScenarioError: For a name that is not listed, or settings the server refuses.
    """
    entry = run_entries().get(name)
    if entry is None:
        raise ScenarioError(str(name)[:80], ["not a scenario of the configured folders"])
    return run_settings(entry, levers, seed, days, extra)


LIST_LEVERS = ("closed_gates", "corridor_gates", "unfenced_sectors")
SWITCH_LEVERS = ("lethal", "corridor")
TRUE_WORDS, FALSE_WORDS = ("1", "true", "on", "yes"), ("0", "false", "off", "no")


def permalink(name: str, base: Scenario, levers: dict[str, Any], seed: int, days: int) -> str:
    """The query string of a link to a run: the scenario, seed, days and the changed levers only."""
    query: dict[str, str] = {"scenario": name, "seed": str(seed), "days": str(days)}
    for key in changed_levers(base, levers):
        value = levers[key]
        if key in LIST_LEVERS:
            query[key] = ",".join(value)
        elif key in SWITCH_LEVERS:
            query[key] = "1" if value else "0"
        else:
            query[key] = repr(value) if isinstance(value, float) else str(value)  # exact
    return "?" + urlencode(query)


def parse_permalink(search: str) -> dict[str, Any] | None:
    """What a link's query string asks for: ``{"scenario", "levers", "seed", "days"}``.

    None when the query names no scenario. Values are only parsed here; their bounds are checked
    when the run is built, with the same messages as typed values.

    Raises:
        ScenarioError: For a scenario that is not listed or not valid, an unknown key, or a value
            of the wrong kind.
    """
    query = parse_qs(search.lstrip("?"), keep_blank_values=True)
    if "scenario" not in query:
        return None
    name = query["scenario"][-1]
    entry = scenario_entries().get(name)
    if entry is None or entry.settings is None:  # not listed, or not a valid scenario
        why = entry.problem if entry is not None else "not a listed scenario"
        raise ScenarioError("link", [f"scenario: {name[:80]!r}: {why}"])
    levers = levers_of(entry.settings)
    allowed = ["scenario", "seed", "days", *levers]
    problems = []
    asked: dict[str, Any] = {"seed": entry.settings.seed, "days": entry.settings.horizon_days}
    for key, values in query.items():
        text = values[-1]
        if key == "scenario":
            continue
        if key not in allowed:
            problems.append(f"{key[:40]}: unknown key (allowed: {', '.join(allowed)})")
        elif key in LIST_LEVERS:
            levers[key] = [part for part in text.split(",") if part]
        elif key in SWITCH_LEVERS:
            if text.lower() not in TRUE_WORDS + FALSE_WORDS:
                problems.append(f"{key}: {text[:40]!r} (allowed: 1 or 0)")
            levers[key] = text.lower() in TRUE_WORDS
        elif key == "strategy":
            levers[key] = text
        else:
            lever = {"seed": SEED, "days": DAYS}.get(key) or NUMBER_LEVERS[key]
            try:
                number = int(text) if lever.integer else float(text)
            except ValueError:
                problems.append(f"{key}: {text[:40]!r} is not a number ({lever.bounds()})")
                continue
            if key in ("seed", "days"):
                asked[key] = number
            else:
                levers[key] = number
    if problems:
        raise ScenarioError("link", problems)
    return {"scenario": name, "levers": levers, **asked}

"""A Solara page to compare scenarios on common seeds: a scorecard, charts and replayable runs.

The page runs a comparison (2-4 listed scenarios, replicate k of each on the same seed) in a
background thread, in process (``workers=1``), into a results directory under the configured results
folder (``$BORDERABM_RESULTS_DIR``, default ``results/``), or opens a saved sweep from that folder.
Scenario and results names come only from those two folders: nothing typed in the browser becomes a
path. The work is done by plain functions (:func:`run_comparison`, :func:`load_saved_comparison`) so
it can be tested and reused without a browser.

Clicking *Replay* on a run sets the module-level reactive :data:`replay_request` to
``{"scenario": name, "seed": seed, "days": days}`` (plus ``"overrides"`` for a design point of a
saved sweep that changes parameters) for the map page to pick up. A saved sweep's run is offered
for replay only when the listed file of its scenario is the one the sweep ran (same sha256);
otherwise the row says why not.

The form and the last comparison are kernel-scoped, so switching tabs keeps them; the request of
the last finished comparison is kept per browser session, so a reloaded page asks for it again
(its runs are in the results folder, so nothing is recomputed).

**Permanent results.** Every comparison has an id (:func:`comparison_id`: a short hash of the
scenarios with their files' sha256, the replicates, the first seed and the days; a saved sweep's id
is its folder's name), and its runs are stored in ``<results folder>/ui-...-<id>``. The page shows
the link ``?comparison=<id>``; opening it (another browser, after a restart) reads the stored runs
again (:func:`open_comparison`) and shows the same scorecard, charts and maps; nothing is re-run. An
id that does not exist gives one plain error line. Every replayable run has its own link too,
``?comparison=<id>&run=<run id>`` (:func:`replay_link`; the run id is the store's, so the link does
not depend on the table's order): it opens the Run tab on exactly that run, design point included
(:func:`stored_replay`), or says in one line why it cannot.

**What is shown is what is reported.** The charts, the difference maps and ``places.csv`` are the
files of the comparison report (:func:`borderabm.report.compare.write_report`), made once per opened
comparison and offered for download with it (the report as a zip).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import html
import io
import json
import os
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import pandas as pd
import solara

from borderabm.analysis.compare import Comparison, load_comparison
from borderabm.apps.ui import session
from borderabm.apps.ui.links import LINK_KEY, RUN_KEY, comparison_link, replay_link
from borderabm.apps.ui.robust_view import (
    DEFAULT_DRAWS,
    MAX_DRAWS,
    SHIPPED_POSTERIOR,
    RobustError,
    RobustResult,
    RobustView,
    is_robust_store,
    robust_result,
    robust_sweep,
    run_robust,
)
from borderabm.apps.ui.run_setup import ScenarioEntry, scenario_entries
from borderabm.metrics import BROWSER_RUNS_TABLE_METRICS, MetricName, format_value, metric_label
from borderabm.report.format import estimate_cell
from borderabm.scenario import ScenarioError

if TYPE_CHECKING:
    from borderabm.experiments.store import ResultsStore
    from borderabm.experiments.sweep import Sweep

MIN_SCENARIOS, MAX_SCENARIOS = 2, 4
MIN_REPLICATES, MAX_REPLICATES = 2, 20
MIN_DAYS, MAX_DAYS = 30, 730
DEFAULT_REPLICATES = 5
DEFAULT_DAYS = 180
DEFAULT_SEED = 1
# Fencing against a trade corridor: the reference first, then each policy and both together.
DEFAULT_SCENARIOS = ("baseline", "fence_full", "trade_corridor", "fence_and_corridor")
RESULTS_ENV = "BORDERABM_RESULTS_DIR"
MAX_RUN_ROWS = 200  # rows of the runs table (a big saved sweep would otherwise flood the page)
CHART_SCENARIOS = 10  # the report's charts draw one colour each for the first ten scenarios
NEW, ROBUST, SAVED = "New comparison", "Across plausible worlds", "Saved results"
LINK = "link"  # a job opened from ``?comparison=<id>``
ID_LENGTH = 12  # hex digits of a comparison id
# What an id may look like: a hash, or a saved results folder's name (no path, no leading dot).
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@=+-]{0,199}")
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a stored run's file name

# Kernel-scoped (one value per browser tab): switching tabs keeps the form and the last result.
compare_mode = solara.reactive(NEW)
compare_chosen: solara.Reactive[list[str] | None] = solara.reactive(None)
compare_reference: solara.Reactive[str | None] = solara.reactive(None)
compare_replicates = solara.reactive(DEFAULT_REPLICATES)
compare_days = solara.reactive(DEFAULT_DAYS)
compare_saved_choice: solara.Reactive[str | None] = solara.reactive(None)
compare_draws = solara.reactive(DEFAULT_DRAWS)
# The last result: a comparison on common seeds, or one across plausible worlds.
last_comparison: solara.Reactive[ComparisonResult | RobustResult | None] = solara.reactive(None)
# The comparison id of the page's address once opened: a tab switch does not open it again.
opened_link: solara.Reactive[str | None] = solara.reactive(None)

replay_request: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)
"""Set to ``{"scenario": name, "seed": seed, "days": days}`` when a run's Replay is clicked (with
``"overrides"``, the design point's parameters, whenever the run's point has any, and then
``"link"``, the stored run's permanent link)."""

Progress = Callable[[int, int], None]

# One comparison at a time per results directory (two sessions asking for the same one share it).
# Charts need no lock: each is its own Figure on its own canvas (borderabm.report.charts).
_DIR_LOCKS: dict[Path, threading.Lock] = {}
_DIR_LOCKS_GUARD = threading.Lock()


class ComparisonError(ValueError):
    """A comparison that cannot be run or opened; the message is meant for the page."""


class ComparisonCancelled(Exception):
    """The comparison was cancelled between runs (finished runs stay in the store)."""


@dataclass(frozen=True, eq=False)  # compared by identity: it holds DataFrames
class ComparisonResult:
    """What the page shows for a finished comparison."""

    title: str
    names: list[str]  # scenario names in column order; the first is the reference
    replicates: int
    table: pd.DataFrame  # compare_table: scenario, metric, mean, low, high, diff, ... clear
    scorecard: pd.DataFrame  # "metric" then one text column per scenario
    runs: pd.DataFrame  # scenario, replicate, seed, days, replay (shipped name or None), metrics
    results_dir: Path
    timeseries_png: bytes | None = None
    cost_effect_png: bytes | None = None
    notes: list[str] = field(default_factory=list)
    comparison_id: str = ""  # the id of its permanent link (see comparison_link)
    sectors_png: bytes | None = None
    maps: tuple[tuple[str, bytes], ...] = ()  # (metric, PNG) of each difference map
    places_csv: str = ""  # the numbers of the maps: the report's places.csv
    report_zip: bytes | None = None  # the report folder (index.html, report.md, charts, maps)


# Inputs ----------------------------------------------------------------------------------------
def shipped_names() -> list[str]:
    """Names of the valid scenarios the page may run (shipped, plus ``$BORDERABM_SCENARIOS``)."""
    return [name for name, entry in scenario_entries().items() if entry.ok]


def default_selection(names: Sequence[str]) -> list[str]:
    """The default scenarios that are shipped, else the first two shipped ones."""
    chosen = [n for n in DEFAULT_SCENARIOS if n in names]
    return chosen if len(chosen) >= MIN_SCENARIOS else list(names[:MIN_SCENARIOS])


def results_root() -> Path:
    """The folder holding results directories: ``$BORDERABM_RESULTS_DIR`` or ``results/``."""
    return Path(os.environ.get(RESULTS_ENV) or "results")


def saved_sweeps() -> list[str]:
    """Names of the results directories (with a manifest) directly under the results folder."""
    root = results_root()
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if not p.name.startswith(".") and p.is_dir() and (p / "manifest.json").is_file()
    )


def saved_sweep_dir(name: str) -> Path:
    """The results directory of a listed saved sweep (any other name is refused)."""
    if name not in saved_sweeps() or Path(name).name != name:
        raise ComparisonError(f"no saved results named {name!r} in the results folder")
    return results_root() / name


def check_request(names: Sequence[str], replicates: int, days: int) -> list[str]:
    """Problems with a comparison request, as lines for the page (none: it may run)."""
    problems = []
    shipped = shipped_names()
    entries = scenario_entries()
    broken = [n for n in names if n in entries and not entries[n].ok]
    problems += [f"{n}.toml: {entries[n].problem}" for n in broken]
    unknown = [n for n in names if n not in shipped and n not in broken]
    if unknown:
        problems.append(
            f"not a shipped scenario: {', '.join(map(repr, unknown))} "
            f"(shipped: {', '.join(shipped) or 'none'})"
        )
    if len(set(names)) != len(names):
        problems.append("each scenario may be chosen once")
    if not MIN_SCENARIOS <= len(names) <= MAX_SCENARIOS:
        problems.append(f"choose {MIN_SCENARIOS} to {MAX_SCENARIOS} scenarios (got {len(names)})")
    if not MIN_REPLICATES <= replicates <= MAX_REPLICATES:
        problems.append(
            f"replicates must be {MIN_REPLICATES} to {MAX_REPLICATES} (got {replicates})"
        )
    if not MIN_DAYS <= days <= MAX_DAYS:
        problems.append(f"days must be {MIN_DAYS} to {MAX_DAYS} (got {days})")
    return problems


# Work ------------------------------------------------------------------------------------------
def checked_paths(names: Sequence[str], replicates: int, days: int) -> list[Path]:
    """The files of the shipped scenarios a comparison asks for, once the request is checked.

    Raises:
        ComparisonError: For a request out of bounds (every problem on one line).
    """
    names = [str(n) for n in names]
    problems = check_request(names, int(replicates), int(days))
    if problems:
        raise ComparisonError("; ".join(problems))
    entries = scenario_entries()
    return [entries[n].path for n in names]


def run_comparison(
    names: Sequence[str],
    replicates: int,
    days: int,
    progress: Progress | None = None,
    *,
    seed: int = DEFAULT_SEED,
    cancel: threading.Event | None = None,
) -> ComparisonResult:
    """Run shipped scenarios on common seeds (in this process) and build what the page shows.

    Runs go to ``<results folder>/ui-compare-...``, named after the request, so asking again for the
    same comparison reuses (or completes) the stored runs.

    Args:
        names: Shipped scenario names; the first is the reference for the differences.
        replicates: Runs per scenario; replicate k uses seed + k - 1.
        days: Days to simulate.
        progress: Called with (runs done, runs in total) at the start and after every run.
        seed: Seed of the first replicate.
        cancel: When set, the comparison stops after the run in progress.

    Raises:
        ComparisonError: For a request out of bounds, a scenario that cannot be loaded or a store
            that cannot be used.
        ComparisonCancelled: When ``cancel`` was set.
    """
    from borderabm.experiments.store import ResultsStore, StoreError
    from borderabm.experiments.sweep import comparison_sweep

    paths = checked_paths(names, replicates, days)
    try:
        sweep = comparison_sweep(paths, replicates, seed, days)
    except ScenarioError as error:
        raise ComparisonError(str(error)) from None
    identity = comparison_id(
        [(name, sha) for name, (_path, sha) in sweep.scenario_files.items()], replicates, seed, days
    )
    label = f"ui-{sweep.spec.name}-r{replicates}-d{days}-s{seed}-{identity}"
    store = ResultsStore(results_root() / label)
    run_into_store(sweep, store, progress, cancel)
    try:
        comparison = load_comparison(store)
    except StoreError as error:
        raise ComparisonError(str(error)) from None
    files = {name: Path(path) for name, (path, _) in sweep.scenario_files.items()}
    replay = {name: path.stem for name, path in files.items()}
    title = "Comparison: " + " vs ".join(comparison.order)
    return _result(comparison, title, replay, identity=identity)


def run_into_store(
    sweep: Sweep,
    store: ResultsStore,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Run the sweep's runs that ``store`` lacks, in this process, as the page's comparisons do.

    One request at a time per store (two tabs asking for the same comparison share its runs);
    runs already stored count as done.

    Args:
        sweep: The runs.
        store: Where they go.
        progress: Called with (runs done, runs in total) at the start and after every run.
        cancel: When set, the work stops after the run in progress.

    Raises:
        ComparisonError: For a store that cannot be used or written (no server path spelled out).
        ComparisonCancelled: When ``cancel`` was set.
    """
    from borderabm.experiments.engines import InProcess
    from borderabm.experiments.store import StoreError
    from borderabm.experiments.sweep import run_sweep

    ids = {run.run_id for run in sweep.runs}
    total = len(sweep.runs)
    report = progress or (lambda done, total: None)
    with _dir_lock(store.root):
        done = {"n": len(store.done() & ids)}
        report(done["n"], total)

        def on_done(_result: dict) -> None:
            done["n"] += 1
            report(min(done["n"], total), total)
            if cancel is not None and cancel.is_set():
                raise ComparisonCancelled(f"cancelled after {done['n']} of {total} runs")

        if cancel is not None and cancel.is_set():
            raise ComparisonCancelled("cancelled before the first run")
        try:
            run_sweep(sweep, store, engine=InProcess(), on_done=on_done)
        except StoreError as error:
            raise ComparisonError(without_server_paths(str(error))) from None
        except OSError as error:
            raise ComparisonError(
                f"{store.root.name}: cannot write results ({error.strerror or 'error'})"
            ) from None


def run_robust_comparison(
    names: Sequence[str],
    draws: int,
    replicates: int,
    days: int,
    progress: Progress | None = None,
    *,
    cancel: threading.Event | None = None,
) -> RobustResult:
    """Run shipped scenarios across plausible worlds (in this process) and read the result.

    Every scenario runs on the same ``draws`` rows of the shipped posterior x the same seeds, as
    ``borderabm compare ... --uncertainty ... --draws N`` does; the runs go to
    ``<results folder>/ui-robust-...-<id>``, so asking again reuses them and the id opens them.

    Raises:
        ComparisonError: For a request out of bounds or a store that cannot be used.
        ComparisonCancelled: When ``cancel`` was set.
    """
    from borderabm.experiments.engines import InProcess

    paths = checked_paths(names, replicates, days)
    try:
        sweep = robust_sweep(paths, draws, replicates, days, seed=DEFAULT_SEED)
    except RobustError as error:
        raise ComparisonError(str(error)) from None
    identity = comparison_id([(name, sha) for name, (_path, sha) in sweep.scenario_files.items()],
                             replicates, DEFAULT_SEED, days, draws=draws)  # fmt: skip
    folder = results_root() / f"ui-robust-w{draws}-r{replicates}-d{days}-{identity}"
    total = len(sweep.runs)
    report = progress or (lambda done, total: None)
    done = {"n": 0}
    report(0, total)

    def on_done(_result: dict) -> None:
        done["n"] += 1
        report(min(done["n"], total), total)
        if cancel is not None and cancel.is_set():
            raise ComparisonCancelled(f"cancelled after {done['n']} of {total} runs")

    with _dir_lock(folder):
        try:
            return run_robust(paths, draws, replicates, days, folder, on_done, InProcess(),
                              identity)  # fmt: skip
        except RobustError as error:
            raise ComparisonError(str(error)) from None


@dataclass(frozen=True)
class Refusal:
    """A request the page refuses (a bad id, a damaged store): its one line, shown as an error."""

    message: str


def load_saved_comparison(name: str, progress: Progress | None = None) -> ComparisonResult:
    """Compare the runs of a saved sweep in the results folder (as ``compare --sweep`` does).

    Raises:
        ComparisonError: For a name not listed by :func:`saved_sweeps`, a store that cannot be
            read, or a sweep with no runs.
    """
    from borderabm.experiments.store import ResultsStore, StoreError

    store = ResultsStore(saved_sweep_dir(name))
    try:
        comparison = load_comparison(store)
    except StoreError as error:  # no runs yet, or a damaged file: named in the message
        raise ComparisonError(str(error)) from None
    if progress is not None:
        progress(len(comparison.runs), len(comparison.runs))
    replay, overrides, refused = replay_plan(comparison)
    if len(comparison.order) < 2:
        raise ComparisonError(
            f"{name}: only one scenario ({comparison.order[0]}); nothing to compare"
        )
    title = f"Saved results {name}: " + " vs ".join(comparison.order)
    return _result(comparison, title, replay, overrides, refused, identity=saved_link_id(name))


def saved_link_id(name: str) -> str:
    """The id a saved results folder's permanent link carries: its name, if a link can carry it.

    A folder named outside :data:`ID_PATTERN` (a space, a slash-like or markup character) opens
    from the picker but gets no link, rather than a link the page would refuse ("" : no link).
    """
    return name if ID_PATTERN.fullmatch(name) else ""


def replay_plan(
    comparison: Comparison,
) -> tuple[dict[str, str], dict[str, dict], dict[str, str]]:
    """How each label of a stored comparison is replayed, and why not where it cannot be.

    Returns:
        (label -> listed scenario name to replay, label -> its design point's overrides (only
        for a point that has any), label -> why it cannot be replayed exactly).
    """
    entries = scenario_entries()
    replay_scenario, refused_scenario = {}, {}
    for scenario, entry in comparison.manifest.scenarios.items():
        path = Path(str(entry.file or ""))
        why = replay_refusal(entry.model_dump(), entries.get(path.stem))
        if why:
            refused_scenario[scenario] = why
        else:
            replay_scenario[scenario] = path.stem
    # A replay applies the run's design point (its overrides) whenever the point has any, even
    # for a sweep of a single point.
    has_design = comparison.manifest.design is not None and comparison.manifest.design.points
    overrides: dict[str, dict] = {}
    replay, refused = {}, {}
    for label, (scenario, _point) in comparison.members.items():
        point = comparison.design_point(label)
        if scenario not in replay_scenario:
            refused[label] = refused_scenario.get(scenario, "its scenario is not in the manifest")
        elif point is not None:
            replay[label] = replay_scenario[scenario]
            if point:
                overrides[label] = point
        elif has_design:  # a point the manifest does not describe cannot be reproduced
            refused[label] = "its design point is not in the manifest"
        else:
            replay[label] = replay_scenario[scenario]
    return replay, overrides, refused


def comparison_id(
    scenarios: Sequence[tuple[str, str]],
    replicates: int,
    seed: int,
    days: int | None,
    draws: int | None = None,
) -> str:
    """The id of a comparison: a short, stable hash of what was compared.

    Args:
        scenarios: (name, sha256 of its file) of each scenario, in comparison order.
        replicates: Runs per scenario.
        seed: Seed of the first replicate.
        days: Days simulated.
        draws: Plausible worlds of a comparison across them (None: on common seeds only).
    """
    what = {"scenarios": [list(pair) for pair in scenarios], "replicates": int(replicates),
            "seed": int(seed), "days": None if days is None else int(days)}  # fmt: skip
    if draws is not None:  # the ids of comparisons on common seeds stay what they were
        what["draws"] = int(draws)
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:ID_LENGTH]


def linked_id(search: str | None) -> str | None:
    """The comparison id a page address asks for (``?comparison=<id>``), or None."""
    values = parse_qs((search or "").lstrip("?"), keep_blank_values=True).get(LINK_KEY)
    return values[-1] if values else None


def is_replay_link(search: str | None) -> bool:
    """Whether a page address asks for a stored run (it has ``run=``): the Run tab opens it."""
    return RUN_KEY in parse_qs((search or "").lstrip("?"), keep_blank_values=True)


def linked_run(search: str | None) -> tuple[str, str] | None:
    """(comparison id, run id) a replay link asks for (see :func:`replay_link`), or None.

    None when the address names no run. Only the form is checked here; whether the run exists
    is :func:`stored_replay`'s question.

    Raises:
        ComparisonError: For a run without a comparison, or a run id that is not one.
    """
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    if RUN_KEY not in query:
        return None
    run_id = query[RUN_KEY][-1]
    identity = query.get(LINK_KEY, [""])[-1]
    if not identity:
        raise ComparisonError(f"{RUN_KEY}: a run needs its comparison (allowed: "
                              f"?{LINK_KEY}=<id>&{RUN_KEY}=<run id>)")  # fmt: skip
    if not RUN_ID_PATTERN.fullmatch(run_id):
        shown = run_id[:40] + ("…" if len(run_id) > 40 else "")
        raise ComparisonError(f"{RUN_KEY}: {shown!r}: not a run id (allowed: the run id of a "
                              "stored run, letters, digits and . _ - )")  # fmt: skip
    return identity, run_id


def stored_replay(identity: str, run_id: str) -> dict[str, Any]:
    """The replay request of one stored run: what its Replay button asks the Run tab for.

    Returns:
        ``{"scenario", "seed", "days", "link"}`` plus ``"overrides"`` when its design point has
        any (as :data:`replay_request`), ``"label"`` and ``"stored"`` (the run's stored summary).

    Raises:
        ComparisonError: For an unknown comparison, a run it does not hold, or a run that cannot
            be replayed exactly (its scenario file changed since, or is no longer listed).
    """
    from borderabm.experiments.store import ResultsStore, StoreError

    folder = comparison_dir(identity)
    try:
        comparison = load_comparison(ResultsStore(folder))
    except StoreError as error:
        raise ComparisonError(without_server_paths(str(error))) from None
    rows = comparison.runs[comparison.runs["run_id"] == run_id]
    if rows.empty:
        raise ComparisonError(f"{RUN_KEY}: {run_id!r}: comparison {identity} holds no such run "
                              f"(it holds {len(comparison.runs)} runs)")  # fmt: skip
    row = rows.iloc[0]
    label = str(row["scenario"])
    replay, overrides, refused = replay_plan(comparison)
    if label not in replay:
        why = refused.get(label, "it cannot be replayed")
        raise ComparisonError(f"{RUN_KEY}: {run_id}: {label} seed {int(row['seed'])} of "
                              f"comparison {identity} cannot be replayed exactly: {why}")  # fmt: skip
    stored_days = row.get(MetricName.DAYS)
    days = None if stored_days is None or pd.isna(stored_days) else int(stored_days)
    request: dict[str, Any] = {"scenario": replay[label], "seed": int(row["seed"]), "days": days}
    if label in overrides:
        request["overrides"] = dict(overrides[label])
    return request | {"link": replay_link(identity, run_id), "label": label,
                      "stored": row.to_dict()}  # fmt: skip


def comparison_dir(identity: str) -> Path:
    """The results directory of a comparison id: a saved sweep of that name, or ``ui-...-<id>``.

    Raises:
        ComparisonError: For an id that is not one, or that no stored comparison has.
    """
    shown = identity[:40] + ("…" if len(identity) > 40 else "")
    if not ID_PATTERN.fullmatch(identity):
        raise ComparisonError(f"comparison: {shown!r}: not a comparison id (allowed: the id of "
                              "a stored comparison, letters, digits and . _ - )")  # fmt: skip
    saved = saved_sweeps()
    if identity in saved:
        return results_root() / identity
    matches = [n for n in saved if n.startswith("ui-") and n.endswith("-" + identity)]
    if len(matches) != 1:
        raise ComparisonError(f"comparison: {shown!r}: no stored comparison has this id "
                              "(it may have been deleted from the results folder)")  # fmt: skip
    return results_root() / matches[0]


def open_comparison(
    identity: str, progress: Progress | None = None
) -> ComparisonResult | RobustResult:
    """The stored comparison of an id, as the page showed it when it was run (nothing is re-run).

    Raises:
        ComparisonError: For an unknown id, or a store that cannot be read.
    """
    folder = comparison_dir(identity)
    if is_robust_store(folder):
        return robust_result(folder, identity)
    result = load_saved_comparison(folder.name, progress)
    if folder.name.startswith("ui-"):  # made by this page: shown under the title it had then
        title = "Comparison: " + " vs ".join(result.names)
        return dataclasses.replace(result, title=title, comparison_id=identity)
    return result


def replay_refusal(recorded: dict, listed: ScenarioEntry | None) -> str:
    """Why a saved sweep's scenario cannot be replayed exactly ("" when it can).

    A replay runs the listed file of the same name; it reproduces the sweep's runs only if that
    file is byte for byte the one the sweep ran (the manifest records its sha256).

    Args:
        recorded: The manifest's entry for the scenario: ``{"file": path, "sha256": digest}``.
        listed: The listed scenario file of the same name, if any.
    """
    if listed is None:
        return "no scenario of that name is listed"
    if not listed.ok:
        return "its scenario file is not valid now"
    digest = recorded.get("sha256")
    if not isinstance(digest, str) or not digest:
        return "the sweep did not record its scenario file's checksum"
    try:
        now = hashlib.sha256(listed.path.read_bytes()).hexdigest()
    except OSError:
        return "its scenario file cannot be read"
    if now != digest:
        return "its scenario file changed since the sweep"
    return ""


def _dir_lock(path: Path) -> threading.Lock:
    key = path.resolve()
    with _DIR_LOCKS_GUARD:
        return _DIR_LOCKS.setdefault(key, threading.Lock())


def _result(
    comparison: Comparison,
    title: str,
    replay: dict[str, str],
    overrides: dict[str, dict] | None = None,
    refused: dict[str, str] | None = None,
    *,
    identity: str = "",
) -> ComparisonResult:
    runs, order = comparison.runs, comparison.order
    table = comparison.table()
    replicates = comparison.replicates
    notes: list[str] = []
    series = comparison.series()
    if series.empty:
        notes.append("No daily series stored for these runs: the time-series chart is not shown.")
    if len(order) > CHART_SCENARIOS:
        notes.append(f"The charts show the first {CHART_SCENARIOS} of {len(order)} scenarios.")
    if len(runs) > MAX_RUN_ROWS:
        notes.append(f"The runs table lists the first {MAX_RUN_ROWS} of {len(runs)} runs.")
    report: dict[str, bytes] = {}
    if series.empty:
        timeseries_png, cost_effect_png = charts(runs, None)
        notes.append("No daily series stored: no difference maps and no report to download.")
    else:
        report = report_files(comparison, table, series, title)
        timeseries_png, cost_effect_png = report["timeseries.png"], report["cost_effect.png"]
    listing = runs[["scenario", "replicate", "seed", "run_id"]].copy()
    listing["days"] = runs[MetricName.DAYS].astype(int) if MetricName.DAYS in runs else None
    # Object columns: pandas' string dtype would turn None into NaN, which is truthy.
    listing["replay"] = pd.Series([replay.get(s) for s in runs["scenario"]], dtype=object,
                                  index=listing.index)  # fmt: skip
    listing["overrides"] = [(overrides or {}).get(s) for s in runs["scenario"]]
    listing["replay_refused"] = [(refused or {}).get(s, "") for s in runs["scenario"]]
    for metric in BROWSER_RUNS_TABLE_METRICS:
        if metric in runs:
            listing[metric] = runs[metric].to_numpy()
    return ComparisonResult(
        title=title,
        names=order,
        replicates=replicates,
        table=table,
        scorecard=scorecard(table),
        runs=listing.reset_index(drop=True),
        results_dir=comparison.store.root,
        timeseries_png=timeseries_png,
        cost_effect_png=cost_effect_png,
        notes=notes,
        comparison_id=identity,
        sectors_png=report.get("sectors.png"),
        maps=tuple(
            (name.removeprefix("map_").removesuffix(".png"), data)
            for name, data in report.items()
            if name.startswith("map_")
        ),  # fmt: skip
        places_csv=report.get("places.csv", b"").decode(),
        report_zip=zipped(report) if report else None,
    )


def report_files(
    comparison: Comparison, table: pd.DataFrame, series: pd.DataFrame, title: str
) -> dict[str, bytes]:
    """The comparison report's files by name (as ``compare --report`` writes them), in file order."""
    from borderabm.analysis.compare import sector_names
    from borderabm.report.compare import write_report

    with tempfile.TemporaryDirectory(prefix="borderabm-ui-") as folder:
        written = write_report(table, comparison.runs, series, sector_names(series), Path(folder),
                               title, comparison.replicates)  # fmt: skip
        return {path.name: path.read_bytes() for path in written}


def zipped(files: dict[str, bytes]) -> bytes:
    """The files in one zip archive (fixed dates, so the same report gives the same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def stored_series(result: ComparisonResult) -> pd.DataFrame:
    """The daily series of a comparison's runs, read from its results directory, labelled.

    Columns: ``scenario``, ``replicate``, ``seed``, ``day``, then the metrics and breakdowns.

    Raises:
        ComparisonError: For a store that cannot be read.
    """
    from borderabm.experiments.store import ResultsStore, StoreError

    try:
        comparison = load_comparison(ResultsStore(result.results_dir))
        series = comparison.series()
    except StoreError as error:
        raise ComparisonError(without_server_paths(str(error))) from None
    if series.empty:
        return series
    series = series.merge(comparison.runs[["run_id", "replicate", "seed"]], on="run_id")
    first = ["scenario", "replicate", "seed", "day"]
    ordered = series[first + [c for c in series.columns if c not in first and c != "run_id"]]
    return ordered.sort_values(["scenario", "replicate", "day"], key=_in_order(result.names),
                               kind="stable").reset_index(drop=True)  # fmt: skip


def _in_order(names: Sequence[str]) -> Callable[[pd.Series], pd.Series]:
    rank = {name: index for index, name in enumerate(names)}
    return lambda column: column.map(rank) if column.name == "scenario" else column


def series_csv(result: ComparisonResult) -> str:
    """The daily series as CSV (see :func:`stored_series`)."""
    return stored_series(result).to_csv(index=False)


def series_parquet(result: ComparisonResult) -> bytes:
    """The daily series as Parquet (see :func:`stored_series`)."""
    buffer = io.BytesIO()
    stored_series(result).to_parquet(buffer, index=False)
    return buffer.getvalue()


def run_scenario_toml(name: str, seed: int, days: int | None, overrides: dict | None) -> str:
    """The scenario file of one run: the listed file with the run's seed, days and overrides.

    Comments and layout of the file are kept; the values the run changed are written in (a design
    point's ``section.key`` parameters too), so loading the text gives the run's scenario.

    Raises:
        ComparisonError: For a scenario that is not listed, or an override that cannot be written.
    """
    import tomlkit

    entry = scenario_entries().get(name)
    if entry is None or not entry.ok:
        raise ComparisonError(f"{name}: not a listed scenario")
    document = tomlkit.parse(entry.path.read_text())
    values: dict[str, Any] = {"seed": int(seed)}
    if days is not None:
        values["horizon_days"] = int(days)
    values |= dict(overrides or {})
    for dotted, value in values.items():
        *sections, key = dotted.split(".")
        node: Any = document
        for section in sections:
            if section not in node:
                node[section] = tomlkit.table()
            node = node[section]
            if not isinstance(node, dict):
                raise ComparisonError(f"{dotted}: {section!r} is not a table of the scenario file")
        node[key] = value
    what = (f"{entry.path.name} as run: seed {int(seed)}"
            + ("" if days is None else f", {int(days)} days")
            + (f"; overrides: {', '.join(sorted(overrides))}" if overrides else ""))  # fmt: skip
    return "# " + " ".join(what.splitlines()) + "\n" + tomlkit.dumps(document)


def charts(runs: pd.DataFrame, series: pd.DataFrame | None) -> tuple[bytes | None, bytes]:
    """PNG bytes of the time-series chart (None without series) and the cost-vs-effect chart."""
    from borderabm.report.compare import cost_effect_chart, time_series_chart

    with tempfile.TemporaryDirectory(prefix="borderabm-ui-") as folder:
        out = Path(folder)
        timeseries = None
        if series is not None:
            timeseries = time_series_chart(series, runs, out / "timeseries.png").read_bytes()
        cost_effect = cost_effect_chart(runs, out / "cost_effect.png").read_bytes()
    return timeseries, cost_effect


# Presentation ----------------------------------------------------------------------------------
def without_server_paths(message: str) -> str:
    """A message for the page with the server's folders named, not spelled out."""
    folders = [
        (results_root(), "results folder"),
        (SHIPPED_POSTERIOR.parent, "shipped calibration"),
    ]
    folders += [(entry.path.parent, "scenarios folder") for entry in scenario_entries().values()]
    for folder, name in folders:
        for spelled in {str(folder.resolve()), str(folder)} - {"", "."}:
            message = message.replace(spelled + os.sep, f"{name}: ").replace(spelled, name)
    return message


def scorecard(table: pd.DataFrame) -> pd.DataFrame:
    """Metric rows x scenario columns: ``mean [low – high]``, then ``Δ ... ✱`` on a second line.

    Δ is the paired difference against the first scenario with its 95% interval; ✱ marks a clear
    difference (the interval excludes zero).
    """
    names = list(dict.fromkeys(table["scenario"]))
    lookup = table.set_index(["scenario", "metric"])
    rows = []
    for metric in dict.fromkeys(table["metric"]):
        row = {"metric": metric_label(metric)}
        for index, name in enumerate(names):
            row[name] = estimate_cell(metric, lookup.loc[(name, metric)], reference=index == 0)
        rows.append(row)
    return pd.DataFrame(rows, columns=["metric", *names])


def scorecard_html(frame: pd.DataFrame) -> str:
    """The scorecard as an HTML table (every text escaped), header cell ``metric`` first."""
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in frame.columns)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{html.escape(str(row.iloc[0]))}</th>'
        + "".join(
            "<td>" + "<br>".join(html.escape(line) for line in str(v).split("\n")) + "</td>"
            for v in row.iloc[1:]
        )
        + "</tr>"
        for _, row in frame.iterrows()
    )
    cells = "border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top"
    return (
        f"<style>.compare-scorecard th,.compare-scorecard td{{{cells}}}"
        ".compare-scorecard th:first-child{text-align:left}</style>"
        '<table class="compare-scorecard" aria-label="scorecard" '
        'style="border-collapse:collapse;font-size:13px">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


# Components ------------------------------------------------------------------------------------
@solara.component
def Figure(png: bytes, label: str, testid: str, download: str = ""):
    """A chart: ``solara.Image`` in a ``<figure role="img">`` named by ``label``, with a caption.

    With ``download`` (a file name), a button below it downloads the PNG under that name.
    """
    with solara.v.Html(
        tag="figure",
        attributes={"role": "img", "aria-label": label, "title": label, "data-testid": testid},
        class_=testid,
        style_="margin:0",
    ):
        solara.Image(png, format="png", width="100%", classes=[testid + "-image"])
        solara.v.Html(tag="figcaption", children=[label], style_="font-size:12px;color:#555")
    if download:
        solara.FileDownload(png, filename=download, label=f"Download {download} (PNG)",
                            mime_type="image/png")  # fmt: skip


def _cell(tag: str, *children, **kwargs):
    return solara.v.Html(tag=tag, children=list(children), **kwargs)


def _heading(tag: str, text: str):
    """A heading whose text stays text (names from the results folder are never parsed)."""
    return _cell(tag, text, style_="margin:12px 0 4px")


@solara.component
def RunsTable(result: ComparisonResult):
    """Every run (scenario, replicate, seed, days, key metrics), each with a Replay button."""
    runs = result.runs
    fixed = ("scenario", "replicate", "seed", "days", "replay", "overrides", "replay_refused",
             "run_id")  # fmt: skip
    metrics = [c for c in runs.columns if c not in fixed]
    columns = ["scenario", "replicate", "seed", "days", *metrics, "replay", "scenario file"]

    def replay(name: str, seed: int, days: int | None, overrides: dict | None, link: str):
        request: dict[str, Any] = {"scenario": name, "seed": int(seed), "days": days}
        if overrides:  # a design point: the Run tab offers the stored run's link as its own
            request["overrides"] = dict(overrides)
            if link:
                request["link"] = link
        replay_request.set(request)

    with solara.v.Html(tag="table", class_="compare-runs", attributes={"aria-label": "runs"},
                       style_="border-collapse:collapse;font-size:13px"):  # fmt: skip
        with _cell("thead"), _cell("tr"):
            for column in columns:
                _cell("th", metric_label(column) if column in metrics else column,
                      attributes={"scope": "col"}, style_="padding:2px 8px")  # fmt: skip
        with _cell("tbody"):
            for row in runs.head(MAX_RUN_ROWS).itertuples(index=False):
                days = None if pd.isna(row.days) else int(row.days)
                with _cell("tr"):
                    _cell("td", str(row.scenario), style_="padding:2px 8px")
                    _cell("td", str(int(row.replicate) + 1), style_="padding:2px 8px")
                    _cell("td", str(int(row.seed)), style_="padding:2px 8px")
                    _cell("td", "" if days is None else str(days), style_="padding:2px 8px")
                    for metric in metrics:
                        exact = float(getattr(row, metric))
                        _cell("td", format_value(metric, exact),
                              style_="padding:2px 8px;text-align:right",
                              attributes={"data-metric": metric, "data-value": repr(exact)})  # fmt: skip
                    with _cell("td", style_="padding:2px 8px"):
                        if row.replay:
                            name = f"Replay {row.scenario} seed {int(row.seed)}"
                            link = (replay_link(result.comparison_id, str(row.run_id))
                                    if result.comparison_id else "")  # fmt: skip
                            with solara.Row(style={"align-items": "center", "gap": "6px"}):
                                solara.Button(
                                    "Replay",
                                    on_click=functools.partial(
                                        replay, row.replay, row.seed, days, row.overrides, link
                                    ),
                                    small=True,
                                    outlined=True,
                                    classes=["compare-replay"],
                                    attributes={"aria-label": name, "title": name},
                                )
                                if link:
                                    what = f"Permanent link to {row.scenario} seed {int(row.seed)}"
                                    _cell("a", "link", class_="compare-run-link",
                                          attributes={"href": link, "title": what,
                                                      "aria-label": what})  # fmt: skip
                        elif row.replay_refused:
                            solara.Text(f"no replay: {row.replay_refused}",
                                        classes=["compare-no-replay"],
                                        style={"font-size": "12px"})  # fmt: skip
                        else:
                            solara.Text("—")
                    with _cell("td", style_="padding:2px 8px"):
                        if row.replay:
                            ScenarioFileDownload(str(row.scenario), str(row.replay),
                                                 int(row.seed), days, row.overrides)  # fmt: skip
                        else:
                            solara.Text("—")


@solara.component
def ScenarioFileDownload(
    label: str, scenario: str, seed: int, days: int | None, overrides: dict | None
):
    """A button that downloads one run's scenario file (TOML, see :func:`run_scenario_toml`)."""
    # One callable per run (not one per render): FileDownload restarts when its data changes.
    data = solara.use_memo(
        lambda: lambda: download_or_error(lambda: run_scenario_toml(scenario, seed, days,
                                                                    overrides)),
        [scenario, seed, days, repr(overrides)],
    )  # fmt: skip
    what = f"Scenario file of {label} seed {seed} (TOML)"
    solara.FileDownload(
        data,
        filename=safe_download_name(f"{label}-seed{seed}.toml"),
        mime_type="application/toml",
        children=[solara.Button("TOML", icon_name="mdi-download", small=True, text=True,
                                classes=["compare-toml"],
                                attributes={"aria-label": what, "title": what})],
    )  # fmt: skip


def download_or_error(make: Callable[[], str | bytes]) -> str | bytes:
    """What ``make`` returns, or its error as one line of text (a download never shows a traceback).

    A comparison's store may be moved or deleted after the page showed it; the downloaded file
    then says why instead of the page breaking.
    """
    try:
        return make()
    except ComparisonError as error:
        return f"error: {error}\n"


def safe_download_name(name: str) -> str:
    """A download's file name made of safe characters only (names come from the results folder)."""
    return re.sub(r"[^A-Za-z0-9._@=+-]", "_", name)[:150] or "download"


@solara.component
def Downloads(result: ComparisonResult):
    """Buttons that download the comparison's tables, daily series, report and numbers by place."""
    stem = safe_download_name(result.comparison_id or result.results_dir.name)
    # One callable per comparison (not one per render): FileDownload restarts when its data changes.
    lazy = solara.use_memo(
        lambda: {
            "table": lambda: result.table.to_csv(index=False),
            "csv": lambda: download_or_error(lambda: series_csv(result)),
            "parquet": lambda: download_or_error(lambda: series_parquet(result)),
        },
        [result],
    )
    with solara.Row(classes=["compare-downloads"], style={"flex-wrap": "wrap"}):
        solara.FileDownload(result.scorecard.to_csv(index=False), filename=f"{stem}-scorecard.csv",
                            label="Scorecard (CSV)", mime_type="text/csv")  # fmt: skip
        solara.FileDownload(
            lazy["table"],
            filename=f"{stem}-table.csv",
            label="Comparison table, numbers (CSV)",
            mime_type="text/csv",
        )
        solara.FileDownload(lazy["csv"], filename=f"{stem}-series.csv",
                            label="Daily series (CSV)", mime_type="text/csv")  # fmt: skip
        solara.FileDownload(lazy["parquet"], filename=f"{stem}-series.parquet",
                            label="Daily series (Parquet)",
                            mime_type="application/vnd.apache.parquet")  # fmt: skip
        if result.places_csv:
            solara.FileDownload(result.places_csv, filename=f"{stem}-places.csv",
                                label="By place (CSV)", mime_type="text/csv")  # fmt: skip
        if result.report_zip is not None:
            solara.FileDownload(result.report_zip, filename=f"{stem}-report.zip",
                                label="Report (HTML, zip)", mime_type="application/zip")  # fmt: skip


@solara.component
def ComparisonView(result: ComparisonResult):
    """Scorecard, charts and runs of a finished comparison, each under its own heading."""
    with solara.Column(classes=["compare-results"]):
        _heading("h3", result.title)
        solara.Text(
            f"{result.replicates} replicates per scenario on common seeds; saved as "
            f"{result.results_dir.name} in the results folder"
        )
        if result.comparison_id:
            link = comparison_link(result.comparison_id)
            with solara.Row(classes=["compare-permalink"], style={"align-items": "center"}):
                solara.Text(f"Comparison id {result.comparison_id}; permanent link:")
                _cell("a", link, attributes={"href": link, "data-testid": "compare-link"})
        for note in result.notes:
            solara.Info(note)
        _heading("h4", "Downloads")
        Downloads(result)
        _heading("h4", "Scorecard")
        solara.Text(
            "Each cell: mean [95% interval]; Δ = paired difference against "
            f"{result.names[0]} [95% interval]; ✱ = the interval excludes zero."
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=scorecard_html(result.scorecard),
            classes=["compare-table"],
            attributes={"data-testid": "compare-table"},
        )
        if result.timeseries_png is not None:
            _heading("h4", "Over time (mean of replicates with 95% band)")
            Figure(
                result.timeseries_png,
                "Time series: mean of replicates with 95% band per scenario",
                "compare-timeseries",
                "timeseries.png",
            )
        if result.cost_effect_png is not None:
            _heading("h4", "Cost against effect (mean and 95% interval)")
            Figure(
                result.cost_effect_png,
                "Cost against effect: policy cost vs attacks, formal trade, militant crossings",
                "compare-cost-effect",
                "cost_effect.png",
            )
        if result.sectors_png is not None:
            _heading("h4", "By sector (run totals, mean and 95% interval)")
            Figure(result.sectors_png, "By sector: militant and irregular crossings per sector",
                   "compare-sectors", "sectors.png")  # fmt: skip
        if result.maps:
            _heading("h4", "Where it changes (difference maps)")
            solara.Text(
                f"Each row: {result.names[0]} (reference), the policy, and the policy minus "
                f"{result.names[0]} on common seeds (red: more, blue: fewer; a place is labelled "
                "where the 95% interval of the difference excludes zero). Sectors are stretches "
                "of the border line, gates diamonds, towns dots."
            )
            for metric, png in result.maps:
                Figure(png, f"Difference map: {metric_label(metric)} by place, policy minus "
                       "reference", "compare-diffmap", f"map_{metric}.png")  # fmt: skip
        _heading("h4", "Runs")
        solara.Text("Replay a run to watch it on the map (same scenario, seed and days).")
        RunsTable(result)


@solara.component
def ComparePage():
    """Choose 2-4 scenarios (or a saved sweep), run in the background, show the comparison."""
    from borderabm.apps.ui.variants import VARIANTS, VariantsForm, run_variants  # imports this

    names = shipped_names()
    mode, chosen, reference = compare_mode, compare_chosen, compare_reference
    replicates, days, saved_choice = compare_replicates, compare_days, compare_saved_choice
    # (generation, kind, arguments): a new value starts the work
    job: solara.Reactive[tuple[int, str, tuple[Any, ...]] | None] = solara.use_reactive(None)
    progress = solara.use_reactive((0, 0))
    router = solara.use_router()

    def restore():
        if job.value is not None:
            return
        # A permanent link (?comparison=<id>) opens its stored comparison, once per tab.
        asked_id = linked_id(router.search)
        if asked_id is not None and opened_link.value != asked_id:
            opened_link.set(asked_id)
            job.set((1, LINK, (asked_id,)))
            return
        # A reloaded page asks again for the comparison it showed (the stored runs are reused).
        if last_comparison.value is not None:
            return
        form = session.recall("compare_form")
        if form:
            mode.set(form["mode"])
            chosen.set(list(form["chosen"]))
            reference.set(form["reference"])
            replicates.set(form["replicates"])
            days.set(form["days"])
            saved_choice.set(form["saved_choice"])
        asked = session.recall("comparison")
        if asked:
            job.set((1, asked[0], tuple(asked[1])))

    solara.use_effect(restore, [])

    picked = default_selection(names) if chosen.value is None else chosen.value
    selection = [n for n in picked if n in names]
    first = reference.value if reference.value in selection else next(iter(selection), None)
    order = [first, *[n for n in selection if n != first]] if first else []
    request_problems = check_request(order, replicates.value, days.value)
    saved = saved_sweeps()
    current = job.value

    def work(cancel: threading.Event):
        if current is None:
            return None
        _, kind, arguments = current
        report = lambda done, total: progress.set((done, total))  # noqa: E731
        try:
            if kind == NEW:
                names_asked, replicates_asked, days_asked = arguments
                return run_comparison(names_asked, replicates_asked, days_asked, report,
                                      cancel=cancel)  # fmt: skip
            if kind == LINK:
                (identity,) = arguments
                return open_comparison(identity, report)
            if kind == VARIANTS:
                base_asked, lines_asked, replicates_asked, days_asked, worlds_asked = arguments
                return run_variants(base_asked, lines_asked, replicates_asked, days_asked, report,
                                    cancel=cancel, worlds=worlds_asked)  # fmt: skip
            if kind == ROBUST:
                names_asked, draws_asked, replicates_asked, days_asked = arguments
                return run_robust_comparison(names_asked, draws_asked, replicates_asked,
                                             days_asked, report, cancel=cancel)  # fmt: skip
            (saved_name,) = arguments
            if is_robust_store(saved_sweep_dir(saved_name)):
                return robust_result(saved_sweep_dir(saved_name), saved_link_id(saved_name))
            return load_saved_comparison(saved_name, report)
        except ComparisonCancelled:
            return None
        except (ComparisonError, RobustError) as error:  # the page says why; no log traceback
            return Refusal(str(error))

    result = solara.use_thread(work, dependencies=[current], intrusive_cancel=False)
    busy = current is not None and result.state in (
        solara.ResultState.STARTING,
        solara.ResultState.WAITING,
        solara.ResultState.RUNNING,
    )

    def keep_result():
        finished = result.state == solara.ResultState.FINISHED
        if isinstance(result.value, ComparisonResult | RobustResult) and finished and current:
            last_comparison.set(result.value)
            session.remember("comparison", (current[1], list(current[2])))

    solara.use_effect(keep_result, [result.value, result.state])

    def start(kind: str, arguments: tuple):
        session.remember("compare_form", {"mode": mode.value, "chosen": list(selection),
                                          "reference": reference.value,
                                          "replicates": replicates.value, "days": days.value,
                                          "saved_choice": saved_choice.value})  # fmt: skip
        progress.set((0, 0))
        generation = current[0] + 1 if current else 1
        job.set((generation, kind, arguments))

    with solara.Column(classes=["compare-page"], style={"padding": "12px"}):
        _heading("h2", "Compare scenarios")
        solara.ToggleButtonsSingle(value=mode, values=[NEW, ROBUST, VARIANTS, SAVED],
                                   classes=["compare-mode"])  # fmt: skip
        if mode.value in (NEW, ROBUST):
            with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
                solara.SelectMultiple(
                    f"Scenarios ({MIN_SCENARIOS}-{MAX_SCENARIOS})",
                    values=selection,
                    all_values=names,
                    on_value=chosen.set,
                    classes=["compare-scenarios"],
                    style={"min-width": "420px"},
                )
                solara.Select(
                    "Reference (Δ against)",
                    values=selection,
                    value=first,
                    on_value=reference.set,
                    classes=["compare-reference"],
                )
            with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
                with solara.Column(classes=["compare-replicates"], style={"min-width": "260px"}):
                    solara.SliderInt(
                        "Replicates", value=replicates, min=MIN_REPLICATES, max=MAX_REPLICATES
                    )
                solara.Text(
                    str(replicates.value),
                    style={"min-width": "2em"},
                    classes=["compare-replicates-value"],
                )  # the value the server has
                with solara.Column(classes=["compare-days"], style={"min-width": "260px"}):
                    solara.SliderInt("Days", value=days, min=MIN_DAYS, max=MAX_DAYS, step=10)
                solara.Text(
                    str(days.value), style={"min-width": "3em"}, classes=["compare-days-value"]
                )  # the value the server has
                if mode.value == ROBUST:
                    with solara.Column(classes=["compare-draws"], style={"min-width": "260px"}):
                        solara.SliderInt("Plausible worlds (posterior draws)", value=compare_draws,
                                         min=1, max=MAX_DRAWS)  # fmt: skip
                    solara.Text(str(compare_draws.value), style={"min-width": "2em"},
                                classes=["compare-draws-value"])  # fmt: skip
                arguments = (
                    (tuple(order), replicates.value, days.value)
                    if mode.value == NEW
                    else (tuple(order), compare_draws.value, replicates.value, days.value)
                )
                solara.Button(
                    "Run comparison",
                    on_click=lambda kind=mode.value, asked=arguments: start(kind, asked),
                    disabled=busy or bool(request_problems),
                    color="primary",
                    classes=["compare-run"],
                )
            for problem in request_problems:
                solara.Error(problem, classes=["compare-input-error"])
        elif mode.value == VARIANTS:
            VariantsForm(busy, start)
        else:
            if not saved:
                solara.Info(f"No saved results in the results folder yet (set ${RESULTS_ENV}).")
            with solara.Row(style={"align-items": "center"}):
                solara.Select(
                    "Results directory",
                    values=saved,
                    value=saved_choice.value if saved_choice.value in saved else None,
                    on_value=saved_choice.set,
                    classes=["compare-saved"],
                )
                solara.Button(
                    "Open saved results",
                    on_click=lambda: start(SAVED, (saved_choice.value,)),
                    disabled=busy or saved_choice.value not in saved,
                    color="primary",
                    classes=["compare-open"],
                )

        if busy:
            done, total = progress.value
            with solara.Row(classes=["compare-progress"], style={"align-items": "center"}):
                solara.Text(f"Runs done: {done} / {total}" if total else "Preparing runs…")
                solara.Button("Cancel", on_click=result.cancel, text=True)
            solara.ProgressLinear(done / total * 100 if total else True)
        refusal = result.value if isinstance(result.value, Refusal) and not busy else None
        if refusal is not None:
            solara.Error(without_server_paths(refusal.message), classes=["compare-error"])
        elif result.state == solara.ResultState.ERROR and result.error is not None:
            # Unexpected: the log has the traceback; the page names the kind of failure only
            # (its message may hold server paths).
            solara.Error(f"The comparison failed ({type(result.error).__name__}); the server's "
                         "log has the details.", classes=["compare-error"])  # fmt: skip
        elif result.state == solara.ResultState.CANCELLED and current is not None:
            solara.Warning("Cancelled; finished runs are kept and reused next time.")
        shown = (result.value if isinstance(result.value, ComparisonResult | RobustResult)
                 and result.state != solara.ResultState.ERROR
                 else last_comparison.value if not busy else None)  # fmt: skip
        if isinstance(shown, RobustResult):
            RobustView(shown)
        elif shown is not None:
            ComparisonView(shown)

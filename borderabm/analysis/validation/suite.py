"""Run the validation suite: every fact's control and treatment on common seeds, then the statistics.

The runs go through the sweep machinery (``borderabm.experiments``): each (arm, replicate) becomes a
:class:`~borderabm.experiments.run.RunSpec` executed by an
:class:`~borderabm.experiments.engines.Engine` (local processes or Dask) into a
:class:`~borderabm.experiments.store.ResultsStore`, so workers share the work and results do not
depend on how many there are or where they run. Replicate *k* of every arm uses seed ``seed + k``.

Arms are identified by their content (the validated scenario without its seed), so facts that share
an arm (several compare against the same baseline) share its runs, and a kept store (``store_dir``)
lets a later run reuse every run already done. Runs are only reused by the same model code: the
store's fingerprint holds the package version and a hash of the model's source
(:func:`model_code_hash`), and a store made by other code is refused rather than silently mixed in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import borderabm
from borderabm.analysis.validation.facts import FACTS, MECHANISM_CHECK, STYLIZED_FACT, Arm, Fact
from borderabm.analysis.validation.stats import MIN_PAIRS, PairedEffect, paired_effect
from borderabm.experiments.engines import Engine, engine_for, run_into_store
from borderabm.experiments.run import RunSpec, prepare_output_dir
from borderabm.experiments.store import (
    Manifest,
    ResultsStore,
    StoreError,
    SweepRecord,
    environment,
    now,
    read_table,
)
from borderabm.scenario import load_scenario

STORE_KIND = "borderabm-validation-v2"
# Layers of the package whose code cannot change a run's results: the applications, the analysis
# (the validation suite's facts and statistics are re-read from the runs on every call) and reports.
CODE_HASH_EXCLUDED = ("apps", "analysis", "report")


@functools.cache
def model_code_hash() -> str:
    """sha256 over the model's source: every ``borderabm/**/*.py`` except the UI and validation.

    Computed once per process. Paths (relative, sorted) are hashed with the contents, so a renamed
    or moved module changes the hash too.
    """
    package = Path(borderabm.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] in CODE_HASH_EXCLUDED:
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def store_fingerprint() -> str:
    """What a kept store must have been made by: this suite's format, version and model code."""
    return f"{STORE_KIND}:{borderabm.__version__}:{model_code_hash()[:16]}"


class UnknownFactError(ValueError):
    """A fact id that is not in the suite."""


@dataclass
class PlannedArm:
    """One distinct arm of the suite and its runs."""

    key: str  # stable: derived from the validated scenario without its seed
    arm: Arm
    runs: list[RunSpec]
    series_columns: set[str] = field(default_factory=set)  # empty: the summary is enough

    @property
    def needs_series(self) -> bool:
        """Whether a fact reads this arm's daily series."""
        return bool(self.series_columns)


@dataclass
class Plan:
    """The facts to check and the runs they need."""

    facts: list[Fact]
    replicates: int
    seeds: list[int]
    days: dict[str, int]  # fact id -> horizon
    arms: dict[str, PlannedArm]  # arm key -> arm
    sides: dict[str, tuple[str, str]]  # fact id -> (control key, treatment key)


@dataclass(frozen=True)
class FactResult:
    """One fact's paired values and its verdict."""

    fact: Fact
    days: int
    control: tuple[float, ...]
    treatment: tuple[float, ...]
    effect: PairedEffect

    @property
    def passed(self) -> bool:
        """Significant in the expected direction."""
        return self.effect.passed

    @property
    def relative_interval(self) -> tuple[float, float] | None:
        """The 95% interval of the mean difference over the control's mean (None from zero)."""
        e = self.effect
        if e.relative_change is None:
            return None
        return e.diff_low / abs(e.control_mean), e.diff_high / abs(e.control_mean)


@dataclass
class ValidationRun:
    """Everything the report needs."""

    results: list[FactResult]
    replicates: int
    seeds: list[int]
    environment: dict[str, str]
    started: str
    finished: str
    seconds: float
    runs_total: int
    runs_executed: int
    workers: int

    @property
    def expected_results(self) -> list[FactResult]:
        """Results of the facts that decide the verdict (not known failures)."""
        return [r for r in self.results if r.fact.known_failure is None]

    @property
    def stylized_results(self) -> list[FactResult]:
        """Results of the stylized facts that decide the verdict."""
        return [r for r in self.expected_results if r.fact.kind == STYLIZED_FACT]

    @property
    def mechanism_results(self) -> list[FactResult]:
        """Results of the mechanism checks (they decide the verdict too: a rule is broken)."""
        return [r for r in self.expected_results if r.fact.kind == MECHANISM_CHECK]

    @property
    def all_passed(self) -> bool:
        """Whether every fact that decides the verdict passed."""
        return all(r.passed for r in self.expected_results)


def select_facts(only: Sequence[str] | None = None, facts: Sequence[Fact] = FACTS) -> list[Fact]:
    """The facts to run: all, or those named (in suite order).

    Raises:
        UnknownFactError: For a name that is not a fact id; the message lists the allowed ids.
    """
    if not only:
        return list(facts)
    known = {fact.id for fact in facts}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise UnknownFactError(
            f"unknown fact id {', '.join(repr(u) for u in unknown)} "
            f"(allowed: {', '.join(f.id for f in facts)})"
        )
    wanted = set(only)
    return [fact for fact in facts if fact.id in wanted]


def make_plan(
    facts: Sequence[Fact],
    replicates: int,
    scenarios: Path,
    seed: int = 1,
    days: int | None = None,
) -> Plan:
    """Expand facts into the distinct arms and runs they need.

    Args:
        facts: The facts to check.
        replicates: Paired replicates per fact (at least :data:`MIN_PAIRS`).
        scenarios: The folder of the shipped scenarios the arms name (``<name>.toml``).
        seed: Seed of the first replicate; replicate k uses ``seed + k``.
        days: A horizon for every fact, instead of each fact's own.

    Raises:
        ValueError: For too few replicates or a horizon below one day.
        borderabm.scenario.ScenarioError: For an arm whose scenario does not validate.
    """
    if replicates < MIN_PAIRS:
        raise ValueError(
            f"replicates: {replicates} is too few (allowed: >= {MIN_PAIRS}; a one-sided "
            f"signed-rank test on fewer pairs cannot reach p < 0.05)"
        )
    if days is not None and days < 1:
        raise ValueError(f"days: {days} is out of range (allowed: >= 1)")
    seeds = [seed + k for k in range(replicates)]
    arms: dict[str, PlannedArm] = {}
    sides: dict[str, tuple[str, str]] = {}
    horizons: dict[str, int] = {}
    for fact in facts:
        horizon = days if days is not None else fact.days
        horizons[fact.id] = horizon
        keys = []
        for arm in (fact.control, fact.treatment):
            planned = _plan_arm(arm, horizon, seeds, Path(scenarios), arms)
            planned.series_columns.update(fact.metric.columns())
            keys.append(planned.key)
        sides[fact.id] = (keys[0], keys[1])
    return Plan(list(facts), replicates, seeds, horizons, arms, sides)


def _plan_arm(
    arm: Arm,
    horizon: int,
    seeds: list[int],
    scenarios: Path,
    arms: dict[str, PlannedArm],
) -> PlannedArm:
    path = scenarios / f"{arm.scenario}.toml"
    settings = load_scenario(path, {**arm.overrides, "horizon_days": horizon})
    document = settings.model_dump(mode="json")
    document.pop("seed")
    key = "arm-" + _digest(document, 12)
    if key not in arms:
        runs = []
        for replicate, seed in enumerate(seeds):
            run_document = {**document, "seed": seed}
            runs.append(
                RunSpec(
                    run_id=_digest(run_document, 20),
                    scenario=key,  # the store files runs and series under the arm's key
                    point=0,
                    replicate=replicate,
                    seed=seed,
                    overrides={},
                    document=run_document,
                )
            )
        arms[key] = PlannedArm(key, arm, runs)
    return arms[key]


def _digest(document: dict[str, Any], length: int) -> str:
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _row_path(store: ResultsStore, run: RunSpec) -> Path:
    return store.root / "runs" / f"{run.run_id}.parquet"


def _series_path(store: ResultsStore, run: RunSpec) -> Path:
    return store.root / "series" / f"scenario={run.scenario}" / "point=0" / f"{run.run_id}.parquet"


def pending_runs(plan: Plan, store: ResultsStore) -> tuple[list[RunSpec], list[RunSpec]]:
    """Runs not yet in the store: (those whose daily series is needed, the others)."""
    with_series: list[RunSpec] = []
    summary_only: list[RunSpec] = []
    for planned in plan.arms.values():
        for run in planned.runs:
            done = _row_path(store, run).exists()
            if planned.needs_series:
                if not (done and _series_path(store, run).exists()):
                    with_series.append(run)
            elif not done:
                summary_only.append(run)
    return with_series, summary_only


def run_pending(
    plan: Plan,
    store: ResultsStore,
    engine: Engine,
    on_done: Callable[[dict], None] = lambda result: None,
) -> int:
    """Run the plan's runs that are not in the store yet, on ``engine``; return how many ran.

    Raises:
        StoreError: If the store holds another sweep's results.
        SchedulerUnreachable: If the engine's Dask scheduler cannot be reached (runs finished
            before stay in the store).
    """
    manifest = Manifest(
        fingerprint=store_fingerprint(),
        model_code_sha256=model_code_hash(),
        sweep=SweepRecord(name="validation"),
        facts=[fact.id for fact in plan.facts],
        seeds=plan.seeds,
        environment=environment(),
        started=now(),
        finished=None,
    )
    store.open_for(manifest)
    with_series, summary_only = pending_runs(plan, store)
    with engine:  # one set of workers (one cluster) for both kinds of run
        for runs, keep_series in ((with_series, True), (summary_only, False)):
            if runs:
                run_into_store(engine, runs, store, keep_series=keep_series, on_done=on_done)
    store.write_manifest((store.read_manifest() or manifest).updated(finished=now()))
    return len(with_series) + len(summary_only)


def collect(plan: Plan, store: ResultsStore) -> list[FactResult]:
    """Read each fact's paired values from the store and test them."""
    cache: dict[tuple[str, str], Any] = {}
    results = []
    for fact in plan.facts:
        control_key, treatment_key = plan.sides[fact.id]
        values = []
        for key in (control_key, treatment_key):
            planned = plan.arms[key]
            values.append([_metric_value(fact, planned, run, store, cache) for run in planned.runs])
        effect = paired_effect(values[0], values[1], fact.expected)
        results.append(
            FactResult(fact, plan.days[fact.id], tuple(values[0]), tuple(values[1]), effect)
        )
    return results


def _metric_value(
    fact: Fact,
    planned: PlannedArm,
    run: RunSpec,
    store: ResultsStore,
    cache: dict[tuple[str, str], Any],
) -> float:
    """One run's value of a fact's metric, read from the store.

    Raises:
        StoreError: Naming the run's file, if it cannot be read, lacks what the metric needs, or
            gives a value that is not a finite number (a damaged or hand-edited store).
    """
    row_path = _row_path(store, run)
    row = cache.get(("row", run.run_id))
    if row is None:
        table = read_table(row_path)
        if len(table) != 1:
            raise StoreError(f"{row_path}: {len(table)} rows instead of one; delete it and run "
                             "again to redo that run")  # fmt: skip
        row = table.iloc[0].to_dict()
        cache[("row", run.run_id)] = row
    series = None
    if fact.metric.needs_series:
        series = cache.get(("series", run.run_id))
        if series is None:
            series = read_table(_series_path(store, run), sorted(planned.series_columns))
            cache[("series", run.run_id)] = series
    try:
        value = float(fact.metric(row, series))
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise StoreError(f"{row_path}: fact {fact.id}: cannot compute the metric ({error!r}); "
                         "delete it and run again to redo that run") from None  # fmt: skip
    if not np.isfinite(value):
        raise StoreError(f"{row_path}: fact {fact.id}: the metric is not finite ({value}); "
                         "delete it and run again to redo that run")  # fmt: skip
    return value


def check_store(root: str | Path) -> None:
    """Make sure a kept store can be written and holds nothing but this suite's runs by this code.

    Called before any run, so that a bad ``--store`` fails at once.

    Raises:
        OSError: If the directory cannot be created or written.
        ValueError: If its ``manifest.json`` is not JSON or not a JSON object.
        borderabm.experiments.store.StoreError: If it holds another sweep's results, or
            validation runs made by other model code (another version or source hash), or its
            manifest has a key of the wrong type.
    """
    prepare_output_dir(Path(root))
    store = ResultsStore(root)
    try:
        store.manifest()
    except StoreError as error:  # not JSON, or not an object
        raise ValueError(f"{store.root / 'manifest.json'} is not valid JSON: {error}") from None
    existing = store.read_manifest()  # a key of the wrong type: a StoreError naming it
    if existing is None:
        return
    found, expected = existing.fingerprint or "", store_fingerprint()
    if found == expected:
        return
    if found.startswith("borderabm-validation"):
        raise StoreError(
            f"{store.root} holds validation runs made by other model code (store: {found!r}; "
            f"this code: {expected!r}); they cannot be reused: delete the directory or use a new one"
        )
    raise StoreError(f"{store.root} holds results of another sweep; use a new directory")


def run_validation(
    facts: Iterable[Fact],
    replicates: int,
    *,
    scenarios: Path,
    seed: int = 1,
    days: int | None = None,
    workers: int | None = 1,
    dask: str | None = None,
    engine: Engine | None = None,
    store_dir: str | Path | None = None,
    on_plan: Callable[[Plan, int], None] = lambda plan, pending: None,
    on_done: Callable[[dict], None] = lambda result: None,
) -> ValidationRun:
    """Plan, execute and test the facts.

    Args:
        facts: The facts to check.
        replicates: Paired replicates per fact.
        scenarios: The folder of the shipped scenarios the facts' arms name.
        seed: Seed of the first replicate.
        days: A horizon for every fact, instead of each fact's own.
        workers: Local worker processes (with ``dask="local"``: the LocalCluster's workers).
        dask: A Dask scheduler address, or ``"local"`` for a LocalCluster on this machine.
        engine: Where the runs execute; made from ``workers`` and ``dask`` if None.
        store_dir: Keep the runs here (and reuse those already there); a temporary directory,
            removed afterwards, if None.
        on_plan: Called once with the plan and the number of runs to execute.
        on_done: Called after every executed run.

    Raises:
        ValueError: For bad arguments (see :func:`make_plan`) or a corrupt store manifest.
        OSError: If ``store_dir`` cannot be written.
        borderabm.scenario.ScenarioError: For an arm that does not validate.
        borderabm.experiments.store.StoreError: If ``store_dir`` holds another sweep's results
            or runs made by other model code (see :func:`check_store`).
        borderabm.experiments.engines.SchedulerUnreachable: If the Dask scheduler cannot be
            reached (runs finished before stay in ``store_dir``).
    """
    started_at, started = time.perf_counter(), now()
    engine = engine or engine_for(workers, dask)
    plan = make_plan(list(facts), replicates, scenarios, seed, days)
    with tempfile.TemporaryDirectory(prefix="borderabm-validation-") as scratch:
        if store_dir is not None:
            check_store(store_dir)
        store = ResultsStore(store_dir if store_dir is not None else scratch)
        with_series, summary_only = pending_runs(plan, store)
        on_plan(plan, len(with_series) + len(summary_only))
        executed = run_pending(plan, store, engine, on_done)
        results = collect(plan, store)
    env = environment()
    env["git_state"] = _git_state()
    env["model_code_sha256"] = model_code_hash()
    return ValidationRun(
        results=results,
        replicates=replicates,
        seeds=plan.seeds,
        environment=env,
        started=started,
        finished=now(),
        seconds=time.perf_counter() - started_at,
        runs_total=sum(len(a.runs) for a in plan.arms.values()),
        runs_executed=executed,
        workers=engine.workers,
    )


def _git_state() -> str:
    """'clean', 'modified' (uncommitted changes to the model or scenarios) or '' (no git)."""
    root = Path(borderabm.__file__).resolve().parent.parent
    try:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "borderabm", "scenarios"],
            cwd=root, capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    if status.returncode != 0:
        return ""
    return "modified" if status.stdout.strip() else "clean"

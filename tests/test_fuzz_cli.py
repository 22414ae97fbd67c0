"""Property-based fuzzing of the command line: whatever the files and options, the contract holds.

Hypothesis mutates scenarios, ``--set`` values, sweep files, calibration specs and results stores
(key deletion and insertion, type swaps, extreme numbers, markup, null bytes, ``../``, long and
control-character strings, deep nesting, truncation, random bytes, duplicated keys, corrupted
manifests and Parquet files, run rows of the wrong types, named pipes and links to /dev/zero) and
runs every command that reads them, in-process. Each unmutated base runs cleanly (exit 0), so the
mutations are what the cases test. For every case:

* the exit code is 0 or 2, and no traceback is printed;
* on exit 2, stderr is exactly one line ``error: SOURCE: problem``;
* ``--json`` output parses as strict JSON (no NaN or Infinity);
* nothing outside the chosen output folder is written, changed or deleted;
* the case finishes within :data:`CASE_SECONDS`.

Runs are kept cheap (two simulated days, one worker, the default map), and the example counts are
fixed and derandomized, so CI sees the same ~530 cases every time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from typer.testing import CliRunner

from borderabm.apps.cli.main import app
from borderabm.experiments.store import looks_complete
from tests.conftest import SCENARIOS

CASE_SECONDS = 60.0
ERROR_LINE = re.compile(r"^error: .+: .+$")
runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def warm_world_cache():
    """Build (or load) the default world and routes once, outside the per-case time bound."""
    result = runner.invoke(app, ["run", "baseline", "--days", "1", "--json"])
    assert result.exit_code == 0, result.output


def fuzz(examples: int):
    """Fixed, derandomized example counts: the same cases on every CI run."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],  # fmt: skip
    )


# ----------------------------------------------------------------------------------------------
# Values and TOML text
# ----------------------------------------------------------------------------------------------
def deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


EXTREME_VALUES = [
    -1, 0, 1, 2, 2**63, -(2**63), 2**63 - 1, 10**30, 1e308, -1e308, math.nan, math.inf, -math.inf,
    0.5, -0.0, True, False, "", "[/]", "[bold]x[/bold]", "[red]", "../../escape", "a" * 300,
    "é" * 200, "nul\x00byte", "line\nbreak", "tab\there", "\u202eright-to-left", ":smile:",
    "Torkham", "Khyber", "all", [], [1, "x"], {}, {"a": {"b": 1}}, deep_list(40),
    dt.date(9999, 12, 31), dt.date(1, 1, 1),
]  # fmt: skip
extreme = st.sampled_from(EXTREME_VALUES)
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["[/]", "../x", "a" * 300, "\x00", "[bold]", "é\n", ""]),
)


def toml_value(value) -> str:
    """One value as TOML (nested tables inline); may be invalid TOML on purpose (bad strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}"
                               for k, v in value.items()) + "}"  # fmt: skip
    raise TypeError(type(value))


def toml_text(document: dict) -> str:
    return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in document.items())


def paths_of(document, prefix=()) -> list[tuple]:
    """Every key path in a nested document (tables and arrays)."""
    found = []
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in items:
        found.append((*prefix, key))
        if isinstance(value, dict | list) and len(prefix) < 6:
            found += paths_of(value, (*prefix, key))
    return found


def container_at(document, path):
    node = document
    for key in path:
        node = node[key]
    return node


@st.composite
def mutated_document(draw, base: dict, keys: list[str]) -> dict:
    """A copy of ``base`` with a few key deletions, insertions and type swaps."""
    document = json.loads(json.dumps(base, default=str))  # a deep copy; dates become strings
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(document)
        action = draw(st.sampled_from(["delete", "insert", "swap", "swap"]))
        if action == "delete" and paths:
            path = draw(st.sampled_from(paths))
            parent = container_at(document, path[:-1])
            del parent[path[-1]]
        elif action == "insert" or not paths:
            tables = [()] + [p for p in paths if isinstance(container_at(document, p), dict)]
            parent = container_at(document, draw(st.sampled_from(tables)))
            parent[draw(st.one_of(st.sampled_from(keys), texts))] = draw(extreme)
        else:
            path = draw(st.sampled_from(paths))
            container_at(document, path[:-1])[path[-1]] = draw(extreme)
    return document


@st.composite
def mutated_text(draw, document_strategy) -> bytes:
    """TOML text of a mutated document, sometimes damaged further as text or bytes."""
    text = toml_text(draw(document_strategy))
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "duplicate", "bytes",
                                   "nest"]))  # fmt: skip
    if damage == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "duplicate":
        lines = text.splitlines(keepends=True) or ["x = 1\n"]
        text += draw(st.sampled_from(lines))
    elif damage == "nest":
        text += "deep = " + "[" * 5000 + "]" * 5000 + "\n"
    data = text.encode("utf-8", "surrogatepass")
    if damage == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
    return data


# ----------------------------------------------------------------------------------------------
# The contract
# ----------------------------------------------------------------------------------------------
def tree(root: Path) -> dict[Path, tuple[int, int]]:
    """Every file and link under ``root`` outside ``out/``, with its size and modification time.

    Links are not followed (a store may hold a link to /dev/zero), and the first path part is
    compared, so ``outside/`` or ``output.txt`` are not taken for the output folder.
    """
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if relative.parts[0] == "out":
            continue
        info = path.lstat()
        if not path.is_dir() or path.is_symlink():
            found[relative] = (info.st_size, info.st_mtime_ns)
        else:
            found[relative] = (0, 0)  # a folder: only its existence counts
    return found


@contextlib.contextmanager
def case_folder(factory):
    """A fresh folder per example: ``in/`` for inputs, ``out/`` for outputs, cwd ``work/``."""
    root = factory.mktemp("case")
    for name in ("in", "work"):
        (root / name).mkdir()
    with contextlib.chdir(root / "work"):
        yield root
    shutil.rmtree(root, ignore_errors=True)


def invoke(root: Path, args: list[str], *, as_json: bool = False):
    """Run one command in-process and check the contract; return the result."""
    before = tree(root)
    started = time.perf_counter()
    result = runner.invoke(app, args)
    seconds = time.perf_counter() - started
    shown = f"args={args!r}\nstdout={result.stdout[-2000:]!r}\nstderr={result.stderr[-2000:]!r}"
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {result.exception!r}\n{shown}"
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and ERROR_LINE.match(lines[0]), shown
    elif as_json:
        json.loads(result.stdout, parse_constant=reject_constant)
    if currently_in_test_context():  # not in the plain test of the unmutated bases
        event(f"{args[0]} exit {result.exit_code}")  # shown by --hypothesis-show-statistics
    after = tree(root)
    outside = sorted(str(p) for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not outside, f"written, changed or deleted outside out/: {outside[:5]}\n{shown}"
    assert seconds < CASE_SECONDS, f"{seconds:.1f} s\n{shown}"
    return result


def reject_constant(name: str):
    raise AssertionError(f"invalid JSON constant {name}")


def write_input(root: Path, name: str, data: bytes) -> str:
    path = root / "in" / name
    path.write_bytes(data)
    return str(path)


# ----------------------------------------------------------------------------------------------
# Scenarios and --set values
# ----------------------------------------------------------------------------------------------
SCENARIO = {
    "name": "fuzz",
    "description": "a small scenario",
    "start_date": "2025-01-01",
    "horizon_days": 2,
    "seed": 3,
    "population": {"traders": 200, "refugees": 500, "militants": 60},
    "fence": {"coverage": 0.5, "sectors": {"Khyber": 0.9}},
    "crossings": {"Torkham": {"open": True, "closures": [{"start": 1, "end": 2}]}},
    "patrols": {"units": 50, "strategy": "adaptive"},
    "deportation": {"enabled": True, "daily_rate": 100},
    "triggers": [{"metric": "attacks", "threshold": 1.0, "crossings": ["Chaman"]}],
    "changes": [{"day": 1, "set": {"fence.coverage": 0.7}}],
}
SCENARIO_KEYS = ["name", "horizon_days", "seed", "start_date", "population", "traders",
                 "refugees", "militants", "community_share", "units", "coverage", "sectors",
                 "Khyber", "closures", "start", "end", "triggers", "changes", "day", "set",
                 "strategy", "map", "resolution_km"]  # fmt: skip
# Keep the default map: another resolution would build a new world (minutes, not a fuzz case).
KEEP_MAP = ["--set", "map.resolution_km=5.0", "--set", "map.buffer_km=150.0"]


@fuzz(200)
@given(mutated_text(mutated_document(SCENARIO, SCENARIO_KEYS)))
def test_fuzz_scenario_files(tmp_path_factory, data):
    with case_folder(tmp_path_factory) as root:
        path = write_input(root, "scenario.toml", data)
        checked = invoke(root, ["validate", path])
        ran = invoke(root, ["run", path, "--days", "2", "--json", *KEEP_MAP,
                            "--out", str(root / "out" / "run")])  # fmt: skip
        if checked.exit_code == 2 and ran.exit_code == 2:
            assert path in checked.stderr  # the message names the file


SET_KEYS = ["fence.coverage", "seed", "horizon_days", "start_date", "name", "population.refugees",
            "population.militants", "population.traders", "patrols.units", "triggers",
            "triggers.0.threshold", "crossings.Torkham.closures", "fence.sectors.Khyber",
            "refugees.conflict_intensity", "population.community_share", "deportation.daily_rate",
            "militants.sanctuaries", "militants.targets", "refugees.community_range_km",
            "changes", "fence", "x.y.z"]  # fmt: skip


@fuzz(120)
@given(
    st.lists(
        st.tuples(st.one_of(st.sampled_from(SET_KEYS), texts),
                  st.one_of(extreme.map(toml_value), texts)),
        min_size=1, max_size=3,
    ),
    st.booleans(),
)  # fmt: skip
def test_fuzz_set_values(tmp_path_factory, items, as_json):
    with case_folder(tmp_path_factory) as root:
        args = ["run", str(SCENARIOS / "baseline.toml"), "--days", "2", *KEEP_MAP]
        for key, value in items:
            args += ["--set", f"{key}={value}"]
        invoke(root, args + (["--json"] if as_json else []), as_json=as_json)


# ----------------------------------------------------------------------------------------------
# Sweep files and calibration specs
# ----------------------------------------------------------------------------------------------
SWEEP = {
    "name": "fuzz_sweep",
    "scenarios": [str(SCENARIOS / "baseline.toml")],
    "replicates": 1,
    "seed": 1,
    "days": 2,
    "metrics": ["attacks", "formal_trade_usd"],
    "series": True,
    "design": {"kind": "lhs", "samples": 2},
    "parameters": {"fence.coverage": {"low": 0.5, "high": 1.0}},
}
SWEEP_KEYS = ["name", "scenarios", "replicates", "seed", "days", "metrics", "series", "design",
              "kind", "samples", "parameters", "levels", "low", "high", "integer",
              "patrols.units"]  # fmt: skip


@fuzz(100)
@given(mutated_text(mutated_document(SWEEP, SWEEP_KEYS)))
def test_fuzz_sweep_files(tmp_path_factory, data):
    with case_folder(tmp_path_factory) as root:
        path = write_input(root, "sweep.toml", data)
        out = str(root / "out" / "store")
        swept = invoke(root, ["sweep", path, "--out", out, "--workers", "1"])
        if swept.exit_code == 0:
            invoke(root, ["results", out])
            invoke(root, ["compare", "--sweep", out, "--json"], as_json=True)


CALIBRATION = {
    "name": "fuzz_calibration",
    "scenario": str(SCENARIOS / "baseline.toml"),
    "seed": 1,
    "days": 2,
    "replicates": 1,
    "verify_replicates": 2,
    "design": {"samples": 6, "surrogate_draws": 100, "candidates": 1, "refine_samples": 0},
    "parameters": {"population.militants": {"low": 300, "high": 600, "integer": True}},
    "targets": {
        "attacks": {
            "label": "attacks",
            "metric": "attacks",
            "value": 1.0,
            "low": 0.0,
            "high": 5.0,
            "source": "fuzz",
        },  # fmt: skip
    },
}
CALIBRATION_KEYS = ["name", "scenario", "seed", "days", "replicates", "verify_replicates",
                    "design", "samples", "parameters", "targets", "low", "high", "log", "metric",
                    "statistic", "role", "value", "denominator"]  # fmt: skip


# Fewer than the other files: a spec that stays valid runs a whole (tiny) calibration.
@fuzz(16)
@given(mutated_text(mutated_document(CALIBRATION, CALIBRATION_KEYS)))
def test_fuzz_calibration_specs(tmp_path_factory, data):
    with case_folder(tmp_path_factory) as root:
        path = write_input(root, "spec.toml", data)
        invoke(root, ["calibrate", path, "--out", str(root / "out" / "cal"), "--workers", "1"])


def test_every_unmutated_base_runs_cleanly(tmp_path_factory):
    """The bases are valid, so each fuzz case's outcome comes from its mutation (not the base)."""
    with case_folder(tmp_path_factory) as root:
        scenario = write_input(root, "scenario.toml", toml_text(SCENARIO).encode())
        assert invoke(root, ["validate", scenario]).exit_code == 0
        ran = invoke(root, ["run", scenario, "--days", "2", "--json", *KEEP_MAP, "--out",
                            str(root / "out" / "run")], as_json=True)  # fmt: skip
        assert ran.exit_code == 0, ran.stderr
        sweep = write_input(root, "sweep.toml", toml_text(SWEEP).encode())
        swept = invoke(root, ["sweep", sweep, "--out", str(root / "out" / "store"), "--workers",
                              "1"])  # fmt: skip
        assert swept.exit_code == 0, swept.stderr
        spec = write_input(root, "spec.toml", toml_text(CALIBRATION).encode())
        calibrated = invoke(root, ["calibrate", spec, "--out", str(root / "out" / "cal"),
                                   "--workers", "1"])  # fmt: skip
        assert calibrated.exit_code == 0, calibrated.stderr


# ----------------------------------------------------------------------------------------------
# Results stores
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_store(tmp_path_factory) -> Path:
    """A real results store of a tiny sweep (two design points, two days)."""
    root = tmp_path_factory.mktemp("store")
    sweep = root / "sweep.toml"
    sweep.write_text(toml_text(SWEEP))
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(root / "store"),
                                 "--workers", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return root / "store"


def corrupt_store(data, store: Path) -> None:
    """Damage one file of a store copy the way disks, editors and killed runs do."""
    files = sorted(p for p in store.rglob("*") if p.is_file())
    target = data.draw(st.sampled_from(files))
    raw = target.read_bytes()
    how = data.draw(st.sampled_from(["truncate", "bytes", "empty", "json", "drop_column",
                                     "retype", "retype", "fifo", "dev_zero", "delete"]))  # fmt: skip
    if how == "truncate":
        target.write_bytes(raw[: data.draw(st.integers(0, max(len(raw) - 1, 0)))])
    elif how == "bytes":
        target.write_bytes(data.draw(st.binary(min_size=1, max_size=64)))
    elif how == "empty":
        target.write_bytes(b"")
    elif how == "json":
        target.write_text(json.dumps(data.draw(st.sampled_from(
            [[], None, "x", {"sweep": "x"}, {"sweep": {}}, {"design": []}, 1e308]))))  # fmt: skip
    elif how == "drop_column" and target.suffix == ".parquet" and looks_complete(target):
        frame = pd.read_parquet(target)
        frame.drop(columns=[data.draw(st.sampled_from(list(frame.columns)))]).to_parquet(target)
    elif how == "retype" and target.suffix == ".parquet" and looks_complete(target):
        # The right columns, the wrong types or values: text in numbers, NaN, ids as numbers.
        frame = pd.read_parquet(target)
        column = data.draw(st.sampled_from(["point", "replicate", "seed", "scenario", "run_id",
                                            "attacks", *frame.columns]))  # fmt: skip
        value = data.draw(st.sampled_from(["lots", "", math.nan, math.inf, -1, 2**62, 1.5, True,
                                           5, None]))  # fmt: skip
        frame[column] = [value] * len(frame)
        frame.to_parquet(target)
    elif how == "fifo":  # opening it to read would wait for a writer for ever
        target.unlink()
        os.mkfifo(target)
    elif how == "dev_zero":  # reading it would never end
        target.unlink()
        target.symlink_to("/dev/zero")
    else:
        target.unlink()


@fuzz(70)
@given(st.data())
def test_fuzz_results_stores(tmp_path_factory, clean_store, data):
    with case_folder(tmp_path_factory) as root:
        store = root / "out" / "store"
        shutil.copytree(clean_store, store)
        for _ in range(data.draw(st.integers(1, 2))):
            corrupt_store(data, store)
        invoke(root, ["results", str(store)])
        invoke(root, ["compare", "--sweep", str(store), "--json"], as_json=True)
        invoke(root, ["discover", str(store), "--metric", "attacks", "--threshold", "0"])
        if data.draw(st.integers(0, 3)) == 0:  # a quarter of the cases: resuming costs runs
            sweep = write_input(root, "sweep.toml", toml_text(SWEEP).encode())
            # Resuming into a damaged store: an error line, or the damaged runs redone.
            invoke(root, ["sweep", sweep, "--out", str(store), "--workers", "1"])


# ----------------------------------------------------------------------------------------------
# Command-line options
# ----------------------------------------------------------------------------------------------
SWEEP_FILE, CALIBRATION_FILE = "<sweep file>", "<calibration file>"
OPTION_VALUES = ["-1", "0", "70000", "2", "abc", "1e308", "nan", str(2**64), "", "[/]", "../x",
                 "a" * 300, "a" * 300 + ".toml", "/dev/zero", "/", "nul\x00"]  # fmt: skip


def parses_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@fuzz(80)
@given(
    st.sampled_from([
        ["ui", "--port"], ["run", "baseline", "--days"], ["run", "baseline", "--seed"],
        ["compare", "baseline", "no_fence", "--replicates"], ["map", "--resolution"],
        ["validate-model", "--replicates"], ["sweep", SWEEP_FILE, "--workers"],
        ["discover", ".", "--metric", "attacks", "--threshold"], ["results"], ["validate"],
        ["calibrate", CALIBRATION_FILE, "--samples"], ["run"], ["nonsense"], ["sweep"],
        ["calibrate"], ["sensitivity"], ["compare", "--sweep"],
        ["compare", "baseline", "no_fence", "--days"],
    ]),
    st.one_of(st.sampled_from(OPTION_VALUES), st.text(max_size=10)),
)  # fmt: skip
def test_fuzz_options(tmp_path_factory, command, value):
    with case_folder(tmp_path_factory) as root:
        # Real sweep and spec files, so an option's value is what decides the outcome.
        files = {SWEEP_FILE: ("sweep.toml", SWEEP), CALIBRATION_FILE: ("spec.toml", CALIBRATION)}
        args = [write_input(root, files[a][0], toml_text(files[a][1]).encode()) if a in files
                else a for a in [*command, value]]  # fmt: skip
        if command[0] in ("run", "compare") and "--days" not in command:
            args += ["--days", "2"]
        if command[0] == "compare":
            args += ["--replicates", "1"] if "--replicates" not in command else []
            args += ["--out", str(root / "out" / "compare")]
        if command[0] in ("sweep", "calibrate"):
            args += ["--out", str(root / "out" / command[0])]
        if command[0] in ("ui", "map", "validate-model") and parses_as_number(value):
            return  # valid values start a server, draw a map or run the suite: tested elsewhere
        if command[0] in ("sweep", "calibrate") and parses_as_number(value) and float(value) > 8:
            return  # valid, and thousands of workers or design points: not a fuzz case
        invoke(root, args)

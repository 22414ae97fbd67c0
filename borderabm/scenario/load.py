"""Reading scenario files: TOML in, one validated :class:`~borderabm.scenario.schema.Scenario` out.

The one TOML reader of every input file (scenarios, sweeps, calibration specs), ``--set`` overrides
as dotted keys, and the checks that need more than the schema (the calendar, ``[[changes]]``). Every
way a document can be wrong ends in :class:`~borderabm.scenario.errors.ScenarioError`, whose lines
name the file, the key path and what is allowed; nothing here lets another exception escape for
bad input.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from borderabm.scenario.errors import ScenarioError, describe
from borderabm.scenario.schema import Scenario

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")
# No input of ours nests tables or arrays more than a few levels; deeper documents are refused
# before anything recurses through them (deepcopy, pydantic, JSON) and hits Python's limit.
MAX_NESTING = 32


def nesting_depth(value: Any) -> int:
    """How deeply tables and arrays nest in a parsed value (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_NESTING:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep(where: str) -> str:
    return f"{where}: tables or arrays nested too deeply (allowed: at most {MAX_NESTING} levels)"


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML, turning syntax errors into ``source:line:column`` messages.

    Raises:
        ScenarioError: For bad TOML, nesting deeper than :data:`MAX_NESTING` or an integer too
            long for Python to read.
    """
    try:
        document = tomllib.loads(text)
    except RecursionError:
        raise ScenarioError(source, [_too_deep("(document)")]) from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION.search(message)
        if position:
            line, column = position.groups()
            detail = _TOML_POSITION.sub("", message)
            raise ScenarioError(
                source, [f"line {line}, column {column}: TOML syntax error: {detail}"]
            ) from None
        detail = _TOML_END.sub("", message)
        raise ScenarioError(source, [f"at end of file: TOML syntax error: {detail}"]) from None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise ScenarioError(source, [f"(document): cannot read a value: {error}"]) from None
    if nesting_depth(document) > MAX_NESTING:
        raise ScenarioError(source, [_too_deep("(document)")])
    return document


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML literal (``1.0``, ``true``, ``"x"``, ``[1, 2]``) or a bare word.

    Raises:
        ScenarioError: For a value nested deeper than :data:`MAX_NESTING` levels, or an integer
            too long for Python to read.
    """
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ScenarioError("--set", [_too_deep(f"'{text[:40]}...'")]) from None
    except ValueError as error:
        raise ScenarioError("--set", [f"cannot read the value: {error}"]) from None
    if nesting_depth(value) > MAX_NESTING:
        raise ScenarioError("--set", [_too_deep(f"'{text[:40]}...'")])
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``dotted.key=value`` into key and parsed value."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part.strip() for part in key.split(".")):
        raise ScenarioError(
            "--set", [f"'{text}' is not of the form dotted.key=value (e.g. fence.coverage=1.0)"]
        )
    return key, parse_value(value.strip())


def apply_overrides(document: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a raw scenario document with dotted-key overrides applied.

    A numeric path part indexes a list (``triggers.0.threshold``).
    """
    result = copy.deepcopy(document)
    for key, value in overrides.items():
        parts = key.split(".")
        node: Any = result
        for depth, part in enumerate(parts[:-1]):
            node = _descend(node, part, key, ".".join(parts[: depth + 1]))
        _assign(node, parts[-1], value, key)
    return result


def apply_levers(document: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`apply_overrides` for values that hold for the whole run.

    A value given with ``--set``, as a sweep parameter, a lever variant or a lever of the page
    holds from the first day to the last. A scenario's dated events would otherwise overwrite it
    on their day, and the run would report the value asked for while it ran another (a history
    scenario's fence schedule kept ``fence.coverage = 0.5`` at 98%). So the dated settings of each
    key given are dropped: the fence's construction schedule with ``fence.coverage``, and each
    ``[[changes]]`` entry's setting of the key (the entry too, if it sets nothing else). Dated
    settings given with the values themselves (``fence.schedule``, ``changes``) are kept.

    Raises:
        ScenarioError: For a key inside a table that a dated change sets as a whole.
    """
    result = apply_overrides(document, overrides)
    keys = list(overrides)
    fence = result.get("fence")
    if "fence.coverage" in keys and "fence.schedule" not in keys and isinstance(fence, dict):
        result["fence"] = {**fence, "schedule": []}
    changes = result.get("changes")
    # Dated changes given with the values (``--set changes=[...]``) are the caller's own: kept.
    given_changes = any(key == "changes" or key.startswith("changes.") for key in keys)
    if keys and isinstance(changes, list) and not given_changes:
        result["changes"] = [
            kept
            for index, change in enumerate(changes)
            if (kept := _change_without(change, keys, index)) is not None
        ]
    return result


def _change_without(change: Any, keys: list[str], index: int) -> Any:
    """A ``[[changes]]`` entry without its settings of ``keys`` (None if nothing is left)."""
    if not isinstance(change, dict) or not isinstance(change.get("set"), dict):
        return change  # not a change the schema accepts: validation names what is wrong
    for key in change["set"]:
        inside = [given for given in keys if given.startswith(f"{key}.")]
        if inside:
            raise ScenarioError("--set", [
                f"{inside[0]}: cannot hold for the whole run: changes[{index}] sets the whole "
                f"table '{key}' (allowed: a change that sets the keys of '{key}' one by one)"
            ])  # fmt: skip
    kept = {
        key: value
        for key, value in change["set"].items()
        if not any(key == given or key.startswith(f"{given}.") for given in keys)
    }
    if len(kept) == len(change["set"]):
        return change
    return {**change, "set": kept} if kept else None


def replaced_dated_settings(scenario: Scenario, keys: Iterable[str]) -> list[str]:
    """What :func:`apply_levers` drops from ``scenario`` for ``keys``, one line per key.

    For notes: a value that replaces a dated build-up or dated changes should say so.
    """
    keys = list(keys)
    own_schedule = "fence.schedule" in keys  # given with the values: kept, nothing replaced
    own_changes = any(key == "changes" or key.startswith("changes.") for key in keys)
    lines = []
    for given in keys:
        if given == "fence.coverage" and scenario.fence.schedule and not own_schedule:
            points = len(scenario.fence.schedule)
            lines.append(f"{given}: holds for the whole run, in place of the fence's construction "
                         f"schedule ({points} dated point{'s' if points > 1 else ''})")  # fmt: skip
        days = [
            str(change.date or f"day {change.day}")
            for change in (() if own_changes else scenario.changes)
            if any(key == given or key.startswith(f"{given}.") for key in change.set)
        ]
        if days:
            lines.append(f"{given}: holds for the whole run, in place of the scenario's dated "
                         f"change(s) of it on {', '.join(days)}")  # fmt: skip
    return lines


def _descend(node: Any, part: str, key: str, prefix: str) -> Any:
    if isinstance(node, list):
        index = _list_index(node, part, key)
        return node[index]
    if not isinstance(node, dict):
        raise ScenarioError("--set", [f"{key}: '{prefix}' is not a table"])
    child = node.setdefault(part, {})
    if not isinstance(child, dict | list):
        raise ScenarioError("--set", [f"{key}: '{prefix}' is a value, not a table"])
    return child


def _assign(node: Any, part: str, value: Any, key: str) -> None:
    if isinstance(node, list):
        node[_list_index(node, part, key)] = value
    else:
        node[part] = value


def _list_index(node: list, part: str, key: str) -> int:
    if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
        raise ScenarioError(
            "--set", [f"{key}: '{part}' is not an index of a list of {len(node)} items"]
        )
    return int(part)


def validate_document(document: Any, source: str) -> Scenario:
    """Validate a raw document (as parsed from TOML) into a Scenario, or raise ScenarioError."""
    if not isinstance(document, dict):
        raise ScenarioError(source, ["the document must be a TOML table"])
    if nesting_depth(document) > MAX_NESTING:
        raise ScenarioError(source, [_too_deep("(document)")])
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(source, [describe(e, Scenario) for e in error.errors()]) from None
    except (TypeError, ValueError, RecursionError) as error:  # pragma: no cover - defensive
        raise ScenarioError(source, [f"invalid scenario: {error}"]) from None
    _check_calendar(scenario, source)
    _check_changes(scenario, document, source)
    return scenario


def _check_calendar(scenario: Scenario, source: str) -> None:
    """The last simulated day must be a date Python can hold (on or before 9999-12-31)."""
    try:
        scenario.start_date + dt.timedelta(days=scenario.horizon_days)
    except OverflowError:
        room = (dt.date.max - scenario.start_date).days
        raise ScenarioError(source, [
            f"horizon_days: {scenario.horizon_days} days from start_date {scenario.start_date} "
            f"run past the end of the calendar (allowed: at most {room} days from that date)"
        ]) from None  # fmt: skip


def _check_changes(scenario: Scenario, document: dict[str, Any], source: str) -> None:
    """Every dated change must itself yield a valid scenario."""
    base = {k: v for k, v in document.items() if k != "changes"}
    for i, change in enumerate(scenario.changes):
        try:
            changed = apply_overrides(base, change.set)
            Scenario.model_validate(changed)
        except ScenarioError as error:
            raise ScenarioError(
                source, [f"changes[{i}].set: {p}" for p in error.problems]
            ) from None
        except ValidationError as error:
            raise ScenarioError(
                source, [f"changes[{i}].set: {describe(e, Scenario)}" for e in error.errors()]
            ) from None
        base = changed


# Our TOML files are a few kilobytes; a much larger "file" is a mistake (a device, a data file).
MAX_FILE_BYTES = 16 * 1024 * 1024


def _read_regular_file(path: Path, what: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`.

    A pipe, a terminal or a device (``/dev/zero``) would block or never end, so they are refused
    before reading.

    Raises:
        ScenarioError: For a file that is not a regular file, or is too large.
        OSError: If the file cannot be opened or read.
    """
    status = path.stat()  # before opening: opening a pipe would wait for a writer
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(status.st_mode):
        raise ScenarioError(str(path), [f"not a regular file (allowed: a {what} on disk)"])
    if status.st_size > MAX_FILE_BYTES:
        raise ScenarioError(str(path), [
            f"{status.st_size:,} bytes is too large for a {what} "
            f"(allowed: at most {MAX_FILE_BYTES:,} bytes)"
        ])  # fmt: skip
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def read_toml_file(path: str | Path, what: str) -> tuple[bytes, dict[str, Any]]:
    """The bytes of a TOML file and the document they hold.

    Args:
        path: The file.
        what: What the file should be (for the message about a directory), e.g. "sweep file".

    Raises:
        ScenarioError: For a missing, unreadable or non-UTF-8 file, or bad TOML (line and column).
    """
    source = str(path)
    try:
        raw = _read_regular_file(Path(path), what)
        text = raw.decode("utf-8")
    except FileNotFoundError:  # a bare name is reported as typed, with the shipped names
        from borderabm.scenario.paths import missing_file_problem

        missing_source, problem = missing_file_problem(path)
        raise ScenarioError(missing_source, [problem]) from None
    except IsADirectoryError:
        raise ScenarioError(source, [f"is a directory, not a {what}"]) from None
    except UnicodeDecodeError as error:
        raise ScenarioError(source, [f"not UTF-8 text (byte {error.start})"]) from None
    except OSError as error:
        raise ScenarioError(source, [f"cannot read: {error.strerror or error}"]) from None
    except ValueError:  # Python refuses paths holding a null byte
        raise ScenarioError(repr(source), ["the file name contains a null byte"]) from None
    return raw, parse_toml(text, source)


def load_scenario(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Read, override and validate a scenario file.

    Args:
        path: The TOML file.
        overrides: Dotted keys to set before validation (from ``--set``).

    Raises:
        ScenarioError: For a missing/unreadable file, bad TOML or an invalid scenario.
    """
    path = Path(path)
    _, document = read_toml_file(path, "scenario file")
    return scenario_from_document(document, path, overrides)


def scenario_from_document(
    document: dict[str, Any], path: Path, overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """A scenario file's parsed document as a scenario: episodes cut, overrides applied, validated.

    Args:
        document: The file as parsed from TOML.
        path: Where it was read (names the scenario by default, finds an episode's history).
        overrides: Dotted keys to set before validation (from ``--set``).

    Raises:
        ScenarioError: For an invalid scenario.
    """
    document = {"name": path.stem, **document}
    if "cut_from" in document:
        document = _episode_document(document, path)
    if overrides:
        document = apply_levers(document, overrides)
    return validate_document(document, str(path))


def _episode_document(document: dict[str, Any], path: Path) -> dict[str, Any]:
    """An episode file (``cut_from``) as the full document of its window of the history."""
    from borderabm.scenario.history import load_cut
    from borderabm.scenario.paths import resolve_relative

    def load_history(name: str) -> Scenario:
        history_path = resolve_relative(name if name.endswith(".toml") else f"{name}.toml",
                                        path.parent)  # fmt: skip
        if not history_path.exists():
            history_path = resolve_relative(name, path.parent)
        _, history_document = read_toml_file(history_path, "scenario file")
        if "cut_from" in history_document:
            raise ScenarioError(str(path), [f"cut_from: {name} is itself an episode "
                                            "(allowed: a scenario with the whole history)"])  # fmt: skip
        history_document.setdefault("name", history_path.stem)
        return validate_document(history_document, str(history_path))

    return load_cut(document, str(path), load_history).model_dump(mode="json")


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any], source: str) -> Scenario:
    """A new scenario with dotted-key overrides applied to an existing one."""
    document = scenario.model_dump(mode="json", exclude_defaults=False)
    return validate_document(apply_overrides(document, overrides), source)


def with_levers(scenario: Scenario, overrides: Mapping[str, Any], source: str) -> Scenario:
    """A new scenario with values that hold for the whole run (see :func:`apply_levers`)."""
    document = scenario.model_dump(mode="json", exclude_defaults=False)
    return validate_document(apply_levers(document, overrides), source)

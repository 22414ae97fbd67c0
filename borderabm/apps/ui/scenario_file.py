"""Scenario files in and out of the Run tab: the levers saved as TOML, uploads read and checked.

*Saving* writes a run's overrides (its changed levers, seed and days) into the text of the file
it started from, with tomlkit, so the file's comments and layout stay. The written text is read
back and must give the very scenario the page runs (the same canonical document, hence the same
hash and the same numbers under ``borderabm run FILE``); where the file cannot hold the change
(an episode cut from a history, whose ``cut_from`` is expanded only when read), the whole
scenario is written instead, with a comment saying so.

*Uploading* reads a TOML file sent by the browser in memory only: nothing is written into the
server's scenario folders, and the upload is offered in this tab's picker. A file that is not a
valid scenario is refused with the line the CLI prints for it (``error: FILE: key: what is wrong
(allowed: ...)``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, InlineTable, Table

from borderabm.apps.cli.common import error_line
from borderabm.apps.ui.run_setup import (
    MAX_AGENTS,
    UPLOAD_PREFIX,
    ScenarioEntry,
    agent_count,
    number_text,
)
from borderabm.scenario import Scenario, ScenarioError, parse_toml, scenario_from_document

MAX_UPLOAD_BYTES = 256 * 1024  # scenario files are a few kilobytes (the 2014-2025 history: 26 KB)
MAX_UPLOADS = 10  # per browser tab; the oldest is forgotten first
# A browser session keeps at most this much for a reload (the store keeps 1,000 sessions: 64 MB).
MAX_KEPT_UPLOAD_BYTES = 64 * 1024
HASH_CHARS = 12
# What identifies a scenario's behaviour: everything but its name and description.
NOT_HASHED = ("name", "description")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class UploadError(ScenarioError):
    """An uploaded file that is not a scenario the page can run; its lines are the CLI's."""


# The scenario's identity -------------------------------------------------------------------------
def canonical_document(settings: Scenario) -> dict[str, Any]:
    """The scenario as JSON-ready data, without its name and description (they change nothing)."""
    document = settings.model_dump(mode="json")
    return {key: value for key, value in document.items() if key not in NOT_HASHED}


def scenario_hash(settings: Scenario, chars: int = HASH_CHARS) -> str:
    """The short sha256 of the canonical scenario document (sorted keys, compact JSON).

    Two scenarios with the same hash run the same way: same seed, days, levers and parameters.
    """
    text = json.dumps(canonical_document(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:chars]


# Saving ------------------------------------------------------------------------------------------
def scenario_toml(entry: ScenarioEntry, overrides: dict[str, Any], settings: Scenario) -> str:
    """The TOML file of a run: the file's text with the run's overrides written in.

    Args:
        entry: The file the run started from (listed or uploaded).
        overrides: The run's dotted-key overrides (:func:`~borderabm.apps.ui.run_setup.run_overrides`).
        settings: The scenario the page runs (the file with those overrides).

    Returns:
        TOML text that loads (by ``borderabm run``) as ``settings``, name and description aside.
    """
    try:
        text = write_overrides(entry.source_text(), overrides)
        if _reads_as(text, entry, settings):
            return text
    except (OSError, ValueError, KeyError, IndexError, TypeError, ScenarioError):
        pass  # the file cannot hold the change as written: the whole scenario is written below
    return full_scenario_toml(settings, entry.path.name)


def _reads_as(text: str, entry: ScenarioEntry, settings: Scenario) -> bool:
    """Whether TOML text loads as ``settings`` (the file's own folder resolves any ``cut_from``)."""
    written = scenario_from_document(parse_toml(text, entry.path.name), entry.path)
    return canonical_document(written) == canonical_document(settings)


def full_scenario_toml(settings: Scenario, based_on: str) -> str:
    """The whole scenario as TOML (every field), for a file that cannot hold the change itself."""
    document = tomlkit.document()
    document.add(
        tomlkit.comment(f"Saved from the borderabm page: {based_on} with the page's levers,")
    )
    document.add(tomlkit.comment("written out in full (the original file could not hold them)."))
    for key, value in _without_none(settings.model_dump(mode="json")).items():
        document[key] = value
    return tomlkit.dumps(document)


def _without_none(value: Any) -> Any:
    """A JSON-ready value with null entries dropped (TOML has no null: absent means default)."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def write_overrides(text: str, overrides: dict[str, Any]) -> str:
    """Write dotted-key overrides into TOML text, keeping its comments and layout.

    Keys go as ``--set`` applies them: tables on the way are created when missing, and a numeric
    part indexes an array (``triggers.0.threshold``).

    Raises:
        ValueError, KeyError, IndexError, TypeError: For a key the text cannot hold as written.
    """
    document = tomlkit.parse(text)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node: Any = document
        for part in parts[:-1]:
            node = _child(node, part)
        last = parts[-1]
        if isinstance(node, AoT | Array | list):
            node[int(last)] = _toml_value(value, inline=True)
        else:
            node[last] = _toml_value(value, inline=node is not document)
    written = tomlkit.dumps(document)
    return written if written.endswith("\n") else written + "\n"


def _child(node: Any, part: str) -> Any:
    if isinstance(node, AoT | Array | list):
        return node[int(part)]
    if part not in node:  # a missing table: a [section] in a table, inline in an inline table
        node[part] = tomlkit.inline_table() if isinstance(node, InlineTable) else tomlkit.table()
    child = node[part]
    if not isinstance(child, Table | InlineTable | AoT | Array | dict | list):
        raise TypeError(f"{part} is a value, not a table")
    return child


def _toml_value(value: Any, inline: bool) -> Any:
    """A Python value as a tomlkit item (tables inline inside a table, dates as dates)."""
    if isinstance(value, dict):
        table = tomlkit.inline_table() if inline else tomlkit.table()
        for key, item in value.items():
            table[key] = _toml_value(item, inline=True)
        return table
    if isinstance(value, list | tuple):
        if value and all(isinstance(item, dict) for item in value):
            return [dict(item) for item in value]  # tomlkit writes an array of inline tables
        array = tomlkit.array()
        array.extend(_toml_value(item, inline=True) for item in value)
        return array
    if isinstance(value, dt.date):
        return value
    return tomlkit.item(value)


def scenario_changes(base: Scenario, settings: Scenario) -> list[tuple[str, str, str]]:
    """What a saved file changes in its base: (dotted key, old value, new value), keys sorted."""
    old = _flatten(canonical_document(base))
    new = _flatten(canonical_document(settings))
    return [(key, _shown(old.get(key)), _shown(new.get(key)))
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]  # fmt: skip


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Tables as dotted keys; arrays of tables by index (``triggers.0.threshold``)."""
    if isinstance(value, dict):  # an empty table sets nothing: it has no keys to show
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat |= _flatten(item, f"{prefix}{key}.")
        return flat
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        flat = {}
        for index, item in enumerate(value):
            flat |= _flatten(item, f"{prefix}{index}.")
        return flat
    return {prefix.rstrip("."): value}


def _shown(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return number_text(value, isinstance(value, int))
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def saved_file_name(settings: Scenario) -> str:
    """The download's file name: the scenario's name, seed and days (safe characters only)."""
    stem = _SAFE_NAME.sub("_", settings.name).strip("._") or "scenario"
    return f"{stem[:60]}-seed{settings.seed}-days{settings.horizon_days}.toml"


# Uploading ---------------------------------------------------------------------------------------
def upload_name(file_name: str) -> str:
    """A browser's file name as a safe scenario file name (``my scenario.toml`` → ``my_scenario.toml``)."""
    base = Path(str(file_name).replace("\\", "/")).name
    stem = base[:-5] if base.lower().endswith(".toml") else base
    stem = _SAFE_NAME.sub("_", stem).strip("._")[:60] or "uploaded"
    return f"{stem}.toml"


def read_upload(file_name: str, data: bytes) -> ScenarioEntry:
    """An uploaded file as a scenario this tab may run, held in memory.

    Args:
        file_name: The name the browser gave (only its last part is kept, made safe).
        data: The file's bytes.

    Raises:
        UploadError: For a file that is too large, not UTF-8, not TOML or not a valid scenario,
            names a history to cut from (``cut_from``: a path on the server), or asks for more
            agents than the page runs. Its lines are those of the CLI for the same file.
    """
    name = upload_name(file_name)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(name, [f"{len(data):,} bytes is too large for a scenario file "
                                 f"(allowed: at most {MAX_UPLOAD_BYTES:,} bytes)"])  # fmt: skip
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UploadError(name, [f"not UTF-8 text (byte {error.start})"]) from None
    path = Path(name)  # a bare name: nothing is read from the disk
    try:
        document = parse_toml(text, name)
        if "cut_from" in document:
            raise UploadError(name, ["cut_from: an episode cannot be uploaded, it reads a history "
                                     "on the server (allowed: a whole scenario; save the episode "
                                     "from the page to get one)"])  # fmt: skip
        settings = scenario_from_document(document, path)
    except UploadError:
        raise
    except ScenarioError as error:
        raise UploadError(error.source, error.problems) from None
    agents = agent_count(settings)
    if agents > MAX_AGENTS:
        raise UploadError(name, [f"{agents:,} agents is more than the page runs "
                                 f"(allowed: at most {MAX_AGENTS:,}; run it with the CLI)"])  # fmt: skip
    return ScenarioEntry(UPLOAD_PREFIX + path.stem, path, settings, text=text)


def upload_error_line(error: ScenarioError) -> str:
    """The ``error: FILE: key: what is wrong (allowed: ...)`` line the CLI prints for the file."""
    return error_line(error.problems, error.source)


def uploads_to_keep(uploads: dict[str, ScenarioEntry]) -> dict[str, str]:
    """The uploads' texts a browser session keeps for a reload: the newest, within a budget."""
    kept: dict[str, str] = {}
    size = 0
    for name, entry in reversed(uploads.items()):
        text = entry.text or ""
        size += len(text.encode("utf-8"))
        if size > MAX_KEPT_UPLOAD_BYTES:
            break
        kept[name] = text
    return dict(reversed(kept.items()))


def add_upload(uploads: dict[str, ScenarioEntry], entry: ScenarioEntry) -> dict[str, ScenarioEntry]:
    """This tab's uploads with ``entry`` added (replacing one of the same name), oldest dropped."""
    kept = {name: other for name, other in uploads.items() if name != entry.name}
    kept[entry.name] = entry
    while len(kept) > MAX_UPLOADS:
        kept.pop(next(iter(kept)))
    return kept


def read_upload_event(payload: object) -> ScenarioEntry:
    """The page's upload event (``{"name", "size", "data"}``, data in base64) as a scenario.

    Raises:
        UploadError: For a malformed event, or a file :func:`read_upload` refuses.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        raise UploadError("upload", ["not a file (allowed: one scenario file, .toml)"])
    name = upload_name(payload["name"])
    data = payload.get("data")
    size = payload.get("size")
    if data is None and isinstance(size, int) and size > MAX_UPLOAD_BYTES:
        raise UploadError(name, [f"{size:,} bytes is too large for a scenario file "
                                 f"(allowed: at most {MAX_UPLOAD_BYTES:,} bytes)"])  # fmt: skip
    if not isinstance(data, str) or len(data) > 2 * MAX_UPLOAD_BYTES:
        raise UploadError(name, ["the file did not arrive (allowed: one scenario file, .toml)"])
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise UploadError(
            name, ["the file did not arrive intact (allowed: a scenario file)"]
        ) from None
    return read_upload(payload["name"], raw)

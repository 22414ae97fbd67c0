"""Write values into TOML text with tomlkit, keeping its comments and layout.

Used for the fitted scenario file (:mod:`~borderabm.analysis.calibration.fitted_scenario`): the
base scenario with the fitted values written in. Nothing of borderabm is imported here, so the spec
can check that its parameters can be written without an import cycle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, Comment, InlineTable, Table


def toml_literal(value: Any) -> str:
    """A value as TOML text: floats keep a decimal point (``26000.0``), never an exponent of 1e16+."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(float(value)) if not float(value).is_integer() else f"{value:.1f}"
    return json.dumps(value)


def set_toml_values(text: str, values: Mapping[str, Any]) -> str:
    """Write ``section.key`` values into TOML text, keeping its comments and layout.

    A key already in its ``[section]`` has its value replaced (a trailing comment is kept); a
    missing key goes at the end of its section; a missing section is added before the first array
    of tables, above the comments that introduce it (or at the end).

    Raises:
        ValueError: For a key that is not of the form ``section.key``, a section that is a value or
            an array of tables, or text that is not TOML.
    """
    document = tomlkit.parse(text)
    for dotted, value in values.items():
        parts = dotted.split(".")
        if len(parts) != 2:
            raise ValueError(f"'{dotted}': only section.key parameters can be written to a file")
        section, key = parts
        item = tomlkit.value(toml_literal(value))
        if section not in document:
            _add_section(document, section, key, item)
            continue
        table = document[section]
        if not isinstance(table, Table | InlineTable):
            raise ValueError(f"'{dotted}': '{section}' is not a table, so it has no key '{key}'")
        if key in table or isinstance(table, InlineTable):
            table[key] = item  # tomlkit keeps the replaced value's comment and spacing
        else:
            _add_key(table, key, item)
    edited = tomlkit.dumps(document)
    return edited if edited.endswith("\n") else edited + "\n"


def _add_key(table: Table, key: str, item: Any) -> None:
    """Add a key after the last key of a table, above its trailing blank lines and comments."""
    body = table.value.body
    last = max((i for i, (name, _) in enumerate(body) if name is not None), default=-1)
    if last == len(body) - 1:
        table.add(key, item)
    else:
        table.value._insert_at(last + 1, key, item)


def _add_section(document: tomlkit.TOMLDocument, section: str, key: str, item: Any) -> None:
    """Add ``[section]`` with one key before the first array of tables, else at the end."""
    table = tomlkit.table()
    table.add(key, item)
    body = document.body
    first_array = next((i for i, (_, entry) in enumerate(body) if isinstance(entry, AoT)), None)
    if first_array is None:
        document.add(section, table)
        return
    table.add(tomlkit.nl())
    # The comments that introduce the array of tables stay with it, below the new section. They
    # are the document's own before any table, else they end the table before the array (its last
    # subtable, after [crossings.Torkham]).
    at = first_array
    while at > 0 and isinstance(body[at - 1][1], Comment):
        at -= 1
    if at == first_array and at > 0 and isinstance(body[at - 1][1], Table):
        previous: Container = body[at - 1][1].value
        while previous.body and isinstance(previous.body[-1][1], Table):
            previous = previous.body[-1][1].value
        moved: list[Comment] = []
        while previous.body and isinstance(last := previous.body[-1][1], Comment):
            previous.body.pop()
            moved.insert(0, last)
        for comment in moved:
            table.add(comment)
    document._insert_at(at, section, table)

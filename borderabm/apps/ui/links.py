"""Permanent links of the Compare tab: a stored comparison, and one stored run of it (its replay).

Both are query strings of the page's own address, so they open in any browser, also after a server
restart: the results folder holds everything they name.
"""

from __future__ import annotations

from urllib.parse import quote

LINK_KEY = "comparison"  # the query key of a comparison's permanent link
RUN_KEY = "run"  # with it, the query key of a stored run's permanent link (its replay)


def comparison_link(identity: str) -> str:
    """The query string of a comparison's permanent link: ``?comparison=<id>``."""
    return f"?{LINK_KEY}={quote(identity, safe='')}"


def replay_link(identity: str, run_id: str) -> str:
    """The query string of a stored run's permanent link: ``?comparison=<id>&run=<run id>``.

    The run id is the one the results store files the run under (``runs/<run id>.parquet``), a
    hash of the run's scenario, design point, replicate and seed: it does not depend on the order
    of a table, and stays the same however many runs the store holds.
    """
    return f"{comparison_link(identity)}&{RUN_KEY}={quote(run_id, safe='')}"

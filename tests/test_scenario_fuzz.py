"""Property-based tests: whatever is thrown at the loader, the answer is a Scenario or a clean error.

The clean-error contract: a ScenarioError naming the source, with one non-empty line per problem;
never another exception (which the CLI would show as a traceback).
"""

import datetime as dt
import math
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderabm.scenario import (
    Scenario,
    ScenarioError,
    apply_overrides,
    load_scenario,
    parse_override,
    validate_document,
)
from tests.conftest import SCENARIOS

FUZZ = settings(
    max_examples=int(os.environ.get("BORDERABM_FUZZ_EXAMPLES", "250")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
VALID_TEXT = (SCENARIOS / "closures_oct2025.toml").read_text()
KNOWN_KEYS = [
    "name",
    "horizon_days",
    "seed",
    "map",
    "resolution_km",
    "fence",
    "coverage",
    "sectors",
    "Khyber",
    "schedule",
    "day",
    "crossings",
    "Torkham",
    "Chaman",
    "open",
    "closures",
    "start",
    "end",
    "corridor",
    "enabled",
    "gates",
    "patrols",
    "strategy",
    "units",
    "triggers",
    "threshold",
    "changes",
    "set",
    "deportation",
    "daily_rate",
    "population",
    "traders",
    "militants",
    "sanctuaries",
    "start_date",
]

keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["Torkham", "Kyber", "adaptive", "all", "Kunar"]),
    st.dates(min_value=dt.date(1, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=12,
)
documents = st.dictionaries(keys, values, max_size=6)


def assert_clean(error: ScenarioError, source: str) -> None:
    assert error.source == source
    assert error.problems
    for problem in error.problems:
        assert isinstance(problem, str) and problem.strip()
    assert str(error).startswith(f"{source}: ")


def check_document(document) -> None:
    try:
        scenario = validate_document(document, "fuzz.toml")
    except ScenarioError as error:
        assert_clean(error, "fuzz.toml")
    else:
        assert isinstance(scenario, Scenario)
        assert math.isfinite(scenario.fence.coverage)


@FUZZ
@given(documents)
def test_random_documents(document):
    check_document(document)


dotted_keys = st.lists(keys, min_size=1, max_size=3).map(".".join)


@FUZZ
@given(st.dictionaries(dotted_keys, values, max_size=4), documents)
def test_random_overrides(overrides, base):
    try:
        document = apply_overrides(base, overrides)
    except ScenarioError as error:
        assert_clean(error, "--set")
        return
    check_document(document)


@FUZZ
@given(st.text(max_size=300))
def test_random_text_files(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "random.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario(path)
    except ScenarioError as error:
        assert_clean(error, str(path))


@FUZZ
@given(st.data())
def test_mutated_valid_files(tmp_path_factory, data):
    text = VALID_TEXT
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = data.draw(st.text(alphabet='=[]{}".,0123456789-abcxyz \n#', max_size=5))
        if action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + len(piece) :]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    path = tmp_path_factory.mktemp("mut") / "mutated.toml"
    path.write_bytes(text.encode("utf-8"))
    try:
        load_scenario(path)
    except ScenarioError as error:
        assert_clean(error, str(path))


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("bytes") / "blob.toml"
    path.write_bytes(blob)
    try:
        load_scenario(path)
    except ScenarioError as error:
        assert_clean(error, str(path))


@FUZZ
@given(st.text(max_size=60))
def test_random_set_arguments(text):
    try:
        key, value = parse_override(text)
    except ScenarioError as error:
        assert_clean(error, "--set")
        return
    try:
        document = apply_overrides({"triggers": [{}]}, {key: value})
    except ScenarioError as error:
        assert_clean(error, "--set")
        return
    check_document(document)

"""The adapter over the EMA Workbench's PRIM: what it adds, and what it keeps out of the user's way."""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from borderabm.analysis.prim import PrimUnavailableError, prim

WORKBENCH_MODULES = ("ema_workbench", "ema_workbench.analysis", "ema_workbench.analysis.prim")


def cases(seed: int, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "c": rng.random(n)})
    return x, ((x["a"] > 0.6) & (x["b"] < 0.5)).to_numpy()


def test_importing_borderabm_does_not_import_the_workbench():
    # It takes seconds to import (scikit-learn, statsmodels, seaborn) and is an optional extra.
    code = ("import sys, borderabm.apps.cli.main, borderabm.analysis.discovery, "
            "borderabm.analysis.prim; "
            "print(sorted(m for m in sys.modules if m.startswith(('ema_workbench', 'sklearn', "
            "'statsmodels', 'seaborn'))))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_the_workbench_prim_says_how_to_install_it(monkeypatch):
    for name in WORKBENCH_MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    x, y = cases(0, 40)
    with pytest.raises(PrimUnavailableError, match="pip install 'ema-workbench>=3.0,<3.1'"):
        prim(x, y)


def test_the_workbench_warnings_stay_inside():
    # The Workbench's pandas calls raise deprecation warnings that are not the user's to act on.
    x, y = cases(1, 120)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = prim(x, y, max_quasi_p=0.05, max_boxes=2)
    assert {"a", "b"} <= set(result.boxes[0].step.restricted)


def test_a_parameter_named_scenario_of_whole_numbers_is_used_like_any_other():
    # The Workbench drops a column named "scenario" and peels integer columns by another rule.
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"scenario": rng.integers(0, 100, 300), "b": rng.random(300)})
    y = (x["scenario"] >= 60).to_numpy()
    result = prim(x, y)
    step = result.boxes[0].step
    assert step.restricted == ("scenario",)
    assert 59 < step.lower[0] < 60 + 2 and step.density == 1.0
    as_floats = prim(x.astype(float), y).boxes[0].step
    assert np.array_equal(as_floats.lower, step.lower) and np.array_equal(
        as_floats.inside, step.inside
    )


def test_many_small_peels_do_not_overrun_the_recursion_limit():
    # The Workbench peels recursively, one call per step; each step takes at least one case.
    x, y = cases(2, 400)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)
    try:
        result = prim(x, y, peel_alpha=0.004, paste=False)
    finally:
        sys.setrecursionlimit(limit)
    assert sys.getrecursionlimit() == limit
    peels = [s for s in result.boxes[0].trajectory if s.phase == "peel"]
    assert len(peels) > 150  # deeper than the limit the test set
    assert result.boxes[0].step.density > 0.9

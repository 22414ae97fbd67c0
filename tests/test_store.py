"""The results store's typed manifest and its one atomic writer."""

from __future__ import annotations

import json
import math
import os
import stat
import threading

import pytest

from borderabm import files as files_module
from borderabm.experiments.run import RunResult, write_outputs
from borderabm.experiments.store import DesignRecord, Manifest, ResultsStore, StoreError
from borderabm.experiments.sweep import comparison_sweep, manifest_for
from borderabm.files import FILE_MODE, atomic_write
from borderabm.scenario import load_scenario, resolve_scenario_path


@pytest.fixture(scope="module")
def sweep():
    paths = [resolve_scenario_path("baseline"), resolve_scenario_path("fence_full")]
    return comparison_sweep(paths, 2, 1, 3)


def test_a_sweep_manifest_keeps_its_json_keys_and_reads_back_typed(sweep, tmp_path):
    store = ResultsStore(tmp_path)
    store.write_manifest(manifest_for(sweep))
    document = json.loads((tmp_path / "manifest.json").read_text())
    assert list(document) == ["fingerprint", "sweep", "scenarios", "design", "replicates",
                              "seeds", "days", "runs", "environment", "started", "finished"]  # fmt: skip
    assert document["finished"] is None and document["seeds"] == [1, 2]
    assert document["design"]["points"] == [{}] and document["scenarios"]["baseline"]["sha256"]
    manifest = store.read_manifest()
    assert manifest.replicates == 2 and manifest.scenarios["fence_full"].file.endswith(".toml")
    assert manifest.document() == document  # a read-and-write cycle changes nothing
    finished = manifest.updated(finished="2025-01-01T00:00:00+00:00", executed_last=4)
    assert finished.document() == {**document, "finished": "2025-01-01T00:00:00+00:00",
                                   "executed_last": 4}  # fmt: skip


def test_keys_it_does_not_know_are_kept(tmp_path):
    store = ResultsStore(tmp_path)
    store.write_manifest({"fingerprint": "f", "made_by": {"tool": "other", "version": 2}})
    manifest = store.read_manifest()
    assert manifest.fingerprint == "f" and manifest.document()["made_by"] == {"tool": "other",
                                                                              "version": 2}  # fmt: skip
    assert manifest.sweep is None and manifest.design is None


@pytest.mark.parametrize(("document", "key"), [({"design": []}, "design"), ({"sweep": "x"}, "sweep"),
                                               ({"seeds": ["a"]}, "seeds.0")])  # fmt: skip
def test_a_key_of_the_wrong_type_is_an_error_naming_file_and_key(tmp_path, document, key):
    (tmp_path / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(StoreError) as caught:
        ResultsStore(tmp_path).read_manifest()
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'manifest.json'}: not a manifest of borderabm: {key}: ")
    assert "allowed: the manifest.json that borderabm sweep writes" in message


def test_a_typed_manifest_is_strict_json_too(tmp_path):
    manifest = Manifest(fingerprint="f", design=DesignRecord(points=[{"fence.coverage": math.nan}]))
    with pytest.raises(StoreError, match="manifest.json: cannot write: Out of range float"):
        ResultsStore(tmp_path).write_manifest(manifest)
    assert not (tmp_path / "manifest.json").exists()


def test_files_get_the_mode_a_plain_open_gives(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    written = atomic_write(tmp_path / "atomic", lambda p: p.write_text("x"))
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == FILE_MODE
    assert not list(tmp_path.glob(".*.tmp"))


# Defect: the run outputs' writer read the umask by setting it to 0 and back on every file, so a
# thread creating a file meanwhile got a world-writable one. The mode is now read once at import.
def test_writing_never_touches_the_process_umask(tmp_path, monkeypatch):
    def refuse(_mask):
        raise AssertionError("os.umask called while writing")

    monkeypatch.setattr(os, "umask", refuse)
    settings = load_scenario(resolve_scenario_path("baseline"), {"horizon_days": 1})
    import pandas as pd

    result = RunResult(settings, 1, 1, {"attacks": 0.0}, pd.DataFrame({"day": [0]}))
    written = write_outputs(result, tmp_path / "out")
    assert [p.name for p in written] == ["timeseries.parquet", "summary.json", "scenario.json"]
    assert all(stat.S_IMODE(p.stat().st_mode) == FILE_MODE for p in written)
    ResultsStore(tmp_path / "store").write_manifest(Manifest(fingerprint="f"))


def test_the_umask_is_read_without_changing_it():
    before = os.umask(0o027)
    try:
        assert files_module._process_umask() == 0o027
        assert os.umask(0o027) == 0o027  # still what it was
    finally:
        os.umask(before)


def test_concurrent_writers_of_one_file_leave_a_whole_file(tmp_path):
    target = tmp_path / "manifest.json"
    texts = [json.dumps({"writer": k, "pad": "x" * 50_000}) for k in range(8)]
    threads = [threading.Thread(target=atomic_write, args=(target, lambda p, t=t: p.write_text(t)))
               for t in texts]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_text() in texts
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_world_cache_writes_through_the_one_atomic_writer(tmp_path):
    from borderabm.world.cache import load_or_build

    entry = tmp_path / "cache" / "entry.pkl"
    assert load_or_build(entry, lambda: {"cells": 3}) == {"cells": 3}
    assert stat.S_IMODE(entry.stat().st_mode) == FILE_MODE  # not mkstemp's private 0600
    assert [p.name for p in entry.parent.iterdir()] == ["entry.pkl"]  # no temporary left
    assert load_or_build(entry, lambda: {"cells": 4}) == {"cells": 3}  # read back, not rebuilt

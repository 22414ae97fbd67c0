"""``borderabm validate-model`` end to end: real subprocesses for exit codes, files and errors."""

import os
import subprocess
import sys

from tests.conftest import REPO


def borderabm(*args):
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    return subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_a_tiny_run_prints_the_table_writes_the_report_and_exits_1_on_a_failure(tmp_path):
    # Over 20 days a full fence already cuts family visits (5 of 5 pairs: p = 1/32), while the
    # closure that would strand people starts on day 30: no effect, so that fact fails.
    out = tmp_path / "report"
    done = borderabm(
        "validate-model", "--only", "fence_cuts_family_visits", "--only", "closure_strands_people",
        "--replicates", "5", "--days", "20", "--workers", "1", "--seed", "3", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    rows = {line.split("│")[2].strip(): line for line in done.stdout.splitlines()
            if line.count("│") > 8}  # fmt: skip
    assert set(rows) == {"fence_cuts_family_visits", "closure_strands_people"}
    assert (
        "PASS" in rows["fence_cuts_family_visits"] and "0.0312" in rows["fence_cuts_family_visits"]
    )
    assert "FAIL" in rows["closure_strands_people"]
    # A stylized fact and a mechanism check: the headline counts them apart.
    assert "stylized fact" in rows["fence_cuts_family_visits"]
    assert "mechanism check" in rows["closure_strands_people"]
    assert "1 of 1 stylized facts pass; 0 of 1 mechanism checks pass" in done.stdout

    markdown = (out / "validation.md").read_text()
    page = (out / "validation.html").read_text()
    for text in (markdown, page):
        assert "fence_cuts_family_visits" in text and "closure_strands_people" in text
        assert "The fence is a wall between brothers." in text  # the source's quote
        assert "5 paired replicates per fact, seeds 3–7" in text
        assert "git revision" in text and "model code sha256" in text
        assert "1 of 1 stylized facts pass; 0 of 1 mechanism checks pass" in text
        assert "Why it holds by construction" in text
        assert "Wilcoxon" in text
        assert "20 days" in text
    assert "| 1 | closure_strands_people |" in markdown  # suite order, then the verdict
    assert "FAIL" in markdown and "PASS" in markdown
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")


def test_unknown_fact_id_lists_the_allowed_ids_and_exits_2(tmp_path):
    out = tmp_path / "never"
    done = borderabm("validate-model", "--only", "fence_cuts_smugling", "--out", str(out))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "error: --only: unknown fact id 'fence_cuts_smugling'" in done.stderr
    assert "allowed:" in done.stderr and "closure_raises_smuggling" in done.stderr
    assert not out.exists()  # refused before anything was computed or written


def test_too_few_replicates_and_an_unwritable_output_exit_2(tmp_path):
    done = borderabm("validate-model", "--replicates", "4", "--out", str(tmp_path / "x"))
    assert done.returncode == 2
    assert "replicates: 4 is too few (allowed: >= 5" in done.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = borderabm("validate-model", "--only", "fence_cuts_family_visits", "--replicates", "5",
                     "--days", "5", "--out", str(blocker / "report"))  # fmt: skip
    assert done.returncode == 2
    assert "cannot write output directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unwritable_or_corrupt_store_exits_2_before_any_run(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "manifest.json").write_text('{"fingerprint": "borderabm-valid')  # cut short
    for store, message in (
        (blocker / "store", "cannot write the results store"),
        (corrupt, "manifest.json is not valid JSON"),
    ):
        out = tmp_path / "report"
        done = borderabm("validate-model", "--only", "fence_cuts_family_visits", "--replicates",
                         "5", "--days", "5", "--store", str(store), "--out", str(out))  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert f"error: {store}: " in done.stderr and message in done.stderr
        assert not (out / "validation.md").exists()
    assert not (corrupt / "runs").exists()  # nothing ran

"""scripts/gpu_checks.sh, the one prepared script for a short GPU lease: its control flow on the CPU.

The stages themselves need a GPU; what can be checked anywhere is that `all` keeps to its time
budget and reports every stage, and that a wrong stage name is refused with the list of stages.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_checks.sh"
STAGES = ["tests", "bench", "notebooks", "mpi", "pipeline"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils' timeout")


def _run(*args, **env):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_an_unknown_stage_is_refused_with_the_list_of_stages():
    done = _run("everything")
    assert done.returncode == 2
    assert "usage: bash scripts/gpu_checks.sh all|tests|bench|pipeline|notebooks|mpi|fmnist" in done.stderr


def test_all_reports_every_stage_and_starts_none_it_has_no_time_for(tmp_path):
    done = _run("all", OUT=str(tmp_path), ALL_SECONDS="10")          # under the 20 s a stage needs at least
    assert done.returncode == 0, done.stderr
    summary = (tmp_path / "summary.txt").read_text().splitlines()
    assert summary == ["stage exit_status seconds"] + [f"{stage} not-run 0" for stage in STAGES]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.txt"]   # no stage ran, so no stage log


def test_a_stage_that_runs_out_of_time_is_stopped_and_the_rest_are_reported(tmp_path):
    fake_bin = tmp_path / "bin"                                         # an nvidia-smi that hangs: the tests stage
    fake_bin.mkdir()                                                    # then waits until its limit
    (fake_bin / "nvidia-smi").write_text("#!/bin/sh\nsleep 300\n")
    (fake_bin / "nvidia-smi").chmod(0o755)
    out = tmp_path / "out"
    done = _run("all", OUT=str(out), ALL_SECONDS="21", PATH=f"{fake_bin}:{os.environ['PATH']}")
    assert done.returncode == 0, done.stderr
    summary = [line.split() for line in (out / "summary.txt").read_text().splitlines()[1:]]
    assert [row[:2] for row in summary] == [["tests", "124"]] + [[stage, "not-run"] for stage in STAGES[1:]]
    assert 21 <= int(summary[0][2]) <= 40                               # stopped at its limit, not at sleep's end
    assert "=== tests (at most 21 s)" in done.stdout

"""benchmarks/shared_load.py: the other processes a benchmark measures beside are started, kept running,
and stopped with everything they started, also when the measuring block fails."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import shared_load


def group_members(pgid: int) -> list[str]:
    """The command lines of the live processes in process group ``pgid`` (zombies left out)."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                members.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue
    return members


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")


def test_a_load_runs_during_the_block_and_is_gone_after_it():
    with shared_load.running(["none", "python"]) as loads:
        assert list(loads) == ["python"]
        load = loads["python"]
        assert load.poll() is None and os.getpgid(load.pid) == load.pid      # a process group of its own
        assert wait_for(lambda: any("benchmarks.shared_load python" in m for m in group_members(load.pid)))
    assert load.returncode is not None and group_members(load.pid) == []


def test_the_load_is_stopped_when_the_block_fails():
    with pytest.raises(KeyboardInterrupt), shared_load.running(["gemm"]) as loads:
        load = loads["gemm"]
        raise KeyboardInterrupt                                              # Ctrl-C while measuring
    assert load.returncode is not None and group_members(load.pid) == []


def test_a_training_run_load_is_stopped_with_the_program_it_started():
    with shared_load.running(["tinyconv-run"]) as loads:
        load = loads["tinyconv-run"]
        assert wait_for(lambda: any("examples/train_alexnet.py" in m and "--no-progress" in m
                                    for m in group_members(load.pid)))
    assert load.returncode is not None and group_members(load.pid) == []


def test_a_load_that_ends_on_its_own_is_reported():
    with shared_load.running(["python"]) as loads:
        os.killpg(loads["python"].pid, signal.SIGKILL)
        loads["python"].wait()
        with pytest.raises(RuntimeError, match="the python load stopped on its own"):
            shared_load.check_running(loads)


def test_an_unknown_load_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown load 'fortran'.*python, gemm, tinyconv-run, steps"), \
            shared_load.running(["fortran"]):
        pass


def test_a_load_stops_when_the_benchmark_dies_without_cleaning_up():
    script = ("import time; from benchmarks import shared_load; "
              "print(shared_load.start('python').pid, flush=True); time.sleep(600)")
    benchmark = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=shared_load.ROOT,
                                 env=shared_load.child_environment(), text=True)
    pid = int(benchmark.stdout.readline())
    assert wait_for(lambda: cpu_seconds(pid) > 1.0)                          # past its start, in its loop
    benchmark.kill()                                                         # SIGKILL: no clean-up runs
    benchmark.wait()
    benchmark.stdout.close()
    assert wait_for(lambda: group_members(pid) == [], seconds=20)

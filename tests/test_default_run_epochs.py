"""benchmarks/default_run_epochs.py: the training program's default command in three settings, one table
row per run with its epoch times and the thread budget it printed (a tiny run: the tooling, not the speed)."""
import shutil

import pytest

from benchmarks import default_run_epochs

TINY = ["--train-images", "128", "--val-images", "32", "--batch-size", "32", "--epochs", "2", "--no-figures"]


def test_the_settings_start_the_default_command_once_twice_or_under_mpirun(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/" + name)
    idle, beside, mpi = (default_run_epochs.commands(s, ["A", "B"], ["--epochs", "1"])
                         for s in default_run_epochs.SETTINGS)
    assert [c[1:] for c in idle] == [["examples/train_alexnet.py", "--no-progress", "--out", "A", "--epochs", "1"]]
    assert [c[c.index("--out") + 1] for c in beside] == ["A", "B"]
    assert mpi == [["mpirun", "-n", "2", beside[0][0], "examples/train_alexnet.py", "--no-progress", "--out", "A",
                    "--epochs", "1"]]
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="mpirun not found"):
        default_run_epochs.commands("mpirun", ["A", "B"], [])


@pytest.mark.slow
def test_a_run_becomes_a_row_of_its_epochs_and_budget(capsys):
    default_run_epochs.main(["--settings", "idle", "--", *TINY])
    rows = [line.strip("| ").split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| idle")]
    assert len(rows) == 1
    setting, run, epochs, median, low, high, top1, wall, _load_average, budget = rows[0]
    assert (setting, run, epochs) == ("idle", "1 of 1", "2")
    assert 0 < float(low) <= float(median) <= float(high) < float(wall) and 0 <= float(top1) <= 100
    assert budget.startswith("BLAS ") and "op pool" in budget and len(budget.split("epochs: ")[1].split()) == 2

"""examples/train_alexnet.py as a user meets it: a process of its own, its exit status and what it prints.

What a user can get wrong at the command line ends as one ``error:`` line and a non-zero exit, never a
traceback; a run that is finished or training is never overwritten; the command printed after Ctrl-C
continues the run as printed. Where a test needs a Ctrl-C at a known step or a network that is down,
it runs a few lines in the program's own process first (:func:`program`'s ``before``).
"""
import fcntl
import os
import shlex
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyconv.train import outdir
from tinyconv.train.checkpoint import load_checkpoint
from tinyconv.train.metrics import read_metrics
from tinyconv.train.plots import plot_curves

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "examples" / "train_alexnet.py"
QUIET = ["--workers", "0", "--no-figures", "--no-progress"]
TINY = ["--train-images", "64", "--val-images", "32", "--batch-size", "16", "--epochs", "1"] + QUIET
# Ctrl-C (a real SIGINT, `times` in a row) at step 1 of epoch `epoch`
CTRL_C = """
import os, signal
from tinyconv.train import run
real_train_epoch = run.train_epoch
def train_epoch(*args, **kwargs):
    def ctrl_c(step):
        if step == 1:
            for _ in range({times}):
                os.kill(os.getpid(), signal.SIGINT)
    if kwargs["epoch"] == {epoch}:
        kwargs["on_step"] = ctrl_c
    return real_train_epoch(*args, **kwargs)
run.train_epoch = train_epoch
"""


def program(args, cwd, before: str = "", command=None) -> subprocess.CompletedProcess:
    """``python examples/train_alexnet.py ARGS`` run in ``cwd`` (``command``: another command line, e.g. a
    printed one); ``before``: Python lines run in the program's process before it starts."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TINYCONV_DATA=str(cwd / "data-home"))
    command = command or [sys.executable, str(PROGRAM), *args]
    if before:
        start = "import runpy, sys\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')"
        command = [command[0], "-c", before + start, *command[1:]]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def error_line(result) -> str:
    """The one line a refused command prints (and that it is one line, with no traceback)."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_finished_run_survives_a_second_invocation(tmp_path):
    assert program(TINY, tmp_path).returncode == 0                 # the default --out, runs/<dataset>-<model>-seed0
    folder = Path("runs", "fashion-mnist-mini-alexnet-28-seed0")
    finished = _files(tmp_path / folder)
    line = error_line(program(TINY, tmp_path))                     # the same command again
    assert f"{folder} holds another run (alexnet-28 for 10 classes of fashion-mnist-mini, 1 epochs done)" in line
    assert f"--resume {folder / 'checkpoint.npz'}" in line and "--overwrite" in line
    assert "--epochs must be at least 1" in error_line(program(TINY + ["--epochs", "0"], tmp_path))
    assert _files(tmp_path / folder) == finished                   # checkpoint and metrics untouched
    ckpt, metrics = tmp_path / folder / "checkpoint.npz", tmp_path / folder / "metrics.jsonl"
    assert ckpt.stat().st_mode & 0o777 == metrics.stat().st_mode & 0o777  # not mkstemp's 0600
    result = program(TINY + ["--overwrite", "--seed", "5", "--out", str(folder)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(read_metrics(metrics)) == 1                         # the new run's row only
    assert load_checkpoint(ckpt, arrays=False)["config"]["seed"] == 5


def test_the_command_printed_after_ctrl_c_continues_the_run_as_printed(tmp_path):
    options = TINY[:6] + ["--epochs", "2", "--seed", "3", "--out", "out/fm"] + QUIET
    result = program(options, tmp_path, before=CTRL_C.format(times=1, epoch=2))
    assert result.returncode == 130, result.stderr
    printed = result.stdout.strip().splitlines()[-1]
    assert printed.startswith("continue with: python ") and printed.endswith("--resume out/fm/checkpoint.npz")
    ckpt = tmp_path / "out" / "fm" / "checkpoint.npz"
    interrupted = ckpt.read_bytes()
    for other, named in ((["--lr", "0.5", "--seed", "3", "--batch-size", "64"], ["--lr 0.5", "--batch-size 64"]),
                         (["--dataset", "cifar10"], ["--dataset cifar10"]), (["--out", "out/r1"], ["--out out/r1"])):
        line = error_line(program(["--resume", "out/fm/checkpoint.npz", *other], tmp_path))
        assert all(option in line for option in named) and "--seed" not in line, line
        assert ckpt.read_bytes() == interrupted
    command = shlex.split(printed.removeprefix("continue with: "))
    result = program([], tmp_path, command=[sys.executable, *command[1:]])
    assert result.returncode == 0, result.stderr
    assert "resumed from out/fm/checkpoint.npz: 1 epochs done, 2 batches into epoch 2" in result.stdout
    state = load_checkpoint(ckpt, arrays=False)
    assert (state["epoch"], state["config"]["seed"], state["config"]["batch_size"]) == (2, 3, 16)
    assert [row["epoch"] for row in read_metrics(tmp_path / "out" / "fm" / "metrics.jsonl")] == [1, 2]
    assert not (tmp_path / "runs").exists()                        # nothing went to the default folder


def test_a_second_ctrl_c_stops_at_once_without_a_traceback(tmp_path):
    options = TINY[:6] + ["--epochs", "2", "--out", "run"] + QUIET
    result = program(options, tmp_path, before=CTRL_C.format(times=2, epoch=2))
    assert result.returncode == 130 and "Traceback" not in result.stderr, result.stderr
    assert "stopped by Ctrl-C before a checkpoint was saved" in result.stderr
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz", arrays=False)["epoch"] == 1  # epoch 1's, whole


def test_two_processes_never_train_into_one_folder_and_a_crash_leaves_no_lock(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    with open(folder / outdir.LOCK, "a") as held:                  # as a process training there holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        line = error_line(program(TINY + ["--out", str(folder)], tmp_path))
    assert f"another process is training into {folder} now" in line and not (folder / "metrics.jsonl").exists()
    crash = "import os, sys\nfrom tinyconv.train import outdir\nwith outdir.claimed(sys.argv[1]):\n    os._exit(9)"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    assert subprocess.run([sys.executable, "-c", crash, str(folder)], env=env).returncode == 9
    with outdir.claimed(folder):                                   # the crashed process's lock went with it
        pass


@pytest.mark.parametrize("case", ["a file", "under a file", "a name too long", "read-only", "not permitted"])
def test_an_unusable_out_folder_is_one_line(tmp_path, case):
    (tmp_path / "file").write_text("not a folder")
    if case == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root may write into a read-only folder")
        (tmp_path / "ro").mkdir(mode=0o555)
    if case == "not permitted" and not Path("/sys").is_dir():
        pytest.skip("needs Linux's /sys, where no one may make folders")
    out = {"a file": "file", "under a file": "file/run", "a name too long": "x" * 300, "read-only": "ro/run",
           "not permitted": "/sys/tinyconv-run"}[case]
    line = error_line(program(TINY + ["--out", out], tmp_path))
    assert line.startswith(f"error: cannot write the run into --out {out}: ")
    reason = {"a file": "file is a file, not a folder", "under a file": "file is a file, not a folder",
              "a name too long": "File name too long", "read-only": "Permission denied",
              "not permitted": "not permitted"}[case]
    assert reason in line


def test_a_download_without_network_is_one_line_naming_the_url_and_the_way_out(tmp_path):
    with socket.socket() as s:                                     # a local port where nothing listens
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/cifar-10-python.tar.gz"
    before = f"import tinyconv.data.cifar as cifar\ncifar.URL = {url!r}\n"
    line = error_line(program(["--dataset", "cifar10", "--download", "--data-dir", "cifar", "--no-progress"],
                              tmp_path, before=before))
    assert f"could not download {url}: [Errno 111] Connection refused" in line and "--data-dir" in line
    assert list((tmp_path / "cifar").iterdir()) == []              # no partial file left behind


def test_missing_data_and_corrupt_images_are_advised_in_command_line_options(tmp_path):
    line = error_line(program(["--dataset", "cifar10", "--data-dir", "nothing-here"], tmp_path))
    assert "add --download to fetch" in line and "as --data-dir" in line and "download=True" not in line
    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("val", 4)):
        for name in ("ant", "bee"):
            (tmp_path / "images" / split / name).mkdir(parents=True)
            for i in range(count):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(image).save(tmp_path / "images" / split / name / f"{i}.png")
    (tmp_path / "images" / "train" / "bee" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a whole JPEG")
    options = ["--dataset", "folder", "--data-dir", "images", "--batch-size", "4", "--epochs", "1"] + QUIET
    line = error_line(program(options + ["--out", "a"], tmp_path))
    assert "cannot decode image images/train/bee/broken.jpg" in line
    assert "add --skip-corrupt to leave such files out" in line and "skip_corrupt=True" not in line
    result = program(options + ["--out", "b", "--skip-corrupt"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "warning: skipped 1 corrupt image(s) in images/train, e.g. " \
                                    "images/train/bee/broken.jpg"
    assert "16 training / 8 validation images of folder" in result.stdout


def test_a_learning_rate_of_0_is_refused_in_one_line(tmp_path):
    line = error_line(program(TINY + ["--lr", "0"], tmp_path))
    assert line == "error: --lr must be above 0 (the paper's is 0.01), got 0: at 0 the weights never change"
    with warnings.catch_warnings():
        warnings.simplefilter("error")                             # a library caller's rows of rate 0 draw silently
        plot_curves([{"epoch": 1, "lr": 0.0, "train_loss": 2.3, "val_loss": 2.3, "train_top1": 0.9,
                      "val_top1": 0.9, "val_top5": 0.5}], tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_ctrl_c_while_the_data_loads_stops_without_a_traceback_or_an_empty_folder(tmp_path):
    before = ("import os, signal\nfrom tinyconv.train import run\ndef choose_splits(*args, **kwargs):\n"
              "    os.kill(os.getpid(), signal.SIGINT)\n    while True:\n        pass\n"
              "run.choose_splits = choose_splits\n")
    result = program(TINY + ["--out", "run"], tmp_path, before=before)
    assert result.returncode == 130 and "Traceback" not in result.stderr, result.stderr
    assert "stopped by Ctrl-C" in result.stderr, result.stdout + result.stderr
    assert not (tmp_path / "run").exists(), list((tmp_path / "run").iterdir())   # a run that wrote nothing leaves none

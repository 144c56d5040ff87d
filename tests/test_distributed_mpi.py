"""Data parallelism over real MPI processes: ``mpirun -n 2`` runs this file as a script.

The tests start ``mpirun -n 2 python tests/test_distributed_mpi.py SCENARIO OUT`` with a
timeout; the part under ``if __name__ == "__main__"`` is what each rank runs. The last test runs
the training program, ``mpirun -n 2 python examples/train_alexnet.py``. They are
skipped (with the reason) where OpenMPI or mpi4py are missing; the project's CI set-up
installs both (scripts/install_mpi.sh and ``pip install mpi4py``).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from tinyconv import backend
from tinyconv.data.dataset import ArrayDataset
from tinyconv.data.loader import DataLoader
from tinyconv.functional.loss import softmax_cross_entropy
from tinyconv.models import AlexNet28
from tinyconv.optim import SGD
from tinyconv.tensor import Tensor
from tinyconv.train.checkpoint import load_checkpoint
from tinyconv.train.evaluation import evaluate_checkpoint
from tinyconv.train.metrics import read_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 120  # seconds for one mpirun; a hang fails the test instead of the CI job
SGD_OPTIONS = dict(lr=0.05, momentum=0.9, weight_decay=5e-4)


def make_dataset(size: int) -> ArrayDataset:
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (size, 28, 28, 1), dtype=np.uint8)
    return ArrayDataset(images, rng.integers(0, 10, size), [str(k) for k in range(10)], f"random-{size}")


def make_model(seed: int) -> AlexNet28:
    """A float64 AlexNet28 without dropout, so that one and two processes compute the same function."""
    return AlexNet28(num_classes=10, seed=seed, dropout=0.0, dtype=np.float64)


def loss_of(model, x, y, device="cpu"):
    x = backend.to_device(x.astype(np.float64) / 255.0, device)
    return softmax_cross_entropy(model(Tensor(x)), backend.to_device(y, device))


def single_process(size: int, batch_size: int) -> dict:
    """Reference: one process, the whole batch of every step, plain §5 SGD."""
    model = make_model(seed=1)
    optimizer = SGD(model.parameters(), **SGD_OPTIONS)
    for x, y in DataLoader(make_dataset(size), batch_size, seed=3, num_workers=0):
        optimizer.zero_grad()
        loss_of(model, x, y).backward()
        optimizer.step()
    return model.state_dict()


# ----- the tests (run by pytest) ---------------------------------------------------------------
def mpirun(script: str, *args: str, ranks: int = 2) -> tuple[subprocess.CompletedProcess, float]:
    """``mpirun -n ranks python script args`` with a timeout: (the finished process, seconds)."""
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun not found: install OpenMPI (scripts/install_mpi.sh, or apt-get install openmpi-bin "
                    "libopenmpi-dev)")
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py not installed: pip install mpi4py (needs OpenMPI, see scripts/install_mpi.sh)")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",  # containers run as root
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none")  # containers often forbid cross-process reads
    command = ["mpirun", "-n", str(ranks), sys.executable, script, *args]
    started = time.perf_counter()
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"mpirun {' '.join(args)} did not finish in {TIMEOUT} s (a rank hangs):\n"
                             f"{exc.stdout}\n{exc.stderr}") from exc
    return result, time.perf_counter() - started


def test_two_ranks_take_the_same_steps_as_one_process_with_the_combined_batch(tmp_path):
    """Size 5, batches of 2 per rank: step 1 shards (0,2)+(1,3), step 2 (4)+nothing on rank 1."""
    initial = {name: p.data.copy() for name, p in make_model(seed=1).named_parameters()}
    for size in (8, 7, 5):  # equal shards; unequal last batches; a rank with no batch in the last step
        result, _ = mpirun(__file__, "step", str(tmp_path), str(size))
        assert result.returncode == 0, result.stdout + result.stderr
        ranks = [dict(np.load(tmp_path / f"rank{r}-{size}.npz")) for r in range(2)]
        expected = single_process(size, batch_size=4)
        for name, start in initial.items():  # the weights (dropout call counters differ, and do not matter)
            assert np.abs(expected[name] - start).max() > 0, f"{name} did not train"
            np.testing.assert_array_equal(ranks[1][name], ranks[0][name], err_msg=f"{name}: ranks differ")
            np.testing.assert_allclose(ranks[0][name], expected[name], rtol=1e-10, atol=1e-13,
                                       err_msg=f"{name}: 2 ranks != 1 process (size {size})")


GPU = pytest.mark.skipif(not backend.cupy_available(), reason="needs CuPy and a CUDA GPU")


@pytest.mark.gpu
@GPU
def test_two_ranks_with_gpu_arrays_staged_through_the_host_match_one_process(tmp_path):
    """MPI with the models on cuda:0 (both ranks share the one GPU there is): gradients go through host memory."""
    result, _ = mpirun(__file__, "step", str(tmp_path), "7", "cuda:0")
    assert result.returncode == 0, result.stdout + result.stderr
    expected = single_process(7, batch_size=4)
    for r in range(2):
        ranks = dict(np.load(tmp_path / f"rank{r}-7.npz"))
        for name, value in expected.items():
            np.testing.assert_allclose(ranks[name], value, rtol=1e-10, atol=1e-13, err_msg=f"rank {r}: {name}")


@pytest.mark.gpu
@GPU
def test_nccl_sums_and_broadcasts_gpu_arrays_with_one_rank_per_gpu(tmp_path):
    ranks = backend.gpu_count()
    result, _ = mpirun(__file__, "nccl", str(tmp_path), ranks=ranks)
    assert result.returncode == 0, result.stdout + result.stderr
    for r in range(ranks):
        assert (tmp_path / f"nccl-rank{r}-passed").exists(), result.stdout + result.stderr


def test_a_rank_that_raises_stops_the_others_with_a_clear_error(tmp_path):
    result, seconds = mpirun(__file__, "raise", str(tmp_path))
    assert result.returncode != 0
    assert "rank 1 of 2: uncaught RuntimeError: rank 1 fails on purpose; aborting all ranks" in result.stderr
    assert not (tmp_path / "rank0-passed").exists(), "rank 0 went on past the step that rank 1 never reached"
    assert seconds < TIMEOUT


def test_a_rank_that_exits_with_an_error_status_stops_the_others(tmp_path):
    """Without finish(), sys.exit(3) on rank 1 leaves rank 0 waiting forever (MPI_Finalize waits too)."""
    result, seconds = mpirun(__file__, "exit", str(tmp_path))
    assert result.returncode == 3
    assert "rank 1 of 2: exit status 3; aborting all ranks" in result.stderr
    assert not (tmp_path / "rank0-passed").exists()
    assert seconds < TIMEOUT


def test_a_rank_that_is_killed_stops_the_others(tmp_path):
    result, seconds = mpirun(__file__, "kill", str(tmp_path))
    assert result.returncode != 0
    assert "signal 9" in result.stdout + result.stderr, result.stdout + result.stderr
    assert not (tmp_path / "rank0-passed").exists()
    assert seconds < TIMEOUT


def test_the_training_program_trains_data_parallel_and_only_rank_0_speaks_and_writes(tmp_path):
    program = os.path.join(ROOT, "examples", "train_alexnet.py")
    options = ["--train-images", "255", "--val-images", "64", "--epochs", "1", "--workers", "0", "--no-progress",
               "--no-figures", "--out", str(tmp_path)]
    result, _ = mpirun(program, *options, "--batch-size", "32")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "254 training / 64 validation images" in result.stdout  # cut to a multiple of 2: equal shards
    assert "7 batches of 32 per epoch" in result.stdout             # 127 images a rank, 16 a step
    assert result.stdout.count("data parallel over 2 MPI ranks, 16 images each per step") == 1
    assert result.stdout.count("epoch 1: train loss") == 1
    budget = next(line for line in result.stdout.splitlines() if line.startswith("threads: BLAS"))
    blas = int(budget.split()[2].rstrip(","))         # each rank: its core, or its share of an unbound machine
    assert f"op pool {blas}, loader 0 workers" in budget and blas <= max(1, os.cpu_count() // 2)
    assert "2 ranks on this machine" in budget or "2 MPI ranks on this machine" in budget
    assert [row["epoch"] for row in read_metrics(tmp_path / "metrics.jsonl")] == [1]
    assert load_checkpoint(tmp_path / "checkpoint.npz")["epoch"] == 1
    # one process evaluates it as the two ranks did: the mean image of the same 254 images (§2)
    centre = evaluate_checkpoint(tmp_path / "checkpoint.npz", backend="numpy", workers=0, show=False,
                                 say=lambda line: None)["centre"]
    assert centre["loss"] == pytest.approx(read_metrics(tmp_path / "metrics.jsonl")[0]["val_loss"], abs=1e-6)

    result, seconds = mpirun(program, *options, "--batch-size", "33")
    assert result.returncode == 2 and seconds < TIMEOUT
    assert "split over 2 ranks and must be divisible by 2: use 32 or 34" in result.stderr


def test_a_holdout_run_on_two_ranks_validates_and_tests_the_images_one_process_would(tmp_path):
    """``--holdout`` under mpirun: the held-out images and the test set are sharded, their sums gathered.

    The 256 training images lose 41 to the held-out set and one more to the cut to equal shards.
    The two ranks' epoch report and test.json must equal what one process measures on the same
    images (41 and 63: one rank's shard is the larger) with the same mean image (§2).
    """
    program = os.path.join(ROOT, "examples", "train_alexnet.py")
    result, _ = mpirun(program, "--train-images", "256", "--val-images", "63", "--holdout", "41", "--epochs", "1",
                       "--batch-size", "32", "--workers", "0", "--no-progress", "--no-figures", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "214 training / 41 validation images" in result.stdout  # 256 - 41 = 215, cut to 214
    assert result.stdout.count("test, 63 images (centre-crop): top-1 error") == 1
    test = json.loads((tmp_path / "test.json").read_text())
    assert (test["epoch"], test["images"]) == (1, 63)

    options = dict(backend="numpy", workers=0, show=False, say=lambda line: None)
    held = evaluate_checkpoint(tmp_path / "checkpoint.npz", split="holdout", **options)["centre"]
    assert held["loss"] == pytest.approx(read_metrics(tmp_path / "metrics.jsonl")[0]["val_loss"], abs=1e-6)
    tested = evaluate_checkpoint(tmp_path / "checkpoint.npz", split="val", **options)["centre"]
    for key in ("loss", "top1", "top5"):
        assert tested[key] == pytest.approx(test[key], abs=1e-6), key


# ----- what each rank runs under mpirun ----------------------------------------------------------
def rank_main(scenario: str, out: str, *args: str) -> None:
    from tinyconv import distributed

    if scenario == "nccl":
        nccl_rank_main(out)
        return
    comm = distributed.init("mpi")
    device = args[1] if len(args) > 1 else "cpu"
    model = make_model(seed=comm.rank + 1).to(device)  # different weights on purpose: the broadcast must fix them
    comm.broadcast_parameters(model)
    optimizer = distributed.GradientAveraging(SGD(model.parameters(), **SGD_OPTIONS), comm)
    if scenario == "step":
        assert comm.allgather(comm.local_rank) == [0, 1], "both ranks run on this machine"
        size = int(args[0])
        loader = DataLoader(make_dataset(size), 2, seed=3, num_workers=0, rank=comm.rank, world_size=comm.world_size)
        batches = list(loader)
        steps = max(comm.allgather(len(batches)))
        for step in range(steps):
            optimizer.zero_grad()
            if step < len(batches):
                x, y = batches[step]
                loss_of(model, x, y, device).backward()
            optimizer.step(count=len(y) if step < len(batches) else 0)
        np.savez(os.path.join(out, f"rank{comm.rank}-{size}.npz"), **model.state_dict())
        return
    if comm.rank == 1:  # fail before the first gradient exchange; rank 0 is waiting in it
        if scenario == "raise":
            raise RuntimeError("rank 1 fails on purpose")
        if scenario == "exit":
            sys.exit(comm.finish(3))
        os.kill(os.getpid(), 9)
    x, y = next(iter(DataLoader(make_dataset(4), 2, num_workers=0, rank=0, world_size=2)))
    loss_of(model, x, y).backward()
    optimizer.step(count=len(y))
    open(os.path.join(out, "rank0-passed"), "w").close()


def nccl_rank_main(out: str) -> None:
    """Each rank sums (rank + 1) * [0, 1, ...] over NCCL and receives rank 0's array by broadcast."""
    from tinyconv import distributed

    comm = distributed.init("nccl")
    xp, n = comm.device.xp, comm.world_size
    with comm.device.context():
        for dtype in (np.float32, np.float64):
            a = xp.arange(1000, dtype=dtype) * (comm.rank + 1)
            comm.allreduce_sum_array_(a)
            np.testing.assert_array_equal(backend.to_numpy(a), np.arange(1000, dtype=dtype) * (n * (n + 1) // 2))
            b = xp.full(10, comm.rank + 5, dtype=dtype)
            comm.broadcast_array_(b, root=0)
            np.testing.assert_array_equal(backend.to_numpy(b), np.full(10, 5, dtype=dtype))
    open(os.path.join(out, f"nccl-rank{comm.rank}-passed"), "w").close()


if __name__ == "__main__":
    rank_main(*sys.argv[1:])

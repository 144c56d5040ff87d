"""tinyconv.distributed in one process: the packing and averaging logic over threads as ranks,
the single-process fallback, choosing a back end, the optimizer wrapper and dropout seeds.

The same logic over real MPI processes is tested in test_distributed_mpi.py.
"""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from tinyconv import backend, distributed
from tinyconv.data.dataset import ArrayDataset
from tinyconv.data.loader import DataLoader
from tinyconv.distributed import Communicator, GradientAveraging, LocalCommunicator
from tinyconv.models import AlexNet28
from tinyconv.nn import Dropout, Linear, Sequential
from tinyconv.optim import SGD
from tinyconv.tensor import Tensor
from tinyconv.train.loop import evaluate


class ThreadCommunicator(Communicator):
    """Ranks as threads of this process, exchanging host arrays through shared slots."""

    def __init__(self, rank: int, slots: list, barrier: threading.Barrier):
        self.rank, self.world_size, self.slots, self.sync = rank, len(slots), slots, barrier

    def _gather(self, value) -> list:
        self.slots[self.rank] = value
        self.sync.wait()
        values = list(self.slots)
        self.sync.wait()
        return values

    def allreduce_sum_(self, host):
        host[...] = sum(self._gather(host.copy()))

    def broadcast_(self, host, root=0):
        host[...] = self._gather(host.copy())[root]

    def allgather(self, value):
        return self._gather(value)


def on_ranks(work, world_size=2):
    """Run ``work(comm)`` on ``world_size`` thread ranks; their results in rank order (errors re-raised)."""
    slots, barrier = [None] * world_size, threading.Barrier(world_size, timeout=30)
    results, errors = [None] * world_size, []

    def run(rank):
        try:
            results[rank] = work(ThreadCommunicator(rank, slots, barrier))
        except Exception as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(r,)) for r in range(world_size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)] or errors
    if errors:
        raise errors[0]
    return results


def linear(device, seed, dtype=np.float64):
    return Linear(3, 2, rng=np.random.default_rng(seed), dtype=dtype).to(device)


def set_grads(layer, weight_grad, bias_grad):
    xp = layer.weight.xp
    layer.weight.grad = None if weight_grad is None else xp.asarray(weight_grad)
    layer.bias.grad = None if bias_grad is None else xp.asarray(bias_grad)


def test_average_is_weighted_by_the_examples_behind_each_gradient(device):
    g = [np.random.default_rng(r).standard_normal((2, 3)) for r in range(3)]
    b = [np.random.default_rng(10 + r).standard_normal(2) for r in range(3)]
    counts = [3, 1, 0]  # rank 2 had no batch left this step

    def work(comm):
        layer = linear(device, seed=0)
        set_grads(layer, g[comm.rank], b[comm.rank] if comm.rank == 1 else None)
        comm.average_gradients(layer.parameters(), counts[comm.rank])
        first = backend.to_numpy(layer.weight.grad).copy()
        comm.average_gradients(layer.parameters(), 2)  # the gradients are now views of the reused buffer
        np.testing.assert_allclose(backend.to_numpy(layer.weight.grad), first, rtol=1e-12)
        grads = layer.weight.grad, layer.bias.grad
        return backend.to_numpy(grads[0]), backend.to_numpy(grads[1]), backend.device_of(grads[0])

    for weight_grad, bias_grad, dev in on_ranks(work, world_size=3):
        np.testing.assert_allclose(weight_grad, (3 * g[0] + 1 * g[1]) / 4, rtol=1e-12)
        np.testing.assert_allclose(bias_grad, b[1] / 4, rtol=1e-12)  # missing on ranks 0, 2: zero there
        assert str(dev) == device


def test_average_without_counts_weighs_ranks_equally_and_keeps_none_when_no_rank_has_a_grad(device):
    g = [np.full((2, 3), 1.0), np.full((2, 3), 4.0)]

    def work(comm):
        layer = linear(device, seed=0, dtype=np.float32)
        set_grads(layer, g[comm.rank], None)
        comm.average_gradients(layer.parameters())
        return backend.to_numpy(layer.weight.grad), layer.bias.grad

    for weight_grad, bias_grad in on_ranks(work):
        np.testing.assert_array_equal(weight_grad, np.full((2, 3), 2.5, np.float32))
        assert weight_grad.dtype == np.float32 and bias_grad is None


def test_broadcast_gives_every_rank_rank_0s_weights_and_buffers(device):
    reference = AlexNet28(seed=1).state_dict()

    def work(comm):
        model = AlexNet28(seed=1 + comm.rank).to(device)
        model.drop6.calls += 5 * comm.rank
        comm.broadcast_parameters(model)
        return model.state_dict()

    for state in on_ranks(work):
        for name, value in reference.items():
            np.testing.assert_array_equal(state[name], value, err_msg=name)
    assert not np.array_equal(AlexNet28(seed=2).state_dict()["conv1.weight"], reference["conv1.weight"])


def test_broadcast_names_the_rank_whose_model_differs():
    def work(comm):
        model = Sequential(Linear(3, 2 + comm.rank))
        comm.broadcast_parameters(model)

    with pytest.raises(ValueError, match=r"rank 1 differs from rank 0 in the model \(Sequential\): "
                                         r"\('0.weight', \(2, 3\), 'float32'\) != \('0.weight', \(3, 3\)"):
        on_ranks(work)


def test_local_communicator_is_one_rank_that_changes_nothing():
    comm = LocalCommunicator()
    layer = linear("cpu", seed=0)
    grad = np.ones((2, 3))
    layer.weight.grad = grad
    before = layer.weight.data.copy()
    comm.broadcast_parameters(layer)
    comm.average_gradients(layer.parameters(), count=7)
    comm.barrier()
    assert (comm.rank, comm.world_size, comm.is_root) == (0, 1, True)
    assert layer.weight.grad is grad and layer.bias.grad is None
    np.testing.assert_array_equal(layer.weight.data, before)
    np.testing.assert_array_equal(comm.allreduce_sum([1.5, 2]), [1.5, 2.0])
    assert comm.finish(0) == 0 and comm.finish(3) == 3  # one process: nobody to wait for it
    with pytest.raises(ValueError, match="no parameters"):
        comm.average_gradients([])


def test_bad_count_is_refused():
    def work(comm):
        layer = linear("cpu", seed=0)
        comm.average_gradients(layer.parameters(), count=-1)

    with pytest.raises(ValueError, match="count is the number of examples"):
        on_ranks(work)


def test_init_picks_mpi_only_under_a_launcher(monkeypatch):
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(distributed.init(), LocalCommunicator)
    assert isinstance(distributed.init("local"), LocalCommunicator)
    with pytest.raises(ValueError, match="kind must be one of"):
        distributed.init("gloo")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if mpi4py were not installed
    with pytest.raises(RuntimeError,
                       match=r"needs mpi4py.*apt-get install openmpi-bin libopenmpi-dev.*pip install mpi4py"):
        distributed.init("mpi")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    with pytest.raises(RuntimeError, match=r"started by an MPI launcher \(4 ranks\) but mpi4py is missing"):
        distributed.init()


def test_sharded_validation_gives_the_figures_of_the_whole_set():
    """Each rank evaluates its shard of 11 images; the sums over ranks make the single-process figures."""
    rng = np.random.default_rng(4)
    val = ArrayDataset(rng.integers(0, 256, (11, 28, 28, 1), dtype=np.uint8), rng.integers(0, 10, 11),
                       [str(k) for k in range(10)], "random-11")
    whole = evaluate(AlexNet28(num_classes=10, seed=2), DataLoader(val, 4, shuffle=False, num_workers=0), show=False)

    def shard(comm):                                                    # each rank its own copy of the model
        loader = DataLoader(val, 4, shuffle=False, num_workers=0, rank=comm.rank, world_size=comm.world_size)
        return len(loader.indices()), evaluate(AlexNet28(num_classes=10, seed=2), loader, show=False, communicator=comm)
    for world_size in (2, 3):
        results = on_ranks(shard, world_size)
        assert sum(count for count, _ in results) == 11
        for _, figures in results:
            assert figures.keys() == whole.keys()
            for key in whole:
                assert figures[key] == pytest.approx(whole[key], rel=1e-6), key


@pytest.mark.skipif(backend.gpu_count() > 0, reason="checks the message given where no GPU is usable")
def test_nccl_without_a_usable_gpu_says_what_is_missing():
    pytest.importorskip("mpi4py")
    with pytest.raises(RuntimeError, match=r"CuPy is not installed|cannot load the NCCL library|needs a CUDA GPU"):
        distributed.init("nccl")


def test_gradient_averaging_is_the_wrapped_optimizer_after_averaging():
    layers = [linear("cpu", seed=0) for _ in range(2)]
    plain = SGD(layers[0].parameters(), lr=0.1)
    wrapped = GradientAveraging(SGD(layers[1].parameters(), lr=0.1), LocalCommunicator())
    for optimizer, layer in zip((plain, wrapped), layers):
        optimizer.zero_grad()
        (layer(Tensor(np.ones((4, 3)))) ** 2).sum().backward()
        optimizer.step(count=4) if optimizer is wrapped else optimizer.step()
    np.testing.assert_array_equal(layers[1].weight.data, layers[0].weight.data)
    assert wrapped.param_groups is wrapped.optimizer.param_groups
    assert wrapped.state_dict().keys() == plain.state_dict().keys()
    wrapped.load_state_dict(plain.state_dict())
    wrapped.zero_grad()
    assert layers[1].weight.grad is None
    with pytest.raises(TypeError, match="wraps an optimizer"):
        GradientAveraging(layers[0], LocalCommunicator())


def test_each_rank_gets_its_own_dropout_masks():
    def masks(rank):
        model = AlexNet28(seed=3)
        distributed.decorrelate_dropout(model, rank)
        seeds = [m.seed for m in model.modules() if isinstance(m, Dropout)]
        return seeds, model.drop6(Tensor(np.ones((4, 16)))).data

    (seeds0, mask0), (seeds1, mask1), (again, mask1_again) = masks(0), masks(1), masks(1)
    assert seeds0 == [m.seed for m in AlexNet28(seed=3).modules() if isinstance(m, Dropout)]
    assert len(set(seeds0 + seeds1)) == 4 and seeds1 == again
    assert not np.array_equal(mask0, mask1)
    np.testing.assert_array_equal(mask1, mask1_again)
    with pytest.raises(ValueError, match="rank must be an int >= 0"):
        distributed.decorrelate_dropout(AlexNet28(), -1)


def test_the_batch_of_a_step_is_split_evenly_over_the_ranks():
    assert distributed.split_batch(128, 4) == 32 and distributed.split_batch(128, 1) == 128
    with pytest.raises(ValueError, match="split over 3 ranks and must be divisible by 3: use 126 or 129"):
        distributed.split_batch(128, 3)


def test_each_rank_takes_its_own_gpu_and_the_cpu_stays_the_cpu(monkeypatch):
    comm = LocalCommunicator()
    assert distributed.rank_devices(["cuda:1"], comm) == ["cuda:1"]  # one process: as chosen
    comm.world_size, comm.local_rank = 4, 3
    monkeypatch.setattr(backend, "gpu_count", lambda: 2)
    assert distributed.rank_devices(["cuda:0"], comm) == ["cuda:1"]
    assert distributed.rank_devices(["cpu"], comm) == ["cpu"]
    with pytest.raises(ValueError, match="leave out --devices"):
        distributed.rank_devices(["cuda:0", "cuda:1"], comm)

"""Data parallelism on top of a communicator: choosing one, the averaged §5 update, dropout masks.

The §5 update ``v <- 0.9 v - 0.0005 lr w - lr grad; w <- w + v`` is the same on every rank
when ``grad`` is: :class:`GradientAveraging` averages the gradients over the ranks and then
runs the wrapped optimizer, so the weights (and velocities) of all ranks stay equal without
ever being sent again after the first broadcast.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..nn import Dropout
from .communicator import Communicator, LocalCommunicator
from .mpi import INSTALL, MPICommunicator, import_mpi, launched_world_size
from .nccl import NCCLCommunicator

KINDS = ("auto", "mpi", "nccl", "local")


def init(kind: str = "auto") -> Communicator:
    """The communicator of this process.

    ``"auto"``: MPI when the process was started by ``mpirun`` (or another MPI launcher), one
    process otherwise, without importing mpi4py. ``"mpi"``: MPI, required. ``"nccl"``: MPI to
    start the ranks, NCCL to sum GPU arrays (one GPU per rank; :mod:`.nccl`). ``"local"``: one
    process. Under ``mpirun`` without mpi4py, ``"auto"`` raises and says what to install rather
    than train N independent copies that each believe they are alone.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "local":
        return LocalCommunicator()
    size = launched_world_size()
    if kind == "auto" and size is None:
        return LocalCommunicator()
    try:
        import_mpi()
    except RuntimeError as exc:
        if size is None:
            raise
        raise RuntimeError(f"this process was started by an MPI launcher ({size} ranks) but mpi4py is "
                           f"missing or broken; {INSTALL}") from exc
    return NCCLCommunicator() if kind == "nccl" else MPICommunicator()


class GradientAveraging:
    """Wrap a §5 optimizer so that ``step()`` first averages the gradients over all ranks.

    ``step(count)``: ``count`` is the number of examples in this rank's batch, for an exact
    combined-batch gradient when the ranks' batches differ in size (see
    :meth:`Communicator.average_gradients`); without it the ranks weigh the same. Everything
    else (``param_groups`` that the schedule changes, ``zero_grad``, ``state_dict``) is the
    wrapped optimizer's, so checkpoints are the same as for a single process.
    """

    def __init__(self, optimizer, communicator: Communicator):
        if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "step"):
            raise TypeError(f"GradientAveraging wraps an optimizer such as tinyconv.optim.SGD, got "
                            f"{type(optimizer).__name__}")
        self.optimizer, self.communicator = optimizer, communicator

    @property
    def param_groups(self) -> list:
        return self.optimizer.param_groups

    def step(self, count=None) -> None:
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.communicator.average_gradients(params, count)
        self.optimizer.step()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)


def decorrelate_dropout(model, rank: int) -> None:
    """Give each rank its own dropout masks (§4.2); rank 0 keeps the model's own seeds.

    A :class:`~tinyconv.nn.Dropout` draws its mask from ``(seed, calls)``; every rank has
    the same seeds and the same call count, so without this example i of every rank's
    shard would be dropped by the same mask, unlike in one process with the combined batch
    where each example gets its own. The new seed is a hash of ``(seed, rank)``.
    """
    if not isinstance(rank, (int, np.integer)) or rank < 0:
        raise ValueError(f"rank must be an int >= 0, got {rank!r}")
    if rank == 0:
        return
    for module in model.modules():
        if isinstance(module, Dropout):
            module.seed = int(np.random.SeedSequence([module.seed, int(rank)]).generate_state(1, np.uint64)[0])


def split_batch(batch_size: int, world_size: int) -> int:
    """Each rank's share of a batch of ``batch_size`` examples over ``world_size`` ranks.

    The batch is the batch of one step over all ranks (§5: 128), so a run on N ranks takes the
    same steps as one process; it must divide evenly.
    """
    if batch_size % world_size:
        lower = batch_size - batch_size % world_size
        raise ValueError(f"the batch of {batch_size} examples is split over {world_size} ranks and must be "
                         f"divisible by {world_size}: use {lower or world_size} or {lower + world_size}")
    return batch_size // world_size


def rank_devices(names: list, communicator: Communicator) -> list:
    """The device(s) this rank trains on: under MPI each rank takes its own GPU of its node.

    ``names`` is the one-process choice (``["cpu"]``, ``["cuda:0"]``, or several GPUs for the device
    split of §3.2). With several ranks, a single GPU becomes ``cuda:(local rank % GPUs on the node)``;
    the device split is not combined with ranks here (docs/scaling.md describes that hybrid).
    """
    if communicator.world_size == 1 or list(names) == ["cpu"]:
        return list(names)
    if len(names) > 1:
        raise ValueError(f"under mpirun each rank trains on one GPU (chosen by its rank on the node); the "
                         f"device split over {', '.join(names)} in one process cannot be combined with it: "
                         "leave out --devices")
    return [f"cuda:{communicator.local_rank % max(backend.gpu_count(), 1)}"]

"""Data-parallel training over processes: MPI through mpi4py, or one process without it.

Each of N ranks (processes, one per GPU or per CPU socket) holds a whole copy of the model
and trains on its own shard of every batch; before each §5 update the gradients are
averaged over the ranks, so every rank takes the same step and the copies stay equal. One
step on N ranks with batches of B is one step on one process with a batch of N * B. ::

    from tinyconv import distributed
    comm = distributed.init()            # MPI under mpirun, else a single process
    model = ...                          # any seed: rank 0's weights are broadcast
    comm.broadcast_parameters(model)
    distributed.decorrelate_dropout(model, comm.rank)
    loader = DataLoader(train_set, distributed.split_batch(128, comm.world_size),
                        rank=comm.rank, world_size=comm.world_size)   # 128 per step over all ranks
    optimizer = distributed.GradientAveraging(SGD(model.parameters(), lr=0.01), comm)
    ...                                  # the usual loop: zero_grad, backward, optimizer.step()
    sys.exit(comm.finish(status))        # a rank that fails stops all of them

With GPUs, ``distributed.init("nccl")`` sums the gradients GPU to GPU through NCCL instead of
staging them through the host. Start it with ``mpirun -n 2 python train.py`` (as root add
``--allow-run-as-root``; with more ranks than cores add ``--oversubscribe``). docs/scaling.md
estimates what this costs at 8, 64 and 512 GPUs and describes the "one weird trick" hybrid with the device split (§3.2).
"""
from .communicator import Communicator, LocalCommunicator  # noqa: F401
from .data_parallel import GradientAveraging, decorrelate_dropout, init, rank_devices, split_batch  # noqa: F401
from .mpi import INSTALL, MPICommunicator, launched_local_size, launched_world_size  # noqa: F401
from .nccl import NCCLCommunicator  # noqa: F401

"""The NCCL back end: GPU gradients summed from GPU to GPU, with MPI to start the ranks.

Over MPI a GPU array is staged through the host: for AlexNet that is 244 MB copied from each
GPU to host memory, reduced there, and copied back, every step (docs/scaling.md). NCCL,
NVIDIA's library of collectives (reached through CuPy's bindings), sums the arrays where they
are, over NVLink or PCIe inside a machine and InfiniBand or RoCE between machines, on a CUDA
stream, so the host neither copies nor waits.

NCCL does not start processes or find its peers, so MPI still does both: rank 0 draws NCCL's
unique id and MPI broadcasts it, then every rank joins the NCCL communicator on its own GPU
(``cuda:(rank on the node % GPUs on the node)``, as the training program picks it). Everything
that is not a GPU array (the weights' broadcast from host copies, loss sums, the layout check,
aborting) stays on MPI. One rank per GPU: NCCL refuses two ranks on one GPU.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .mpi import MPICommunicator


class NCCLCommunicator(MPICommunicator):
    """An :class:`~tinyconv.distributed.mpi.MPICommunicator` whose GPU arrays go through NCCL.

    ``device``: this rank's GPU (default ``cuda:(local rank % GPUs)``); GPU arrays given to the
    collectives must live there.
    """

    def __init__(self, comm=None, device=None):
        super().__init__(comm)
        self.nccl = backend.nccl()
        if backend.gpu_count() == 0:
            raise RuntimeError("the NCCL back end needs a CUDA GPU for each rank and CuPy sees none; "
                               "use --comm mpi on machines without GPUs")
        self.device = backend.device(device or f"cuda:{self.local_rank % backend.gpu_count()}")
        unique_id = self.comm.bcast(self.nccl.get_unique_id() if self.rank == 0 else None, root=0)
        with self.device.context():
            self.nccl_comm = self.nccl.NcclCommunicator(self.world_size, unique_id, self.rank)
        self._types = {np.dtype(np.float32): self.nccl.NCCL_FLOAT32, np.dtype(np.float64): self.nccl.NCCL_FLOAT64}

    def allreduce_sum_array_(self, array, host=None) -> None:
        if not backend.is_cupy_array(array):
            return super().allreduce_sum_array_(array, host)
        nccl_type = self._nccl_type(array)
        with self.device.context():                                     # in place: send and receive buffers are one
            self.nccl_comm.allReduce(array.data.ptr, array.data.ptr, array.size, nccl_type, self.nccl.NCCL_SUM,
                                     backend.current_stream_pointer())

    def broadcast_array_(self, array, root: int = 0, host=None) -> None:
        if not backend.is_cupy_array(array):
            return super().broadcast_array_(array, root, host)
        if not 0 <= root < self.world_size:
            raise ValueError(f"root must be a rank in [0, {self.world_size}), got {root}")
        nccl_type = self._nccl_type(array)
        with self.device.context():
            self.nccl_comm.bcast(array.data.ptr, array.size, nccl_type, root, backend.current_stream_pointer())

    def _nccl_type(self, array) -> int:
        """NCCL's name for the dtype of ``array``, after checking it is on this rank's GPU and contiguous."""
        if backend.device_of(array) != self.device:
            raise ValueError(f"rank {self.rank} reduces over NCCL on {self.device}, but got an array on "
                             f"{backend.device_of(array)}; move the model to {self.device}")
        if not array.flags.c_contiguous or array.dtype not in self._types:
            raise ValueError(f"NCCL collectives here take contiguous float32 or float64 arrays, got {array.dtype} "
                             f"with strides {array.strides}")
        return self._types[array.dtype]

    def __repr__(self) -> str:
        return f"NCCLCommunicator(rank {self.rank} of {self.world_size}, {self.device})"

"""The MPI back end (mpi4py): one rank per process, started by ``mpirun -n N python ...``.

tinyconv does not implement its own transport: MPI has solved starting N processes on
many machines and summing arrays between them (ring, tree and recursive-doubling
all-reduce chosen by message size). mpi4py is optional; see :data:`INSTALL`.

A rank that fails must not leave the others waiting forever inside a collective for a
message that will never come. So an uncaught exception on any rank prints its traceback
and calls ``MPI_Abort``, which makes ``mpirun`` stop every rank and exit with an error; a
rank killed outright (out of memory, a signal) is noticed by ``mpirun`` itself, which then
stops the others the same way.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from .communicator import Communicator

INSTALL = ("install an MPI library and mpi4py: on Debian/Ubuntu `apt-get install openmpi-bin libopenmpi-dev` "
           "(or run scripts/install_mpi.sh), then `pip install mpi4py` (or pip install -e \".[mpi]\")")

# Variables set by the common launchers: OpenMPI's mpirun, MPICH/Intel MPI (Hydra), MVAPICH2.
_WORLD_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")
_LOCAL_SIZE_VARIABLES = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_LOCAL_SIZE")


def launched_world_size() -> int | None:
    """The number of ranks the launcher started, from its environment; None outside ``mpirun``."""
    return _launcher_count(_WORLD_SIZE_VARIABLES)


def launched_local_size() -> int | None:
    """The number of those ranks on this machine, from the launcher's environment; None outside ``mpirun``.

    Known before MPI starts (``MPICommunicator.local_rank`` asks MPI), so that each rank can size its
    threads to its share of the cores (:mod:`tinyconv.threads`).
    """
    return _launcher_count(_LOCAL_SIZE_VARIABLES)


def _launcher_count(names) -> int | None:
    for name in names:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return None


def import_mpi():
    """``mpi4py.MPI``, or a RuntimeError that says what to install (importing it starts MPI)."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError(f"data-parallel training needs mpi4py, which did not import ({exc}); {INSTALL}") from exc
    return MPI


class MPICommunicator(Communicator):
    """A :class:`~tinyconv.distributed.communicator.Communicator` over an mpi4py communicator.

    ``comm`` defaults to ``MPI.COMM_WORLD``. Arrays reach MPI as NumPy arrays: GPU arrays
    are staged through the host by the base class (MPI libraries built with CUDA support
    could take them directly; staging works with every MPI).
    """

    def __init__(self, comm=None):
        self.MPI = import_mpi()
        self.comm = comm if comm is not None else self.MPI.COMM_WORLD
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()
        node = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)  # the ranks sharing this machine's memory
        self.local_rank = node.Get_rank()
        node.Free()
        if self.world_size > 1:
            _abort_on_uncaught_exception(self)

    def allreduce_sum_(self, host: np.ndarray) -> None:
        self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM)

    def broadcast_(self, host: np.ndarray, root: int = 0) -> None:
        if not 0 <= root < self.world_size:
            raise ValueError(f"root must be a rank in [0, {self.world_size}), got {root}")
        self.comm.Bcast(host, root=root)

    def allgather(self, value) -> list:
        return self.comm.allgather(value)

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int = 1, message: str = "") -> None:
        """Print ``message`` and stop every rank with exit status ``code`` (MPI_Abort)."""
        sys.stdout.flush()
        sys.stderr.write(f"tinyconv.distributed: rank {self.rank} of {self.world_size}: "
                         f"{message or 'stopping'}; aborting all ranks\n")
        sys.stderr.flush()
        self.comm.Abort(code)

    def __repr__(self) -> str:
        return f"MPICommunicator(rank {self.rank} of {self.world_size})"


def _abort_on_uncaught_exception(communicator: MPICommunicator) -> None:
    """Make an uncaught exception on this rank stop all ranks instead of hanging them."""
    previous = sys.excepthook
    if getattr(previous, "tinyconv_aborts", False):
        return

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        communicator.abort(1, f"uncaught {kind.__name__}: {value}")

    hook.tinyconv_aborts = True
    sys.excepthook = hook

"""What data-parallel training needs from the processes it runs in, and the one-process case.

A :class:`Communicator` knows its ``rank`` (0 .. ``world_size`` - 1) and offers the two
collective operations data parallelism is made of, built on two primitives a back end
supplies (an in-place sum over all ranks, and an in-place broadcast from one rank):

* :meth:`Communicator.broadcast_parameters`: every rank starts from rank 0's weights;
* :meth:`Communicator.average_gradients`: before each §5 update, every rank replaces its
  gradients by the average over all ranks, so all ranks take the same step and stay equal.

Arrays travel packed: the gradients (or weights) of one device and dtype are concatenated
into one flat array on their device, copied to the host once (GPU arrays are staged through
the host), reduced in one message, copied back once and split into views. One large message
per step costs one latency instead of one per parameter (16 for AlexNet).

:class:`LocalCommunicator` is the single process: rank 0 of 1, where both primitives do
nothing and the same code trains without MPI.
"""
from __future__ import annotations

import numpy as np

from .. import backend


class Communicator:
    """Base class: subclasses set ``rank`` and ``world_size`` and define the primitives."""

    rank: int = 0
    world_size: int = 1

    # ----- primitives (a back end defines these) ------------------------------------------
    def allreduce_sum_(self, host: np.ndarray) -> None:
        """Replace the NumPy array ``host`` on every rank by its elementwise sum over all ranks."""
        raise NotImplementedError

    def broadcast_(self, host: np.ndarray, root: int = 0) -> None:
        """Overwrite the NumPy array ``host`` on every rank with rank ``root``'s copy."""
        raise NotImplementedError

    def allgather(self, value) -> list:
        """``[value of rank 0, value of rank 1, ...]`` on every rank (small Python objects)."""
        raise NotImplementedError

    def barrier(self) -> None:
        """Return only when every rank has called it."""

    def abort(self, code: int = 1, message: str = "") -> None:
        """Stop every rank now (a rank that fails must not leave the others waiting)."""
        raise SystemExit(code)

    # ----- built on the primitives --------------------------------------------------------
    def finish(self, code: int) -> int:
        """Pass the program's exit status through, stopping every rank when it is not 0.

        A rank that leaves early, even by ``sys.exit(1)``, leaves the others waiting forever in
        their next collective (MPI_Finalize at exit waits for them too), so a failing status
        aborts all ranks. ``sys.exit(comm.finish(main()))``.
        """
        if code and self.world_size > 1:
            self.abort(code, f"exit status {code}")
        return code

    @property
    def is_root(self) -> bool:
        """True on rank 0, the rank that writes checkpoints, metrics and figures."""
        return self.rank == 0

    def allreduce_sum(self, values) -> np.ndarray:
        """The elementwise sum over ranks of a few numbers (float64), e.g. a loss and a count."""
        host = np.array(values, dtype=np.float64)
        self.allreduce_sum_(host)
        return host

    def broadcast_parameters(self, model, root: int = 0) -> None:
        """Copy rank ``root``'s parameters and buffers into every rank's ``model``, in place.

        Called once after the model is built (each rank may have drawn different initial
        weights) so that data-parallel training starts from one set of weights. The ranks'
        models must have the same layout; a clear error names the first difference.
        """
        named = list(model.named_parameters())
        slots = [(name, module, attr) for name, module, attr, _ in model._buffer_slots()]
        layout = [(name, tuple(p.shape), str(p.dtype)) for name, p in named]
        layout += [(name, tuple(np.shape(getattr(m, a))), str(getattr(m, a).dtype)) for name, m, a in slots]
        self._check_same(layout, f"the model ({type(model).__name__})")
        arrays = [p.data for _, p in named] + [getattr(m, a) for _, m, a in slots]
        received = self._exchange(arrays, lambda host: self.broadcast_(host, root))
        for (_, p), array in zip(named, received):
            p.data[...] = array
        for (_, module, attr), array in zip(slots, received[len(named):]):
            setattr(module, attr, array.reshape(np.shape(getattr(module, attr))).copy())

    def average_gradients(self, params, count=None) -> None:
        """Set each parameter's ``grad`` to the average over ranks, weighted by ``count``.

        ``count`` is the number of examples behind this rank's gradient (the gradient of a
        mean loss over ``count`` examples). With counts the result is exactly the gradient
        of the mean loss over the combined batch of all ranks, even when the ranks' batches
        differ in size; a rank that has no batch left takes part with ``count=0``. Without
        counts every rank weighs the same (equal batches). A parameter whose ``grad`` is
        None on some ranks counts as zero there; it stays None only if it is None on all.
        The averaged gradient has the parameter's dtype. The ranks' models must match
        (:meth:`broadcast_parameters` checks that once).
        """
        params = list(params)
        if not params:
            raise ValueError("average_gradients got no parameters: pass model.parameters()")
        if self.world_size == 1:  # one process: its gradient already is the average
            return
        weight = 1.0 if count is None else float(count)
        if not weight >= 0:
            raise ValueError(f"count is the number of examples behind this rank's gradient (>= 0), got {count!r}")
        arrays = []
        for p in params:  # per parameter: grad * weight, then [has a grad, weight] (summed: ranks, total weight)
            has = p.grad is not None
            grad = p.grad.astype(p.dtype, copy=False) if has else p.xp.zeros_like(p.data)
            grad = grad * weight if weight != 1.0 else grad
            arrays += [grad, p.xp.array([has, weight], p.dtype)]
        summed = self._exchange(arrays, self.allreduce_sum_)
        for p, grad, tally in zip(params, summed[0::2], summed[1::2]):
            ranks_with_grad, total = float(tally[0]), tally[1]
            p.grad = grad / total if ranks_with_grad > 0 and float(total) > 0 else None

    # ----- helpers ------------------------------------------------------------------------
    def _check_same(self, description, what: str) -> None:
        """Raise on every rank when the ranks disagree about ``description`` (sizes, shapes)."""
        if self.world_size == 1:
            return
        seen = self.allgather(description)
        for rank, other in enumerate(seen):
            if other != seen[0]:
                first = next((f"{a} != {b}" for a, b in zip(seen[0], other) if a != b),
                             f"{len(seen[0])} entries != {len(other)}")
                raise ValueError(f"rank {rank} differs from rank 0 in {what}: {first}; every rank must "
                                 "build the same model from the same options")

    def _exchange(self, arrays, collective) -> list:
        """Pack ``arrays`` per (device, dtype), run ``collective`` on each host buffer, unpack.

        Returns new arrays on the arrays' own devices, in order and shape (views into one
        buffer per group).
        """
        groups = {}
        for i, array in enumerate(arrays):
            groups.setdefault((str(backend.device_of(array)), str(array.dtype)), []).append(i)
        out = [None] * len(arrays)
        for (dev, _), members in groups.items():
            xp = backend.xp_of(arrays[members[0]])
            with backend.device(dev).context():
                flat = xp.concatenate([arrays[i].ravel() for i in members])
            host = np.ascontiguousarray(backend.to_numpy(flat))  # GPU -> host (a no-op on the CPU)
            collective(host)
            flat = backend.to_device(host, dev)                  # host -> GPU
            offset = 0
            for i in members:
                size = arrays[i].size
                out[i] = flat[offset:offset + size].reshape(arrays[i].shape)
                offset += size
        return out


class LocalCommunicator(Communicator):
    """One process, no MPI: rank 0 of 1. Every collective leaves its arguments as they are."""

    rank, world_size = 0, 1

    def allreduce_sum_(self, host: np.ndarray) -> None:
        pass

    def broadcast_(self, host: np.ndarray, root: int = 0) -> None:
        if root != 0:
            raise ValueError(f"root must be a rank in [0, 1) for a single process, got {root}")

    def allgather(self, value) -> list:
        return [value]

    def __repr__(self) -> str:
        return "LocalCommunicator(rank 0 of 1)"

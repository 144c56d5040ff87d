"""What data-parallel training needs from the processes it runs in, and the one-process case.

A :class:`Communicator` knows its ``rank`` (0 .. ``world_size`` - 1) and offers the two
collective operations data parallelism is made of, built on two primitives a back end
supplies (an in-place sum over all ranks, and an in-place broadcast from one rank):

* :meth:`Communicator.broadcast_parameters`: every rank starts from rank 0's weights;
* :meth:`Communicator.average_gradients`: before each §5 update, every rank replaces its
  gradients by the average over all ranks, so all ranks take the same step and stay equal.

Arrays travel packed: the gradients (or weights) of one device and dtype are concatenated
into one flat array on their device, reduced in one message (GPU arrays are staged through
the host: copied there once and back once, unless the back end reaches GPU memory itself, as
NCCL does) and split into views. One large message
per step costs one latency instead of one per parameter (16 for AlexNet); the flat arrays are
kept from step to step.

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
    local_rank: int = 0  # rank among the processes of this machine (picks the GPU)

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

    def allreduce_sum_array_(self, array, host: np.ndarray | None = None) -> None:
        """Replace ``array`` (NumPy, or CuPy on this rank's GPU; contiguous) by its sum over all ranks.

        A GPU array is staged through ``host`` (a NumPy array of its size and dtype, a new one when
        None): device -> host, :meth:`allreduce_sum_`, host -> device. Back ends that reach GPU
        memory themselves (NCCL) override this.
        """
        self._through_host(array, host, self.allreduce_sum_)

    def broadcast_array_(self, array, root: int = 0, host: np.ndarray | None = None) -> None:
        """Overwrite ``array`` (as in :meth:`allreduce_sum_array_`) on every rank with rank ``root``'s copy."""
        self._through_host(array, host, lambda a: self.broadcast_(a, root))

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
        state = model.state_dict()  # host copies of every parameter and buffer, in a fixed order
        self._check_same([(name, value.shape, str(value.dtype)) for name, value in state.items()],
                         f"the model ({type(model).__name__})")
        received, _ = self._exchange(list(state.values()), lambda flat, host: self.broadcast_array_(flat, root, host))
        model.load_state_dict(dict(zip(state, received)))  # back onto the model's own devices

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
        grads = [p.grad.astype(p.dtype, copy=False) if p.grad is not None else p.xp.zeros_like(p.data)
                 for p in params]
        tally = np.array([weight] + [p.grad is not None for p in params], dtype=np.float64)
        self.allreduce_sum_(tally)  # the total weight, and how many ranks have each gradient (a few bytes)
        total = tally[0]
        views, flats = self._exchange(grads, self.allreduce_sum_array_, scale=weight, reuse=True)
        for flat in flats:
            if total > 0:
                flat /= flat.dtype.type(total)
        for p, grad, ranks in zip(params, views, tally[1:]):
            p.grad = grad if ranks > 0 and total > 0 else None

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

    @staticmethod
    def _through_host(array, host, primitive) -> None:
        """Run ``primitive`` (a host collective) on ``array`` itself, or on a host copy of a GPU array."""
        if isinstance(array, np.ndarray):  # NumPy: MPI reads and writes the array itself
            primitive(array)
            return
        host = np.empty(array.shape, array.dtype) if host is None else host
        array.get(out=host)                # CuPy: device -> host, the collective, host -> device
        primitive(host)
        array.set(host)

    def _exchange(self, arrays, collective, scale: float = 1.0, reuse: bool = False):
        """Pack ``arrays`` per (device, dtype) into one flat array each, multiply it by ``scale``,
        run ``collective(flat, host)`` on it (``host``: a kept host array of its size, to stage a
        GPU array through) and return ``(views, flats)``: the results as views of the flats, in the order and shapes of
        ``arrays``, and the flats. ``reuse`` keeps the flats for the next call with the same sizes
        (every training step): allocating, and touching for the first time, hundreds of MB per
        step would cost more than the copies themselves.
        """
        groups = {}
        for i, array in enumerate(arrays):
            groups.setdefault((str(backend.device_of(array)), array.dtype), []).append(i)
        views, flats = [None] * len(arrays), []
        for (dev, dtype), members in groups.items():
            parts = [arrays[i] for i in members]
            flat, host = self._buffers(dev, dtype, parts, reuse)
            with backend.device(dev).context():
                backend.xp_of(flat).concatenate([a.ravel() for a in parts], out=flat)
                if scale != 1.0:
                    flat *= dtype.type(scale)
                collective(flat, None if host is flat else host)
            offset = 0
            for i, part in zip(members, parts):
                views[i] = flat[offset:offset + part.size].reshape(part.shape)
                offset += part.size
            flats.append(flat)
        return views, flats

    def _buffers(self, dev: str, dtype, parts, reuse: bool):
        """(flat array on ``dev``, host array) of the total size of ``parts``; the same for NumPy."""
        cache = vars(self).setdefault("_flat_buffers", {})
        size = sum(part.size for part in parts)
        found = cache.get((dev, dtype)) if reuse else None
        if found is None or found[0].size != size or any(getattr(p, "base", None) is found[0] for p in parts):
            with backend.device(dev).context():
                flat = backend.device(dev).xp.empty(size, dtype)
            found = (flat, flat if dev == "cpu" else np.empty(size, dtype))
            if reuse:
                cache[(dev, dtype)] = found
        return found


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

"""The fast version of :func:`~tinyconv.optim.sgd.sgd_update` (the reference): the §5 step of one
parameter in one pass of ``kernels/sgd.cu`` instead of four array operations."""
from __future__ import annotations

from .. import backend, kernels
from ..dispatch import fast_version
from ..optim.sgd import sgd_update


@fast_version(sgd_update, "cuda")
def sgd_update_kernel(w, grad, v, lr, momentum, decay) -> None:
    kernels.launch("sgd.cu", "sgd_update", w.size, w, backend.xp_of(grad).ascontiguousarray(grad), v,
                   lr, momentum, decay * lr)

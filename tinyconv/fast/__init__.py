"""The fast versions of the ops, beside their references in ``tinyconv/functional/``.

conv           conv2d: scratch matrices kept between steps, im2col on all cores, the flipped-kernel
               input gradient; im2col and col2im as CUDA kernels
pooling        max_pool2d: columns split by phase, batch chunks on all cores; CUDA kernels
normalization  local_response_norm: batch chunks on all cores, in place; CUDA kernels
activation     relu: batch chunks on all cores; a CUDA kernel
sgd            the §5 update as one CUDA kernel
parallel       the CPU's thread pool and the chunks it runs
workspace      scratch matrices kept from one training step to the next

Importing this package registers every fast version with :mod:`tinyconv.dispatch`, which picks
them for the ops (``tinyconv`` imports it); ``tinyconv.fast_paths(False)`` turns them off.
Each is tested against its reference, forward and backward (``tests/test_fast_paths.py``, and
``tests/test_kernels.py`` for the CUDA kernels, played on the CPU where there is no GPU).
"""
from . import activation, conv, normalization, pooling, sgd  # noqa: F401  (registers the fast versions)

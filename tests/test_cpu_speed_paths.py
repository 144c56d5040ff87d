"""The CPU fast paths keep the results exact: chunks on all cores (fast.parallel.for_each_chunk: LRN,
max pooling, ReLU), im2col matrices reused between steps (fast.workspace), conv1's input
gradient skipped, col dropped early unless the graph is retained."""
import numpy as np
import pytest

from tinyconv import threads
from tinyconv.fast import parallel, workspace
from tinyconv.fast.conv import Conv2dCPU
from tinyconv.functional import activation, conv, normalization, pooling
from tinyconv.tensor import Tensor


def test_even_chunks_cover_the_range_in_nearly_equal_parts():
    for n, parts in [(10, 3), (2, 4), (128, 2), (1, 1)]:
        chunks = parallel.even_chunks(n, parts)
        covered = [i for c in chunks for i in range(n)[c]]
        assert covered == list(range(n))
        lengths = [c.stop - c.start for c in chunks]
        assert max(lengths) - min(lengths) <= 1 and len(chunks) == min(n, parts)


def test_for_each_chunk_runs_every_chunk_once_and_reraises():
    x = np.zeros(12)
    seen = []
    parallel.for_each_chunk(lambda c: seen.append(c.start), parallel.even_chunks(12, 4), x)
    assert sorted(seen) == [0, 3, 6, 9]

    def fail(c):
        raise ValueError(f"chunk {c.start}")
    with pytest.raises(ValueError, match="chunk"):
        parallel.for_each_chunk(fail, parallel.even_chunks(12, 4), x)


@pytest.mark.parametrize("op", [
    lambda t: normalization.local_response_norm(t, 5, 1.0, 0.75, 2.0, groups=2),
    lambda t: pooling.max_pool2d(t, 3, 2, padding=1),
    lambda t: activation.relu(t - 0.2),
], ids=["lrn", "max_pool2d", "relu"])
@pytest.mark.parametrize("budget", [1, 3], ids=["in-the-caller", "3-threads"])
def test_many_chunks_on_threads_equal_one_image_at_a_time(op, budget, rng, request):
    threads.set_threads(budget)                                       # both paths, whatever the machine's load
    request.addfinalizer(lambda: threads.set_threads(None))
    x_np = rng.permutation(48 * 8 * 32 * 32).reshape(48, 8, 32, 32).astype(np.float32) / 1e4  # distinct
    assert len(parallel.batch_chunks(x_np)) > 1                          # the batch really is chunked
    x = Tensor(x_np, requires_grad=True)
    y = op(x)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    for n in (0, 17, 47):
        xn = Tensor(x_np[n:n + 1], requires_grad=True)
        yn = op(xn)
        yn.backward(gy[n:n + 1])
        np.testing.assert_array_equal(y.data[n:n + 1], yn.data)
        np.testing.assert_array_equal(x.grad[n:n + 1], xn.grad)


def test_workspace_reuses_the_memory_it_was_given():
    workspace.clear()
    a = np.empty((6, 10), dtype=np.float32)
    workspace.give(a.reshape(3, 20))                                  # a view covering all of a
    b = workspace.take(np, (5, 12), np.float32)
    assert np.shares_memory(a, b) and b.shape == (5, 12)
    assert not np.shares_memory(a, workspace.take(np, (5, 12), np.float32))  # taken once only
    workspace.give(a[:3])                                             # a part: not kept
    assert not np.shares_memory(a, workspace.take(np, (3, 10), np.float32))
    workspace.clear()


def test_training_steps_that_reuse_im2col_matrices_match_fresh_ones(rng):
    """Three steps in a row (each reusing the last step's col) give the gradients of fresh runs."""
    x = rng.standard_normal((4, 3, 9, 9)).astype(np.float32)
    w1 = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)

    def grads():
        a, b = Tensor(w1, requires_grad=True), Tensor(w2, requires_grad=True)
        h = conv.conv2d(Tensor(x), a, padding=1)
        y = conv.conv2d(h, b, stride=1, padding=1, groups=2)
        (y * y).sum().backward()
        return a.grad, b.grad

    workspace.clear()
    first = grads()
    for _ in range(2):
        for ours, fresh in zip(grads(), first):
            np.testing.assert_array_equal(ours, fresh)
    workspace.clear()


def test_conv_skips_the_gradient_of_an_input_that_needs_none(rng):
    x = Tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))          # images: no grad
    w = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    fn = Conv2dCPU(padding=1)
    y = fn(x, w)
    gx, gw = fn.backward(np.ones(y.shape, dtype=np.float32))
    assert gx is None and gw.shape == (4, 3, 3, 3)
    fn = Conv2dCPU(padding=1)
    y = fn(Tensor(x.data, requires_grad=True), w)
    assert fn.backward(np.ones(y.shape, dtype=np.float32))[0].shape == (2, 3, 6, 6)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_keeps_its_col_for_a_second_backward_with_retain_graph(stride, rng):
    """Without retain_graph backward drops col early; with it, a second pass still finds col."""
    x = Tensor(rng.standard_normal((2, 3, 7, 7)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = conv.conv2d(x, w, stride=stride, padding=1)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy, retain_graph=True)
    once = x.grad.copy(), w.grad.copy()
    y.backward(gy)
    np.testing.assert_allclose(x.grad, 2 * once[0], rtol=1e-6)
    np.testing.assert_allclose(w.grad, 2 * once[1], rtol=1e-6)

"""conv2d by im2col + GEMM: against the loop reference, gradients, adjointness, PyTorch, bad input."""
import itertools

import numpy as np
import pytest

from tinyconv import backend
from tinyconv.functional.conv import col2im, conv2d, conv2d_naive, im2col
from tinyconv.functional.windows import conv_out_size
from tinyconv.tensor import Tensor
from tinyconv.testing import assert_close, gradcheck


def _arr(xp, rng, shape, dtype=np.float64):
    return xp.asarray(rng.standard_normal(shape).astype(dtype))


def test_conv_out_size_matches_the_paper():
    assert conv_out_size(227, 11, 4, 0) == 55       # conv1 on 227x227 (§3.5)
    assert conv_out_size(224, 11, 4, 2) == 55       # 224 needs padding 2
    assert conv_out_size(27, 5, 1, 2) == 27         # conv2
    assert conv_out_size(55, 3, 2, 0) == 27         # overlapping pooling (§3.4)
    assert conv_out_size(8, 3, 2, 0) == 3           # floor mode drops the last partial window


@pytest.mark.parametrize("kernel,stride,padding,groups",
                         list(itertools.product([1, 3, 5, 11], [1, 2, 4], [0, 1, 2], [1, 2, 4])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_matches_naive(kernel, stride, padding, groups, dtype, bias, xp, rng):
    x = _arr(xp, rng, (2, 4, 13, 16), dtype)                          # non-square input
    w = _arr(xp, rng, (8, 4 // groups, kernel, kernel), dtype)
    b = _arr(xp, rng, (8,), dtype) if bias else None
    y = conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
    expected = conv2d_naive(x, w, b, stride=stride, padding=padding, groups=groups)
    assert y.shape == expected.shape and y.dtype == dtype
    assert_close(y, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, name="conv2d")


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,groups", [
    ((2, 3, 5, 6), (4, 3, 3, 3), 1, 0, 1),
    ((2, 4, 6, 5), (4, 2, 3, 3), 2, 1, 2),            # the two-tower case with stride and padding
    ((1, 4, 7, 6), (6, 2, 3, 2), (2, 1), (1, 0), 2),  # non-square kernel, (h, w) stride/padding
    ((2, 4, 5, 5), (4, 1, 1, 1), 1, 0, 4),
    ((1, 2, 9, 9), (2, 2, 5, 5), 4, 2, 1),
    ((1, 2, 7, 7), (2, 2, 2, 2), 3, 0, 1),            # stride > kernel: some pixels get no gradient
    ((2, 6, 6, 7), (4, 3, 3, 5), 1, (1, 2), 2),       # stride 1: grad x as a convolution with flipped kernels
    ((2, 4, 6, 7), (6, 2, 3, 5), 1, (1, 2), 2),       # stride 1, more outputs than inputs: col2im
    ((1, 2, 4, 4), (2, 2, 2, 2), 1, 2, 1),            # stride 1, padding >= kernel: grad x through col2im
])
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_float64(x_shape, w_shape, stride, padding, groups, bias, xp, rng):
    arrays = [_arr(xp, rng, x_shape), _arr(xp, rng, w_shape)] + ([_arr(xp, rng, w_shape[:1])] if bias else [])
    errors = gradcheck(lambda *t: conv2d(*t, stride=stride, padding=padding, groups=groups), *arrays, rtol=1e-6)
    assert len(errors) == len(arrays)


def test_float32_stays_float32(xp, rng):
    x = Tensor(_arr(xp, rng, (2, 4, 6, 6), np.float32), requires_grad=True)
    w = Tensor(_arr(xp, rng, (4, 2, 3, 3), np.float32), requires_grad=True)
    b = Tensor(_arr(xp, rng, (4,), np.float32), requires_grad=True)
    y = conv2d(x, w, b, padding=1, groups=2)
    y.backward(xp.ones_like(y.data))
    assert {a.dtype for a in (y.data, x.grad, w.grad, b.grad)} == {np.dtype(np.float32)}


def test_im2col_columns_are_patches(xp, rng):
    x = _arr(xp, rng, (2, 3, 6, 7))
    col = im2col(x, 3, 2, 2, 1, 1, 0)                                 # KH, KW, SH, SW, PH, PW
    OH, OW = conv_out_size(6, 3, 2, 1), conv_out_size(7, 2, 1, 0)
    assert col.shape == (3 * 3 * 2, 2 * OH * OW)
    x_pad = xp.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    n, oh, ow = 1, 2, 4
    patch = x_pad[n, :, oh * 2:oh * 2 + 3, ow:ow + 2]                 # (C, KH, KW)
    assert_close(col[:, (n * OH + oh) * OW + ow], patch.reshape(-1), rtol=0)


@pytest.mark.parametrize("x_shape,KH,KW,SH,SW,PH,PW", [
    ((2, 3, 7, 8), 3, 3, 1, 1, 1, 1),
    ((1, 2, 9, 11), 5, 3, 2, 3, 2, 0),
    ((2, 1, 8, 8), 2, 2, 3, 3, 0, 1),                 # gaps between windows
    ((1, 3, 23, 23), 11, 11, 4, 4, 0, 0),
])
def test_col2im_is_adjoint_of_im2col(x_shape, KH, KW, SH, SW, PH, PW, xp, rng):
    x = _arr(xp, rng, x_shape)
    col = im2col(x, KH, KW, SH, SW, PH, PW)
    c = _arr(xp, rng, col.shape)
    lhs = float((col * c).sum())                                      # <im2col(x), c>
    rhs = float((x * col2im(c, x_shape, KH, KW, SH, SW, PH, PW)).sum())  # <x, col2im(c)>
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,groups", [
    ((2, 3, 227, 227), (8, 3, 11, 11), 4, 0, 1),     # AlexNet conv1 geometry (§3.5), small channels
    ((2, 8, 27, 27), (16, 4, 5, 5), 1, 2, 2),        # conv2 geometry: 5x5, pad 2, two towers
    ((2, 16, 15, 15), (16, 8, 5, 5), 1, 2, 2),       # OC <= C at stride 1: grad x by flipped kernels
    ((3, 6, 10, 13), (8, 3, 3, 3), 2, 1, 2),
])
def test_matches_pytorch(x_shape, w_shape, stride, padding, groups, device, rng):
    torch = pytest.importorskip("torch")
    x_np, w_np = (rng.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape))
    b_np = rng.standard_normal(w_shape[0]).astype(np.float32)
    dev = backend.device(device)
    x, w, b = (Tensor(backend.to_device(a, dev), requires_grad=True) for a in (x_np, w_np, b_np))
    y = conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
    gy_np = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(backend.to_device(gy_np, dev))

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding, groups=groups)
    ty.backward(torch.from_numpy(gy_np))
    for name, ours, theirs in [("output", y.data, ty), ("grad x", x.grad, tx.grad),
                               ("grad weight", w.grad, tw.grad), ("grad bias", b.grad, tb.grad)]:
        assert_close(backend.to_numpy(ours), theirs.detach().numpy(), rtol=1e-4, name=name)


# ----- bad input: each mistake gets an error that names it ---------------------------------
def _bad(xp, x_shape, w_shape, dtype=np.float32, **kwargs):
    return conv2d(xp.zeros(x_shape, dtype=dtype), xp.zeros(w_shape, dtype=np.float32), **kwargs)


def test_rejects_x_that_is_not_4d(xp):
    with pytest.raises(ValueError, match=r"x of shape \(N, C, H, W\).*x\[None\]"):
        _bad(xp, (3, 8, 8), (4, 3, 3, 3))


def test_rejects_weight_that_is_not_4d(xp):
    with pytest.raises(ValueError, match=r"weight of shape \(OC, C/groups, KH, KW\), got shape \(4, 27\)"):
        _bad(xp, (1, 3, 8, 8), (4, 27))


def test_rejects_input_channels_not_divisible_by_groups(xp):
    with pytest.raises(ValueError, match=r"in_channels \(C\) = 3 is not divisible by groups = 2"):
        _bad(xp, (1, 3, 8, 8), (4, 1, 3, 3), groups=2)


def test_rejects_output_channels_not_divisible_by_groups(xp):
    with pytest.raises(ValueError, match=r"out_channels \(OC\) = 5 is not divisible by groups = 2"):
        _bad(xp, (1, 4, 8, 8), (5, 2, 3, 3), groups=2)


def test_rejects_weight_channels_that_do_not_match_input(xp):
    with pytest.raises(ValueError,
                       match=r"weight has 3 input channels per group .* C = 8 .* 2 group.*\(6, 4, KH, KW\)"):
        _bad(xp, (1, 8, 8, 8), (6, 3, 3, 3), groups=2)


def test_rejects_kernel_larger_than_padded_input(xp):
    with pytest.raises(ValueError, match=r"kernel size 11 is larger than the padded input \(7 \+ 2\*1 = 9\)"):
        _bad(xp, (1, 3, 7, 20), (4, 3, 11, 3), padding=1)


def test_rejects_integer_arrays(xp):
    with pytest.raises(TypeError, match=r"x has dtype int64; convert it with x.astype\(numpy.float32\)"):
        _bad(xp, (1, 3, 8, 8), (4, 3, 3, 3), dtype=np.int64)


def test_rejects_mixed_float_dtypes(xp):
    with pytest.raises(TypeError, match="one dtype .* x float64, weight float32"):
        _bad(xp, (1, 3, 8, 8), (4, 3, 3, 3), dtype=np.float64)


def test_rejects_bad_bias_and_stride(xp):
    with pytest.raises(ValueError, match=r"bias must have shape \(OC,\) = \(4,\)"):
        conv2d(xp.zeros((1, 3, 8, 8)), xp.zeros((4, 3, 3, 3)), xp.zeros(3))
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        conv2d(xp.zeros((1, 3, 8, 8)), xp.zeros((4, 3, 3, 3)), stride=(1, 2, 3))
    with pytest.raises(ValueError, match="stride >= 1"):
        conv2d(xp.zeros((1, 3, 8, 8)), xp.zeros((4, 3, 3, 3)), stride=0)


@pytest.mark.gpu
@pytest.mark.skipif(not backend.cupy_available(), reason="needs CuPy and a CUDA GPU")
def test_rejects_arrays_on_two_devices():
    x = backend.to_device(np.zeros((1, 3, 8, 8), np.float32), "cuda:0")
    with pytest.raises(RuntimeError, match="different devices .*cpu, cuda:0.*tensor.to"):
        conv2d(x, np.zeros((4, 3, 3, 3), np.float32))

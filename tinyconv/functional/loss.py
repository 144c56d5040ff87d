"""The objective and the error rates of the paper: softmax over the 1000 classes, the
multinomial logistic regression objective it maximises (§5: "maximizes the average across
training cases of the log-probability of the correct label"), and top-1 / top-5 error (§6).

All three are computed from logits with the largest logit of each row subtracted first,
log(sum(exp(z))) = m + log(sum(exp(z - m))), so no exp overflows.
"""
from __future__ import annotations

from .. import backend
from ..function import Function
from ..tensor import Tensor
from .checks import check_float, check_ndim


def softmax(x, axis=1):
    """exp(x) / sum(exp(x)) along ``axis``, on a plain array (max subtracted first, so it never overflows)."""
    xp = backend.xp_of(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax(xp, x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    z -= xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
    return z


class LogSoftmax(Function):
    """y = x - log(sum(exp(x))) along ``axis``; backward gx = gy - softmax(x) * sum(gy)."""

    def __init__(self, axis=1):
        self.axis = axis

    def check(self, x):
        check_float("log_softmax", x=x)

    def forward(self, x):
        y = _log_softmax(self.xp, x, self.axis)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy - self.xp.exp(y) * gy.sum(axis=self.axis, keepdims=True)


def _check_labels(op, logits, labels):
    check_ndim(op, logits, 2, "N, classes")
    check_float(op, logits=logits)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be integer class indices, got dtype {labels.dtype}; "
                        "convert with .astype(int)")
    N, classes = logits.shape
    if labels.shape != (N,):
        raise ValueError(f"{op}: labels must have shape ({N},) to match logits {tuple(logits.shape)}, "
                         f"got {tuple(labels.shape)}")
    if N and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(f"{op}: labels must lie in [0, {classes}) for {classes} classes, got values from "
                         f"{int(labels.min())} to {int(labels.max())}")


class SoftmaxCrossEntropy(Function):
    """Mean over the batch of -log softmax(logits)[label] (§5), with the fused gradient
    d loss / d logits = (softmax(logits) - onehot(labels)) / N. The only version."""

    def check(self, logits, labels):
        _check_labels("softmax_cross_entropy", logits, labels)

    def forward(self, logits, labels):                                  # (N, classes), (N,)
        N = logits.shape[0]
        log_p = _log_softmax(self.xp, logits, 1)                        # (N, classes)
        self.save_for_backward(log_p, labels)
        return -log_p[self.xp.arange(N), labels].mean()                 # a 0-d array

    def backward(self, gy):
        log_p, labels = self.saved
        N = log_p.shape[0]
        g = self.xp.exp(log_p)                                          # softmax, (N, classes)
        g[self.xp.arange(N), labels] -= 1
        g *= gy / N
        return g, None


def log_softmax(x, axis=1):
    """Log-probabilities along ``axis``, stable for any logits."""
    return LogSoftmax(axis)(x)


def softmax_cross_entropy(logits, labels):
    """The training loss (§5): mean cross-entropy of (N, classes) logits against (N,) integer labels."""
    logits = logits if isinstance(logits, Tensor) else Tensor(logits)
    labels = labels.data if isinstance(labels, Tensor) else labels
    if not hasattr(labels, "dtype"):                                    # a list of ints
        labels = logits.xp.asarray(labels)
    return SoftmaxCrossEntropy()(logits, labels)


def topk_misses(logits, labels, k: int = 1):
    """How many rows' labels are not among the k largest logits, as a 0-d array on the logits' device
    (so a training loop can add it up without waiting for the GPU). See :func:`topk_error`."""
    logits = logits.data if isinstance(logits, Tensor) else logits
    labels = labels.data if isinstance(labels, Tensor) else labels
    xp = backend.xp_of(logits)
    labels = xp.asarray(labels)
    _check_labels("topk_error", logits, labels)
    if not isinstance(k, int) or not 1 <= k <= logits.shape[1]:
        raise ValueError(f"topk_error k must be an int in [1, {logits.shape[1]}], got {k!r}")
    label_score = logits[xp.arange(logits.shape[0]), labels][:, None]   # (N, 1)
    higher = (logits > label_score).sum(axis=1)                         # classes that beat the label
    return (higher >= k).sum()


def topk_error(logits, labels, k: int = 1) -> float:
    """Fraction of rows whose label is not among the k largest logits (§6: top-1 and top-5 error).

    A label counts as in the top k when fewer than k classes score strictly higher than it
    (ties go in its favour).
    """
    misses = int(topk_misses(logits, labels, k))
    if logits.shape[0] == 0:
        raise ValueError("topk_error needs at least one row of logits, got an empty batch")
    return misses / logits.shape[0]

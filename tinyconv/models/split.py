"""AlexNet split over two devices, the way the paper trained it on two GTX 580s (§3.2, Figure 2).

"We [...] put half of the kernels (or neurons) on each GPU, with one additional trick: the
GPUs communicate only in certain layers." Tower 0 holds the first half of the kernels of
every layer (48, 128, 192, 192, 128 conv kernels; 2048 and 2048 FC neurons) and tower 1 the
second half, each tower's parameters and activations on its own device. Both towers read
the whole image. conv2, conv4 and conv5 read only their own tower's maps; conv3, fc6 and
fc7 read both, so there each tower copies the other's activations to its device with
:func:`tinyconv.functional.copy_to`, a differentiable copy whose backward sends the
gradient back the same way. fc8 is one layer on the first device, as Figure 2 draws the
1000-way output: it reads tower 1's fc7 outputs (2048 values per image) across; splitting
it too would move more (both fc7 halves each way plus half the scores).

The split model computes the same function as the one-device model with groups (tower t =
channels or neurons ``t*half:(t+1)*half``): :func:`split_weights` / :func:`merge_weights`
map the state dicts both ways, :meth:`SplitTwoTowerNet.from_model` and
:meth:`SplitTwoTowerNet.to_alexnet` convert whole models. Dropout masks match too: each
tower draws the mask of the whole layer from the same (seed, calls) as the one-device
layer and keeps its half (:class:`TowerDropout`).

The towers are made from the one-device model's own layers (:func:`tower_layer`): each layer is
halved (kernels, neurons, LRN groups), so the architecture is written down once, in
:mod:`tinyconv.models.alexnet` (and :mod:`tinyconv.models.small` for the small members).

Any two devices work, the same one twice included: ("cpu", "cpu") in the tests,
("cuda:0", "cuda:0") on a one-GPU machine. The towers run one after the other in Python;
on two GPUs CuPy queues each tower's kernels asynchronously, so the devices overlap. Peer
access between the GPUs is enabled where the hardware has it (``peer_access``). Separate
CUDA streams for two towers on one GPU are not used.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import backend
from ..functional import concat, copy_to
from ..nn import Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, Module, ReLU
from ..tensor import Tensor, no_grad
from .alexnet import AlexNet
from .towers import Layers, Step, check_image_shape


def check_devices(devices, owner: str = "SplitAlexNet") -> tuple:
    """Two existing devices, one per tower; clear errors otherwise (the backend names the devices present)."""
    if isinstance(devices, (str, backend.Device)) or not hasattr(devices, "__len__") or len(devices) != 2:
        raise ValueError(f"{owner} has two towers (§3.2) and needs a pair of devices, one per tower, "
                         f"e.g. ('cuda:0', 'cuda:1'), ('cuda:0', 'cuda:0') or ('cpu', 'cpu'); got {devices!r}")
    checked = []
    for tower, spec in enumerate(devices):
        try:
            checked.append(backend.device(spec))
        except (ValueError, RuntimeError, TypeError) as err:
            raise type(err)(f"{owner} tower {tower}: {err}") from err
    return tuple(checked)


class TowerDropout(Dropout):
    """Dropout on one tower's half of a hidden FC layer, dropping what the one-device layer drops.

    The mask of the whole layer, (N, 2 * half), is drawn from the same (seed, calls) as the
    one-device :class:`~tinyconv.nn.Dropout`, and the tower keeps its columns
    (:class:`_TowerColumns`). Each tower draws on its own device, so no mask crosses between devices.
    """

    def __init__(self, p: float, mode: str, seed: int, tower: int):
        super().__init__(p, mode, seed)
        self.tower = tower

    def generator(self, dev):
        return _TowerColumns(super().generator(dev), self.tower)


class _TowerColumns:
    """A generator whose draws of shape (N, half) are tower ``tower``'s columns of ``rng``'s draws for
    the whole layer, (N, 2 * half)."""

    def __init__(self, rng, tower: int):
        self.rng, self.tower = rng, tower

    def random(self, shape, dtype):
        n, half = shape
        return self.rng.random((n, 2 * half), dtype=dtype)[:, self.tower * half:(self.tower + 1) * half]


def tower_layer(layer: Module, name: str, tower: int) -> Module:
    """Tower ``tower``'s half of a one-device layer (Figure 2): half the kernels or neurons, reading its own
    half of the maps where the layer has ``groups=2``, all of them otherwise; weights still to be loaded."""
    rng = np.random.default_rng(0)   # the weights are replaced by the source model's halves
    if isinstance(layer, (Conv2d, Linear)) and layer.weight.shape[0] % 2:
        raise ValueError(f"{name}: {layer.weight.shape[0]} kernels or neurons do not split into two towers")
    if isinstance(layer, Conv2d):
        if layer.groups not in (1, 2):
            raise ValueError(f"{name}: a layer of {layer.groups} groups does not split into two towers")
        return Conv2d(layer.in_channels // layer.groups, layer.out_channels // 2, layer.kernel_size, layer.stride,
                      layer.padding, rng=rng, dtype=layer.weight.dtype)
    if isinstance(layer, Linear):
        return Linear(layer.in_features, layer.out_features // 2, rng=rng, dtype=layer.weight.dtype)
    if isinstance(layer, LocalResponseNorm):
        return LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k, groups=layer.groups // 2)
    if isinstance(layer, Dropout):
        return TowerDropout(layer.p, layer.mode, layer.seed, tower)
    if isinstance(layer, MaxPool2d):
        return MaxPool2d(layer.kernel_size, layer.stride, layer.padding)
    if isinstance(layer, (ReLU, Flatten)):
        return type(layer)()
    raise TypeError(f"{name}: no tower version of a {type(layer).__name__} layer")


def _tower(source: Layers, tower: int) -> Layers:
    """Half of every layer of ``source`` but the last: the layers of one GPU in Figure 2."""
    layers = Layers()
    for name in source.layer_names[:-1]:
        layers.add(name, tower_layer(getattr(source, name), name, tower))
    return layers


def _reads_both(source: Layers) -> set:
    """Names of the layers whose towers read both towers' activations (§3.2): conv layers of one group
    after the first (which reads the image, on both devices already) and the hidden FC layers."""
    return {name for name in source.layer_names[1:-1]
            if isinstance(getattr(source, name), Linear)
            or (isinstance(getattr(source, name), Conv2d) and getattr(source, name).groups == 1)}


class SplitTwoTowerNet(Module):
    """A family member (AlexNet, AlexNet28, ...) with its two towers on two devices (module docstring).

    ``model_class`` is the one-device class; the weights are those of ``source`` (a model of
    that class) or, without one, of ``model_class(**options)``: the split model built with a
    seed equals the one-device model built with that seed.
    """

    def __init__(self, model_class, devices, source=None, **options):
        super().__init__()
        self.devices = check_devices(devices, f"Split{model_class.__name__}")
        if source is None:
            source = model_class(**options)
        elif not isinstance(source, model_class):
            raise TypeError(f"source must be a {model_class.__name__}, got {type(source).__name__}")
        self.one_device_class, self.num_classes = model_class, source.num_classes
        self.input_shape, self.size_hint = source.input_shape, source.size_hint
        self.options = dict(source.options, dtype=next(source.parameters()).dtype)
        self.tower0, self.tower1 = (_tower(source, t) for t in (0, 1))
        self.last = source.layer_names[-1]
        last = getattr(source, self.last)
        setattr(self, self.last, Linear(last.in_features, last.out_features, dtype=self.options["dtype"]))
        self.reads_both = _reads_both(source)
        self.tower0.to(self.devices[0])
        self.tower1.to(self.devices[1])
        getattr(self, self.last).to(self.devices[0])
        self.load_state_dict(split_weights(source.state_dict(), self.last))
        self.peer_access = backend.enable_peer_access(*self.devices)

    @classmethod
    def from_model(cls, model, devices) -> "SplitTwoTowerNet":
        """The split twin of one-device ``model`` (any family member), with its weights."""
        return SplitTwoTowerNet(type(model), devices, source=model)

    def to_alexnet(self):
        """The one-device model (an instance of ``one_device_class``, on the CPU) with these weights."""
        model = self.one_device_class(**self.options)
        model.load_state_dict(merge_weights(self.state_dict()))
        return model

    def to(self, dev):
        """Refused: the towers stay on the devices the model was built with (``devices``)."""
        raise TypeError(f"a split model keeps its towers on {tuple(map(str, self.devices))}; to use other "
                        "devices build a new one: SplitTwoTowerNet.from_model(model.to_alexnet(), devices)")

    def _exchange(self, xs):
        """Both towers' activations, in tower order, on each tower's device (§3.2: the GPUs talk)."""
        a, b = xs
        d0, d1 = self.devices
        return [concat([a, copy_to(b, d0)], axis=1), concat([copy_to(a, d1), b], axis=1)], a.size + b.size

    def walk(self, x):
        """Run layer by layer, yielding a :class:`~tinyconv.models.towers.Step` per layer (both towers)."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        check_image_shape(x, self.one_device_class.__name__, self.input_shape, self.size_hint)
        xs = [copy_to(x, d) for d in self.devices]   # each GPU sees the whole image
        for name in self.tower0.layer_names:
            crossed = 0
            if name in self.reads_both:
                xs, crossed = self._exchange(xs)
            layers = (getattr(self.tower0, name), getattr(self.tower1, name))
            xs = [layer(h) for layer, h in zip(layers, xs)]
            yield Step(name, layers, tuple(xs), crossed)
        last = getattr(self, self.last)
        joined = concat([xs[0], copy_to(xs[1], self.devices[0])], axis=1)   # (N, hidden) on device 0
        yield Step(self.last, (last,), (last(joined),), xs[1].size)

    def forward(self, x):
        """Class scores (N, num_classes) on the first device."""
        for step in self.walk(x):
            pass
        return step.outputs[0]

    def values_between_devices(self) -> int:
        """Values one image sends from one tower's device to the other's in a forward pass.

        conv3-like layers: each tower receives the other's pooled maps; fc6, fc7: each tower
        receives the other's half of the layer input; fc8: tower 1's fc7 outputs go to device 0.
        Counted on a walk of one blank image in evaluation mode (no dropout mask drawn).
        """
        training = self.training
        self.eval()
        try:
            with no_grad():
                steps = self.walk(np.zeros((1, *self.input_shape), dtype=self.options["dtype"]))
                return sum(step.crossed for step in steps)
        finally:
            self.train(training)

    def bytes_between_devices(self, batch: int) -> int:
        """Bytes crossing between the devices in one training step of ``batch`` images.

        The activations forward and, in the backward pass, their gradients the same way back:
        2 * batch * :meth:`values_between_devices` * bytes per value (4 in float32). With both
        towers on one device nothing really moves; this is what two devices would exchange.
        """
        return 2 * batch * self.values_between_devices() * self.options["dtype"].itemsize


class SplitAlexNet(SplitTwoTowerNet):
    """AlexNet over two devices (§3.2): ``SplitAlexNet(devices=("cuda:0", "cuda:1"), num_classes=1000, ...)``.

    Options as :class:`~tinyconv.models.AlexNet`; the same seed gives the same weights as AlexNet.
    State dict keys: ``"tower0.conv1.weight"`` (48 kernels), ``"tower1.fc6.weight"`` (2048 x 9216),
    ``"fc8.weight"`` (on the first device), ``"tower0.drop6.calls"``, ...
    """

    def __init__(self, devices=("cuda:0", "cuda:1"), num_classes: int = 1000, bias_init: float = 1.0,
                 dropout_mode: str = "paper", seed: int = 0, dropout: float = 0.5, dtype="float32", source=None):
        super().__init__(AlexNet, devices, source, num_classes=num_classes, bias_init=bias_init,
                         dropout_mode=dropout_mode, seed=seed, dropout=dropout, dtype=dtype)

    @classmethod
    def from_alexnet(cls, model: AlexNet, devices) -> "SplitAlexNet":
        """The split twin of a one-device :class:`~tinyconv.models.AlexNet`, with its weights."""
        return cls(devices, source=model)


def split_weights(state, last: str = "fc8") -> "OrderedDict[str, np.ndarray]":
    """One-device state dict -> split state dict: each layer's kernels/neurons halved along axis 0.

    Tower t gets rows ``t*half:(t+1)*half`` of every weight and bias (for grouped convs that is
    group t whole; for conv3 and the FC layers the input axis stays whole, in tower order).
    ``last`` (fc8) stays whole; buffers (dropout counters) go to both towers.
    """
    out = OrderedDict()
    for key, value in state.items():
        layer, _, field = key.partition(".")
        if layer == last:
            out[key] = value
        elif field in ("weight", "bias"):
            if value.shape[0] % 2:
                raise ValueError(f"'{key}' has {value.shape[0]} rows, which do not split into two towers")
            half = value.shape[0] // 2
            out[f"tower0.{key}"], out[f"tower1.{key}"] = value[:half], value[half:]
        else:
            out[f"tower0.{key}"] = out[f"tower1.{key}"] = value
    return out


def merge_weights(state) -> "OrderedDict[str, np.ndarray]":
    """Split state dict -> one-device state dict (the inverse of :func:`split_weights`)."""
    out = OrderedDict()
    for key, value in state.items():
        tower, _, rest = key.partition(".")
        if tower == "tower1":
            continue
        if tower != "tower0":
            out[key] = value
            continue
        other = state[f"tower1.{rest}"]
        if rest.rpartition(".")[2] in ("weight", "bias"):
            out[rest] = np.concatenate([value, other], axis=0)
        elif np.array_equal(value, other):
            out[rest] = value
        else:
            raise ValueError(f"the towers disagree on '{rest}' ({value} vs {other}); they should advance together")
    return out

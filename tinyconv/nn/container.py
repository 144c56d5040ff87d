"""``Sequential``: layers applied one after the other (AlexNet's ``features`` and ``classifier``)."""
from __future__ import annotations

from .module import Module


class Sequential(Module):
    """Apply ``modules`` in order; children are named "0", "1", ... (``state_dict`` keys "0.weight").

    Indexable (``seq[0]``, ``seq[-1]``, ``seq[1:3]`` gives a Sequential sharing the layers),
    iterable and sized.
    """

    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules, got {type(module).__name__} at position {i}")
            setattr(self, str(i), module)

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __iter__(self):
        return self.children()

    def __getitem__(self, index):
        layers = list(self.children())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        if not -len(layers) <= index < len(layers):
            raise IndexError(f"index {index} out of range for a Sequential of {len(layers)} layers")
        return layers[index]

    def forward(self, x):
        for module in self:
            x = module(x)
        return x

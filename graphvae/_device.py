"""Where a model trains: checking a ``device`` argument, and moving a model's inputs and targets there.

The estimators take ``device="cpu"`` (the default) or a CUDA device (``"cuda"``, ``"cuda:1"``). What they build
from a graph or from images (the operator :math:`\\hat A`, the features, the likelihood's target, the image
mini-batches and the masked or denoised views that are not drawn on the device itself) is built on the CPU and moved
with :func:`to_device`, which knows the containers those are made of: tensors, objects with a ``to(device)`` method
(:class:`graphvae.nn.operator.SparseOperator`), dataclasses (encoder inputs, link targets) and tuples or lists of them.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ._validation import InputError


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a :class:`torch.device` that can train here, or :class:`InputError` (one line).

    ``"cpu"`` and CUDA devices are accepted; a CUDA device needs ``torch.cuda.is_available()`` and an index below
    ``torch.cuda.device_count()``. ``"cuda"`` means the current CUDA device."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"unknown device {device!r} (use 'cpu', 'cuda' or 'cuda:N')") from None
    if resolved.type == "cpu":
        return torch.device("cpu")
    if resolved.type != "cuda":
        raise InputError(f"device {device!r} is not supported (use 'cpu', 'cuda' or 'cuda:N')")
    if not torch.cuda.is_available():
        raise InputError(f"device {str(device)!r} asks for CUDA, but torch finds no CUDA device here "
                         f"(torch {torch.__version__}); use device 'cpu'")
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if resolved.index is None else resolved.index
    if index >= count:
        raise InputError(f"device {str(device)!r}: there {'is' if count == 1 else 'are'} only {count} CUDA "
                         f"device{'s' if count != 1 else ''} (cuda:0{f'..cuda:{count - 1}' if count > 1 else ''})")
    return torch.device("cuda", index)


def to_device(obj: Any, device: torch.device, memo: dict | None = None, persistent: tuple[type, ...] = ()) -> Any:
    """A copy of ``obj`` on ``device``: tensors moved, objects with ``to(device)`` asked to move, dataclasses
    rebuilt from their moved fields (fields outside ``__init__``, such as caches, start afresh), tuples and lists
    element by element; anything else (ints, strings, ``None``) as it is.

    ``memo`` maps ``id(original)`` to ``(original, moved)``: an object found there is not moved again, and an
    instance of one of the ``persistent`` types is added to it once moved. A link target that every epoch's view
    shares then moves once, and its sampler's caches persist on the device; the views themselves, new each
    epoch, are not kept (a memo kept across epochs does not grow)."""
    if memo is not None and id(obj) in memo:
        return memo[id(obj)][1]
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        moved = dataclasses.replace(obj, **{f.name: to_device(getattr(obj, f.name), device, memo, persistent)
                                            for f in dataclasses.fields(obj) if f.init})
    elif isinstance(obj, (tuple, list)):
        return type(obj)(to_device(item, device, memo, persistent) for item in obj)
    elif callable(getattr(obj, "to", None)):
        moved = obj.to(device)
    else:
        return obj
    if memo is not None and persistent and isinstance(obj, persistent):
        memo[id(obj)] = (obj, moved)
    return moved


def device_generator(device: torch.device, seed: int, cpu_generator: torch.Generator | None = None) -> torch.Generator:
    """The generator of the draws made on ``device``: ``cpu_generator`` itself on the CPU (so a CPU fit draws
    exactly as before; ``None``: a CPU generator seeded with ``seed``), else a generator on ``device`` seeded
    with ``seed``."""
    if device.type == "cpu":
        return torch.Generator().manual_seed(int(seed)) if cpu_generator is None else cpu_generator
    return torch.Generator(device=device).manual_seed(int(seed))


__all__ = ["resolve_device", "to_device", "device_generator"]

r"""Dropout whose mask costs a quarter of a random 64-bit word per entry (four 16-bit lanes of one draw).

Dropout keeps each entry with probability :math:`q = 1 - p` and scales the kept ones by :math:`1/q`, so
:math:`\mathbb E[\tilde h] = h` (Srivastava et al. 2014). ``torch.nn.functional.dropout`` draws one
Bernoulli variate per entry; on the CPU that draw, not the multiplication, is the cost (on the MLP edge
decoder's ``pairs x 128`` Hadamard products it was about a quarter of MaskGAE's training time).
:func:`dropout` draws the mask from uniform 16-bit integers instead: one ``int64`` random word gives
four of them, and an entry is kept when its integer :math:`u \in \{0, \dots, 2^{16}-1\}` satisfies
:math:`u \ge t` with :math:`t = \mathrm{round}(p\, 2^{16})`. The drop probability is then exactly
:math:`t / 2^{16}` (within :math:`2^{-17}` of ``p``), and the kept entries are scaled by
:math:`2^{16} / (2^{16} - t)`, the reciprocal of the *actual* keep probability, so the layer stays
unbiased. Same model as ``F.dropout`` up to that rounding of ``p``; a different random stream.

The words come from torch's global generator (``Tensor.random_``), like ``F.dropout``'s, so
:func:`torch.utils.checkpoint.checkpoint` replays the same mask in the backward pass.
"""
from __future__ import annotations

import torch

_LEVELS = 1 << 16


def drop_threshold(p: float) -> int:
    """:math:`t`: an entry is dropped when its uniform 16-bit integer is below ``t`` (``P = t / 2^16``)."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    return min(int(round(p * _LEVELS)), _LEVELS - 1)


def _lanes(numel: int, device: torch.device | str | None = None) -> torch.Tensor:
    """``numel`` uniform 16-bit integers as ``int16`` lanes (value ``u - 2^15``) of ``ceil(numel / 4)`` random words.

    The words are those ``torch.randint(-2**63, 2**63 - 1, dtype=torch.int64)`` draws from the same generator state
    (which this module used before), at about half its cost: ``randint`` reduces each raw 64-bit draw modulo
    :math:`2^{64} - 1` and adds :math:`-2^{63}` (a 64-bit division per word), ``random_(-2**63, None)`` returns the
    raw draw, and for every draw but the all-ones one the two differ by :math:`2^{63}` modulo :math:`2^{64}`,
    which is a flip of the sign bit (checked bit for bit on the CPU in ``tests/test_training_options.py``).
    """
    words = torch.empty(-(-numel // 4), dtype=torch.int64, device=device).random_(-(1 << 63), None)
    return words.bitwise_xor_(-(1 << 63)).view(torch.int16)[:numel]


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean mask of ``shape``, each entry ``True`` independently with probability ``1 - t / 2^16``."""
    lanes = _lanes(_numel(shape), device)
    # int16 lanes are uniform on [-2^15, 2^15): u = lane + 2^15 >= t  <=>  lane >= t - 2^15
    return (lanes >= drop_threshold(p) - (1 << 15)).view(shape)


def dropout_mask(shape: torch.Size | tuple[int, ...], p: float, dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None) -> torch.Tensor:
    r"""The factor dropout multiplies by: :math:`2^{16} / (2^{16} - t)` where :func:`keep_mask` keeps, 0 elsewhere
    (the same draws and values as ``keep_mask(shape, p).to(dtype) * scale``, written in one pass)."""
    t = drop_threshold(p)
    mask = torch.empty(shape, dtype=dtype, device=device)
    torch.ge(_lanes(mask.numel(), device), t - (1 << 15), out=mask.view(-1))
    return mask.mul_(_LEVELS / (_LEVELS - t))


def _numel(shape: torch.Size | tuple[int, ...]) -> int:
    numel = 1
    for size in shape:
        numel *= int(size)
    return numel


def dropout(h: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout of ``h`` with drop probability ``p`` rounded to a multiple of :math:`2^{-16}`
    (identity when not ``training`` or ``p == 0``)."""
    if not training or p == 0:
        return h
    return h * dropout_mask(h.shape, p, h.dtype, h.device)


__all__ = ["dropout", "dropout_mask", "keep_mask", "drop_threshold"]

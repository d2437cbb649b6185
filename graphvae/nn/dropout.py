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

The words come from torch's global generator (``torch.randint``), like ``F.dropout``'s, so
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


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean mask of ``shape``, each entry ``True`` independently with probability ``1 - t / 2^16``."""
    numel = 1
    for size in shape:
        numel *= int(size)
    words = -(-numel // 4)
    lanes = torch.randint(-(1 << 63), (1 << 63) - 1, (words,), dtype=torch.int64, device=device).view(torch.int16)
    # int16 lanes are uniform on [-2^15, 2^15): u = lane + 2^15 >= t  <=>  lane >= t - 2^15
    return (lanes[:numel] >= drop_threshold(p) - (1 << 15)).view(shape)


def dropout(h: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout of ``h`` with drop probability ``p`` rounded to a multiple of :math:`2^{-16}`
    (identity when not ``training`` or ``p == 0``)."""
    if not training or p == 0:
        return h
    t = drop_threshold(p)
    mask = keep_mask(h.shape, p, h.device).to(h.dtype)
    return h * mask.mul_(_LEVELS / (_LEVELS - t))


__all__ = ["dropout", "keep_mask", "drop_threshold"]

r"""An exponential moving average of a model's weights, for evaluation (Polyak averaging).

After every optimizer step :meth:`ParameterAverage.update` moves a shadow copy of each floating-point
tensor of the module's ``state_dict`` (parameters and buffers, e.g. batch norm's running statistics)
towards the live value,

.. math:: \bar\theta_t = d_t\, \bar\theta_{t-1} + (1 - d_t)\, \theta_t,\qquad
          d_t = \min\!\Big(d, \frac{1 + t}{10 + t}\Big),\qquad \bar\theta_0 = \theta_0,

(``t`` = 1, 2, ... counts the updates; the warm-up :math:`d_t` is the ``num_updates`` rule of TensorFlow's
``ExponentialMovingAverage``, so the average does not keep the initialization's weight :math:`d^t` early on).
:meth:`ParameterAverage.applied` swaps the averaged values in (e.g. to score the validation edges) and
restores the live ones; training never sees the average. Used by :class:`graphvae.estimators.models.VGAE`
(``average_decay``) as an auxiliary step of :func:`graphvae.training.trainer.train_elbo`.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


class ParameterAverage:
    """Exponential moving average (decay ``decay`` in (0, 1), with warm-up) of ``module``'s float tensors."""

    def __init__(self, module: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.module, self.decay, self.updates = module, float(decay), 0
        self._names = [k for k, v in module.state_dict().items() if v.is_floating_point()]
        self.shadow = [v.detach().clone() for v in self._live()]

    def _live(self) -> list[torch.Tensor]:
        state = self.module.state_dict()  # detached views of the module's own storage
        return [state[k] for k in self._names]

    def current_decay(self) -> float:
        """:math:`d_t` of the next update."""
        t = self.updates + 1
        return min(self.decay, (1.0 + t) / (10.0 + t))

    @torch.no_grad()
    def update(self, *_args) -> None:
        """Move the average towards the module's present values (any arguments are ignored, so this is
        usable as ``train_elbo``'s ``aux_step``)."""
        weight = 1.0 - self.current_decay()
        torch._foreach_lerp_(self.shadow, self._live(), weight)
        self.updates += 1

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The module's ``state_dict`` with the averaged values (copies), the others (integer counters) as they are."""
        state = {k: v.clone() for k, v in self.module.state_dict().items()}
        state.update({k: v.clone() for k, v in zip(self._names, self.shadow)})
        return state

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Within the block the module holds the averaged values; the live ones are restored after."""
        live = self._live()
        saved = [v.clone() for v in live]
        with torch.no_grad():
            torch._foreach_copy_(live, self.shadow)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(live, saved)

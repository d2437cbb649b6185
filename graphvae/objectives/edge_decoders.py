r"""Learned edge decoders (MaskGAE, Li et al. 2023): an MLP on :math:`z_i \odot z_j`, and a degree decoder.

The inner product :math:`\sigma(z_i^\top z_j)` is a fixed bilinear form; MaskGAE replaces it by an MLP on
the Hadamard product, :math:`p(A_{ij}=1) = \sigma(\mathrm{MLP}(z_i \odot z_j))` (symmetric in ``i, j``),
and adds an auxiliary *degree decoder* :math:`\hat d_i = \mathrm{MLP}'(z_i)` trained to predict how many
masked edges each node lost (a unit-variance Gaussian likelihood of those degrees).

**Estimator.** An MLP score has no closed-form sum over the :math:`N^2` pairs, so the control variate of
:class:`graphvae.objectives.likelihood.LinkLikelihood` (which needs :math:`s_{ij} = z_i^\top z_j`) does not apply.
:class:`DecodedLinkLikelihood` keeps the positives exact and estimates the non-edge sum by the plain
importance-weighted sample: the same ``k`` uniform partners per node (exactly ``k`` per row and column,
pairs that are positives masked out) weighted by :math:`N/k`. Its expectation is the exact non-edge
sum for any decoder (tested against the brute-force sum on a small graph), only with more variance
than the control-variate estimate; memory and time stay O(E + Nk), no :math:`N\times N` tensor.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..nn.dropout import dropout, dropout_mask
from ..nn.inner_product import pair_scores
from .likelihood import LinkLikelihood, LinkTarget
from .masking import MaskedLinkTarget, masked_degrees


#: the first layer's matrix products: ``"float32"``, or ``"bfloat16"`` (factors and results rounded to bfloat16,
#: accumulated in float32 by the CPU's bfloat16 instructions or CUDA's tensor cores; the layer's output and every
#: gradient returned in the model's dtype: :class:`HadamardLinear`)
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


class HadamardMLPDecoder(nn.Module):
    r"""Edge logits :math:`\mathrm{MLP}(z_i \odot z_j)`: ``latent -> hidden -> ... -> 1`` with ReLU, and dropout
    on the input of every layer but the last (MaskGAE's placement; training mode only; the 16-bit-lane
    dropout of :mod:`graphvae.nn.dropout`, a third of the cost of ``F.dropout`` on the CPU). The first layer,
    with its gathers, product and dropout, is one autograd function, :class:`HadamardLinear`."""

    def __init__(self, latent: int, hidden: int = 64, layers: int = 2, dropout: float = 0.0,
                 precision: str = "float32"):
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
        widths = [latent] + [hidden] * (layers - 1) + [1]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.dropout = dropout
        self.precision = precision

    #: pairs per chunk: above this many pairs, training evaluates the MLP chunk by chunk under activation
    #: checkpointing, so memory holds one chunk's activations (not ``pairs x latent`` floats several times)
    chunk = 1 << 18

    def forward(self, z: torch.Tensor, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        if row.numel() <= self.chunk or not (torch.is_grad_enabled() and z.requires_grad):
            return self._logits(z, row, col)
        # recomputed in backward with the same dropout masks (checkpoint restores the RNG state)
        return torch.cat([checkpoint(self._logits, z, r, c, use_reentrant=False)
                          for r, c in zip(row.split(self.chunk), col.split(self.chunk))])

    def _logits(self, z: torch.Tensor, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        first, rest = self.linears[0], self.linears[1:]
        mask = None
        if rest and self.training and self.dropout > 0:  # the first layer's input is dropped unless it is the last
            mask = dropout_mask((row.numel(), z.shape[1]), self.dropout, z.dtype, z.device)
        # (col, row), not (row, col): the product is the same bits either way, and autograd then adds z's two
        # gradients in the order it added those of two separate gathers, so training is bit for bit unchanged
        h = HadamardLinear.apply(z, z, col, row, first.weight, first.bias, mask, PRECISIONS[self.precision])
        for i, linear in enumerate(rest, start=1):
            h = torch.relu(h)
            if i < len(self.linears) - 1:
                h = dropout(h, self.dropout, self.training)
            h = linear(h)
        return h.squeeze(-1)


class HadamardLinear(torch.autograd.Function):
    r"""The MLP edge decoder's first layer on the pairs ``(row, col)``, in one function:

    .. math:: H = \big((Z_{r} \odot Z_{c}) \odot M\big) W^\top + b,

    :math:`Z_r, Z_c` the rows ``z_row[row]``, ``z_col[col]`` (``pairs x d``; the decoder passes its ``z`` as
    both, and autograd sums the two gradients), :math:`M` the dropout factors
    (:func:`graphvae.nn.dropout.dropout_mask`; ``None``: no dropout). The backward, for
    :math:`G = \partial L/\partial H`:

    .. math:: \partial W = G^\top U,\quad \partial b = \textstyle\sum_p G_p,\quad
              \partial U = (G W) \odot M,\quad
              \partial z_{\mathrm{row}} = \mathrm{scatter}_{r}(\partial U \odot Z_c),\quad
              \partial z_{\mathrm{col}} = \mathrm{scatter}_{c}(\partial U \odot Z_r),

    with :math:`U = (Z_r \odot Z_c) \odot M` and :math:`\mathrm{scatter}_r` adding row ``p`` into row ``row[p]``.
    It is the autograd of ``linear(dropout(z[row] * z[col]))`` operation for operation (the same products and
    sums in the same order, so the same bits; ``tests/test_zoo.py``) without most of its ``pairs x d`` passes
    and temporaries: the mask multiplies :math:`Z_r \odot Z_c` in place and :math:`\partial U` in place, and
    the backward reuses :math:`\partial U`'s buffer for one of the two products. On Cora each pass over
    ``pairs x 128`` floats costs 0.2-1 ms.

    ``compute_dtype=torch.bfloat16``: the three matrix products (:math:`UW^\top`, :math:`G^\top U`, :math:`GW`)
    take bfloat16 copies of :math:`U, W, G`, accumulate in float32 and round their results to bfloat16, as under
    ``torch.autocast``; :math:`H` and every gradient are returned in :math:`Z`'s dtype (float32 as a rule), and the
    gathers, the products with :math:`M`, the bias and the scatters stay in that dtype. On CPUs with AVX-512 BF16 the products run 4-5x
    faster than in float32 (``docs/models.md``); the rounding (8 significant bits) is what changes the result.
    """

    @staticmethod
    def forward(ctx, z_row: torch.Tensor, z_col: torch.Tensor, row: torch.Tensor, col: torch.Tensor,
                weight: torch.Tensor, bias: torch.Tensor | None, mask: torch.Tensor | None,
                compute_dtype: torch.dtype | None = None) -> torch.Tensor:
        gathered_row, gathered_col = z_row.index_select(0, row), z_col.index_select(0, col)
        u = torch.mul(gathered_row, gathered_col)
        if mask is not None:
            u.mul_(mask)
        if compute_dtype is None:
            out = u @ weight.t() if bias is None else torch.addmm(bias, u, weight.t())
        else:
            dtype = u.dtype
            u, weight = u.to(compute_dtype), weight.to(compute_dtype)
            out = (u @ weight.t()).to(dtype)  # converted first: mixed-dtype elementwise kernels are ~40x slower
            if bias is not None:
                out.add_(bias)
        ctx.save_for_backward(gathered_row, gathered_col, row, col, weight, mask, u)
        ctx.num_rows = z_row.shape[0], z_col.shape[0]
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        gathered_row, gathered_col, row, col, weight, mask, u = ctx.saved_tensors  # u, weight: in the compute dtype
        grad_row = grad_col = grad_weight = grad_bias = None
        low = grad.to(u.dtype)  # grad itself without a compute dtype
        if ctx.needs_input_grad[4]:
            grad_weight = low.t().mm(u).to(grad.dtype)
        if ctx.has_bias and ctx.needs_input_grad[5]:
            grad_bias = grad.sum(0)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            grad_u = low.mm(weight).to(grad.dtype)  # converted before any elementwise product (see forward)
            if mask is not None:
                grad_u.mul_(mask)
            # the saved tensors stay intact (a retained graph may run this again); the last product reuses grad_u
            if ctx.needs_input_grad[0]:
                product = gathered_col.mul(grad_u) if ctx.needs_input_grad[1] else grad_u.mul_(gathered_col)
                grad_row = grad_u.new_zeros(ctx.num_rows[0], u.shape[1]).index_add_(0, row, product)
            if ctx.needs_input_grad[1]:
                grad_col = grad_u.new_zeros(ctx.num_rows[1], u.shape[1]).index_add_(0, col, grad_u.mul_(gathered_row))
        return grad_row, grad_col, None, None, grad_weight, grad_bias, None, None


class InnerProductDecoder(nn.Module):
    r"""The paper's decoder as a module: logits :math:`z_i^\top z_j`."""

    def forward(self, z: torch.Tensor, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        return pair_scores(z, row, col)


class DegreeDecoder(nn.Module):
    r"""Per-node degree prediction :math:`\hat d_i = \mathrm{MLP}(z_i)` (``latent -> hidden -> 1``, ReLU and
    ``dropout`` on the hidden units, :mod:`graphvae.nn.dropout`)."""

    def __init__(self, latent: int, hidden: int = 64, dropout: float = 0.0):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.dropout = dropout

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = dropout(torch.relu(self.mlp[0](z)), self.dropout, self.training)
        return self.mlp[2](h).squeeze(-1)


class DecodedLinkLikelihood(LinkLikelihood):
    r"""Link likelihood under a learned edge decoder, optionally with the degree decoder's term.

    The positives (of a :class:`LinkTarget`, or the hidden edges of a
    :class:`graphvae.objectives.masking.MaskedLinkTarget`) are exact; the non-edge sum is the unbiased sampled
    estimate of the module docstring; the class balancing is the paper's (see
    :class:`graphvae.objectives.likelihood.LinkLikelihood`), with the positives' count in place of :math:`2E`.
    With a ``degree_decoder`` the log-likelihood gains
    :math:`-\tfrac{\lambda N^2}{2N}\sum_i (\hat d_i - d_i)^2` (``degree_weight`` :math:`=\lambda`; after the
    trainer's division by :math:`N^2` this is :math:`\lambda/2` times the mean squared error), where
    :math:`d_i` is the number of masked edges at node ``i`` (:func:`graphvae.objectives.masking.masked_degrees`).
    """

    def __init__(self, decoder: nn.Module, negatives_per_positive: float = 1.0, reweight: bool = True,
                 degree_decoder: nn.Module | None = None, degree_weight: float = 1e-3, negative_power: float = 0.0):
        super().__init__(negatives_per_positive, reweight, control_variate=False)
        if negative_power < 0:
            raise ValueError(f"negative_power must be non-negative, got {negative_power}")
        self.decoder = decoder
        self.degree_decoder = degree_decoder
        self.degree_weight = degree_weight
        self.negative_power = negative_power

    def sampled_pairs(self, target: LinkTarget,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""``(row, col, keep)``: ``k`` sampled partners per node and the mask of those that are not positives.

        ``negative_power`` :math:`\alpha = 0`: uniform partners, exactly ``k`` per row and per column
        (:meth:`graphvae.objectives.likelihood.LinkLikelihood.sample_pairs`). :math:`\alpha > 0`: each node's ``k``
        partners drawn independently with :math:`q_j \propto (d_j + 1)^\alpha`, :math:`d_j` the training degree
        (word2vec's "unigram^0.75" negatives for :math:`\alpha = 0.75`; Mikolov et al. 2013). With the same
        :math:`N/k` weight the sampled sum then estimates :math:`\sum_{(i,j)\notin\mathcal T} N q_j
        \log\sigma(-\ell_{ij})`: a non-edge sum that weights pairs with well-connected partners more
        (:math:`N q_j = 1` recovers the plain sum).
        """
        if self.negative_power == 0:
            pairs, keep = self.sample_pairs(target, generator)
            return pairs.rows(), pairs.col.long(), keep
        n, k = target.num_nodes, self.negatives_per_node(target)
        key = ("partner_weights", self.negative_power)
        if key not in target.cache:
            target.cache[key] = target.positives.crow.diff().double() ** self.negative_power
        col = torch.multinomial(target.cache[key], n * k, replacement=True, generator=generator)
        row = torch.arange(n, device=col.device).repeat_interleave(k)
        return row, col, ~target.is_positive(row, col)

    def pair_logits(self, z: torch.Tensor, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, row, col)

    def scale(self, target: LinkTarget | MaskedLinkTarget) -> float:
        return float(target.num_nodes) ** 2

    def forward(self, z: torch.Tensor, target: LinkTarget | MaskedLinkTarget,
                generator: torch.Generator | None = None) -> torch.Tensor:
        masked = isinstance(target, MaskedLinkTarget)
        base = target.base if masked else target
        row, col = base.positives.rows(), base.positives.col.long()
        if masked:
            hidden = target.weights.nonzero().squeeze(1)
            row, col = row[hidden], col[hidden]
        # the positives and the sampled pairs through the decoder in one call (one matrix product per layer)
        sampled_row, sampled_col, keep = self.sampled_pairs(base, generator)
        logits = self.decoder(z, torch.cat([row, sampled_row]), torch.cat([col, sampled_col]))
        pos_logits, neg_logits = logits.split([row.numel(), keep.numel()])
        pos = F.logsigmoid(pos_logits).sum()
        neg = self._sampled_sum(neg_logits, keep, base.num_nodes)
        if self.reweight:
            n2, negatives, positives = float(base.num_nodes) ** 2, float(base.num_negative), float(max(row.numel(), 1))
            log_lik = n2 / (2 * negatives) * (negatives / positives * pos + neg)
        else:
            log_lik = pos + neg
        if self.degree_decoder is not None:
            if not masked:
                raise ValueError("the degree decoder needs a MaskedLinkTarget (the masked degrees)")
            degrees = masked_degrees(target.hidden_edge_index, base.num_nodes).to(z.dtype)
            n = base.num_nodes
            log_lik = log_lik - self.degree_weight * n / 2 * (self.degree_decoder(z) - degrees).square().sum()
        return log_lik

    def negative_sum(self, z: torch.Tensor, pos_scores: torch.Tensor | None, target: LinkTarget,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        r"""Unbiased estimate of :math:`\sum_{\mathcal N}\log\sigma(-\mathrm{dec}(z_i, z_j))` (``pos_scores`` unused)."""
        row, col, keep = self.sampled_pairs(target, generator)
        return self._sampled_sum(self.decoder(z, row, col), keep, target.num_nodes)

    @staticmethod
    def _sampled_sum(logits: torch.Tensor, keep: torch.Tensor, n: int) -> torch.Tensor:
        """:math:`\\frac{N}{k}\\sum \\log\\sigma(-\\ell)` over the ``k`` sampled pairs per node that are not positives."""
        return (F.logsigmoid(-logits) * keep).sum() * (n / (logits.numel() // n))

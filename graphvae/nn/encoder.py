r"""GCN layers and the encoder (Kipf & Welling, "Variational Graph Auto-Encoders", 2016).

A GCN layer computes :math:`H' = f(\hat A H W + b)`. The encoder is a stack of them; its last
layer is the *head*: for the VGAE two GCN outputs :math:`\mu = \hat A H W_\mu` and
:math:`\log\sigma = \hat A H W_\sigma` (fused into one layer of width ``2d``), for the GAE one
output :math:`z = \hat A H W_z`. On a graph with no edges :math:`\hat A = I` and every layer is a
dense layer, which makes the same encoder the MLP encoder of an image VAE.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from .._validation import InputError, InputTypeError
from .latent import Posterior
from .operator import SparseOperator

Features = torch.Tensor | SparseOperator


@dataclass(frozen=True)
class EncoderInput:
    """What the encoder sees: node features, the operator ``adj`` and whether ``features`` is already ``adj @ X``.

    ``Â X`` does not change between epochs, so :func:`encoder_input` computes it once; the first
    layer then only multiplies by its weight.

    ``shared_adj`` (only for a disjoint union of ``C`` graphs whose copies of the encoder share unpropagated
    features, :func:`graphvae.estimators.batched.union_input`): ``adj`` with its columns in node-major order, column
    ``i C + c`` being node ``i`` of component ``c``. The first layer's product ``X [W_1 … W_C]`` (``[n, C out]``) is
    then, viewed as ``[n C, out]``, already in that order, and ``shared_adj`` propagates it into the union's
    component-major rows without transposing it (:class:`GCNLayer`).
    """

    features: Features
    adj: SparseOperator
    propagated: bool = False
    shared_adj: SparseOperator | None = None

    @property
    def num_nodes(self) -> int:
        return self.adj.shape[0]


def encoder_input(x: torch.Tensor | sp.spmatrix, adj: SparseOperator, fold: bool = True,
                  check_finite: bool = True) -> EncoderInput:
    """Prepare constant features for the encoder, folding the first ``Â`` into them when that is cheaper.

    ``fold=False`` never folds (an encoder that transforms ``XW`` before propagating it, e.g. the
    normalized head of :class:`GCNEncoder`, needs the raw features).

    ``x`` is a dense tensor, a torch sparse tensor or a scipy sparse matrix; sparse features stay
    sparse. For dense ``x``, ``Â X`` is computed once. For sparse ``x``, ``Â X`` is usually much denser
    than ``X`` (bag-of-words rows mix over neighbours: 3.7x the non-zeros on Cora), so it is used only
    if ``nnz(Â X) <= nnz(X) + nnz(Â)``; otherwise the first layer computes ``Â (X W)``.

    Features holding NaN or ±inf are refused (:class:`graphvae.InputError`) unless ``check_finite=False``: the
    per-epoch views of training (masked edges, image mini-batches) pass it for features their estimator checked once.
    """
    _check_features(x, adj)
    if check_finite:
        _check_finite_features(x)
    if adj.is_identity:
        return EncoderInput(_as_features(x), adj, propagated=True)
    if not fold:
        return EncoderInput(_as_features(x), adj, propagated=False)
    if isinstance(x, torch.Tensor) and x.layout == torch.strided:
        return EncoderInput(adj @ x.detach(), adj, propagated=True)
    x = _as_scipy(x)
    ax = adj.to_scipy() @ x
    if ax.nnz <= x.nnz + adj.nnz:
        return EncoderInput(SparseOperator(ax), adj, propagated=True)
    return EncoderInput(SparseOperator(x), adj, propagated=False)


def _check_features(x, adj: SparseOperator) -> None:
    """:class:`graphvae.InputError` unless ``x`` is a 2-D floating-point tensor (or sparse matrix) of ``adj``'s rows."""
    if not (isinstance(x, (torch.Tensor, SparseOperator)) or sp.issparse(x)):
        raise InputTypeError(f"features must be a torch tensor or a scipy sparse matrix, got {type(x).__name__}"
                             " (torch.as_tensor(x, dtype=torch.float32) converts a numpy array)")
    if len(x.shape) != 2 or x.shape[0] != adj.shape[0]:
        raise InputError(f"features must be [num_nodes, in_dim] with num_nodes = {adj.shape[0]} (the operator's), "
                         f"got {list(x.shape)}")
    if isinstance(x, torch.Tensor) and x.layout == torch.strided and not x.is_floating_point():
        raise InputTypeError(f"features must be floating-point, got {x.dtype} (use x.float())")


def _check_finite_features(x) -> None:
    """:class:`graphvae.InputError` naming the first row of ``x`` that holds NaN or ±inf (one ``isfinite`` pass over
    the values, a sparse matrix's stored ones)."""
    rows = _nonfinite_rows(x)
    if rows is not None:
        raise InputError(f"features hold NaN or infinite values (first at row {int(rows.min())})")


def _nonfinite_rows(x):
    """The rows (a numpy or torch integer array) of the values of ``x`` that are NaN or ±inf, else ``None``."""
    if isinstance(x, SparseOperator):
        if x.is_identity:
            return None
        x = x.csr
    if isinstance(x, torch.Tensor) and x.layout == torch.strided:
        if _all_finite(x):
            return None
        return torch.isfinite(x.detach()).all(dim=1).logical_not().nonzero()[:, 0].cpu()
    if isinstance(x, torch.Tensor):  # torch sparse (CSR or COO, coalesced or not): its stored values and their rows
        x = x if x.layout == torch.sparse_coo else x.to_sparse_coo()
        x = sp.coo_matrix((x._values().detach().cpu().double().numpy(), x._indices().cpu().numpy()),
                          shape=tuple(x.shape))
    elif x.format not in ("csr", "coo"):
        x = x.tocsr()
    bad = ~np.isfinite(x.data)
    if not bad.any():
        return None
    at = np.flatnonzero(bad)
    return x.row[at] if x.format == "coo" else np.searchsorted(x.indptr, at, side="right") - 1


def _all_finite(t: torch.Tensor) -> bool:
    """Whether every value of the dense tensor ``t`` is finite (through numpy on a CPU: about 20x faster there)."""
    t = t.detach()
    if t.device.type == "cpu" and t.dtype in (torch.float16, torch.float32, torch.float64):
        return bool(np.isfinite(t.resolve_neg().numpy()).all())
    return bool(torch.isfinite(t).all())


def _usable(x: torch.Tensor) -> torch.Tensor:
    """``x``, or a copy of it where it was made under the caller's ``torch.inference_mode()`` and is used outside it
    (as a fit trains): autograd can neither save such an inference tensor nor take views of a sparse one."""
    return x.clone() if x.is_inference() and not torch.is_inference_mode_enabled() else x


def _as_scipy(x) -> sp.csr_matrix:
    if sp.issparse(x):
        return sp.csr_matrix(x, dtype="float32")
    x = _usable(x)
    x = x.coalesce() if x.layout == torch.sparse_coo else x.to_sparse_coo().coalesce()
    i = x.indices().numpy()
    return sp.csr_matrix((x.values().float().numpy(), (i[0], i[1])), shape=tuple(x.shape))


def _as_features(x) -> Features:
    if isinstance(x, SparseOperator):
        return x
    if isinstance(x, torch.Tensor) and x.layout == torch.strided:
        return _usable(x)
    return SparseOperator(_as_scipy(x))


class GCNLayer(nn.Module):
    r"""One graph convolution :math:`\hat A H W + b` (Glorot-initialized ``W``, no activation).

    ``copies = C > 1`` holds ``C`` independent layers (``weight [C, in, out]``, ``bias [C, out]``) for a
    disjoint union of ``C`` graphs of ``n`` nodes each, copy ``c`` on rows ``c n .. (c + 1) n - 1`` of
    the block-diagonal ``adj``. The input is either per copy (``[C n, in]``: one batched matmul) or
    shared by all copies (``[n, in]``, e.g. the same sparse features: one product with the ``C`` weights
    side by side, ``H [W_1 ... W_C]``).
    """

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, copies: int = 1):
        super().__init__()
        shape = (in_dim, out_dim) if copies == 1 else (copies, in_dim, out_dim)
        self.copies = copies
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.zeros(shape[:-2] + (out_dim,))) if bias else None
        for w in (self.weight.data,) if copies == 1 else self.weight.data:
            nn.init.xavier_uniform_(w)

    def forward(self, h: Features, adj: SparseOperator, propagated: bool = False,
                shared_adj: SparseOperator | None = None) -> torch.Tensor:
        """``Â H W + b``; ``shared_adj``: :class:`EncoderInput`'s node-major ``Â`` of a union (used for shared input)."""
        if self.copies > 1 and shared_adj is not None and not propagated and h.shape[0] * self.copies == adj.shape[0]:
            return self.add_bias(shared_adj @ self._shared_product(h).view(-1, self.weight.shape[2]))
        out = h @ self.weight if self.copies == 1 else self._batched_product(h, adj.shape[0] // self.copies)
        if not propagated:
            out = adj @ out
        return self.add_bias(out)

    def add_bias(self, out: torch.Tensor) -> torch.Tensor:
        """``out + b``, each copy's bias on its own rows."""
        if self.bias is None:
            return out
        if self.copies == 1:
            return out + self.bias
        return (out.view(self.copies, -1, out.shape[-1]) + self.bias[:, None]).view(out.shape)

    def _shared_product(self, h: Features) -> torch.Tensor:
        """``H [W_1 ... W_C]`` for an input ``[n, in]`` shared by the copies: one wide product, ``[n, C out]``."""
        c_count, in_dim, out_dim = self.weight.shape
        return h @ self.weight.transpose(0, 1).reshape(in_dim, c_count * out_dim)

    def _batched_product(self, h: Features, n: int) -> torch.Tensor:
        """``H_c W_c`` for every copy, stacked as ``[C n, out]``."""
        c_count, in_dim, out_dim = self.weight.shape
        if h.shape[0] == n:  # shared input: one wide product, then copy-major rows
            return self._shared_product(h).view(n, c_count, out_dim).transpose(0, 1).reshape(c_count * n, out_dim)
        return torch.bmm(h.view(c_count, n, in_dim), self.weight).view(c_count * n, out_dim)


class GCNEncoder(nn.Module):
    r"""Stacked GCN layers with ``activation`` between them and a variational or deterministic head.

    Args:
        in_dim: number of input features.
        hidden: widths of the hidden GCN layers (the paper: ``(32,)``).
        latent: latent dimension ``d`` (the paper: 16).
        variational: ``True`` gives :math:`(\mu, \log\sigma)` (VGAE/VAE), ``False`` a point ``z`` (GAE/AE).
        activation: nonlinearity after each hidden layer.
        bias: add a bias to every layer; with ``batch_norm``, the normalization's shift is the bias of the
            layers it follows (a bias right before it would be subtracted again: its gradient is 0 up to
            rounding, which Adam turned into steps that made results depend on the thread count), and a
            variational head keeps a bias for :math:`\log\sigma`.
        max_logstd: :math:`\log\sigma` is clamped above at this value for numerical safety.
        normalize: the scale :math:`s` of a *normalized* head (VGNAE, Ahn & Kim 2021), or ``None``: the
            mean is :math:`\mu = \hat A\,\big(s\,\bar H\big)` where :math:`\bar H` is :math:`HW_\mu (+b)`
            with every row scaled to unit L2 norm, so every node enters propagation with norm :math:`s`
            (isolated and low-degree nodes no longer collapse to near-zero embeddings); :math:`\log\sigma`
            stays a plain GCN output. Needs inputs built with ``encoder_input(..., fold=False)``.
        copies: ``C`` independent encoders over a disjoint union of ``C`` equal-size graphs (see
            :class:`GCNLayer`, :meth:`stack` and :meth:`copy`); a normalized head normalizes each node's row of
            its own copy (rows are per node, so the copies never meet).
        dropout: dropout probability on the input of every layer, the features included (MaskGAE, Li et al.
            2023); sparse features drop stored entries. Active in training mode only. With ``dropout > 0``
            build inputs with ``encoder_input(..., fold=False)`` so that features are dropped before
            propagation.
        batch_norm: batch normalization (``torch.nn.BatchNorm1d`` over the nodes) of every layer's output
            after propagation, before its activation; for the head, of the mean :math:`\mu` only
            (MaskGAE). Training mode normalizes with the batch statistics, evaluation mode with the running ones.
        head_activation: a nonlinearity applied to the mean after the head (MaskGAE: ELU), ``None``: linear.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int] = (32,), latent: int = 16, variational: bool = True,
                 activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu, bias: bool = True,
                 max_logstd: float = 10.0, normalize: float | None = None, copies: int = 1,
                 dropout: float = 0.0, batch_norm: bool = False,
                 head_activation: Callable[[torch.Tensor], torch.Tensor] | None = None):
        super().__init__()
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if copies != 1 and (dropout > 0 or batch_norm or head_activation is not None):
            raise ValueError("dropout, batch_norm and head_activation are not batched: use copies=1")
        for name, size in [("in_dim", in_dim), ("latent", latent), *(("hidden", h) for h in hidden)]:
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise InputError(f"{name} must be a positive integer, got {size!r}")
        if normalize is not None and not normalize > 0:
            raise ValueError(f"the scale of a normalized head must be positive, got {normalize}")
        # plain ints: numpy integers (scikit-learn's parameter grids built from np.arange) fail in torch's split
        in_dim, hidden, latent, copies = int(in_dim), tuple(int(h) for h in hidden), int(latent), int(copies)
        widths = [in_dim, *hidden]
        # a bias right before batch normalization is subtracted by it: its true gradient is 0, and Adam turned that
        # gradient's rounding noise into full steps (results then depended on the thread count); the normalization's
        # own shift is the bias there. A normalized head adds its bias before the row normalization: kept.
        before_norm = batch_norm and normalize is None
        self.layers = nn.ModuleList(GCNLayer(a, b, bias and not batch_norm, copies) for a, b in zip(widths[:-1], widths[1:]))
        self.head = GCNLayer(widths[-1], 2 * latent if variational else latent, bias and not before_norm, copies)
        #: log sigma's bias where the head has none (batch norm of the mean only)
        self.logstd_bias = nn.Parameter(torch.zeros(latent)) if bias and before_norm and variational else None
        if variational:  # Glorot-initialize mu and log sigma as the two separate layers of the paper
            for weight in (self.head.weight.data,) if copies == 1 else self.head.weight.data:
                for half in weight.split(latent, dim=1):
                    nn.init.xavier_uniform_(half)
        self.activation = activation
        self.variational = variational
        self.latent = latent
        self.max_logstd = max_logstd
        self.normalize = normalize
        self.copies = copies
        self.dropout = dropout
        self.norms = nn.ModuleList(nn.BatchNorm1d(w) for w in [*hidden, latent]) if batch_norm else None
        self.head_activation = head_activation
        self._config = dict(in_dim=in_dim, hidden=tuple(hidden), latent=latent, variational=variational,
                            activation=activation, bias=bias, max_logstd=max_logstd, normalize=normalize,
                            dropout=dropout, batch_norm=batch_norm, head_activation=head_activation)

    @classmethod
    def stack(cls, encoders: Sequence["GCNEncoder"]) -> "GCNEncoder":
        """One encoder with ``len(encoders)`` copies holding the given (single, equally configured) encoders' parameters."""
        if not encoders:
            raise ValueError("stack needs at least one encoder")
        config = encoders[0]._config
        if any(e._config != config or e.copies != 1 for e in encoders):
            raise ValueError("stack needs single encoders of the same configuration")
        out = cls(**config, copies=len(encoders))
        named = [dict(e.named_parameters()) for e in encoders]
        with torch.no_grad():  # one encoder stacks to a single encoder (copies=1 stores unstacked parameters)
            for name, param in out.named_parameters():
                sources = [params[name] for params in named]
                param.copy_(torch.stack(sources) if len(sources) > 1 else sources[0])
        return out

    def copy(self, index: int) -> "GCNEncoder":
        """Copy ``index`` of a batched encoder as a single encoder (its parameters cloned)."""
        if not -self.copies <= index < self.copies:
            raise IndexError(f"copy {index} of an encoder with {self.copies} copies")
        out, named = type(self)(**self._config), dict(self.named_parameters())
        with torch.no_grad():
            for name, param in out.named_parameters():
                param.copy_(named[name] if self.copies == 1 else named[name][index])
        return out

    def forward(self, inp: EncoderInput, return_hidden: bool = False):
        """The posterior q(Z | X, A); with ``return_hidden`` also the list of hidden activations.

        Features of the wrong width or of another dtype than the parameters raise :class:`graphvae.InputError`."""
        h, propagated, hidden = inp.features, inp.propagated, []
        weight = (self.layers[0] if len(self.layers) else self.head).weight
        if h.shape[-1] != weight.shape[-2]:
            raise InputError(f"the encoder takes {weight.shape[-2]} input features, got {h.shape[-1]}")
        if isinstance(h, torch.Tensor) and h.dtype != weight.dtype:
            raise InputTypeError(f"features are {h.dtype} but the encoder's parameters are {weight.dtype}: convert "
                                 f"one (x.to({weight.dtype}) or encoder.to({h.dtype}))")
        for i, layer in enumerate(self.layers):
            h = layer(self._drop(h), inp.adj, propagated, inp.shared_adj if i == 0 else None)
            h = self.activation(h if self.norms is None else self.norms[i](h))
            propagated = False
            hidden.append(h)
        h = self._drop(h)
        out = self._normalized_head(h, inp.adj, propagated) if self.normalize else self.head(h, inp.adj, propagated)
        mu, logstd = out.split(self.latent, dim=-1) if self.variational else (out, None)
        logstd_bias = getattr(self, "logstd_bias", None)  # (absent from encoders pickled before it existed)
        if logstd_bias is not None:
            logstd = logstd + logstd_bias
        if self.norms is not None:
            mu = self.norms[-1](mu)
        if self.head_activation is not None:
            mu = self.head_activation(mu)
        posterior = Posterior(mu) if logstd is None else Posterior(mu, logstd.clamp(max=self.max_logstd))
        return (posterior, hidden) if return_hidden else posterior

    def _drop(self, h: Features) -> Features:
        """Dropout of a layer's input in training mode; for sparse features, of their stored entries."""
        if not (self.training and self.dropout > 0):
            return h
        if isinstance(h, torch.Tensor):
            return torch.nn.functional.dropout(h, self.dropout, True)
        if h.is_identity:
            raise ValueError("dropout needs features, not the identity operator")
        values = h.csr.values()
        keep = torch.rand(values.shape, device=values.device) >= self.dropout
        # a sparse operator of the kept entries: its product and that product's backward skip the dropped ones
        return h.keep_entries(keep, 1 - self.dropout)

    def _normalized_head(self, h: Features, adj: SparseOperator, propagated: bool) -> torch.Tensor:
        """The head with the mean part row-normalized to norm ``normalize`` before propagation."""
        if propagated and not adj.is_identity:
            raise ValueError("a normalized head needs unpropagated features: build them with encoder_input(..., fold=False)")
        head = self.head  # every copy's H W + b on its own rows of the union
        out = head.add_bias(h @ head.weight if head.copies == 1 else head._batched_product(h, adj.shape[0] // head.copies))
        mean = torch.nn.functional.normalize(out[:, :self.latent], dim=1) * self.normalize
        out = torch.cat([mean, out[:, self.latent:]], dim=1) if self.variational else mean
        return out if adj.is_identity else adj @ out


def edgeless_input(x: torch.Tensor) -> EncoderInput:
    """The encoder input of a batch of images: features ``x`` on a graph with no edges (``Â = I``).

    Not checked for NaN or inf: the image estimators check their images once per fit, not per mini-batch, and the
    noise a denoising model adds to a batch may make it inf on purpose (training then reports the divergence)."""
    return encoder_input(x, SparseOperator(None, n=x.shape[0]), check_finite=False)

r"""The image VAE (Kingma & Welling 2013) as a VGAE on a graph with no edges.

A mini-batch of ``B`` images is a graph of ``B`` nodes and no edges, so :math:`\hat A = I` and the
:class:`graphvae.nn.encoder.GCNEncoder` is an MLP encoder :math:`q(z\mid x) = \mathcal N(\mu(x),
\operatorname{diag}\sigma^2(x))`. The decoder :class:`graphvae.nn.decoder.MLPDecoder` (GCN layers on the
same edgeless graph) feeds a pixel likelihood (:mod:`graphvae.objectives.pixel_likelihood`), and training maximizes
the one shared :class:`graphvae.objectives.elbo.ELBO`

.. math:: \mathcal L(x) = \mathbb E_{q(z\mid x)}[\log p(x\mid z)] - \mathrm{KL}(q(z\mid x)\,\|\,\mathcal N(0, I))

with the same reparameterization and closed-form KL as the VGAE. Only the graph (no edges) and the
likelihood (pixels instead of links) differ.

Evaluation, in nats per image: the test ELBO, and the importance-weighted bound (Burda et al. 2016)

.. math:: \mathcal L_k(x) = \mathbb E\Big[\log \frac1k \sum_{i=1}^k \frac{p(x\mid z_i)\,p(z_i)}{q(z_i\mid x)}\Big],
          \qquad z_i \sim q(z\mid x),

which equals the ELBO for :math:`k = 1`, does not decrease with :math:`k` and tends to :math:`\log p(x)`.

Colour images (CIFAR-10) are the same model on ``3 * 32 * 32 = 3072`` channel-major pixels with Gaussian
pixels. With ``dequantize=256`` the 8-bit pixels ``k/255`` are modelled as the continuous
:math:`y = (k + u)/256`, :math:`u \sim U[0, 1)`: fresh noise for every training batch, and one seeded
draw per evaluation sample for the test bounds, which are then bounds on :math:`\mathbb E_u \log p(y)` and
convert to bits per dimension by :func:`graphvae.objectives.pixel_likelihood.bits_per_dim`.
"""
from __future__ import annotations

import math
import re

from typing import Sequence

import numpy as np
import torch

from .._validation import InputError, InputTypeError, check_finite, check_float32_range, check_int, check_seed
from .._device import device_generator
from ..nn.decoder import MLPDecoder
from ..nn.encoder import GCNEncoder, edgeless_input
from ..objectives.elbo import ELBO
from ..objectives.penalties import ActivationL1, ContractivePenalty, SparsityKL
from ..objectives.pixel_likelihood import BernoulliPixels, GaussianPixels, PixelLikelihood, dequantize
from ..training.corruption import NOISES, corrupt
from ..training.trainer import image_batches, train_elbo
from .base import (
    BOOLEAN,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    SEED,
    WIDTHS,
    Estimator,
    Float32Transformer,
    Integral,
    Interval,
    evaluating,
    options,
    widths,
)

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "elu": torch.nn.functional.elu, "sigmoid": torch.sigmoid}

#: elements (samples x images x pixels) evaluated at once by :meth:`ImageVAE.iwae`
_IWAE_CHUNK = 2 ** 22
#: log-weights (samples x images) :meth:`ImageVAE.iwae` holds at once: a larger ``k`` is evaluated in runs of
#: samples whose log-sum-exps are combined, so memory stays bounded for any ``k``
_IWAE_LOG_WEIGHTS = 2 ** 22


def check_images(x, what: str = "images", n_features: int | None = None, owner: str = "ImageVAE",
                 unit_interval: bool = False, estimator=None, reset: bool = False) -> torch.Tensor:
    """Images ``x [n, pixels]`` as a float32 tensor, checked as every image estimator checks them.

    scikit-learn's ``check_array`` (2-d, numeric, dense, real, at least one row and one pixel; its messages, e.g.
    "Reshape your data"), then ours: finite values, ``n_features`` pixels when given (named with scikit-learn's
    wording "X has .. features, but ``owner`` is expecting .."), pixels in [0, 1] if ``unit_interval``. A bad
    ``x`` raises :class:`InputError` (:class:`InputTypeError` for a wrong type). The caller's array is never
    written to: a read-only one is copied.

    ``estimator``: the model ``x`` goes to, for scikit-learn's column-name convention (``validate_data``): with
    ``reset`` (``fit``) a DataFrame's column names are recorded in ``estimator.feature_names_in_`` (any earlier
    ones dropped); otherwise columns named differently from the fit's are refused, and a name-less array after a
    fit on names (or the reverse) warns, as scikit-learn's own estimators do.
    """
    from sklearn.utils.validation import check_array

    named = estimator is not None and hasattr(x, "columns")  # a DataFrame: its names first, as scikit-learn does
    if named:
        _check_column_names(estimator, x, reset)
    original = x
    if isinstance(x, torch.Tensor):
        x = _tensor_to_numpy(x, what)
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind in ("m", "M"):  # numpy casts dates and durations to numbers without a word
        raise InputTypeError(f"{what} must be a 2-d array of numbers [n, pixels], got dtype {x.dtype}")
    try:
        x = check_array(x, dtype=[np.float32, np.float64], ensure_all_finite=False, input_name=what)
    except (TypeError, ValueError) as error:
        kind = InputTypeError if isinstance(error, TypeError) else InputError
        reason = re.sub(r"\s*array=\[.*?\]\.?", "", str(error), flags=re.S)  # scikit-learn lists every value
        reason = re.sub(r"(Complex data not supported)\s*\[.*", r"\1", reason, flags=re.S)  # ... here too
        raise kind(f"{what} must be a 2-d array of numbers [n, pixels]: {' '.join(reason.split())}") from None
    check_finite(x, what)
    check_float32_range(x, what)  # the model computes in float32: such a pixel would become inf (a NaN loss)
    if n_features is not None and x.shape[1] != n_features:
        raise InputError(f"{what} have {x.shape[1]} pixels, the model was fitted on {n_features} "
                         f"(X has {x.shape[1]} features, but {owner} is expecting {n_features} features as input)")
    if estimator is not None and not named:  # records that there are no names, or warns that names are missing
        _check_column_names(estimator, original, reset)
    if unit_interval and (x.min() < 0 or x.max() > 1):
        raise InputError(f"Bernoulli pixels must lie in [0, 1], {what} range over [{x.min():g}, {x.max():g}]")
    if not x.flags.writeable:
        x = x.copy()
    return torch.as_tensor(x, dtype=torch.float32)


def _check_column_names(estimator, x, reset: bool) -> None:
    """scikit-learn's ``feature_names_in_`` convention for ``x`` (a 2-d DataFrame, or an array already checked):
    its ``validate_data`` without its array checks, a refusal as an :class:`InputError` in scikit-learn's words,
    lines and all (its checks match them; no CLI command passes column names)."""
    from sklearn.utils.validation import validate_data

    try:
        validate_data(estimator, x, reset=reset, skip_check_array=True)
    except TypeError as error:  # e.g. column names of mixed types
        raise InputTypeError(str(error)) from None
    except ValueError as error:  # names that differ from the fit's, or another number of columns
        raise InputError(str(error)) from None


def _tensor_to_numpy(x: torch.Tensor, what: str) -> np.ndarray:
    """A torch tensor as a numpy array for :func:`check_images`: detached, on the CPU, dense (a sparse tensor is
    refused as scipy's sparse matrices are), floats numpy lacks (bfloat16, float8) widened
    (:func:`graphvae.data.graph.numpy_ready`)."""
    from ..data.graph import numpy_ready

    if x.layout != torch.strided:
        raise InputTypeError(f"{what}: a sparse tensor ({x.layout}) was passed, but dense data is required; "
                             f"use .to_dense()")
    return numpy_ready(x).numpy()


class ImageVAE(Float32Transformer, Estimator):
    """Variational autoencoder for images: encoder and decoder are GCN stacks on the edgeless graph.

    Args:
        latent: latent dimension ``d``.
        hidden: encoder hidden widths; the decoder mirrors them (``(256,)`` gives 64-256-d-256-64 on digits).
        likelihood: ``"bernoulli"`` (logits; binarized or [0, 1] pixels) or ``"gaussian"``.
        sigma, learn_sigma: the Gaussian pixel standard deviation, fixed or learned per pixel.
        variational: ``False`` gives a deterministic autoencoder (KL 0; no IWAE bound).
        dequantize: ``None``, or the number of levels ``L`` (256 for 8-bit images) of pixels given as
            ``k / (L - 1)``: the Gaussian likelihood then sees :math:`(k + u)/L`, :math:`u \\sim U[0, 1)`,
            in training (fresh noise per batch) and in :meth:`elbo` / :meth:`iwae` (seeded noise).
        beta: KL weight (1 for the ELBO).
        epochs, batch_size, lr: Adam on mini-batches of images.
        activation: ``"relu"``, ``"tanh"``, ``"elu"`` or ``"sigmoid"`` between layers (sigmoid for the KL sparsity).
        random_state: seed for initialization, batching and sampling; ``None``: a fresh seed from the operating system's entropy, recorded in ``seed_``.
        noise, noise_level: denoising (:func:`graphvae.training.corruption.corrupt`): the encoder sees corrupted
            images, the clean ones are reconstructed; ``None``: off.
        sparsity, sparsity_weight, activation_l1, contractive, jacobian, num_probes: the autoencoder
            penalties of :mod:`graphvae.objectives.penalties` (KL sparsity of sigmoid units, L1 of activations, the
            contractive Jacobian norm), each off at weight 0. The :class:`graphvae.Autoencoder` kinds are
            presets of these options with ``variational=False``.
        progress: show a progress bar.
        device: ``"cpu"`` or a CUDA device (``"cuda"``, ``"cuda:N"``): the images move there once, and the
            mini-batches, their corruption or dequantization noise and the posterior samples are drawn there, from
            a CUDA generator seeded with ``random_state`` (other draws than the CPU fit of the same seed). Every
            method takes and returns numpy arrays wherever the model trained.

    Attributes after ``fit``: ``objective_`` (the :class:`graphvae.objectives.elbo.ELBO`), ``history_`` (per-epoch
    totals; :meth:`history_per_image` divides them by the training-set size), ``train_seconds_``,
    ``n_pixels_`` (= ``n_features_in_``), ``feature_names_in_`` (fitted on a DataFrame with string column names:
    later calls check them, :func:`check_images`), ``n_train_``, ``seed_`` (the seed used: ``random_state``, or the
    fresh one drawn for ``None``).
    """

    def __init__(self, latent: int = 2, hidden: int | Sequence[int] = (256,), likelihood: str = "bernoulli",
                 sigma: float = 1.0, learn_sigma: bool = False, variational: bool = True, beta: float = 1.0,
                 epochs: int = 300, batch_size: int = 100, lr: float = 1e-3, activation: str = "relu",
                 random_state: int | None = 0, progress: bool = False, dequantize: int | None = None,
                 noise: str | None = None, noise_level: float = 0.3, sparsity: float = 0.05,
                 sparsity_weight: float = 0.0, activation_l1: float = 0.0, contractive: float = 0.0,
                 jacobian: str = "exact", num_probes: int = 1, device: str = "cpu"):
        self.latent = latent
        self.hidden = hidden
        self.likelihood = likelihood
        self.sigma = sigma
        self.learn_sigma = learn_sigma
        self.variational = variational
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.activation = activation
        self.random_state = random_state
        self.progress = progress
        self.dequantize = dequantize
        self.noise = noise
        self.noise_level = noise_level
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.activation_l1 = activation_l1
        self.contractive = contractive
        self.jacobian = jacobian
        self.num_probes = num_probes
        self.device = device

    _parameter_constraints = {
        "latent": POSITIVE_INT,
        "hidden": WIDTHS,
        "likelihood": options("bernoulli", "gaussian"),
        "sigma": POSITIVE,
        "learn_sigma": BOOLEAN,
        "variational": BOOLEAN,
        "beta": NON_NEGATIVE,
        "epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "lr": POSITIVE,
        "activation": options(*ACTIVATIONS),
        "random_state": SEED,
        "progress": BOOLEAN,
        "dequantize": [Interval(Integral, 2, None, closed="left"), None],  # levels
        "noise": [*options(*NOISES), None],
        "noise_level": NON_NEGATIVE,
        "sparsity": PROBABILITY,
        "sparsity_weight": NON_NEGATIVE,
        "activation_l1": NON_NEGATIVE,
        "contractive": NON_NEGATIVE,
        "jacobian": options("exact", "autograd", "hutchinson"),
        "num_probes": POSITIVE_INT,
        "device": [str, torch.device],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False  # the same random_state gives the same fit (tested)
        return tags

    # ------------------------------------------------------------------ building and training
    def _check_params(self) -> tuple[int, ...]:
        if self.dequantize is not None and self.likelihood != "gaussian":
            raise InputError(f"dequantize needs an integer number of levels >= 2 and the Gaussian likelihood, "
                             f"got dequantize={self.dequantize} likelihood={self.likelihood!r}")
        if self.noise in ("masking", "salt_pepper") and self.noise_level > 1:
            raise InputError(f"noise level must be in [0, 1] ({self.noise}), got {self.noise_level}")
        if self.sparsity_weight > 0 and self.activation != "sigmoid":
            raise InputError("the KL sparsity penalty needs sigmoid hidden units (use --activation sigmoid or L1)")
        hidden = widths(self.hidden)
        if (self.sparsity_weight > 0 or self.activation_l1 > 0) and not hidden:
            raise InputError("a sparse autoencoder needs at least one hidden layer")
        return hidden

    def _penalties(self) -> list:
        """The autoencoder penalties (:mod:`graphvae.objectives.penalties`) switched on by their weights."""
        penalties = []
        if self.sparsity_weight > 0:
            penalties.append(SparsityKL(self.sparsity, self.sparsity_weight))
        if self.activation_l1 > 0:
            penalties.append(ActivationL1(self.activation_l1))
        if self.contractive > 0:
            penalties.append(ContractivePenalty(self.contractive, self.jacobian, self.num_probes))
        return penalties

    def _tensor(self, x, what: str = "images", fitting: bool = False) -> torch.Tensor:
        """``x`` checked by :func:`check_images` against this model (its pixel count and column names once fitted,
        recorded when ``fitting``; [0, 1] for Bernoulli)."""
        return check_images(x, what, None if fitting else self.n_features_in_, type(self).__name__,
                            unit_interval=self.likelihood == "bernoulli", estimator=self, reset=fitting)

    def _observed(self, xt: torch.Tensor) -> torch.Tensor:
        """What the likelihood is evaluated on, before dequantization noise: ``xt`` itself, or its integer levels."""
        if self.dequantize is None:
            return xt
        top = int(self.dequantize) - 1
        levels = torch.round(xt * top)
        if xt.min() < 0 or xt.max() > 1 or (levels - xt * top).abs().max() > 1e-3:
            raise InputError(f"dequantize={self.dequantize} needs pixels k/{top} for integers k in 0..{top}")
        return levels

    def _noisy(self, observed: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return observed if self.dequantize is None else dequantize(observed, int(self.dequantize), generator)

    def _build(self, n_pixels: int, hidden: tuple[int, ...]) -> ELBO:
        act = ACTIVATIONS[self.activation]
        encoder = GCNEncoder(n_pixels, hidden, self.latent, variational=self.variational, activation=act)
        decoder = MLPDecoder(self.latent, hidden[::-1], n_pixels, activation=act)
        if self.likelihood == "bernoulli":
            pixels: PixelLikelihood = BernoulliPixels(decoder)
        else:
            pixels = GaussianPixels(decoder, n_pixels, self.sigma, self.learn_sigma)
        return ELBO(encoder, pixels, beta=self.beta, penalties=self._penalties())

    def _fit(self, x, y=None) -> None:
        """Train on images ``x`` (``[n, pixels]``; ``y`` is ignored)."""
        hidden = self._check_params()
        xt = self._tensor(x, fitting=True)
        self.n_pixels_ = self.n_features_in_ = xt.shape[1]
        observed = self._observed(xt)
        device = self._fit_device()
        # batches, pixel noise and posterior samples: one generator on the device (the CPU's own on the CPU)
        generator = device_generator(device, self.seed_)
        # initialization: the global RNG, seeded by Estimator.fit
        objective = self._build(self.n_pixels_, hidden).to(device)
        observed = observed.to(device)

        def batches(epoch: int):
            for _, xb in image_batches(observed, self.batch_size, generator):
                xb = self._noisy(xb, generator)
                seen = xb if self.noise is None else corrupt(xb, self.noise, self.noise_level, generator)
                yield edgeless_input(seen), xb

        history = train_elbo(objective, batches, self.epochs, self.lr, generator, self.progress,
                             desc="VAE" if self.variational else "AE")
        self.objective_, self.history_, self.n_train_ = objective, history, xt.shape[0]

    def history_per_image(self) -> list[dict]:
        """``history_`` with the ELBO, reconstruction, KL and penalty totals divided by the training-set size."""
        self._check_fitted()
        keys = ("elbo", "log_likelihood", "kl", "penalty")
        return [{**h, **{k: h[k] / self.n_train_ for k in keys}} for h in self.history_]

    # ------------------------------------------------------------------ evaluation
    def elbo(self, x, num_samples: int = 1, random_state: int = 0) -> dict[str, float]:
        """The ELBO and its terms in nats per image, through the shared objective, averaged over ``num_samples`` draws."""
        self._check_fitted()
        num_samples = check_int(num_samples, "num_samples")
        xt = self._tensor(x)
        observed = self._observed(xt)
        generator = torch.Generator().manual_seed(check_seed(random_state))
        sampler = device_generator(self._device, random_state, generator)
        sums = dict(elbo=0.0, log_likelihood=0.0, kl=0.0)
        with evaluating():
            for _ in range(num_samples):
                y = self._to_model_device(self._noisy(observed, generator))
                terms = self.objective_(edgeless_input(y), y, sampler)
                for key in sums:
                    sums[key] += float(getattr(terms, key))
        return {k: v / (num_samples * xt.shape[0]) for k, v in sums.items()}

    def score(self, x, y=None) -> float:
        """Mean ELBO per image in nats (higher is better), estimated with 10 posterior samples."""
        return self.elbo(x, num_samples=10)["elbo"]

    def iwae_per_image(self, x, k: int = 1000, random_state: int = 0) -> np.ndarray:
        r"""One draw of :math:`\log \frac1k\sum_i p(x\mid z_i)p(z_i)/q(z_i\mid x)` for every image (nats)."""
        self._check_fitted()
        if not self.variational:
            raise InputError("the IWAE bound needs a variational model (variational=True)")
        k = check_int(k, "k")
        xt = self._observed(self._tensor(x))
        generator = torch.Generator().manual_seed(check_seed(random_state))
        sampler = device_generator(self._device, random_state, generator)
        images = max(1, _IWAE_CHUNK // (k * xt.shape[1]))
        samples = max(1, min(k, _IWAE_CHUNK // xt.shape[1]))
        # samples per call of the objective: a multiple of its chunks, so that the runs draw what one call would
        run = samples * max(1, _IWAE_LOG_WEIGHTS // (samples * min(images, xt.shape[0])))
        out = []
        with evaluating():
            for start in range(0, xt.shape[0], images):
                xb = self._to_model_device(self._noisy(xt[start:start + images], generator))
                inp = edgeless_input(xb)
                if k <= run:
                    out.append(self.objective_.iwae(inp, xb, k, sampler, samples_per_chunk=samples))
                    continue
                log_sum = None  # log sum_i w_i over the runs so far: log-mean-exp of a run + log of its size
                for first in range(0, k, run):
                    size = min(run, k - first)
                    part = self.objective_.iwae(inp, xb, size, sampler, samples_per_chunk=samples).double()
                    part = part + math.log(size)
                    log_sum = part if log_sum is None else torch.logaddexp(log_sum, part)
                out.append(log_sum - math.log(k))
        return torch.cat(out).double().cpu().numpy()

    def iwae(self, x, k: int = 1000, random_state: int = 0) -> float:
        """The importance-weighted bound with ``k`` samples, mean nats per image."""
        return float(self.iwae_per_image(x, k, random_state).mean())

    # ------------------------------------------------------------------ codes, images, samples
    def _n_codes(self) -> int:
        return self.latent

    def transform(self, x) -> np.ndarray:
        """Posterior means :math:`\\mu(x)`, ``[n, latent]``."""
        self._check_fitted()
        with evaluating():
            return self.objective_.encoder(edgeless_input(self._to_model_device(self._tensor(x)))).mu.cpu().numpy()

    def decode(self, z) -> np.ndarray:
        """Mean images of :math:`p(x\\mid z)` for latent codes ``z`` (``[m, latent]``)."""
        self._check_fitted()
        if isinstance(z, torch.Tensor):
            z = _tensor_to_numpy(z, "latent codes")
        try:
            z = np.asarray(z, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise InputError(f"latent codes must be numbers [m, {self.latent}]: {' '.join(str(error).split())}") from None
        if z.ndim != 2 or z.shape[1] != self.latent:
            raise InputError(f"latent codes must have shape [m, {self.latent}], got {z.shape}")
        check_finite(z, "latent codes")
        with evaluating():
            return self.objective_.likelihood.decode_mean(self._to_model_device(torch.from_numpy(z))).cpu().numpy()

    def reconstruct(self, x) -> np.ndarray:
        """Mean images decoded from the posterior means of ``x``."""
        return self.decode(self.transform(x))

    def sample(self, n: int = 64, random_state: int = 0) -> np.ndarray:
        """``n`` images from the model: :math:`z \\sim \\mathcal N(0, I)`, shown as the mean of :math:`p(x\\mid z)`."""
        self._check_fitted()
        n = check_int(n, "n", minimum=0)
        generator = torch.Generator().manual_seed(check_seed(random_state))
        return self.decode(torch.randn(n, self.latent, generator=generator).numpy())

r"""The image VAE (Kingma & Welling 2013) as a VGAE on a graph with no edges.

A mini-batch of ``B`` images is a graph of ``B`` nodes and no edges, so :math:`\hat A = I` and the
:class:`graphvae.encoder.GCNEncoder` is an MLP encoder :math:`q(z\mid x) = \mathcal N(\mu(x),
\operatorname{diag}\sigma^2(x))`. The decoder :class:`graphvae.decoder.MLPDecoder` (GCN layers on the
same edgeless graph) feeds a pixel likelihood (:mod:`graphvae.pixel_likelihood`), and training maximizes
the one shared :class:`graphvae.elbo.ELBO`

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
convert to bits per dimension by :func:`graphvae.pixel_likelihood.bits_per_dim`.
"""
from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np
import torch

from ._validation import InputError, check_finite
from .decoder import MLPDecoder
from .elbo import ELBO
from .encoder import GCNEncoder
from .images import edgeless_input, image_batches
from .latent import normal_log_prob
from .pixel_likelihood import BernoulliPixels, GaussianPixels, PixelLikelihood, dequantize
from .train import train_elbo

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "elu": torch.nn.functional.elu}

#: elements (samples x images x pixels) evaluated at once by :meth:`ImageVAE.iwae`
_IWAE_CHUNK = 2 ** 22


class ImageVAE:
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
        activation: ``"relu"``, ``"tanh"`` or ``"elu"`` between layers.
        random_state: seed for initialization, batching and sampling.
        progress: show a progress bar.

    Attributes after ``fit``: ``objective_`` (the :class:`graphvae.elbo.ELBO`), ``history_`` (per-epoch
    totals; :meth:`history_per_image` divides them by the training-set size), ``train_seconds_``,
    ``n_pixels_``.
    """

    def __init__(self, latent: int = 2, hidden: int | Sequence[int] = (256,), likelihood: str = "bernoulli",
                 sigma: float = 1.0, learn_sigma: bool = False, variational: bool = True, beta: float = 1.0,
                 epochs: int = 300, batch_size: int = 100, lr: float = 1e-3, activation: str = "relu",
                 random_state: int = 0, progress: bool = False, dequantize: int | None = None):
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

    # ------------------------------------------------------------------ building and training
    def _check_params(self) -> tuple[int, ...]:
        hidden = (self.hidden,) if isinstance(self.hidden, (int, np.integer)) else tuple(self.hidden)
        if any(int(h) < 1 for h in hidden) or self.latent < 1:
            raise InputError(f"layer widths must be positive, got hidden={self.hidden} latent={self.latent}")
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise InputError(f"likelihood must be 'bernoulli' or 'gaussian', got {self.likelihood!r}")
        if self.activation not in ACTIVATIONS:
            raise InputError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.dequantize is not None and (int(self.dequantize) != self.dequantize or self.dequantize < 2
                                            or self.likelihood != "gaussian"):
            raise InputError(f"dequantize needs an integer number of levels >= 2 and the Gaussian likelihood, "
                             f"got dequantize={self.dequantize} likelihood={self.likelihood!r}")
        if not self.lr > 0 or not self.sigma > 0 or self.beta < 0:
            raise InputError(f"need lr > 0, sigma > 0 and beta >= 0, got lr={self.lr} sigma={self.sigma} beta={self.beta}")
        return tuple(int(h) for h in hidden)

    def _tensor(self, x, what: str = "images") -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] == 0:
            raise InputError(f"{what} must be a non-empty [n, pixels] array, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.number):
            raise InputError(f"{what} must be numeric, got dtype {x.dtype}")
        check_finite(x, what)
        if hasattr(self, "n_pixels_") and x.shape[1] != self.n_pixels_:
            raise InputError(f"{what} have {x.shape[1]} pixels, the model was fitted on {self.n_pixels_}")
        if self.likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
            raise InputError(f"Bernoulli pixels must lie in [0, 1], {what} range over [{x.min():g}, {x.max():g}]")
        return torch.as_tensor(x, dtype=torch.float32)

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
        return ELBO(encoder, pixels, beta=self.beta)

    def fit(self, x, y=None) -> "ImageVAE":
        """Train on images ``x`` (``[n, pixels]``; ``y`` is ignored)."""
        hidden = self._check_params()
        for attr in ("n_pixels_", "objective_"):
            self.__dict__.pop(attr, None)
        xt = self._tensor(x)
        self.n_pixels_ = xt.shape[1]
        observed = self._observed(xt)
        generator = torch.Generator().manual_seed(self.random_state)
        with torch.random.fork_rng(devices=[]):  # initialization from random_state, the global RNG left alone
            torch.manual_seed(self.random_state)
            objective = self._build(self.n_pixels_, hidden)

        def batches(epoch: int):
            for _, xb in image_batches(observed, self.batch_size, generator):
                xb = self._noisy(xb, generator)
                yield edgeless_input(xb), xb

        start = time.perf_counter()
        history = train_elbo(objective, batches, self.epochs, self.lr, generator, self.progress,
                             desc="VAE" if self.variational else "AE")
        self.train_seconds_ = time.perf_counter() - start
        self.objective_, self.history_, self.n_train_ = objective, history, xt.shape[0]
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "objective_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit() first")

    def history_per_image(self) -> list[dict]:
        """``history_`` with the ELBO, reconstruction, KL and penalty totals divided by the training-set size."""
        self._check_fitted()
        keys = ("elbo", "log_likelihood", "kl", "penalty")
        return [{**h, **{k: h[k] / self.n_train_ for k in keys}} for h in self.history_]

    # ------------------------------------------------------------------ evaluation
    def elbo(self, x, num_samples: int = 1, random_state: int = 0) -> dict[str, float]:
        """The ELBO and its terms in nats per image, through the shared objective, averaged over ``num_samples`` draws."""
        self._check_fitted()
        xt = self._tensor(x)
        observed = self._observed(xt)
        generator = torch.Generator().manual_seed(random_state)
        sums = dict(elbo=0.0, log_likelihood=0.0, kl=0.0)
        with torch.no_grad():
            for _ in range(num_samples):
                y = self._noisy(observed, generator)
                terms = self.objective_(edgeless_input(y), y, generator)
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
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        xt = self._observed(self._tensor(x))
        generator = torch.Generator().manual_seed(random_state)
        encoder, pixels = self.objective_.encoder, self.objective_.likelihood
        images = max(1, _IWAE_CHUNK // (k * xt.shape[1]))
        samples = max(1, min(k, _IWAE_CHUNK // xt.shape[1]))
        out = []
        with torch.no_grad():
            for start in range(0, xt.shape[0], images):
                xb = self._noisy(xt[start:start + images], generator)
                posterior = encoder(edgeless_input(xb))
                log_w = []
                for s in range(0, k, samples):
                    z = posterior.rsample(min(samples, k - s), generator)  # [s, b, d]
                    log_w.append(pixels.log_prob(pixels.decoder(z), xb) + normal_log_prob(z) - posterior.log_prob(z))
                out.append(torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k))
        return torch.cat(out).double().numpy()

    def iwae(self, x, k: int = 1000, random_state: int = 0) -> float:
        """The importance-weighted bound with ``k`` samples, mean nats per image."""
        return float(self.iwae_per_image(x, k, random_state).mean())

    # ------------------------------------------------------------------ codes, images, samples
    def transform(self, x) -> np.ndarray:
        """Posterior means :math:`\\mu(x)`, ``[n, latent]``."""
        self._check_fitted()
        with torch.no_grad():
            return self.objective_.encoder(edgeless_input(self._tensor(x))).mu.numpy()

    def decode(self, z) -> np.ndarray:
        """Mean images of :math:`p(x\\mid z)` for latent codes ``z`` (``[m, latent]``)."""
        self._check_fitted()
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent:
            raise InputError(f"latent codes must have shape [m, {self.latent}], got {z.shape}")
        pixels = self.objective_.likelihood
        with torch.no_grad():
            return pixels.mean(pixels.decoder(torch.from_numpy(z))).numpy()

    def reconstruct(self, x) -> np.ndarray:
        """Mean images decoded from the posterior means of ``x``."""
        return self.decode(self.transform(x))

    def sample(self, n: int = 64, random_state: int = 0) -> np.ndarray:
        """``n`` images from the model: :math:`z \\sim \\mathcal N(0, I)`, shown as the mean of :math:`p(x\\mid z)`."""
        self._check_fitted()
        generator = torch.Generator().manual_seed(random_state)
        return self.decode(torch.randn(n, self.latent, generator=generator).numpy())

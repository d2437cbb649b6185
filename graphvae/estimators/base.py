"""One estimator base for every model: scikit-learn's ``BaseEstimator`` with a template ``fit``.

Following scikit-learn's ``BaseMixture`` (``sklearn/mixture/_base.py``), :meth:`Estimator.fit` does once
for all estimators what each used to write by hand:

1. declarative parameter validation from the class's ``_parameter_constraints`` table (scikit-learn's
   constraint language), a bad value raising :class:`graphvae.InputError` with one line;
2. forgetting every fitted attribute (the names ending in ``_``) so nothing survives a refit;
3. seeding: the subclass's :meth:`Estimator._fit` runs inside :func:`torch.random.fork_rng` with the
   global torch generator (and, for a fit on a CUDA ``device``, that device's) seeded from ``random_state``
   (``None``: a fresh seed, :func:`fresh_seed`; the seed used is the fitted attribute ``seed_``), and
   numpy's global state is restored, so ``fit`` never changes the caller's random state; a fit that leaves a NaN or inf parameter (training
   diverged) raises :class:`graphvae.InputError`;
4. timing: ``train_seconds_`` is the sum of the trainer's per-epoch ``seconds``
   (:func:`graphvae.training.trainer.train_elbo` history; training steps only, validation excluded).

The constraint language is scikit-learn's ``sklearn.utils._param_validation`` (private, stable since 1.2;
``pyproject.toml`` asks for scikit-learn >= 1.6 for the tags API). Importing scikit-learn costs about a
second (it imports ``scipy.stats``); ``import graphvae`` and the CLI's ``--help`` stay free of it because
this module is only imported with an estimator.

Subclasses fill in ``_fit(X, y)`` (build the :class:`graphvae.objectives.elbo.ELBO`, call the shared trainer, set
``history_``) and, where more than one training run happens, ``_histories``.
"""
from __future__ import annotations

import contextlib
import warnings
from numbers import Integral, Real
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as _SklearnNotFitted
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions, validate_parameter_constraints  # noqa: F401
from sklearn.utils.validation import check_is_fitted

from .._sparse import deepcopy_through_pickle
from .._validation import MAX_SEED, DivergenceWarning, InputError

# the constraints the estimators' ``_parameter_constraints`` tables are written in (scikit-learn's language)
POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]
WIDTHS = [*POSITIVE_INT, list, tuple]  # one width or a sequence of widths (checked by :func:`widths`)
POSITIVE = [Interval(Real, 0, None, closed="neither")]
NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]
FRACTION = [Interval(Real, 0, 1, closed="left")]  # [0, 1)
PROBABILITY = [Interval(Real, 0, 1, closed="neither")]  # (0, 1)
UNIT_INTERVAL = [Interval(Real, 0, 1, closed="both")]  # [0, 1]
SEED = [Interval(Integral, 0, MAX_SEED, closed="both"), None]
BOOLEAN = ["boolean"]


def fresh_seed() -> int:
    """A seed for ``random_state=None``: drawn from the operating system's entropy (``numpy.random.SeedSequence``),
    never from a global generator; the fit records it as ``seed_`` so the run can be repeated."""
    return int(np.random.SeedSequence().entropy % (MAX_SEED + 1))


def options(*names: str) -> list:
    """The constraint "one of these strings"."""
    return [StrOptions(set(names))]


class NotFittedError(_SklearnNotFitted, RuntimeError):
    """A method that needs a fitted model was called before ``fit`` (scikit-learn's error, also a ``RuntimeError``)."""


def widths(hidden: int | Sequence[int], allow_empty: bool = True) -> tuple[int, ...]:
    """Hidden widths as a tuple of positive ints (one int is one layer)."""
    items = [hidden] if isinstance(hidden, (int, np.integer)) else hidden
    try:
        items = list(items)
    except TypeError:
        items = None
    if items is None or isinstance(hidden, (str, bytes)) or not all(
            isinstance(h, (int, np.integer)) and not isinstance(h, (bool, np.bool_)) for h in items):
        raise InputError(f"hidden must be an int or a sequence of ints, got {hidden!r}")
    out = tuple(int(h) for h in items)
    if any(h < 1 for h in out) or (not out and not allow_empty):
        raise InputError(f"hidden widths must be positive{'' if allow_empty else ' (at least one layer)'}, got {hidden!r}")
    return out


def non_finite_state(module: torch.nn.Module) -> str | None:
    """``"parameter NAME"`` or ``"buffer NAME"`` (e.g. batch norm's running statistics) of the first NaN or inf
    entry of ``module``'s state, or ``None`` when all of it is finite."""
    with torch.no_grad():
        for kind, named in (("parameter", module.named_parameters()), ("buffer", module.named_buffers())):
            for name, value in named:
                if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                    return f"{kind} {name}"
    return None


class Float32Transformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``TransformerMixin`` for the image models: their tags say that they refuse NaN and compute in float32, and
    ``get_feature_names_out`` names their codes ``<class name>0, <class name>1, ...`` (scikit-learn's convention
    for new features), so that ``set_output(transform="pandas")`` gives named columns. A subclass says how many
    codes ``transform`` returns: :meth:`_n_codes`."""

    @property
    def _n_features_out(self) -> int:  # read by ClassNamePrefixFeaturesOutMixin; unfitted: NotFittedError
        check_is_fitted(self)
        return self._n_codes()

    def _n_codes(self) -> int:
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float32"]  # the model computes in float32
        return tags


@contextlib.contextmanager
def no_autocast() -> Iterator[None]:
    """The caller's ``torch.autocast`` off (CPU and CUDA): a model computes in its own dtype, float32, whatever region
    it is called from (under ``torch.autocast("cpu", dtype=torch.bfloat16)`` a fit failed in the sparse products and
    scoring in the conversion to numpy)."""
    with torch.autocast("cpu", enabled=False), torch.autocast("cuda", enabled=False):
        yield


@contextlib.contextmanager
def evaluating() -> Iterator[None]:
    """An estimator's inference (embeddings, probabilities, scores): no gradients, no autocast (:func:`no_autocast`)."""
    with torch.no_grad(), no_autocast():
        yield


@contextlib.contextmanager
def training_mode() -> Iterator[None]:
    """What a fit needs of torch whatever the caller set: gradients on (a fit inside the caller's ``torch.no_grad()``
    failed deep in autograd; inside ``torch.inference_mode()`` too, which ``enable_grad`` alone does not leave) and
    float32 as the default dtype (the data are float32; under ``torch.set_default_dtype(torch.float64)`` the parameters
    were float64 and the first product failed), and the caller's autocast off (:func:`no_autocast`). The caller's
    settings are theirs again on exit."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        with torch.inference_mode(False), torch.enable_grad(), no_autocast():
            yield
    finally:
        torch.set_default_dtype(dtype)


class Estimator(BaseEstimator):
    """Base of every graphvae estimator (see the module docstring for what ``fit`` does once for all)."""

    #: parameter name -> list of scikit-learn constraints (``Interval``, ``StrOptions``, types, ``None``, ...)
    _parameter_constraints: dict = {}
    #: the attribute that shows the estimator is fitted
    _fitted_attribute = "objective_"

    def __deepcopy__(self, memo: dict) -> "Estimator":
        return deepcopy_through_pickle(self, memo)  # a fitted model holds sparse CSR tensors: torch cannot deep-copy them

    def fit(self, X: Any, y: Any = None) -> "Estimator":
        """Validate the parameters, forget any previous fit, train with ``random_state``; return ``self``."""
        self._check_params_table()
        cuda = self._cuda_devices()  # a device this machine lacks is refused like any bad parameter: before forgetting
        self._forget_fit()
        self._record_seed()
        numpy_state = np.random.get_state()
        try:
            with torch.random.fork_rng(devices=cuda), training_mode():
                # the CPU generator (torch.manual_seed would also seed, and so change, every CUDA device's)
                torch.random.default_generator.manual_seed(self.seed_)
                for index in cuda:  # a CUDA fit's global draws (dropout) on its device, restored afterwards
                    with torch.cuda.device(index):
                        torch.cuda.manual_seed(self.seed_)
                self._fit(X, y)
            self._check_diverged()
            self._warn_about_training()
        except BaseException:  # a failed fit (bad input, divergence, Ctrl-C) leaves no half-fitted model behind,
            self._forget_fit(keep=("history_", "seed_"))  # only the losses of the epochs it ran, to look at, and
            # the seed it drew, to repeat it
            raise
        finally:
            np.random.set_state(numpy_state)
        self.train_seconds_ = float(sum(entry["seconds"] for history in self._histories() for entry in history))
        return self

    def _record_seed(self) -> int:
        """Set and return ``seed_``, this fit's seed: ``random_state``, or a fresh one (:func:`fresh_seed`) for
        ``None`` (paths that train without :meth:`fit`, such as ``fit_seeds``, call it too)."""
        self.seed_ = fresh_seed() if self.random_state is None else int(self.random_state)
        return self.seed_

    def _cuda_devices(self) -> list[int]:
        """The CUDA device indices whose global generator a fit uses (``device`` parameter; none for the CPU)."""
        device = self._fit_device()
        return [device.index] if device.type == "cuda" else []

    def _fit_device(self) -> torch.device:
        """Where ``fit`` trains: the ``device`` parameter of an estimator that has one (else the CPU), checked."""
        device = getattr(self, "device", "cpu")
        if str(device) == "cpu":
            return torch.device("cpu")
        from .._device import resolve_device
        return resolve_device(device)

    @property
    def _device(self) -> torch.device:
        """The device the fitted model is on (its objective's first parameter's; the CPU without parameters)."""
        return next(self.objective_.parameters(), torch.empty(0)).device

    def _to_model_device(self, obj: Any) -> Any:
        """``obj`` (tensors, encoder inputs) on the fitted model's device: as it is on the CPU."""
        device = self._device
        if device.type == "cpu":
            return obj
        from .._device import to_device
        return to_device(obj, device)

    def _forget_fit(self, keep: tuple[str, ...] = ()) -> None:
        """Remove every fitted attribute (``name_``) but those in ``keep``."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_") and k not in keep]:
            delattr(self, name)

    def _fit(self, X: Any, y: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _histories(self) -> list[list[dict]]:
        """Every training run's history (their epochs' seconds add up to ``train_seconds_``)."""
        return [self.history_]

    def _check_diverged(self) -> None:
        """Raise :class:`InputError` if training left a NaN or inf parameter (e.g. a learning rate far too large):
        such a model would embed every node as NaN and score every pair as NaN."""
        objective = getattr(self, self._fitted_attribute, None)
        if not isinstance(objective, torch.nn.Module):
            return
        histories = self._histories()
        losses = [(entry.get("epoch"), entry.get("loss")) for history in histories for entry in history]
        epoch = next((e for e, loss in losses if loss is not None and not np.isfinite(loss)), None)
        advice = self._divergence_advice()
        bad = non_finite_state(objective)
        if bad is not None:
            when = f" (the loss became NaN or inf at epoch {epoch})" if epoch is not None else ""
            raise InputError(f"training diverged: {bad} is NaN or inf{when}{advice}")
        # the trainer ends a fit at its first epoch whose loss is NaN or inf; the parameters can still be finite
        # (huge), and a model kept from that epoch scores every pair alike. A model selected on validation before it is the earlier epoch's.
        last = [history[-1] for history in histories if history]
        if not any(entry.get("loss") is not None and not np.isfinite(entry["loss"]) for entry in last):
            return
        end = next(entry["epoch"] for entry in last if not np.isfinite(entry["loss"]))
        best = getattr(self, "best_epoch_", None)
        if len(histories) == 1 and isinstance(best, int) and 0 <= best < end:
            warnings.warn(f"training diverged: the loss became NaN or inf at epoch {end}, which ended training; the "
                          f"model kept is epoch {best}'s, selected on validation before it{advice}",
                          DivergenceWarning, stacklevel=3)
            return
        raise InputError(f"training diverged: the loss became NaN or inf at epoch {end}{advice}")

    #: how far above its starting value the kept epoch's loss may end before :meth:`_warn_if_the_loss_rose` warns, in
    #: units of ``max(|starting loss|, 1)``: healthy training ends below its start; a learning rate far too large
    #: ends orders of magnitude above it (``ImageVAE(lr=1e6)``: from about 50 to 1e30 nats per image)
    LOSS_RISE_WARNING = 10.0

    def _warn_about_training(self) -> None:
        """Warn about a fitted model that is finite but useless (:meth:`_warn_if_the_loss_rose`; subclasses add
        their own checks)."""
        self._warn_if_the_loss_rose()

    def _warn_if_the_loss_rose(self) -> None:
        """Warn (:class:`graphvae.DivergenceWarning`) when training ended with a finite loss far above the loss it
        started from (the first batch's, before any step): a model that is finite but has learned nothing.
        The ending loss is the kept epoch's (``best_epoch_`` of a model selected on validation), else the last one's."""
        histories = [h for h in self._histories() if h and "initial_loss" in h[0]]
        for history in histories:
            start, kept = history[0]["initial_loss"], history[-1]
            best = getattr(self, "best_epoch_", None)
            if len(histories) == 1 and isinstance(best, int) and best >= 0:
                kept = next((entry for entry in history if entry.get("epoch") == best), kept)
            end = kept["loss"]
            if np.isfinite(start) and np.isfinite(end) and end - start > self.LOSS_RISE_WARNING * max(abs(start), 1.0):
                warnings.warn(f"training diverged: the loss rose from {start:.4g} before the first step to {end:.4g} at "
                              f"epoch {kept.get('epoch')}{self._divergence_advice()}", DivergenceWarning, stacklevel=4)
                return

    #: a float parameter at least this large (other than the learning rate) is named as the likely cause of a
    #: divergence: far beyond any sensible setting of a noise level, a penalty weight or a scale
    HUGE_PARAMETER = 1e6

    def _divergence_advice(self) -> str:
        """What to change after a divergence: the parameters of at least :data:`HUGE_PARAMETER` in size, if any (an
        ``ae --noise-level 1e300`` diverged with advice about the learning rate only), and a smaller learning rate."""
        params = self.get_params(deep=False)
        names = getattr(self, "_advice_names", {})  # a wrapping estimator's names for these parameters (Autoencoder)
        huge = [f"{names.get(name, name)}={value:g}" for name, value in params.items()  # floats, not counts (epochs)
                if name != "lr" and isinstance(value, (float, np.floating)) and abs(value) >= self.HUGE_PARAMETER]
        lr = params.get("lr")
        advice = "try a smaller learning rate" + (f" than {lr:g}" if isinstance(lr, (int, float)) else "")
        return f"; check {', '.join(huge)}, far outside the usual range, or {advice}" if huge else f"; {advice}"

    def _check_params_table(self) -> None:
        params = self.get_params(deep=False)
        for name, constraints in self._parameter_constraints.items():  # scikit-learn's Interval takes True for 1
            if isinstance(params.get(name), (bool, np.bool_)) and "boolean" not in constraints:
                raise InputError(f"The '{name}' parameter of {type(self).__name__} must be a number, not a bool "
                                 f"({params[name]!r})")
        try:
            validate_parameter_constraints(self._parameter_constraints, self.get_params(deep=False),
                                           caller_name=type(self).__name__)
        except InvalidParameterError as error:
            raise InputError(str(error).splitlines()[0]) from None

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, self._fitted_attribute)
        except _SklearnNotFitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit() first") from None

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, self._fitted_attribute)

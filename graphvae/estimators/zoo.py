"""Named graph-autoencoder configurations: each is keyword arguments of :class:`graphvae.estimators.models.VGAE`.

Every model is the same estimator (one GCN encoder, one ELBO module, one trainer) with different
options; nothing here imports torch, so the CLI can list the names cheaply. ``best`` is an alias,
chosen by mean *validation* AUC on Cora and CiteSeer over seeds 0-9 (the degree decoder's weight over seeds
0-19; ``benchmarks/models.py``, ``docs/models.md``, which also says where a within-noise switch was declined).

- ``gae``, ``vgae``: Kipf & Welling (2016), the paper's model and defaults (32-16 GCN, 200 epochs, lr 0.01,
  final epoch; no validation-based selection, to keep the paper table).
- ``gnae``, ``vgnae``: Ahn & Kim (2021): a linear map, rows L2-normalized and scaled by 1.8, one hop of
  :math:`\\hat A`, inner-product decoder; 128 dimensions.
- ``gnae-wd``: ``gnae`` with weight decay 5e-4 on the encoder's weights (:class:`graphvae.objectives.elbo.WeightDecay`).
- ``masked-gnae``: ``gnae`` with edge masking (MaskGAE's corruption) and the inner-product decoder.
- ``maskgae``: Li et al. (2023), their published link-prediction settings with edge masking, except the
  masking rate: 40% of the training edges hidden each epoch (chosen on validation AUC among 0.2-0.7; their
  code hides each *direction* with p = 0.7 and shows the encoder every edge with one direction left, so
  it hides 0.7² = 49% of the edges from the encoder, not 70%), a one-layer 128-d GCN with dropout 0.8 on the features, batch norm and
  ELU, the MLP decoder (32 hidden units, their code's default width, dropout 0.2) on :math:`z_i\\odot z_j`,
  the degree decoder (weight 0.003), weight decay 5e-5, Adam lr 0.01, at most 500 epochs. Differences from
  their code: the class-balanced O(E) likelihood over 3 uniform partners per node (``negatives_per_positive``
  0.5 of the training pairs, about 1.3 sampled pairs per masked edge on Cora) instead of one uniform negative
  per masked edge, no gradient clipping (their norm 1.0 never binds here: ``clip_norm=1.0`` gave the same
  validation AUC), validation every epoch (theirs: every 10), and test edges scored from the training graph only.
- ``maskgae-wide``: ``maskgae`` with a wider edge decoder (64 hidden units), 5 sampled partners per
  node (``negatives_per_positive`` 1.0) and the degree decoder's weight 0.01 (chosen on validation AUC among
  0.003-0.1, ``docs/models.md``).
- ``maskgae-wide-snapshots`` (= ``best``): ``maskgae-wide`` trained identically, its link probabilities the mean over the 50
  epochs of highest validation AUC (``snapshots``; chosen on held-out halves of the validation pairs,
  ``docs/models.md``); its embeddings are ``maskgae-wide``'s.
- ``arga``, ``argva``: Pan et al. (2018): the paper's GAE/VGAE and training with the adversarial regularizer,
  weight 0.001 (chosen on validation AUC: the highest on Cora seed 0, 0.01 equal to the GAE's, 0.05 and more lower;
  ``docs/models.md``).

``gae``, ``vgae``, ``arga`` and ``argva`` train the paper's 200 epochs and keep the last; the others keep
the epoch with the best validation AUC (``early_stopping``, patience 100).
"""
from __future__ import annotations

_SELECTED = {"early_stopping": True, "patience": 100}
_NORMALIZED = {"hidden": (), "latent": 128, "bias": True, "normalize": 1.8, "lr": 0.005, "epochs": 300, **_SELECTED}
_MASKGAE = {"variational": False, "hidden": (), "latent": 128, "bias": True, "encoder_dropout": 0.8,
            "batch_norm": True, "head_activation": "elu", "lr": 0.01, "weight_decay": 5e-5, "epochs": 500,
            "mask_rate": 0.4, "decoder": "mlp", "decoder_hidden": 32, "decoder_dropout": 0.2,
            "degree_weight": 3e-3, "negatives_per_positive": 0.5, **_SELECTED}
_WIDE = {**_MASKGAE, "decoder_hidden": 64, "negatives_per_positive": 1.0, "degree_weight": 1e-2}

MODELS: dict[str, dict] = {
    "gae": {"variational": False},
    "vgae": {"variational": True},
    "gnae": {"variational": False, **_NORMALIZED},
    "vgnae": {"variational": True, **_NORMALIZED},
    "gnae-wd": {"variational": False, **_NORMALIZED, "weight_decay": 5e-4},
    "masked-gnae": {"variational": False, **_NORMALIZED, "mask_rate": 0.5},
    "maskgae": _MASKGAE,
    "maskgae-wide": _WIDE,
    "maskgae-wide-snapshots": {**_WIDE, "snapshots": 50},
    "arga": {"variational": False, "adversarial": 0.001},
    "argva": {"variational": True, "adversarial": 0.001},
}

#: the strongest configuration by validation AUC (see the module docstring)
BEST = "maskgae-wide-snapshots"
NAMES: tuple[str, ...] = (*MODELS, "best")


#: the published models' acronyms, which output spells in capitals
ACRONYMS = ("gae", "vgae", "gnae", "vgnae", "arga", "argva")


def display_name(name: str) -> str:
    """How output names model ``name``: a paper's acronym in capitals (``VGAE``), ``best`` with the model it stands
    for (``best (maskgae-wide-snapshots)``), any other name as it is (``maskgae-wide``, not ``MASKGAE-WIDE``)."""
    if name == "best":
        return f"best ({BEST})"
    return name.upper() if name in ACRONYMS else name


def model_config(name: str) -> dict:
    """The keyword arguments of :class:`graphvae.estimators.models.VGAE` for model ``name`` (``best`` resolved)."""
    from .._validation import InputError

    key = BEST if name == "best" else name
    if not isinstance(key, str) or key not in MODELS:  # a list or dict name would be unhashable: the same line
        raise InputError(f"unknown model {name!r} (choose from: {', '.join(NAMES)})")
    return dict(MODELS[key])


def make_model(name: str, **overrides):
    """A :class:`graphvae.estimators.models.VGAE` for model ``name`` with ``overrides`` (e.g. ``random_state``)."""
    from .._validation import InputError
    from .models import VGAE

    options = VGAE().get_params()
    unknown = sorted(set(overrides) - set(options))
    if unknown:  # VGAE's TypeError named neither the model nor the options
        raise InputError(f"{unknown[0]!r} is not an option of {name!r} (a graphvae.VGAE): choose from "
                         f"{', '.join(sorted(options))}")
    return VGAE(**{**model_config(name), **overrides})

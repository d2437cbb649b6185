"""graphvae: variational graph auto-encoders, with image VAEs and autoencoders as the no-edge case.

Architecture, one module per concept: data (:mod:`.data`, :mod:`.datasets`, :mod:`.split`,
:mod:`.images`, :mod:`.image_files`, :mod:`.synthetic`) -> graph operator (:mod:`.operator`) -> encoder
(:mod:`.encoder`) -> latent (:mod:`.latent`) -> decoder/likelihood (:mod:`.likelihood`,
:mod:`.decoder`, :mod:`.pixel_likelihood`) -> ELBO (:mod:`.elbo`) -> trainer (:mod:`.train`) ->
estimators (:mod:`.models` with the named configurations of :mod:`.zoo` built from :mod:`.masking`,
:mod:`.edge_decoders`, :mod:`.adversarial`; :mod:`.image_vae`, :mod:`.autoencoders`) -> metrics and plots
(:mod:`.metrics`, :mod:`.frechet`, :mod:`.plots`) -> CLI (:mod:`.cli`). :mod:`.distributed` runs the
VGAE's training over ``torch.distributed`` ranks under torchrun, plugging into the same ELBO and trainer.

``import graphvae`` is cheap: each public name is imported from its module on first use (PEP 562),
so the command line answers ``--help`` and bad input without loading torch.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._validation import InputError

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "autoencoders": ["Autoencoder", "CategoricalLikelihood", "StackedAutoencoder", "linear_probe_accuracy"],
    "corruption": ["corrupt", "hide_edges", "mask_features"],
    "penalties": ["ActivationL1", "ContractivePenalty", "SparsityKL", "jacobian_sq_norm"],
    "data": ["Graph", "as_graph", "build_graph", "load_graph"],
    "datasets": ["load_dataset", "dataset_names", "cache_dir"],
    "decoder": ["MLPDecoder"],
    "adversarial": ["AdversarialPenalty", "Discriminator", "DiscriminatorStep"],
    "edge_decoders": ["DecodedLinkLikelihood", "DegreeDecoder", "HadamardMLPDecoder"],
    "elbo": ["ELBO", "ELBOTerms", "Penalty", "WeightDecay"],
    "embeddings": ["load_embeddings", "save_embeddings"],
    "encoder": ["EncoderInput", "GCNEncoder", "GCNLayer", "encoder_input"],
    "frechet": ["feature_classifier", "frechet_distance", "frechet_distance_samples"],
    "graph_files": ["read_graph_file"],
    "image_files": ["ImageDataset", "load_image_dataset", "read_idx", "read_mnist", "write_idx"],
    "image_vae": ["ImageVAE"],
    "latent": ["Posterior"],
    "likelihood": ["Likelihood", "LinkLikelihood", "LinkTarget"],
    "masking": ["MaskedLinkLikelihood", "MaskedLinkTarget", "mask_edges"],
    "metrics": ["auc_ap", "link_auc_ap"],
    "models": ["GAE", "VGAE"],
    "node_embeddings": ["fit_embeddings"],
    "node_tasks": ["cluster", "cluster_scores", "matched_accuracy", "probe_scores"],
    "operator": ["SparseOperator", "normalized_adjacency"],
    "pixel_likelihood": ["BernoulliPixels", "GaussianPixels"],
    "split": ["LinkSplit", "split_edges"],
    "synthetic": ["degree_corrected_sbm"],
    "train": ["train_elbo"],
    "zoo": ["make_model", "model_config"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["InputError", "__version__", *sorted(_MODULE_OF)]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'graphvae' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .autoencoders import Autoencoder, CategoricalLikelihood, StackedAutoencoder, linear_probe_accuracy
    from .corruption import corrupt, hide_edges, mask_features
    from .penalties import ActivationL1, ContractivePenalty, SparsityKL, jacobian_sq_norm
    from .data import Graph, as_graph, build_graph, load_graph
    from .datasets import cache_dir, dataset_names, load_dataset
    from .decoder import MLPDecoder
    from .adversarial import AdversarialPenalty, Discriminator, DiscriminatorStep
    from .edge_decoders import DecodedLinkLikelihood, DegreeDecoder, HadamardMLPDecoder
    from .elbo import ELBO, ELBOTerms, Penalty, WeightDecay
    from .embeddings import load_embeddings, save_embeddings
    from .encoder import EncoderInput, GCNEncoder, GCNLayer, encoder_input
    from .frechet import feature_classifier, frechet_distance, frechet_distance_samples
    from .graph_files import read_graph_file
    from .image_files import ImageDataset, load_image_dataset, read_idx, read_mnist, write_idx
    from .image_vae import ImageVAE
    from .latent import Posterior
    from .likelihood import Likelihood, LinkLikelihood, LinkTarget
    from .masking import MaskedLinkLikelihood, MaskedLinkTarget, mask_edges
    from .metrics import auc_ap, link_auc_ap
    from .models import GAE, VGAE
    from .node_embeddings import fit_embeddings
    from .node_tasks import cluster, cluster_scores, matched_accuracy, probe_scores
    from .operator import SparseOperator, normalized_adjacency
    from .pixel_likelihood import BernoulliPixels, GaussianPixels
    from .split import LinkSplit, split_edges
    from .synthetic import degree_corrected_sbm
    from .train import train_elbo
    from .zoo import make_model, model_config

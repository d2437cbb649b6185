"""graphvae: variational graph auto-encoders, with image VAEs and autoencoders as the no-edge case.

The subpackages follow the data flow, and a lower layer never imports a higher one
(``tests/test_layers.py``; ``docs/architecture.md`` has the map):

1. :mod:`graphvae.data` - graphs, files, the dataset registry, edge splits, images;
2. :mod:`graphvae.nn` - the normalized operator Â, GCN encoders, the Gaussian posterior, decoders;
3. :mod:`graphvae.objectives` - link and pixel likelihoods, penalties, the one ELBO module;
4. :mod:`graphvae.training` - the one trainer, corruptions, the trainer over ``torch.distributed``;
5. :mod:`graphvae.evaluation` - metrics, probes and clustering, Fréchet distance, plots;
6. :mod:`graphvae.estimators` - scikit-learn estimators (``VGAE``, ``GAE``, ``ImageVAE``, autoencoders);
7. :mod:`graphvae.cli` - the ``graphvae`` command.

``import graphvae`` is cheap: each public name below is imported from its module on first use
(PEP 562), so the command line answers ``--help`` and bad input without loading torch.
"""
import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._validation import CollapseWarning, DivergenceWarning, InputError, InputTypeError

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "estimators.autoencoders": ["Autoencoder", "CategoricalLikelihood", "StackedAutoencoder", "linear_probe_accuracy"],
    "training.corruption": ["corrupt", "hide_edges", "mask_features"],
    "objectives.penalties": ["ActivationL1", "ContractivePenalty", "SparsityKL", "jacobian_sq_norm"],
    "data.graph": ["Graph", "as_graph", "build_graph", "load_graph"],
    "data.datasets": ["load_dataset", "dataset_names", "cache_dir"],
    "nn.decoder": ["MLPDecoder"],
    "objectives.adversarial": ["AdversarialPenalty", "Discriminator", "DiscriminatorStep"],
    "objectives.edge_decoders": ["DecodedLinkLikelihood", "DegreeDecoder", "HadamardMLPDecoder"],
    "objectives.elbo": ["ELBO", "ELBOTerms", "Penalty", "WeightDecay"],
    "data.embedding_files": ["load_embeddings", "save_embeddings"],
    "nn.encoder": ["EncoderInput", "GCNEncoder", "GCNLayer", "encoder_input"],
    "evaluation.frechet": ["feature_classifier", "frechet_distance", "frechet_distance_samples"],
    "data.graph_files": ["read_graph_file"],
    "data.image_files": ["ImageDataset", "load_image_dataset", "read_idx", "read_mnist", "write_idx"],
    "estimators.image_vae": ["ImageVAE"],
    "nn.latent": ["Posterior"],
    "objectives.likelihood": ["Likelihood", "LinkLikelihood", "LinkTarget"],
    "objectives.masking": ["MaskedLinkLikelihood", "MaskedLinkTarget", "mask_edges"],
    "evaluation.metrics": ["auc_ap", "link_auc_ap"],
    "estimators.models": ["GAE", "VGAE"],
    "estimators.node_embeddings": ["fit_embeddings"],
    "evaluation.node_tasks": ["cluster", "cluster_scores", "matched_accuracy", "probe_scores"],
    "nn.operator": ["SparseOperator", "normalized_adjacency"],
    "objectives.pixel_likelihood": ["BernoulliPixels", "GaussianPixels"],
    "data.split": ["LinkSplit", "split_edges"],
    "data.synthetic": ["degree_corrected_sbm"],
    "training.trainer": ["train_elbo"],
    "estimators.zoo": ["make_model", "model_config"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["CollapseWarning", "DivergenceWarning", "InputError", "InputTypeError", "__version__", *sorted(_MODULE_OF)]


def __getattr__(name: str) -> _Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'graphvae' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if _TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .data.datasets import cache_dir, dataset_names, load_dataset
    from .data.embedding_files import load_embeddings, save_embeddings
    from .data.graph import Graph, as_graph, build_graph, load_graph
    from .data.graph_files import read_graph_file
    from .data.image_files import ImageDataset, load_image_dataset, read_idx, read_mnist, write_idx
    from .data.split import LinkSplit, split_edges
    from .data.synthetic import degree_corrected_sbm
    from .estimators.autoencoders import Autoencoder, CategoricalLikelihood, StackedAutoencoder, linear_probe_accuracy
    from .estimators.image_vae import ImageVAE
    from .estimators.models import GAE, VGAE
    from .estimators.node_embeddings import fit_embeddings
    from .estimators.zoo import make_model, model_config
    from .evaluation.frechet import feature_classifier, frechet_distance, frechet_distance_samples
    from .evaluation.metrics import auc_ap, link_auc_ap
    from .evaluation.node_tasks import cluster, cluster_scores, matched_accuracy, probe_scores
    from .nn.decoder import MLPDecoder
    from .nn.encoder import EncoderInput, GCNEncoder, GCNLayer, encoder_input
    from .nn.latent import Posterior
    from .nn.operator import SparseOperator, normalized_adjacency
    from .objectives.adversarial import AdversarialPenalty, Discriminator, DiscriminatorStep
    from .objectives.edge_decoders import DecodedLinkLikelihood, DegreeDecoder, HadamardMLPDecoder
    from .objectives.elbo import ELBO, ELBOTerms, Penalty, WeightDecay
    from .objectives.likelihood import Likelihood, LinkLikelihood, LinkTarget
    from .objectives.masking import MaskedLinkLikelihood, MaskedLinkTarget, mask_edges
    from .objectives.penalties import ActivationL1, ContractivePenalty, SparsityKL, jacobian_sq_norm
    from .objectives.pixel_likelihood import BernoulliPixels, GaussianPixels
    from .training.corruption import corrupt, hide_edges, mask_features
    from .training.trainer import train_elbo

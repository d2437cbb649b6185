"""graphvae: variational graph auto-encoders, with image VAEs and autoencoders as the no-edge case.

Architecture, one module per concept: data (:mod:`.data`, :mod:`.split`, :mod:`.images`,
:mod:`.image_files`, :mod:`.synthetic`) -> graph operator (:mod:`.operator`) -> encoder
(:mod:`.encoder`) -> latent (:mod:`.latent`) -> decoder/likelihood (:mod:`.likelihood`,
:mod:`.decoder`, :mod:`.pixel_likelihood`) -> ELBO (:mod:`.elbo`) -> trainer (:mod:`.train`) ->
estimators (:mod:`.models`, :mod:`.image_vae`, :mod:`.autoencoders`) -> metrics and plots
(:mod:`.metrics`, :mod:`.frechet`, :mod:`.plots`) -> CLI (:mod:`.cli`).
"""
from ._validation import InputError
from .autoencoders import (ActivationL1, Autoencoder, CategoricalLikelihood, ContractivePenalty, SparsityKL,
                           StackedAutoencoder, corrupt, hide_edges, jacobian_sq_norm, linear_probe_accuracy,
                           mask_features)
from .data import as_graph, build_graph, load_dataset, load_graph
from .decoder import MLPDecoder
from .elbo import ELBO, ELBOTerms, Penalty
from .embeddings import load_embeddings, save_embeddings
from .encoder import EncoderInput, GCNEncoder, GCNLayer, encoder_input
from .frechet import feature_classifier, frechet_distance, frechet_distance_samples
from .image_files import ImageDataset, load_image_dataset, read_idx, read_mnist, write_idx
from .image_vae import ImageVAE
from .latent import Posterior
from .likelihood import Likelihood, LinkLikelihood, LinkTarget
from .metrics import auc_ap, link_auc_ap
from .models import GAE, VGAE
from .operator import SparseOperator, normalized_adjacency
from .pixel_likelihood import BernoulliPixels, GaussianPixels
from .split import LinkSplit, split_edges
from .synthetic import degree_corrected_sbm
from .train import train_elbo

__version__ = "0.1.0"

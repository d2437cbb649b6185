"""graphvae: variational graph auto-encoders, with image VAEs and autoencoders as the no-edge case."""
from ._validation import InputError
from .data import as_graph, build_graph, load_dataset, load_graph
from .elbo import ELBO, ELBOTerms, Penalty
from .encoder import EncoderInput, GCNEncoder, GCNLayer, encoder_input
from .latent import Posterior
from .likelihood import Likelihood, LinkLikelihood, LinkTarget
from .metrics import auc_ap, link_auc_ap
from .models import GAE, VGAE
from .operator import SparseOperator, normalized_adjacency
from .split import LinkSplit, split_edges
from .train import train_elbo

__version__ = "0.1.0"

"""Layer 1, data: graphs (:mod:`.graph`), graph and image files, the dataset registry and downloads
(:mod:`.datasets`), edge splits (:mod:`.split`), image arrays (:mod:`.images`), synthetic graphs, and
embedding files. Nothing here imports a model; the modules are imported on use (``import graphvae.data.graph``
loads nothing heavy)."""

"""Layer 6, estimators with scikit-learn conventions (:mod:`.base`): the graph models
(:mod:`.models`, named configurations in :mod:`.zoo`, seeds trained together in :mod:`.batched`,
embeddings in :mod:`.node_embeddings`), the image VAE (:mod:`.image_vae`) and the autoencoders
(:mod:`.autoencoders`)."""

"""Layer 2, neural-network pieces: the normalized graph operator Â (:mod:`.operator`), GCN layers and
encoders (:mod:`.encoder`), the Gaussian posterior (:mod:`.latent`), and decoders (the inner-product
decoder of :mod:`.inner_product`, the image decoder of :mod:`.decoder`)."""

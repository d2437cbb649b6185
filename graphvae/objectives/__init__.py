"""Layer 3, objectives: likelihoods (links: :mod:`.likelihood`, :mod:`.masking`, :mod:`.edge_decoders`;
pixels: :mod:`.pixel_likelihood`), penalties (:mod:`.penalties`, :mod:`.adversarial`) and the one ELBO
module with its importance-weighted bound (:mod:`.elbo`)."""

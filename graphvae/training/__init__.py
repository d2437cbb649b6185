"""Layer 4, training: the one trainer (:mod:`.trainer`), training-time corruptions
(:mod:`.corruption`), and the same trainer over ``torch.distributed`` ranks (:mod:`.distributed`)."""

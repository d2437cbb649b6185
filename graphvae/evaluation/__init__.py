"""Layer 5, evaluation: link metrics (:mod:`.metrics`), probes and clustering on embeddings
(:mod:`.node_tasks`), the Fréchet distance (:mod:`.frechet`), summaries over seeds (:mod:`.summary`)
and pictures (:mod:`.plots`)."""

"""Training sparse encoders: SPLADE (siamese and inference-free) and the unified framework's
encoders, with ranking and distillation losses and sparsity regularizers (``lsr train``)."""

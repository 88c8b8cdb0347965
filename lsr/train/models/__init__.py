"""Trainable sparse encoders: each maps a tokenized batch to (batch, vocabulary) weights."""

"""Loss functions (plain functions of tensors; metrics such as MCD live in ``metrics.py``)."""

from __future__ import annotations

import keras
from keras import ops


def mapping_loss() -> keras.losses.Loss:
    """The regression loss of the LSTM and of the GAN generator: one function, so their curves compare.

    Squared error averaged over coefficients per frame, then a frame-weighted mean,
    ``sum(w * mse) / sum(w)`` (``sample_weight`` ``(batch, frames)``: 1 for speech, less for pauses,
    0 for padding), so the value does not depend on how much padding or silence a batch holds.
    """
    return keras.losses.MeanSquaredError(reduction="mean_with_sample_weight", name="weighted_mse")


def lsgan_discriminator_loss(real_logits, fake_logits):
    """Least-squares GAN loss of the discriminator: real -> 1, generated -> 0."""
    return 0.5 * (ops.mean(ops.square(real_logits - 1.0)) + ops.mean(ops.square(fake_logits)))


def lsgan_generator_loss(fake_logits):
    """Least-squares GAN loss of the generator: make generated frames look real (-> 1)."""
    return 0.5 * ops.mean(ops.square(fake_logits - 1.0))

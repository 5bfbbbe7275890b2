"""Loss functions (plain functions of tensors; metrics such as MCD live in ``metrics.py``)."""

from __future__ import annotations

from keras import ops


def weighted_mse(y_true, y_pred, weight):
    """Mean squared error per frame, weighted per frame (``weight`` shape ``(batch, frames)``)."""
    per_frame = ops.mean(ops.square(y_true - y_pred), axis=-1)
    return ops.sum(per_frame * weight) / ops.maximum(ops.sum(weight), 1e-6)


def lsgan_discriminator_loss(real_logits, fake_logits):
    """Least-squares GAN loss of the discriminator: real -> 1, generated -> 0."""
    return 0.5 * (ops.mean(ops.square(real_logits - 1.0)) + ops.mean(ops.square(fake_logits)))


def lsgan_generator_loss(fake_logits):
    """Least-squares GAN loss of the generator: make generated frames look real (-> 1)."""
    return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


"""GAN-based voice conversion (Saito et al., 2018): the LSTM generator plus an adversarial loss.

The plain LSTM minimises squared error and so predicts the average of plausible targets: its output is
over-smoothed (its global variance is too small) and sounds muffled. A small discriminator that tells
natural target mel-cepstra from converted ones pushes the generator toward the natural distribution.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from ..losses import lsgan_discriminator_loss, lsgan_generator_loss, mapping_loss


@keras.saving.register_keras_serializable(package="workbench")
class Discriminator(keras.Model):
    """Frame-wise logits ``(batch, frames, 1)`` from a short stack of 1-D convolutions over mel-cepstra."""

    def __init__(self, channels: int = 64, kernel_size: int = 5, n_layers: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.kernel_size, self.n_layers = channels, kernel_size, n_layers
        self.convs = [keras.layers.Conv1D(channels, kernel_size, padding="same") for _ in range(n_layers)]
        self.acts = [keras.layers.LeakyReLU(0.2) for _ in range(n_layers)]
        self.out = keras.layers.Conv1D(1, 1)

    def call(self, x, training=False):
        h = x
        for conv, act in zip(self.convs, self.acts):
            h = act(conv(h))
        return self.out(h)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "kernel_size": self.kernel_size, "n_layers": self.n_layers}


class GANTrainer(keras.Model):
    """Trains a generator (a ``MappingModel``) with its regression loss (``losses.mapping_loss`` or the LSTM stage's
    ``losses.PhoneticLoss``) plus a weighted LSGAN loss.

    As in Saito et al. the adversarial term is scaled by ``E_mse / E_adv`` (no gradient through the
    ratio) so that ``adv_weight`` sets its share of the generator loss independent of the loss scales.
    Only the generator is shipped; the discriminator is a training aid.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, regression_loss=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        # the LSTM stage's own loss, so that the two runs' curves are on one scale; a ``PhoneticLoss`` reads
        # extra target columns after the ``n_out`` coefficients, which the discriminator never sees
        self.mse_loss = regression_loss or mapping_loss()
        self.n_out = getattr(regression_loss, "n_out", None)
        self.g_loss_tracker = keras.metrics.Mean(name="loss")
        self.mse_tracker = keras.metrics.Mean(name="mse")
        self.adv_tracker = keras.metrics.Mean(name="adv")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")

    def compile(self, g_optimizer, d_optimizer, adv_weight: float = 1.0, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.adv_weight = adv_weight

    @property
    def metrics(self):
        return [self.g_loss_tracker, self.mse_tracker, self.adv_tracker, self.d_loss_tracker]

    def call(self, x, training=False):
        return self.generator(x, training=training)

    def train_step(self, data):
        x, y, w = data
        mask = ops.expand_dims(ops.cast(w > 0, "float32"), -1)
        real = y if self.n_out is None else y[..., : self.n_out]
        with tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)
            d_loss = lsgan_discriminator_loss(
                self.discriminator(real * mask, training=True), self.discriminator(fake * mask, training=True)
            )
        d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_weights))

        with tf.GradientTape() as g_tape:
            fake = self.generator(x, training=True)
            mse = self.mse_loss(y, fake, sample_weight=w)
            adv = lsgan_generator_loss(self.discriminator(fake * mask, training=False))
            scale = ops.stop_gradient(mse / ops.maximum(adv, 1e-6))
            g_loss = mse + self.adv_weight * scale * adv
        g_grads = g_tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_weights))

        self.g_loss_tracker.update_state(g_loss)
        self.mse_tracker.update_state(mse)
        self.adv_tracker.update_state(adv)
        self.d_loss_tracker.update_state(d_loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y, w = data
        fake = self.generator(x, training=False)
        mse = self.mse_loss(y, fake, sample_weight=w)
        self.mse_tracker.update_state(mse)
        self.g_loss_tracker.update_state(mse)
        return {"loss": self.g_loss_tracker.result(), "mse": self.mse_tracker.result()}

"""Loss functions (plain functions of tensors; metrics such as MCD live in ``metrics.py``)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def mapping_loss(delta_weight: float = 0.0) -> keras.losses.Loss:
    """The regression loss of the LSTM and of the GAN generator: one function, so their curves compare.

    Squared error averaged over coefficients per frame, then a frame-weighted mean,
    ``sum(w * mse) / sum(w)`` (``sample_weight`` ``(batch, frames)``: 1 for speech, less for pauses,
    0 for padding), so the value does not depend on how much padding or silence a batch holds.

    Parameters
    ----------
    delta_weight : float
        Weight of a trajectory term: the squared error of the frame-to-frame change (first difference in
        time) of the coefficients, added per frame. It penalises transitions that are smeared in time,
        which plain squared error lets a model trade for a smooth average. 0 is plain squared error.
    """
    if not delta_weight:
        return keras.losses.MeanSquaredError(reduction="mean_with_sample_weight", name="weighted_mse")
    return TrajectoryLoss(delta_weight)


def frame_error(y_true, y_pred, delta_weight: float = 0.0):
    """Per-frame squared error ``(batch, frames)``, plus ``delta_weight`` times the squared error of the first
    time difference where the frame before holds a target (padding and the lookahead's leading frames are
    all-zero rows, so a window's edges add no false jumps)."""
    frame = ops.mean(ops.square(y_true - y_pred), axis=-1)
    if not delta_weight:
        return frame
    d_true = y_true[:, 1:] - y_true[:, :-1]
    d_pred = y_pred[:, 1:] - y_pred[:, :-1]
    has_prev = ops.cast(ops.any(ops.not_equal(y_true[:, :-1], 0.0), axis=-1), y_true.dtype)
    delta = ops.mean(ops.square(d_true - d_pred), axis=-1) * has_prev
    return frame + delta_weight * ops.pad(delta, [[0, 0], [1, 0]])


@keras.saving.register_keras_serializable(package="workbench")
class TrajectoryLoss(keras.losses.Loss):
    """Per-frame squared error plus ``delta_weight`` times the squared error of the first time difference.

    A frame's difference term is counted only when the frame before it holds a target (padding and the
    lookahead's leading frames are all-zero rows), so a window's edges add no false jumps.
    """

    def __init__(self, delta_weight: float = 1.0, name: str = "weighted_mse", reduction="mean_with_sample_weight"):
        super().__init__(name=name, reduction=reduction)
        self.delta_weight = float(delta_weight)

    def call(self, y_true, y_pred):
        return frame_error(y_true, ops.cast(y_pred, y_true.dtype), self.delta_weight)

    def get_config(self):
        return {**super().get_config(), "delta_weight": self.delta_weight}


@keras.saving.register_keras_serializable(package="workbench")
class PhoneticLoss(keras.losses.Loss):
    """The mapping loss plus ``weight`` times a phonetic term: does the predicted frame still name its phone?

    Squared error pulls a model towards the mean of what it cannot predict, and the mean of neighbouring
    sounds is no sound at all: words blur. Here the shipped phonetic encoder (``workbench.phonetic``, frozen)
    classifies the predicted mel-cepstra and the cross-entropy against the source frame's phone (a one-hot or
    soft distribution; training gives the encoder's most likely phone of the source frame) is added, so a
    prediction that drifts between phones costs more than one that commits.

    ``y_true`` holds, per output frame, the normalised target ``c_1..c_M`` (``n_out`` columns), the target's
    ``c_0`` and the phone distribution of that frame; ``y_pred`` the normalised prediction, denormalised here
    with ``out_mean``/``out_std``. The encoder's causal window runs over the predicted frames; the first
    ``history`` frames of a window, whose window would reach before it, carry no phonetic term.
    """

    def __init__(self, weight: float = 0.1, *, n_out: int = 24, out_mean=None, out_std=None, delta_weight: float = 0.0,
                 encoder=None, name: str = "weighted_mse", reduction="mean_with_sample_weight"):
        super().__init__(name=name, reduction=reduction)
        if encoder is None:
            from .phonetic import default_encoder

            encoder = default_encoder()
        self.weight, self.delta_weight, self.n_out = float(weight), float(delta_weight), int(n_out)
        self.out_mean = np.asarray(out_mean if out_mean is not None else np.zeros(n_out), np.float32)
        self.out_std = np.asarray(out_std if out_std is not None else np.ones(n_out), np.float32)
        offsets = encoder.offsets
        steps = np.diff(offsets)
        if len(set(steps.tolist())) > 1 or offsets[-1] != 0:
            raise ValueError("PhoneticLoss needs an encoder window of evenly spaced offsets ending at 0.")
        (k1, b1), *rest = encoder.layers
        # fold the encoder's input normalisation into its first layer, laid out as a causal dilated convolution:
        # kernel tap j reads frame t + offsets[j] (the order causal_windows stacks them in)
        scale = (1.0 / encoder.std).astype(np.float32)
        self._k1 = (k1 * scale[:, None]).reshape(len(offsets), encoder.n_coeffs, -1)
        self._b1 = (b1 - (encoder.mean * scale) @ k1).astype(np.float32)
        self._rest = rest
        self.dilation, self.history, self.delay = int(steps[0]) if len(steps) else 1, encoder.history, encoder.delay

    def phone_log_probs(self, mcep):
        """Log posteriors of the encoder over ``mcep`` ``(batch, frames, n_coeffs)``, frame ``t`` from the window
        ending at ``t`` (the first ``history`` frames see zero padding)."""
        x = ops.pad(mcep, [[0, 0], [self.history, 0], [0, 0]])
        h = ops.conv(x, self._k1, strides=1, padding="valid", dilation_rate=self.dilation) + self._b1
        for k, b in self._rest:
            h = ops.matmul(ops.relu(h), k) + b
        return ops.log_softmax(h, axis=-1)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, y_true.dtype)
        target, c0, phones = y_true[..., : self.n_out], y_true[..., self.n_out : self.n_out + 1], y_true[..., self.n_out + 1 :]
        frame = frame_error(target, y_pred, self.delta_weight)  # (batch, frames)
        mcep = ops.concatenate([c0, y_pred * self.out_std + self.out_mean], axis=-1)
        logp = self.phone_log_probs(mcep)  # at t: the phone of frame t - delay
        d = self.delay
        ce = -ops.sum(phones[:, : ops.shape(phones)[1] - d] * logp[:, d:], axis=-1)  # zero where no target
        valid = ops.cast(ops.arange(ops.shape(ce)[1]) + d >= self.history, y_true.dtype)
        return frame + self.weight * ops.pad(ce * valid[None, :], [[0, 0], [d, 0]])

    def get_config(self):
        return {**super().get_config(), "weight": self.weight, "n_out": self.n_out, "delta_weight": self.delta_weight,
                "out_mean": self.out_mean.tolist(), "out_std": self.out_std.tolist()}


def lsgan_discriminator_loss(real_logits, fake_logits):
    """Least-squares GAN loss of the discriminator: real -> 1, generated -> 0."""
    return 0.5 * (ops.mean(ops.square(real_logits - 1.0)) + ops.mean(ops.square(fake_logits)))


def lsgan_generator_loss(fake_logits):
    """Least-squares GAN loss of the generator: make generated frames look real (-> 1)."""
    return 0.5 * ops.mean(ops.square(fake_logits - 1.0))



def ge2e_loss(embeddings, w, b):
    """Generalized end-to-end (softmax) loss of Wan et al. (2018) for speaker embeddings.

    Parameters
    ----------
    embeddings : tensor, shape (n_speakers, n_utterances, emb_dim)
        Unit-length embeddings, ``n_utterances >= 2`` per speaker.
    w, b : scalar tensors
        Learned scale (kept positive by the caller) and offset of the cosine similarities.

    Returns
    -------
    scalar tensor
        Mean over utterances of ``-S[j,i,j] + log sum_k exp(S[j,i,k])``, where
        ``S[j,i,k] = w cos(e_ji, c_k) + b`` and the own speaker's centroid ``c_j`` leaves ``e_ji`` out.
    """
    n_spk, n_utt = embeddings.shape[0], embeddings.shape[1]
    centroids = ops.normalize(ops.mean(embeddings, axis=1), axis=-1)  # (N, D)
    own = (ops.sum(embeddings, axis=1, keepdims=True) - embeddings) / float(n_utt - 1)  # leave-one-out, (N, M, D)
    own = ops.normalize(own, axis=-1)
    sim = ops.einsum("nmd,kd->nmk", embeddings, centroids)  # (N, M, N)
    self_sim = ops.sum(embeddings * own, axis=-1)  # (N, M)
    mask = ops.expand_dims(ops.eye(n_spk), 1)  # (N, 1, N): 1 where k is the utterance's own speaker
    sim = sim * (1.0 - mask) + ops.expand_dims(self_sim, -1) * mask
    logits = w * sim + b
    return ops.mean(ops.logsumexp(logits, axis=-1) - ops.sum(logits * mask, axis=-1))

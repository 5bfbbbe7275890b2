"""Loss functions (plain functions of tensors; metrics such as MCD live in ``metrics.py``)."""

from __future__ import annotations

import keras
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
        y_pred = ops.cast(y_pred, y_true.dtype)
        frame = ops.mean(ops.square(y_true - y_pred), axis=-1)  # (batch, frames)
        d_true = y_true[:, 1:] - y_true[:, :-1]
        d_pred = y_pred[:, 1:] - y_pred[:, :-1]
        has_prev = ops.cast(ops.any(ops.not_equal(y_true[:, :-1], 0.0), axis=-1), y_true.dtype)
        delta = ops.mean(ops.square(d_true - d_pred), axis=-1) * has_prev
        delta = ops.pad(delta, [[0, 0], [1, 0]])
        return frame + self.delta_weight * delta

    def get_config(self):
        return {**super().get_config(), "delta_weight": self.delta_weight}


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

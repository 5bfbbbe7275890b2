"""The speaker encoder: log-mel frames -> stacked LSTM -> linear projection -> L2-normalised embedding.

After Wan et al. (2018), "Generalized end-to-end loss for speaker verification": the last LSTM state of a
partial window (about 1.6 s) is projected and normalised; an utterance's embedding is the normalised mean
of its windows' embeddings. ``workbench.speaker.NumpySpeakerEncoder`` runs the same arithmetic without
TensorFlow, so similarity scoring in the app and the CLI needs only NumPy.
"""

from __future__ import annotations

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="workbench")
class SpeakerEncoder(keras.Model):
    """Stacked LSTM speaker encoder.

    Parameters
    ----------
    n_mels : int
        Log-mel bands per input frame.
    units : int
        LSTM units per layer.
    n_layers : int
        Number of stacked LSTM layers.
    emb_dim : int
        Embedding size.

    Notes
    -----
    ``call(mel)`` takes ``(batch, n_frames, n_mels)`` standardised log-mels and returns
    ``(batch, emb_dim)`` unit-length embeddings.
    """

    def __init__(self, n_mels: int = 40, units: int = 128, n_layers: int = 2, emb_dim: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.n_mels, self.units, self.n_layers, self.emb_dim = n_mels, units, n_layers, emb_dim
        self.lstms = [keras.layers.LSTM(units, return_sequences=i < n_layers - 1, name=f"lstm_{i}")
                      for i in range(n_layers)]
        self.proj = keras.layers.Dense(emb_dim, name="proj")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for lstm in self.lstms:
            lstm.build(shape)
            shape = shape[:-1] + (self.units,)
        self.proj.build(shape[:1] + (self.units,))
        self.built = True

    def call(self, mel, training=False):
        h = mel
        for lstm in self.lstms:
            h = lstm(h, training=training)
        return keras.ops.normalize(self.proj(h), axis=-1)

    def get_config(self):
        return {**super().get_config(), "n_mels": self.n_mels, "units": self.units, "n_layers": self.n_layers,
                "emb_dim": self.emb_dim}

    def numpy_weights(self) -> dict[str, np.ndarray]:
        """Weights by name (``lstm_{i}_kernel``, ``..._recurrent``, ``..._bias``, ``proj_kernel``, ``proj_bias``)."""
        out = {}
        for i, lstm in enumerate(self.lstms):
            k, r, b = (np.asarray(w, dtype=np.float32) for w in lstm.cell.get_weights())
            out.update({f"lstm_{i}_kernel": k, f"lstm_{i}_recurrent": r, f"lstm_{i}_bias": b})
        k, b = (np.asarray(w, dtype=np.float32) for w in self.proj.get_weights())
        return {**out, "proj_kernel": k, "proj_bias": b}

    def set_numpy_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights saved by ``numpy_weights`` (the model must be built)."""
        for i, lstm in enumerate(self.lstms):
            lstm.cell.set_weights([weights[f"lstm_{i}_{n}"] for n in ("kernel", "recurrent", "bias")])
        self.proj.set_weights([weights["proj_kernel"], weights["proj_bias"]])

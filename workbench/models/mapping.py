"""The LSTM voice-conversion model: a causal stack of LSTMs mapping source to target mel-cepstra."""

from __future__ import annotations

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="workbench")
class MappingModel(keras.Model):
    """Causal, unidirectional stacked LSTM with a linear output layer.

    Parameters
    ----------
    in_dim : int
        Input features per frame (``c_1..c_M`` plus log-F0 and voicing).
    out_dim : int
        Output features per frame (normalised target ``c_1..c_M``).
    units : int
        LSTM units per layer.
    n_layers : int
        Number of stacked LSTM layers.
    dropout : float
        Dropout between layers during training.
    input_noise : float
        Standard deviation of Gaussian noise added to the (normalised) inputs during training only.

    Notes
    -----
    ``call(x, initial_state=..., return_state=True)`` takes and returns the recurrent state
    (a list of ``[h, c]`` pairs, one per layer), so a stream can be converted chunk by chunk.
    """

    def __init__(self, in_dim: int = 26, out_dim: int = 24, units: int = 96, n_layers: int = 2, dropout: float = 0.1,
                 input_noise: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.in_dim, self.out_dim, self.units, self.n_layers, self.dropout = in_dim, out_dim, units, n_layers, dropout
        self.input_noise = input_noise
        self.noise = keras.layers.GaussianNoise(input_noise) if input_noise > 0 else None
        self.lstms = [
            keras.layers.LSTM(units, return_sequences=True, return_state=True, name=f"lstm_{i}") for i in range(n_layers)
        ]
        self.drops = [keras.layers.Dropout(dropout) for _ in range(n_layers)]
        self.proj = keras.layers.Dense(out_dim, name="proj")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for lstm in self.lstms:
            lstm.build(shape)
            shape = shape[:-1] + (self.units,)
        self.proj.build(shape)
        self.built = True

    def call(self, x, initial_state=None, training=False, return_state=False):
        states = []
        h = self.noise(x, training=training) if self.noise is not None else x
        for i, (lstm, drop) in enumerate(zip(self.lstms, self.drops)):
            init = None if initial_state is None else list(initial_state[i])
            h, state_h, state_c = lstm(h, initial_state=init, training=training)
            h = drop(h, training=training)
            states.append([state_h, state_c])
        out = self.proj(h)
        return (out, states) if return_state else out

    def get_config(self):
        return {
            **super().get_config(),
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "units": self.units,
            "n_layers": self.n_layers,
            "dropout": self.dropout,
            "input_noise": self.input_noise,
        }

    def numpy_weights(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(kernel, recurrent_kernel, bias)`` of each LSTM layer plus ``(kernel, bias)`` of the output layer.

        Used by ``models.lstm.NumpyLSTM`` to run the model frame by frame without Keras.
        """
        layers = [tuple(np.asarray(w, dtype=np.float32) for w in lstm.cell.get_weights()) for lstm in self.lstms]
        layers.append(tuple(np.asarray(w, dtype=np.float32) for w in self.proj.get_weights()))
        return layers


from .lstm import NumpyLSTM  # noqa: E402 - the NumPy runner lives beside the mapper that uses it

NumpyMapper = NumpyLSTM  # the runner's former name

"""The LSTM (and GAN-generator) kinds as frame mappers, run in NumPy: no TensorFlow to convert.

A bundle stores the trained ``MappingModel`` twice: ``model.keras`` for training and resuming, and
``weights.npz`` (plain arrays, no pickle) that ``NumpyLSTM`` runs. Loading reads the ``.npz`` and never
imports Keras; a bundle written before the ``.npz`` existed falls back to the ``.keras`` file.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import NormStats, model_inputs
from ..errors import BundleError
from ..phonetic import PhoneticEncoder, PhoneticState, default_encoder
from .base import FrameMapper

KERAS_FILE = "model.keras"
WEIGHTS_FILE = "weights.npz"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class NumpyLSTM:
    """A trained ``MappingModel`` running in NumPy, frame by frame or over a sequence, with explicit state.

    Calling Keras per 20 ms chunk costs milliseconds of framework overhead; the same arithmetic in NumPy
    costs microseconds and keeps TensorFlow out of the audio thread. Gate order follows Keras (i, f, c, o).

    Parameters
    ----------
    weights : list of tuples
        ``(kernel, recurrent_kernel, bias)`` per LSTM layer, then ``(kernel, bias)`` of the output layer
        (``MappingModel.numpy_weights()``).
    """

    def __init__(self, weights: list[tuple[np.ndarray, ...]]):
        *lstm, (w_out, b_out) = weights
        self.w_out, self.b_out = np.asarray(w_out, np.float32), np.asarray(b_out, np.float32)
        self.layers = [(k.astype(np.float32), r.astype(np.float32), b.astype(np.float32)) for k, r, b in lstm]
        self.units = [r.shape[0] for _, r, _ in self.layers]

    @property
    def in_dim(self) -> int:
        return int(self.layers[0][0].shape[0])

    @property
    def out_dim(self) -> int:
        return int(self.w_out.shape[1])

    @classmethod
    def from_model(cls, model: Any) -> NumpyLSTM:
        """From a Keras ``MappingModel`` (or return ``model`` when it already is a ``NumpyLSTM``)."""
        return model if isinstance(model, NumpyLSTM) else cls(model.numpy_weights())

    # ----------------------------------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> None:
        arrays = {f"l{i}_{name}": a for i, layer in enumerate(self.layers) for name, a in zip(("k", "r", "b"), layer)}
        with open(path, "wb") as fh:
            np.savez(fh, out_k=self.w_out, out_b=self.b_out, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NumpyLSTM:
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # own handle: closed on errors too
                n = len([k for k in z.files if k.endswith("_k") and k.startswith("l")])
                layers = [(z[f"l{i}_k"], z[f"l{i}_r"], z[f"l{i}_b"]) for i in range(n)]
                return cls([*layers, (z["out_k"], z["out_b"])])
        except (OSError, zipfile.BadZipFile, ValueError, KeyError) as err:
            raise BundleError(f"LSTM weights in {Path(path).name} are corrupt ({err}); retrain the model.") from err

    # --------------------------------------------------------------------------------------- running
    def initial_state(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Zero ``(h, c)`` for every layer."""
        return [(np.zeros(u, np.float32), np.zeros(u, np.float32)) for u in self.units]

    def run(self, x: np.ndarray, state: list[tuple[np.ndarray, np.ndarray]] | None = None):
        """Map frames ``x`` ``(n_frames, in_dim)``; returns ``(y (n_frames, out_dim), new_state)``."""
        state = state or self.initial_state()
        h_seq = np.asarray(x, dtype=np.float32)
        new_state = []
        for (kernel, rec, bias), (h, c) in zip(self.layers, state):
            pre = h_seq @ kernel + bias  # input projection for all frames at once
            out = np.empty((len(h_seq), rec.shape[0]), np.float32)
            u = rec.shape[0]
            for t in range(len(h_seq)):
                z = pre[t] + h @ rec
                i, f = _sigmoid(z[:u]), _sigmoid(z[u : 2 * u])
                c = f * c + i * np.tanh(z[2 * u : 3 * u])
                h = _sigmoid(z[3 * u :]) * np.tanh(c)
                out[t] = h
            new_state.append((h, c))
            h_seq = out
        return h_seq @ self.w_out + self.b_out, new_state


def _phonetic_encoder(meta) -> PhoneticEncoder | None:
    """The shipped encoder for a bundle trained on phone posteriors; refused when it is not the one it learnt from."""
    if not meta.phonetic_input:
        return None
    encoder = default_encoder()
    if meta.phonetic_encoder and meta.phonetic_encoder != encoder.fingerprint:
        raise BundleError(f"This model was trained on the posteriors of phonetic encoder {meta.phonetic_encoder}, but "
                          f"the installed one is {encoder.fingerprint}; retrain the model (or restore the encoder it "
                          "was trained with in workbench/pretrained/phonetic).")
    return encoder


@dataclass(frozen=True)
class LstmState:
    """A stream's LSTM state, the log-F0 held over unvoiced frames and the phonetic encoder's history."""

    lstm: list
    lf0_hold: float
    phonetic: PhoneticState | None = None


class LstmMapper(FrameMapper):
    """normalise -> (log-F0, voicing) inputs -> NumPy LSTM -> de-normalise; ``lookahead_frames`` of delay.

    Offline, the log-F0 input is interpolated over unvoiced stretches (the whole track is known); live
    it is held from the last voiced frame (the next voiced frame is not known yet). With a ``phonetic``
    encoder, its (causal) phone posteriors of each frame are appended to the input, the same offline and live.
    """

    kind = "lstm"

    def __init__(self, lstm: NumpyLSTM, *, input_norm: NormStats, output_norm: NormStats, lookahead_frames: int,
                 use_f0_input: bool, lf0_init: float, kind: str = "lstm", phonetic: PhoneticEncoder | None = None):
        super().__init__(kind)
        self.lstm, self.input_norm, self.output_norm = lstm, input_norm, output_norm
        self.lookahead_frames, self.use_f0_input, self.lf0_init = int(lookahead_frames), use_f0_input, float(lf0_init)
        self.phonetic = phonetic

    @classmethod
    def from_model(cls, model: Any, meta, *, kind: str = "") -> LstmMapper:
        return cls(NumpyLSTM.from_model(model), input_norm=meta.input_norm, output_norm=meta.output_norm,
                   lookahead_frames=meta.lookahead_frames, use_f0_input=meta.use_f0_input,
                   lf0_init=meta.source_f0.mean, kind=kind or meta.kind, phonetic=_phonetic_encoder(meta))

    def initial_state(self) -> LstmState:
        return LstmState(self.lstm.initial_state(), self.lf0_init, PhoneticState() if self.phonetic else None)

    def _run(self, x: np.ndarray, state) -> tuple[np.ndarray, Any]:
        out, state = self.lstm.run(self.input_norm.apply(x), state)
        return self.output_norm.invert(out).astype(np.float64), state

    def map(self, mcep: np.ndarray, f0_hz: np.ndarray, state: LstmState) -> tuple[np.ndarray, LstmState]:
        parts, hold = [np.asarray(mcep[:, 1:], np.float64)], state.lf0_hold
        if self.use_f0_input:
            lf0 = np.empty(len(f0_hz))
            for i, v in enumerate(f0_hz):  # causal: hold the last voiced log-F0
                if v > 0:
                    hold = float(np.log(v))
                lf0[i] = hold
            parts += [lf0[:, None], (np.asarray(f0_hz) > 0).astype(np.float64)[:, None]]
        phonetic = state.phonetic
        if self.phonetic is not None:
            ppg, phonetic = self.phonetic.stream(mcep, phonetic)
            parts.append(ppg)
        out, lstm_state = self._run(np.concatenate(parts, axis=1).astype(np.float32), state.lstm)
        return out, LstmState(lstm_state, hold, phonetic)

    def map_utterance(self, mcep: np.ndarray, f0_hz: np.ndarray) -> np.ndarray:
        L = self.lookahead_frames
        ppg = self.phonetic.posteriors(mcep) if self.phonetic is not None else None
        x = model_inputs(mcep, f0_hz, use_f0=self.use_f0_input, posteriors=ppg)
        x = np.pad(x, ((0, L), (0, 0)), mode="edge") if L else x
        out, _ = self._run(x, None)
        return np.concatenate([np.asarray(mcep[:, :1], np.float64), out[L:]], axis=1)

    # -------------------------------------------------------------------------------------- bundles
    @classmethod
    def load_model(cls, path: str | os.PathLike, meta) -> NumpyLSTM:
        """``weights.npz`` as a ``NumpyLSTM`` (no Keras); bundles without it load ``model.keras``."""
        path = Path(path)
        keras_file = path / KERAS_FILE
        if keras_file.is_file() and not zipfile.is_zipfile(keras_file):  # cheap: reads the zip directory, no Keras
            raise BundleError(f"{path.name}/{KERAS_FILE} is corrupt (not a complete .keras archive); the bundle is "
                              "damaged — retrain the model or restore the bundle.")
        if (path / WEIGHTS_FILE).is_file():
            lstm = NumpyLSTM.load(path / WEIGHTS_FILE)
        else:
            lstm = NumpyLSTM.from_model(load_keras(path, meta))
        if lstm.out_dim != len(meta.output_norm.mean) or (meta.input_norm is not None
                                                          and lstm.in_dim != len(meta.input_norm.mean)):
            raise BundleError(f"{path.name}: model dimensions do not match bundle.json statistics; retrain the model.")
        return lstm

    @classmethod
    def save_model(cls, model: Any, path: str | os.PathLike) -> None:
        """``model.keras`` (training, resume) and ``weights.npz`` (conversion without Keras)."""
        model.save(Path(path) / KERAS_FILE)
        NumpyLSTM.from_model(model).save(Path(path) / WEIGHTS_FILE)


def load_keras(path: str | os.PathLike, meta):
    """The bundle's ``model.keras`` as a ``MappingModel``, in Keras safe mode (imports TensorFlow)."""
    path = Path(path)
    file = path / KERAS_FILE
    if not file.is_file():
        raise BundleError(f"{path.name}: {KERAS_FILE} is missing; the bundle is incomplete — retrain it.")
    import keras

    from .mapping import MappingModel

    try:
        model = keras.models.load_model(file, safe_mode=True, compile=False, custom_objects={"MappingModel": MappingModel})
    except Exception as err:  # noqa: BLE001 - Keras raises many types for a damaged archive
        raise BundleError(
            f"{path.name}/{KERAS_FILE} could not be loaded ({type(err).__name__}); the file is corrupt or from an "
            "incompatible version — retrain the model or restore the bundle."
        ) from err
    if not isinstance(model, MappingModel):
        raise BundleError(f"{path.name}: {KERAS_FILE} holds a {type(model).__name__}, not a MappingModel.")
    if model.out_dim != len(meta.output_norm.mean) or (meta.input_norm is not None and model.in_dim != len(meta.input_norm.mean)):
        raise BundleError(f"{path.name}: model dimensions do not match bundle.json statistics; retrain the model.")
    return model

"""A small phonetic encoder: phone posteriors of every mel-cepstral frame, causal, in NumPy.

Conversion models learn a voice from ~40 parallel sentences; what they map badly is *which sound* a frame
is, and the converted words blur (PocketSphinx WER of awb -> slt 0.49 against 0.30 / 0.31 for the two
voices). Phonetic posteriorgrams (PPGs; Sun et al., ICME 2016) carry that information in a
speaker-independent form: a classifier trained on many voices tells the conversion model which of the 39
CMU phones (or silence) each frame most likely belongs to, and the model learns the target's rendering of
each. The encoder here is trained by ``scripts/train_phonetic.py`` on the project's generated voices with
PocketSphinx forced-alignment labels (``workbench.speech.align``) and ships in ``pretrained/phonetic``.

It is a two-layer perceptron over a *causal* window of frames (``offsets`` <= 0), predicting the phone of
frame ``t - delay``: run over a whole utterance or chunk by chunk with ``PhoneticState`` history, the
output is the same, so offline and live conversion see identical inputs. No maintained library ships a
speaker-independent phone classifier that runs without downloading weights, hence this one.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import BundleError

DEFAULT_DIR = Path(__file__).resolve().parent / "pretrained" / "phonetic"
WEIGHTS_FILE = "weights.npz"
META_FILE = "phonetic.json"


def causal_windows(mcep: np.ndarray, offsets, past: np.ndarray | None = None) -> np.ndarray:
    """Each frame's window ``mcep[t + offsets]`` flattened, ``(n, len(offsets) * n_coeffs)``; frames before the
    first come from ``past`` (the previous ones, at least ``-min(offsets)`` of them) or repeat the first frame."""
    offsets = np.asarray(offsets, dtype=int)
    history = int(-offsets.min())
    past = np.repeat(mcep[:1], history, axis=0) if past is None else past[len(past) - history:]
    full = np.concatenate([past, mcep], axis=0)
    idx = history + np.arange(len(mcep))[:, None] + offsets[None, :]
    return full[idx].reshape(len(mcep), -1)


@dataclass(frozen=True)
class PhoneticState:
    """The last ``-min(offsets)`` frames a stream has seen (``None`` before its first frame)."""

    history: np.ndarray | None = None


class PhoneticEncoder:
    """Mel-cepstra ``(n, n_coeffs)`` -> phone posteriors ``(n, n_phones)``, causal.

    Parameters
    ----------
    layers : list of (kernel, bias)
        Dense layers; ReLU between them, softmax after the last.
    mean, std : np.ndarray
        Normalisation of the stacked window (length ``len(offsets) * n_coeffs``).
    offsets : sequence of int
        Frame offsets of the window, all <= 0 (causal).
    phones : sequence of str
        Output classes (``workbench.speech.align.PHONES``).
    delay : int
        The window at frame ``t`` is trained to name the phone of frame ``t - delay``.
    """

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], *, mean: np.ndarray, std: np.ndarray,
                 offsets, phones, delay: int = 0, n_coeffs: int = 25):
        self.layers = [(np.asarray(k, np.float32), np.asarray(b, np.float32)) for k, b in layers]
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self.offsets = np.asarray(offsets, dtype=int)
        self.phones, self.delay, self.n_coeffs = tuple(phones), int(delay), int(n_coeffs)
        if self.offsets.max() > 0:
            raise BundleError("The phonetic encoder's window looks into the future; it must be causal (offsets <= 0).")
        if self.layers[0][0].shape[0] != len(self.offsets) * self.n_coeffs or self.layers[-1][0].shape[1] != len(self.phones):
            raise BundleError("The phonetic encoder's weights do not match its window or phone set; retrain it.")

    @property
    def fingerprint(self) -> str:
        """A short hash of the weights and window: bundles record it, since a model trained on one encoder's
        posteriors cannot read another's."""
        h = hashlib.sha256(json.dumps([self.offsets.tolist(), list(self.phones), self.delay, self.n_coeffs]).encode())
        for k, b in self.layers:
            h.update(k.tobytes())
            h.update(b.tobytes())
        h.update(self.mean.tobytes())
        h.update(self.std.tobytes())
        return h.hexdigest()[:16]

    @property
    def n_phones(self) -> int:
        return len(self.phones)

    @property
    def history(self) -> int:
        """Frames of the past each output needs."""
        return int(-self.offsets.min())

    # --------------------------------------------------------------------------------------- running
    def classify_windows(self, stacked: np.ndarray) -> np.ndarray:
        """Posteriors of already stacked, unnormalised windows ``(n, len(offsets) * n_coeffs)``."""
        h = (stacked - self.mean) / self.std
        for i, (k, b) in enumerate(self.layers):
            h = h @ k + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        h = np.exp(h - h.max(axis=1, keepdims=True))
        return (h / h.sum(axis=1, keepdims=True)).astype(np.float32)

    def stream(self, mcep: np.ndarray, state: PhoneticState | None = None) -> tuple[np.ndarray, PhoneticState]:
        """Posteriors of the frames ``mcep`` that follow ``state``'s history (a stream's first frame stands
        in for the frames before it); returns them and the new state."""
        m = np.asarray(mcep, np.float32)[:, : self.n_coeffs]
        if len(m) == 0:
            return np.zeros((0, self.n_phones), np.float32), state or PhoneticState()
        past = state.history if state is not None and state.history is not None else np.repeat(m[:1], self.history, axis=0)
        out = self.classify_windows(causal_windows(m, self.offsets, past))
        full = np.concatenate([past, m], axis=0)  # always >= history rows: the padding carries over
        return out, PhoneticState(full[len(full) - self.history :].copy())

    def posteriors(self, mcep: np.ndarray) -> np.ndarray:
        """Posteriors of a whole utterance (the same values as streaming it)."""
        return self.stream(mcep)[0]

    def undelay(self, post: np.ndarray) -> np.ndarray:
        """Posteriors of a whole utterance moved back by ``delay``, so that row ``t`` is about frame ``t`` (the
        last rows repeat the last one)."""
        d = min(self.delay, len(post) - 1)
        return np.concatenate([post[d:], np.repeat(post[-1:], d, axis=0)], axis=0)

    # ----------------------------------------------------------------------------------------- files
    def save(self, folder: str | os.PathLike, *, info: dict | None = None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {f"k{i}": k for i, (k, _) in enumerate(self.layers)} | {f"b{i}": b for i, (_, b) in enumerate(self.layers)}
        with open(folder / WEIGHTS_FILE, "wb") as fh:
            np.savez(fh, mean=self.mean, std=self.std, **arrays)
        meta = {"phones": list(self.phones), "offsets": self.offsets.tolist(), "delay": self.delay,
                "n_coeffs": self.n_coeffs, "n_layers": len(self.layers), **(info or {})}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | os.PathLike = DEFAULT_DIR) -> PhoneticEncoder:
        folder = Path(folder)
        try:
            meta = json.loads((folder / META_FILE).read_text())
            with open(folder / WEIGHTS_FILE, "rb") as fh, np.load(fh, allow_pickle=False) as z:
                layers = [(z[f"k{i}"], z[f"b{i}"]) for i in range(int(meta["n_layers"]))]
                mean, std = z["mean"], z["std"]
        except FileNotFoundError as err:
            raise BundleError(f"The phonetic encoder is missing ({err.filename}); run scripts/train_phonetic.py "
                              "or restore workbench/pretrained/phonetic.") from err
        except (OSError, zipfile.BadZipFile, ValueError, KeyError) as err:
            raise BundleError(f"The phonetic encoder in {folder} is corrupt ({err}); run scripts/train_phonetic.py "
                              "or restore workbench/pretrained/phonetic.") from err
        return cls(layers, mean=mean, std=std, offsets=meta["offsets"], phones=meta["phones"],
                   delay=meta.get("delay", 0), n_coeffs=meta.get("n_coeffs", 25))


def phone_posteriorgram(y: np.ndarray, sr: int, *, encoder: PhoneticEncoder | None = None) -> np.ndarray:
    """Phone posteriors of a clip, one row per 5 ms frame of ``FeatureConfig()`` (the encoder's analysis),
    each row about the frame it is drawn at (the encoder's ``delay`` taken back; the last rows repeat).

    Parameters
    ----------
    y : np.ndarray
        Mono audio in [-1, 1]; resampled to the analysis rate.
    sr : int
        Its sample rate in Hz.

    Returns
    -------
    np.ndarray, shape (n_frames, n_phones)
        Rows sum to 1; columns follow ``encoder.phones``.
    """
    from .audio import resample
    from .config import FeatureConfig
    from .features import mcep

    encoder = encoder or default_encoder()
    fc = FeatureConfig()
    x = resample(y, orig_sr=sr, target_sr=fc.sr) if sr != fc.sr else y
    return encoder.undelay(encoder.posteriors(mcep(x, cfg=fc)))


@lru_cache(maxsize=1)
def default_encoder() -> PhoneticEncoder:
    """The shipped encoder (loaded once per process)."""
    return PhoneticEncoder.load(DEFAULT_DIR)

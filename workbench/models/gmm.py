"""The classic joint-density GMM mapping of mel-cepstra (Toda et al.; the VCC2018 baseline recipe).

Source and target frames (statics + deltas) are stacked into joint vectors and modelled by a
full-covariance Gaussian mixture; a source frame is converted to the conditional mean of the target
given the source, averaged over the mixture posterior. Frame-wise: it sees no context beyond deltas.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from ..errors import BundleError
from ..features import deltas
from .base import FrameMapper

GMM_FILE = "gmm.npz"
DELTA_WIDTH = 9  # ``features.deltas``' window: a frame's delta needs 4 frames on either side


def with_deltas(x: np.ndarray) -> np.ndarray:
    """Static features and their first time derivative, ``(n_frames, 2 * dims)``."""
    return np.concatenate([x, deltas(x, width=DELTA_WIDTH)], axis=1)


class JointGMM:
    """Joint-density GMM converter with parameters stored as plain arrays (``.npz``, no pickle)."""

    def __init__(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray, dim: int):
        self.weights, self.means, self.covariances, self.dim = weights, means, covariances, int(dim)
        self._prepare()

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, n_components: int = 16, seed: int = 0, max_iter: int = 100) -> JointGMM:
        """Fit on aligned frames ``x``, ``y`` of shape ``(n_frames, dims)`` (statics; deltas are added here)."""
        from sklearn.mixture import GaussianMixture

        joint = np.concatenate([with_deltas(x), with_deltas(y)], axis=1)
        gmm = GaussianMixture(
            n_components=n_components, covariance_type="full", max_iter=max_iter, random_state=seed, reg_covar=1e-4
        ).fit(joint)
        return cls(gmm.weights_, gmm.means_, gmm.covariances_, 2 * x.shape[1])

    def _prepare(self) -> None:
        d = self.dim
        sxx = self.covariances[:, :d, :d]
        syx = self.covariances[:, d:, :d]
        self._sxx_inv = np.linalg.inv(sxx)
        self._gain = syx @ self._sxx_inv  # (m, dy, dx)
        _, logdet = np.linalg.slogdet(sxx)
        self._log_norm = np.log(self.weights) - 0.5 * (logdet + d * np.log(2 * np.pi))

    def convert(self, x: np.ndarray) -> np.ndarray:
        """Conditional mean of target statics given source statics ``x`` ``(n_frames, dims)``."""
        d = self.dim
        xd = with_deltas(x)
        mx, my = self.means[:, :d], self.means[:, d:]
        diff = xd[None, :, :] - mx[:, None, :]  # (m, n, dx)
        maha = np.einsum("mnd,mde,mne->mn", diff, self._sxx_inv, diff)
        logp = self._log_norm[:, None] - 0.5 * maha
        post = np.exp(logp - logsumexp(logp, axis=0, keepdims=True))  # (m, n)
        cond = my[:, None, :] + np.einsum("mye,mne->mny", self._gain, diff)  # (m, n, dy)
        y = np.einsum("mn,mny->ny", post, cond)
        return y[:, : x.shape[1]].astype(np.float32)

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, weights=self.weights, means=self.means, covariances=self.covariances, dim=np.array(self.dim))

    @classmethod
    def load(cls, path: str | os.PathLike) -> JointGMM:
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # own handle: closed on errors too
                return cls(z["weights"], z["means"], z["covariances"], int(z["dim"]))
        except (OSError, zipfile.BadZipFile, ValueError, KeyError, np.linalg.LinAlgError) as err:
            raise BundleError(f"GMM parameters in {Path(path).name} are corrupt ({err}); retrain the model.") from err


class GmmMapper(FrameMapper):
    """The joint-density GMM as a frame mapper.

    Its deltas reach ``(DELTA_WIDTH - 1) // 2`` frames into the future, so a stream waits that many
    frames; the state is the last ``2 * lookahead`` frames (the past half of each delta window).
    Offline, the whole utterance is converted at once (deltas at the ends interpolate).
    """

    kind = "gmm"
    lookahead_frames = (DELTA_WIDTH - 1) // 2

    def __init__(self, gmm: JointGMM, kind: str = "gmm"):
        super().__init__(kind)
        self.gmm = gmm

    @classmethod
    def from_model(cls, model: JointGMM, meta, *, kind: str = "") -> GmmMapper:
        return cls(model, kind or meta.kind)

    def map(self, mcep: np.ndarray, f0_hz: np.ndarray, state: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        L = self.lookahead_frames
        ctx = 2 * L
        x = np.asarray(mcep[:, 1:], np.float64)
        history = np.repeat(x[:1], ctx, axis=0) if state is None else state
        window = np.vstack([history, x])
        y = self.gmm.convert(window)
        return np.asarray(y[L:L + len(x)], dtype=np.float64), window[-ctx:]

    def map_utterance(self, mcep: np.ndarray, f0_hz: np.ndarray) -> np.ndarray:
        mapped = self.gmm.convert(np.asarray(mcep[:, 1:], np.float64))
        return np.concatenate([np.asarray(mcep[:, :1], np.float64), mapped], axis=1)

    @classmethod
    def load_model(cls, path: str | os.PathLike, meta) -> JointGMM:
        path = Path(path)
        if not (path / GMM_FILE).is_file():
            raise BundleError(f"{path.name}: {GMM_FILE} is missing; the bundle is incomplete — retrain it.")
        return JointGMM.load(path / GMM_FILE)

    @classmethod
    def save_model(cls, model: JointGMM, path: str | os.PathLike) -> None:
        model.save(Path(path) / GMM_FILE)

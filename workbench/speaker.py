"""Speaker embeddings without TensorFlow: features, the NumPy encoder, similarity and verification EER.

A speaker-encoder bundle is a folder with ``bundle.json`` (kind ``speaker-encoder``, the ``EncoderConfig``
and training notes) and ``weights.npz`` (the LSTM and projection weights plus the feature mean and standard
deviation). ``load_speaker_encoder()`` loads the shipped default in ``workbench/pretrained/speaker-encoder``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .audio import resample, validate_audio
from .config import EncoderConfig
from .errors import BundleError, DataError

ENCODER_KIND = "speaker-encoder"
ENCODER_FORMAT = 1
DEFAULT_ENCODER = Path(__file__).resolve().parent / "pretrained" / "speaker-encoder"
LEVEL_DBFS = -23.0  # clips are levelled before analysis: loudness is not a speaker trait
SPEECH_TOP_DB = 40.0  # frames this far below the loudest are silence and are dropped


def log_mel(y: np.ndarray, sr: int, *, cfg: EncoderConfig = EncoderConfig()) -> np.ndarray:
    """Log-mel frames of the speech in a clip, silence dropped.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        Mono speech; resampled to ``cfg.sr`` and levelled to -23 dBFS RMS first.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    np.ndarray, shape (n_frames, cfg.n_mels), float32
        Natural-log mel power of the frames within 40 dB of the loudest (all frames when fewer than 16 are).
    """
    import librosa

    validate_audio(y, sr, name="speech to embed")
    if sr != cfg.sr:
        y = resample(y, orig_sr=sr, target_sr=cfg.sr)
    y = np.asarray(y, np.float32)
    y = y * (10 ** (LEVEL_DBFS / 20) / max(float(np.sqrt(np.mean(y**2))), 1e-9))
    hop, win = int(round(cfg.sr * cfg.hop_ms / 1000)), int(round(cfg.sr * cfg.win_ms / 1000))
    n_fft = 1 << (win - 1).bit_length()
    mel = librosa.feature.melspectrogram(y=y, sr=cfg.sr, n_fft=n_fft, hop_length=hop, win_length=win,
                                         n_mels=cfg.n_mels).T
    energy = 10 * np.log10(mel.sum(axis=1) + 1e-12)
    speech = energy > energy.max() - SPEECH_TOP_DB
    if speech.sum() >= 16:
        mel = mel[speech]
    return np.log(mel + 1e-6).astype(np.float32)


def partial_windows(mel: np.ndarray, *, cfg: EncoderConfig = EncoderConfig()) -> np.ndarray:
    """Cut frames into windows of ``cfg.window_frames``, ``cfg.window_hop_frames`` apart, covering the end.

    Returns
    -------
    np.ndarray, shape (n_windows, window_frames, n_mels); a clip shorter than one window gives one window
    of its own length.
    """
    n, w = len(mel), cfg.window_frames
    if n <= w:
        return mel[None]
    starts = list(range(0, n - w + 1, cfg.window_hop_frames))
    if starts[-1] != n - w:
        starts.append(n - w)
    return np.stack([mel[s : s + w] for s in starts])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class NumpySpeakerEncoder:
    """A trained ``models.speaker_encoder.SpeakerEncoder`` in NumPy: a batch of equal-length windows -> unit embeddings.

    Gate order follows Keras (input, forget, cell, output).
    """

    def __init__(self, weights: dict[str, np.ndarray]):
        n_layers = sum(1 for k in weights if k.endswith("_recurrent"))
        self.layers = [tuple(np.asarray(weights[f"lstm_{i}_{n}"], np.float32) for n in ("kernel", "recurrent", "bias"))
                       for i in range(n_layers)]
        self.w_out = np.asarray(weights["proj_kernel"], np.float32)
        self.b_out = np.asarray(weights["proj_bias"], np.float32)
        self.n_mels = self.layers[0][0].shape[0]
        self.emb_dim = self.w_out.shape[1]

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        """Embed windows ``mel`` ``(batch, n_frames, n_mels)``; returns ``(batch, emb_dim)``, unit length."""
        h_seq = np.asarray(mel, dtype=np.float32)
        for kernel, rec, bias in self.layers:
            u = rec.shape[0]
            pre = h_seq @ kernel + bias  # (batch, n_frames, 4u): input projections of all frames at once
            h = np.zeros((h_seq.shape[0], u), np.float32)
            c = np.zeros_like(h)
            out = np.empty(h_seq.shape[:2] + (u,), np.float32)
            for t in range(h_seq.shape[1]):
                z = pre[:, t] + h @ rec
                i, f = _sigmoid(z[:, :u]), _sigmoid(z[:, u : 2 * u])
                c = f * c + i * np.tanh(z[:, 2 * u : 3 * u])
                h = _sigmoid(z[:, 3 * u :]) * np.tanh(c)
                out[:, t] = h
            h_seq = out
        e = h_seq[:, -1] @ self.w_out + self.b_out
        return e / np.maximum(np.linalg.norm(e, axis=-1, keepdims=True), 1e-12)


class SpeakerEmbedder:
    """A trained speaker encoder run in NumPy: clips -> unit-length speaker embeddings.

    Build with ``SpeakerEmbedder.load(folder)`` or ``load_speaker_encoder()``.
    """

    def __init__(self, cfg: EncoderConfig, weights: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray,
                 meta: dict | None = None):
        self.cfg, self.meta = cfg, meta or {}
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self.runner = NumpySpeakerEncoder(weights)

    @property
    def sr(self) -> int:
        return self.cfg.sr

    @property
    def emb_dim(self) -> int:
        return self.runner.emb_dim

    @classmethod
    def load(cls, folder: str | Path) -> SpeakerEmbedder:
        """Load a speaker-encoder bundle folder.

        Raises
        ------
        BundleError
            When the folder has no ``bundle.json`` / ``weights.npz`` of kind ``speaker-encoder``.
        """
        folder = Path(folder)
        meta_path, weights_path = folder / "bundle.json", folder / "weights.npz"
        if not meta_path.is_file() or not weights_path.is_file():
            raise BundleError(f"{folder} is not a speaker-encoder bundle (expected bundle.json and weights.npz); "
                              "train one with `workbench train-encoder` or use workbench/pretrained/speaker-encoder.")
        meta = json.loads(meta_path.read_text())
        if bundle_type(meta) != ENCODER_KIND:
            raise BundleError(f"{folder} holds a {bundle_type(meta)!r} bundle, not a speaker encoder.")
        if int(meta.get("format_version", 0)) > ENCODER_FORMAT:
            raise BundleError(f"{folder} uses speaker-encoder format {meta['format_version']}; this workbench reads "
                              f"up to {ENCODER_FORMAT}. Update the workbench.")
        with open(weights_path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # own handle: closed on errors too
            arrays = {k: z[k] for k in z.files}
        mean, std = arrays.pop("feat_mean"), arrays.pop("feat_std")
        return cls(EncoderConfig.from_dict(meta["encoder_cfg"]), arrays, mean, std, meta)

    def embed_mel(self, mel: np.ndarray) -> np.ndarray:
        """Embedding ``(emb_dim,)`` of log-mel frames ``(n_frames, n_mels)`` from ``log_mel``."""
        windows = partial_windows((mel - self.mean) / self.std, cfg=self.cfg)
        e = self.runner(windows).mean(axis=0)
        return (e / max(float(np.linalg.norm(e)), 1e-12)).astype(np.float32)

    def embed(self, y: np.ndarray, sr: int) -> np.ndarray:
        """Unit-length speaker embedding ``(emb_dim,)``, float32, of one clip (mean over partial windows)."""
        return self.embed_mel(log_mel(y, sr, cfg=self.cfg))

    def embed_many(self, clips: Sequence[np.ndarray], sr: int) -> np.ndarray:
        """Embeddings ``(n_clips, emb_dim)`` of several clips at one rate."""
        return np.stack([self.embed(y, sr) for y in clips]) if len(clips) else np.zeros((0, self.emb_dim), np.float32)


def bundle_type(meta: dict) -> str | None:
    """What a ``bundle.json`` describes: ``"speaker-encoder"`` (key ``bundle_type``; early encoders wrote ``kind``)
    or, for a voice-conversion bundle, its model kind."""
    return meta.get("bundle_type", meta.get("kind"))


def is_encoder_bundle(folder: str | Path) -> bool:
    """Whether ``folder`` holds a speaker-encoder bundle (not a conversion bundle), judged by its ``bundle.json``."""
    try:
        return bundle_type(json.loads((Path(folder) / "bundle.json").read_text())) == ENCODER_KIND
    except (OSError, ValueError):
        return False


@functools.lru_cache(maxsize=4)
def _load_cached(folder: str) -> SpeakerEmbedder:
    return SpeakerEmbedder.load(folder)


def load_speaker_encoder(folder: str | Path | None = None) -> SpeakerEmbedder:
    """The speaker encoder in ``folder``, or the shipped default; cached per folder."""
    return _load_cached(str(Path(folder) if folder is not None else DEFAULT_ENCODER))


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two embeddings, in [-1, 1]."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def similarity_matrix(embeddings: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarities ``(n, n)`` of embeddings ``(n, emb_dim)``."""
    e = np.asarray(embeddings, np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return e @ e.T


def voice_centroid(embedder: SpeakerEmbedder, clips: Sequence[np.ndarray], sr: int) -> np.ndarray:
    """A voice's centroid: the normalised mean embedding of its clips, shape ``(emb_dim,)``."""
    if not len(clips):
        raise DataError("A voice centroid needs at least one clip of the voice; none were given.")
    c = embedder.embed_many(clips, sr).mean(axis=0)
    return (c / max(float(np.linalg.norm(c)), 1e-12)).astype(np.float32)


def equal_error_rate(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Equal error rate of verification trials, where false acceptances equal false rejections.

    Parameters
    ----------
    scores : np.ndarray, shape (n_trials,)
        Higher means "same speaker" (e.g. cosine similarity).
    labels : np.ndarray, shape (n_trials,), bool or {0, 1}
        True for target (same-speaker) trials.

    Returns
    -------
    eer : float
        In [0, 1], interpolated between the two ROC points around the crossing (0 when the scores separate
        the classes perfectly, about 0.5 for chance).
    threshold : float
        Score at the crossing.
    """
    from sklearn.metrics import roc_curve

    labels = np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        raise DataError(f"An EER needs both same-speaker and different-speaker trials; got {labels.sum()} same "
                        f"of {labels.size}. Use at least two speakers with two clips each.")
    fpr, tpr, thr = roc_curve(labels, np.asarray(scores, float), drop_intermediate=False)
    fnr = 1.0 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    j = i + 1 if i + 1 < len(fpr) and fnr[i] > fpr[i] else max(i - 1, 0)
    d_i, d_j = fnr[i] - fpr[i], fnr[j] - fpr[j]
    t = 0.0 if d_i == d_j else d_i / (d_i - d_j)  # where fnr - fpr crosses zero between i and j
    eer = (fpr[i] + t * (fpr[j] - fpr[i]) + fnr[i] + t * (fnr[j] - fnr[i])) / 2.0
    return float(eer), float(thr[i] if np.isfinite(thr[i]) else thr[min(i + 1, len(thr) - 1)])


def verification_trials(embeddings: np.ndarray, speakers: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of distinct clips as a trial: cosine scores and same-speaker labels, ``(n*(n-1)/2,)`` each."""
    sim = similarity_matrix(embeddings)
    spk = np.asarray(speakers)
    iu = np.triu_indices(len(spk), k=1)
    return sim[iu], spk[iu[0]] == spk[iu[1]]


def verification_eer(embeddings: np.ndarray, speakers: Sequence[str]) -> float:
    """EER over all clip pairs (one clip enrols, the other tests) of embeddings labelled by speaker."""
    scores, labels = verification_trials(embeddings, speakers)
    return equal_error_rate(scores, labels)[0]

"""Perceived quality and intelligibility of speech: DNSMOS, PESQ, STOI and recognition WER.

These wrap models and reference implementations that ship inside their wheels: DNSMOS (Microsoft's
P.835 SIG/BAK/OVRL and P.808 networks, in ``speechmos``, run by ``onnxruntime``), ITU-T P.862.2 wide-band
PESQ (``pesq``), STOI (``pystoi``) and PocketSphinx (``workbench.speech.asr``). Nothing is downloaded.

DNSMOS needs no reference; PESQ and STOI compare a degraded signal with a clean, time-aligned reference
(e.g. the denoising demos), so they do not apply to voice conversion, where no sample-aligned target exists.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import resample, validate_audio
from .errors import AudioError

QUALITY_SR = 16_000  # DNSMOS, wide-band PESQ and the ASR model all run at 16 kHz


def _at_16k(y: np.ndarray, sr: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y if sr == QUALITY_SR else resample(y, orig_sr=sr, target_sr=QUALITY_SR)


@dataclass(frozen=True)
class DnsmosScores:
    """DNSMOS P.835 scores (1-5): speech signal, background noise, overall quality; and P.808 MOS."""

    sig: float
    bak: float
    ovrl: float
    p808: float


@functools.lru_cache(maxsize=1)
def _dnsmos_model():
    try:
        import speechmos.dnsmos as dm
    except ImportError as err:  # pragma: no cover - a core dependency
        raise ImportError("DNSMOS needs the 'speechmos' and 'onnxruntime' packages: pip install speechmos") from err
    folder = Path(dm.__file__).parent / "dnsmos_models"
    return dm.DNSMOS(str(folder / "sig_bak_ovr.onnx"), str(folder / "model_v8.onnx"))


def dnsmos(y: np.ndarray, sr: int) -> DnsmosScores:
    """Predict the mean opinion scores of a clip without a reference (DNSMOS P.835 and P.808).

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        Mono speech in [-1, 1]; resampled to 16 kHz. Clips shorter than 9 s are repeated to 9 s, as
        DNSMOS does.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    DnsmosScores
        Each score on the 1-5 MOS scale (higher is better).
    """
    validate_audio(y, sr, name="speech to rate")
    x = np.clip(_at_16k(y, sr), -1.0, 1.0).astype(np.float64)
    out = _dnsmos_model()(x, QUALITY_SR, False)
    return DnsmosScores(float(out["sig_mos"]), float(out["bak_mos"]), float(out["ovrl_mos"]), float(out["p808_mos"]))


def _pair(ref: np.ndarray, deg: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    validate_audio(ref, sr, name="reference")
    validate_audio(deg, sr, name="degraded signal")
    n = min(len(ref), len(deg))
    if abs(len(ref) - len(deg)) > 0.05 * n:
        raise AudioError(f"PESQ/STOI compare time-aligned signals; got {len(ref)} and {len(deg)} samples. "
                         "Pass the clean reference of the same recording.")
    return _at_16k(ref[:n], sr).astype(np.float64), _at_16k(deg[:n], sr).astype(np.float64)


def pesq_wb(ref: np.ndarray, deg: np.ndarray, sr: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2) MOS-LQO of ``deg`` against the clean ``ref``, in about 1.04-4.64.

    Both signals are mono float at ``sr`` (resampled to 16 kHz) and time-aligned.
    """
    from pesq import pesq

    r, d = _pair(ref, deg, sr)
    return float(pesq(QUALITY_SR, r, d, "wb"))


def stoi(ref: np.ndarray, deg: np.ndarray, sr: int, *, extended: bool = False) -> float:
    """Short-time objective intelligibility of ``deg`` against the clean ``ref``, in [0, 1] (ESTOI if extended)."""
    from pystoi import stoi as _stoi

    r, d = _pair(ref, deg, sr)
    return float(_stoi(r, d, QUALITY_SR, extended=extended))


def read_transcript(audio_path: str | Path, *others: str | Path) -> str | None:
    """The transcript of an audio file: the same-stem ``.txt`` beside it, or beside any of ``others``."""
    for p in (audio_path, *others):
        txt = Path(p).with_suffix(".txt")
        if txt.is_file():
            text = txt.read_text(encoding="utf-8").strip()
            if text:
                return text
    return None


def recognition_wer(y: np.ndarray, sr: int, transcript: str) -> tuple[float, str]:
    """Word error rate of PocketSphinx on ``y`` against ``transcript``.

    Returns
    -------
    wer : float
        (substitutions + deletions + insertions) / reference words, 0 is perfect (may exceed 1).
    heard : str
        What the recogniser heard.
    """
    from .metrics import word_error_rate
    from .speech.asr import transcribe

    heard = transcribe(y, sr).text
    return word_error_rate(transcript, heard), heard

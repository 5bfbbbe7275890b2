"""Offline speech recognition with PocketSphinx.

PocketSphinx 5 ships its US-English acoustic model, language model and dictionary inside the wheel, so
recognition needs no download. A decoder is created **per utterance**: a reused PocketSphinx 5 decoder
carried state between files and made results depend on file order (see FIELD_NOTES.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..audio import resample, validate_audio
from ..errors import ConfigError

ASR_SR = 16_000  # the en-us acoustic model is trained on 16 kHz speech
_FILLER = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+\+.*\+\+)$")
_ALT_PRON = re.compile(r"\(\d+\)$")  # "with(2)": second pronunciation of "with"


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing (seconds) and posterior probability in [0, 1]."""

    text: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True)
class Transcript:
    """What the recogniser heard in one utterance."""

    text: str
    words: tuple[Word, ...] = field(default_factory=tuple)
    duration_s: float = 0.0

    @property
    def confidence(self) -> float:
        """Mean word confidence (nan when nothing was recognised)."""
        return float(np.mean([w.confidence for w in self.words])) if self.words else float("nan")

    def to_dict(self) -> dict:
        return {"text": self.text, "duration_s": self.duration_s, "confidence": self.confidence,
                "words": [w.__dict__ for w in self.words]}


@dataclass(frozen=True)
class AsrConfig:
    """PocketSphinx settings.

    Parameters
    ----------
    beam : float
        Main search beam; smaller is more thorough and slower (PocketSphinx's default is 1e-48).
    lw : float
        Language-model weight (PocketSphinx's default is 6.5).
    """

    beam: float = 1e-48
    lw: float = 6.5

    def __post_init__(self) -> None:
        if not 0.0 < self.beam < 1.0:
            raise ConfigError(f"beam={self.beam} must be in (0, 1); PocketSphinx's default is 1e-48.")
        if not 0.0 < self.lw <= 50.0:
            raise ConfigError(f"lw={self.lw} must be in (0, 50]; PocketSphinx's default is 6.5.")


def _decoder(cfg: AsrConfig):
    try:
        from pocketsphinx import Decoder
    except ImportError as err:  # pragma: no cover - pocketsphinx is a core dependency
        raise ImportError("Speech recognition needs the 'pocketsphinx' package: pip install pocketsphinx") from err
    return Decoder(samprate=ASR_SR, beam=cfg.beam, lw=cfg.lw, loglevel="FATAL")


def transcribe(y: np.ndarray, sr: int, *, cfg: AsrConfig = AsrConfig()) -> Transcript:
    """Recognise the words in one utterance.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        Mono speech in [-1, 1].
    sr : int
        Sample rate in Hz; resampled to 16 kHz for the acoustic model.
    cfg : AsrConfig
        Decoder settings.

    Returns
    -------
    Transcript
        Lower-case text, words with start/end times in seconds and posterior confidences.

    Raises
    ------
    AudioError
        Empty, silent or non-finite audio (from ``validate_audio``).
    """
    validate_audio(y, sr, name="speech to recognise")
    if sr != ASR_SR:
        y = resample(y, orig_sr=sr, target_sr=ASR_SR)
    pcm = (np.clip(y, -1.0, 1.0) * 32767.0).astype("<i2")
    decoder = _decoder(cfg)  # fresh per utterance: a reused decoder carries state between files
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    frame_s = 1.0 / float(decoder.config["frate"])
    words = []
    for seg in decoder.seg():
        if _FILLER.match(seg.word):
            continue
        words.append(Word(text=_ALT_PRON.sub("", seg.word).lower(), start_s=seg.start_frame * frame_s,
                          end_s=(seg.end_frame + 1) * frame_s, confidence=float(np.clip(seg.prob, 0.0, 1.0))))
    return Transcript(text=" ".join(w.text for w in words), words=tuple(words), duration_s=len(y) / ASR_SR)

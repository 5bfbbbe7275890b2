"""Phone-level forced alignment of a known transcript with PocketSphinx (its in-wheel en-us model).

Where recognition asks "what was said", alignment is told the words and answers "when was each phone said".
PocketSphinx 5 does it in two passes: a word-level alignment against the transcript, then a sub-word pass
that places every phone (``Decoder.set_align_text`` then ``Decoder.set_alignment``). The phonetic encoder
(``workbench.phonetic``) is trained on these labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..audio import resample, validate_audio
from ..errors import AudioError
from .asr import ASR_SR

# CMU phones without stress (the en-us model's 39) and silence first; fillers and noise map to silence
PHONES: tuple[str, ...] = (
    "SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
    "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)
PHONE_INDEX = {p: i for i, p in enumerate(PHONES)}
_PAD_S = 0.2  # silence around the clip: the aligner needs room for its initial and final <sil>


@dataclass(frozen=True)
class PhoneSegment:
    """One aligned phone: its CMU symbol (``SIL`` for pauses) and its start/end in seconds."""

    phone: str
    start_s: float
    end_s: float


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def align_phones(y: np.ndarray, sr: int, text: str) -> list[PhoneSegment]:
    """Where each phone of ``text`` lies in ``y``.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono speech in [-1, 1].
    sr : int
        Sample rate in Hz (resampled to the model's 16 kHz).
    text : str
        What is said, in plain English words (punctuation is ignored).

    Returns
    -------
    list of PhoneSegment
        In time order, covering the clip; times relative to the start of ``y``.

    Raises
    ------
    AudioError
        Empty, silent or damaged audio, or a transcript that cannot be aligned (words missing from the
        dictionary, or speech that does not match the text).
    """
    validate_audio(y, sr, name="speech to align")
    words = _words(text)
    if not words:
        raise AudioError("The transcript has no words to align; give the sentence that is spoken.")
    if sr != ASR_SR:
        y = resample(y, orig_sr=sr, target_sr=ASR_SR)
    pad = np.zeros(int(_PAD_S * ASR_SR), np.float32)
    pcm = (np.clip(np.concatenate([pad, y, pad]), -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=ASR_SR, lm=None, bestpath=False, loglevel="FATAL")  # fresh per utterance
    try:
        decoder.set_align_text(words)
        for second_pass in (False, True):
            if second_pass:
                decoder.set_alignment()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
        alignment = decoder.get_alignment()
    except (RuntimeError, ValueError) as err:
        raise AudioError(f"Could not align the transcript to the speech ({err}); check that the text is what "
                         "is said and that every word is an English dictionary word.") from err
    frame_s = 1.0 / float(decoder.config["frate"])
    out = []
    for word in alignment:
        for ph in word:
            name = ph.name if ph.name in PHONE_INDEX else "SIL"
            start = ph.start * frame_s - _PAD_S
            out.append(PhoneSegment(name, max(start, 0.0), max(start + ph.duration * frame_s, 0.0)))
    return [s for s in out if s.end_s > s.start_s]


def frame_labels(segments: list[PhoneSegment], n_frames: int, hop_s: float) -> np.ndarray:
    """Phone index (into ``PHONES``) of each analysis frame ``t`` (centred at ``t * hop_s``); ``SIL`` where
    no segment covers it."""
    labels = np.zeros(n_frames, np.int16)
    t = np.arange(n_frames) * hop_s
    for s in segments:
        labels[(t >= s.start_s) & (t < s.end_s)] = PHONE_INDEX[s.phone]
    return labels

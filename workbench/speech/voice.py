"""Text in a cloned voice: a TTS voice converted into a target voice.

``train_voice`` takes a target voice folder of recordings with same-stem ``.txt`` transcripts (what the
Voices page records), speaks the same transcripts with a TTS voice, and trains a TTS → target conversion
model with ``training.train_conversion`` (DTW-aligned parallel data, as for two recorded voices). The bundle
gets a ``tts.json`` beside ``bundle.json`` naming the TTS voice it was trained on.

``VoiceSpeaker.load(bundle).say(text)`` then normalises the text, speaks it with that TTS voice and converts
the speech into the target voice.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import list_audio_files, resample, save_audio
from ..config import FeatureConfig, TrainConfig
from ..errors import BundleError, DataError
from .text import TextConfig, TextError, prepare_text
from .tts import TtsConfig, flite_available, synthesize

TTS_FILE = "tts.json"
MIN_TRANSCRIBED = 3


def default_tts() -> TtsConfig:
    """The TTS voice ``train_voice`` uses by default: flite ``rms`` when flite is installed (PocketSphinx
    recognises it well), else espeak-ng ``en-us`` (always available, but formant speech is harder to
    convert and to recognise).

    On the slt test sentences flite ``rms`` beat ``awb`` as the source voice: TTS WER 0.16 vs 0.30, converted
    (``say``) WER 0.49 vs 0.50, MCD to slt's recordings 4.81 vs 5.11 dB (same training recipe).
    """
    return TtsConfig(engine="flite", voice="rms") if flite_available() else TtsConfig()


def default_train_config(**overrides) -> TrainConfig:
    """Training settings for text-to-voice models: ``TrainConfig`` with a 10-frame (50 ms) lookahead, and the
    phone posteriors as input and the phonetic term in the loss (``TrainConfig.phonetic_input``,
    ``phonetic_loss_weight``; the defaults of voice-to-voice training).

    The phonetic term is what keeps the words: 40 pairs (flite rms -> slt), WER of ``say`` (mean per sentence)
    on the 10 test sentences / 30 sentences ``x001``-``x030`` / 30 sentences ``x031``-``x060`` that no model
    saw, seeds 1 and 0: without posteriors 0.526 / 0.487 / 0.625 and 0.497 / 0.523 / 0.597, with posteriors
    and the term 0.334 / 0.338 / 0.394 and 0.331 / 0.306 / 0.424 (70-sentence means 0.55 -> 0.35, both seeds;
    plain TTS scores 0.16 on the test sentences). The posteriors alone, without the term, had moved it within
    the noise (0.39 / 0.51 against 0.48 / 0.50 on the test sentences).

    ``say`` converts whole utterances offline, so the model may look further ahead than the 4 frames a live
    bundle can afford. On the slt test sentences with flite rms: 30 training pairs (seed 0) gave a converted
    WER of 0.50 with 10 frames against 0.56 with 4, at the same MCD (4.96 vs 4.93 dB); 40 pairs (seed 1) gave
    0.51 against 0.49 (MCD 4.84 vs 4.81 dB). Differences this small are within the noise of ten sentences.
    """
    return TrainConfig(**{"lookahead_frames": 10, **overrides})


def read_transcripts(folder: str | os.PathLike) -> dict[str, str]:
    """Transcripts of a voice folder: ``{stem: text}`` for every audio file with a non-empty ``stem.txt``.

    Raises
    ------
    DataError
        The folder is missing, or fewer than 3 recordings have transcripts.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"The target folder {str(folder)!r} does not exist; pass a folder of recordings with "
                        "same-name .txt transcripts (s001.flac + s001.txt).")
    out = {}
    audio = list_audio_files(folder)
    for path in audio:
        txt = path.with_suffix(".txt")
        if txt.is_file():
            text = txt.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                out[path.stem] = text
    if len(out) < MIN_TRANSCRIBED:
        raise DataError(f"{str(folder)!r} has {len(audio)} recording(s) but only {len(out)} with a transcript; "
                        f"text-to-voice training needs >= {MIN_TRANSCRIBED} recordings with same-name .txt files.")
    return out


def speak(text: str, tts: TtsConfig, *, sr: int, text_cfg: TextConfig = TextConfig(),
          pause_s: float = 0.15) -> tuple[np.ndarray, list[str]]:
    """Normalise ``text``, speak it sentence by sentence and join the sentences with short pauses.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32, at ``sr`` Hz
    sentences : list of str
        The normalised sentences that were spoken.

    Raises
    ------
    TextError
        Unspeakable text (see ``prepare_text``).
    SynthesisError
        The engine failed.
    """
    sentences = prepare_text(text, text_cfg)
    parts = []
    for i, sentence in enumerate(sentences):
        y, tts_sr = synthesize(sentence, tts)
        parts.append(resample(y, orig_sr=tts_sr, target_sr=sr))
        if i + 1 < len(sentences):
            parts.append(np.zeros(int(pause_s * sr), dtype=np.float32))
    return np.concatenate(parts).astype(np.float32), sentences


def synthesize_parallel(transcripts: dict[str, str], out_dir: str | os.PathLike, tts: TtsConfig, *, sr: int,
                        text_cfg: TextConfig = TextConfig()) -> list[Path]:
    """Speak every transcript with ``tts`` into ``out_dir/<stem>.wav`` (the TTS side of the parallel data).

    Transcripts that cannot be spoken are skipped; ``DataError`` when fewer than 3 remain.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, skipped = [], []
    for stem, text in sorted(transcripts.items()):
        try:
            y, _ = speak(text, tts, sr=sr, text_cfg=text_cfg)
        except TextError:
            skipped.append(stem)
            continue
        written.append(save_audio(out_dir / f"{stem}.wav", y, sr))
    if len(written) < MIN_TRANSCRIBED:
        raise DataError(f"Only {len(written)} transcript(s) could be spoken (skipped: {', '.join(skipped[:5])}); "
                        f"need >= {MIN_TRANSCRIBED}. Check the .txt files hold sentences.")
    return written


def train_voice(
    target_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    tts: TtsConfig | None = None,
    cfg: TrainConfig | None = None,
    feature_cfg: FeatureConfig = FeatureConfig(),
    text_cfg: TextConfig = TextConfig(),
    on_progress=None,
    stop_event: threading.Event | None = None,
):
    """Train a TTS → target conversion bundle from a target voice's transcribed recordings.

    Parameters
    ----------
    target_dir : folder
        Recordings of the target voice with same-stem ``.txt`` transcripts (consent is the caller's check).
    out_dir : folder
        Bundle to write (replaced atomically once complete); holds ``tts.json`` as well.
    tts : TtsConfig, optional
        The TTS voice to convert from (``default_tts()`` when omitted).
    cfg : TrainConfig, optional
        Model and training settings (``default_train_config()`` when omitted).
    feature_cfg, on_progress, stop_event
        As for ``training.train_conversion``.

    Returns
    -------
    training.TrainResult
        With ``bundle_dir`` = ``out_dir``.

    Raises
    ------
    DataError
        Missing folder, too few transcripts, or too little speech.
    SynthesisError
        The TTS engine failed.
    """
    from ..training import Progress, train_conversion

    tts = tts or default_tts()
    cfg = cfg or default_train_config()
    transcripts = read_transcripts(target_dir)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".train-voice.", dir=out.parent) as tmp_name:
        tmp = Path(tmp_name)
        tts_dir = tmp / f"{tts.engine}-{tts.voice}"
        if on_progress:
            on_progress(Progress("synthesis", 0, 1, 0, len(transcripts)))
        synthesize_parallel(transcripts, tts_dir, tts, sr=feature_cfg.sr, text_cfg=text_cfg)
        staged = tmp / "bundle"
        result = train_conversion(tts_dir, target_dir, staged, cfg=cfg, feature_cfg=feature_cfg,
                                  on_progress=on_progress, stop_event=stop_event)
        (staged / TTS_FILE).write_text(json.dumps({"tts": tts.to_dict(), "text": text_cfg.to_dict(),
                                                   "n_transcripts": len(transcripts)}, indent=2) + "\n")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(staged, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    result.bundle_dir = out
    return result


def read_voice_spec(path: str | os.PathLike) -> tuple[TtsConfig, TextConfig]:
    """The TTS voice and text limits of a ``train_voice`` bundle (cheap: no model is loaded).

    Raises
    ------
    BundleError
        Not a bundle, or a voice-conversion bundle without a readable ``tts.json``.
    """
    from ..bundle import read_meta

    path = Path(path)
    read_meta(path)  # BundleError for a missing or broken bundle
    try:
        spec = json.loads((path / TTS_FILE).read_text())
        return TtsConfig.from_dict(spec["tts"]), TextConfig.from_dict(spec.get("text", {}))
    except FileNotFoundError:
        raise BundleError(f"{str(path)!r} converts voice to voice but has no {TTS_FILE}, so it cannot speak text; "
                          "make a text-to-voice bundle with `workbench train-voice`.") from None
    except (OSError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as err:
        raise BundleError(f"{str(path / TTS_FILE)!r} is unreadable ({err}); retrain with `workbench train-voice`.") from err


@dataclass
class SayResult:
    """What ``VoiceSpeaker.say`` produced, with the intermediate TTS audio and per-stage times (seconds)."""

    y: np.ndarray
    sr: int
    tts_y: np.ndarray
    sentences: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.y) / self.sr


class VoiceSpeaker:
    """Speaks typed text in a target voice: text processing → TTS → conversion with a ``train_voice`` bundle."""

    def __init__(self, converter, tts: TtsConfig, text_cfg: TextConfig = TextConfig()):
        self.converter, self.tts, self.text_cfg = converter, tts, text_cfg

    @classmethod
    def load(cls, path: str | os.PathLike) -> VoiceSpeaker:
        """Load a bundle made by ``train_voice`` (``workbench train-voice``).

        Raises
        ------
        BundleError
            Not a bundle, or a voice-conversion bundle without ``tts.json``.
        """
        from ..inference import VoiceConverter

        tts, text_cfg = read_voice_spec(path)
        return cls(VoiceConverter.load(path), tts, text_cfg)

    @property
    def description(self) -> str:
        return f"{self.tts.label} → {self.converter.meta.target_voice if self.converter.meta else '?'}"

    def say(self, text: str) -> SayResult:
        """Speak ``text`` in the target voice.

        Returns
        -------
        SayResult
            Converted audio (float32, at the bundle's rate), the TTS audio at the same rate, the normalised
            sentences and the time of each stage (``text``, ``synthesis``, ``conversion``).

        Raises
        ------
        TextError
            Empty, punctuation-only or over-long text.
        SynthesisError
            The TTS engine is missing or failed.
        """
        sr = self.converter.sr
        t0 = time.perf_counter()
        sentences = prepare_text(text, self.text_cfg)
        t1 = time.perf_counter()
        tts_y, _ = speak(" ".join(sentences), self.tts, sr=sr, text_cfg=self.text_cfg)
        t2 = time.perf_counter()
        y, out_sr = self.converter.convert(tts_y, sr)
        t3 = time.perf_counter()
        return SayResult(y, out_sr, tts_y, sentences, {"text": t1 - t0, "synthesis": t2 - t1, "conversion": t3 - t2})

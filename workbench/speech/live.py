"""Live recognition: cut a stream of audio chunks into utterances with voice activity detection, then
recognise each utterance with a fresh decoder (``asr.transcribe``).

The detector is an energy gate with hysteresis on 10 ms frames: a frame is speech when its level is
``threshold_db`` above a running noise floor (and above ``min_level_dbfs``); an utterance starts after
``start_ms`` of speech (with ``pre_roll_ms`` of audio before it, so onsets are not clipped) and ends after
``hangover_ms`` of non-speech or at ``max_utterance_s``. It works on any chunk size, and the utterances it
cuts do not depend on how the stream was chunked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..config import _JsonConfig
from ..errors import AudioError, ConfigError
from .asr import AsrConfig, Transcript, transcribe


@dataclass(frozen=True)
class VadConfig(_JsonConfig):
    """Voice activity detection settings (times in ms, levels in dB)."""

    frame_ms: float = 10.0
    threshold_db: float = 12.0
    min_level_dbfs: float = -55.0
    start_ms: float = 60.0
    hangover_ms: float = 400.0
    pre_roll_ms: float = 200.0
    min_utterance_ms: float = 250.0
    max_utterance_s: float = 20.0
    floor_rise_db_per_s: float = 3.0

    def __post_init__(self) -> None:
        if not 5.0 <= self.frame_ms <= 50.0:
            raise ConfigError(f"frame_ms={self.frame_ms} must be in [5, 50].")
        if self.threshold_db <= 0 or self.start_ms < self.frame_ms or self.hangover_ms < self.frame_ms:
            raise ConfigError("threshold_db must be > 0, and start_ms and hangover_ms at least one frame long.")
        if not 1.0 <= self.max_utterance_s <= 120.0:
            raise ConfigError(f"max_utterance_s={self.max_utterance_s} must be in [1, 120].")


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech cut from a stream: samples and where it starts/ends in the stream (seconds)."""

    y: np.ndarray
    sr: int
    start_s: float
    end_s: float


class UtteranceSegmenter:
    """Stateful voice activity detector: ``feed(chunk)`` returns the utterances completed by that chunk.

    Parameters
    ----------
    sr : int
        Sample rate of the stream in Hz.
    cfg : VadConfig
    """

    def __init__(self, sr: int, cfg: VadConfig = VadConfig()):
        self.sr, self.cfg = int(sr), cfg
        self.hop = max(1, int(round(sr * cfg.frame_ms / 1000.0)))
        self._start_frames = int(np.ceil(cfg.start_ms / cfg.frame_ms))
        self._end_frames = int(np.ceil(cfg.hangover_ms / cfg.frame_ms))
        self._pre_frames = int(round(cfg.pre_roll_ms / cfg.frame_ms))
        self._max_frames = int(cfg.max_utterance_s * 1000.0 / cfg.frame_ms)
        self._min_frames = int(cfg.min_utterance_ms / cfg.frame_ms)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: pending samples, noise floor and any utterance in progress."""
        self._pending = np.zeros(0, dtype=np.float32)
        self._frame_index = 0
        self._floor_db: float | None = None
        self._history: deque[np.ndarray] = deque(maxlen=self._pre_frames + self._start_frames)
        self._speech_run = 0
        self._silence_run = 0
        self._active: list[np.ndarray] | None = None
        self._active_start = 0

    @property
    def in_speech(self) -> bool:
        """Whether an utterance is in progress."""
        return self._active is not None

    def _is_speech(self, frame: np.ndarray) -> bool:
        level = 10.0 * np.log10(float(np.mean(frame.astype(np.float64) ** 2)) + 1e-12)
        step_up = self.cfg.floor_rise_db_per_s * self.cfg.frame_ms / 1000.0
        if self._floor_db is None:
            self._floor_db = level
        elif level < self._floor_db:
            self._floor_db = level  # the floor follows quiet frames down at once...
        else:
            self._floor_db += step_up  # ...and creeps up slowly, so speech does not become "noise"
        return level > max(self._floor_db + self.cfg.threshold_db, self.cfg.min_level_dbfs)

    def _close(self, out: list[Utterance]) -> None:
        frames = self._active or []
        self._active = None
        # drop the trailing hangover silence, keep one frame of it
        keep = max(0, len(frames) - max(0, self._silence_run - 1))
        if keep >= self._min_frames:
            y = np.concatenate(frames[:keep])
            start = self._active_start * self.hop / self.sr
            out.append(Utterance(y, self.sr, start, start + len(y) / self.sr))
        self._speech_run = self._silence_run = 0

    def feed(self, chunk: np.ndarray) -> list[Utterance]:
        """Add mono float32 samples; returns the utterances that ended within them (often none)."""
        out: list[Utterance] = []
        buf = np.concatenate([self._pending, np.asarray(chunk, dtype=np.float32).reshape(-1)])
        n = len(buf) // self.hop
        for i in range(n):
            frame = buf[i * self.hop:(i + 1) * self.hop]
            speech = self._is_speech(frame)
            if self._active is None:
                self._history.append(frame)
                self._speech_run = self._speech_run + 1 if speech else 0
                if self._speech_run >= self._start_frames:
                    self._active = list(self._history)
                    self._active_start = self._frame_index + 1 - len(self._history)
                    self._history.clear()
                    self._silence_run = 0
            else:
                self._active.append(frame)
                self._silence_run = 0 if speech else self._silence_run + 1
                if self._silence_run >= self._end_frames or len(self._active) >= self._max_frames:
                    self._close(out)
            self._frame_index += 1
        self._pending = buf[n * self.hop:]
        return out

    def flush(self) -> list[Utterance]:
        """End of stream: close an utterance in progress."""
        out: list[Utterance] = []
        if self._active is not None:
            self._silence_run = 0
            self._close(out)
        return out


def segment_stream(chunks: Iterable[np.ndarray], sr: int, cfg: VadConfig = VadConfig()) -> Iterator[Utterance]:
    """Yield utterances from an iterable of mono float32 chunks as soon as each one ends.

    Parameters
    ----------
    chunks : iterable of np.ndarray, shape (n,), float32
        The stream, in chunks of any size.
    sr : int
        Sample rate in Hz.
    cfg : VadConfig
    """
    seg = UtteranceSegmenter(sr, cfg)
    for chunk in chunks:
        yield from seg.feed(chunk)
    yield from seg.flush()


@dataclass(frozen=True)
class LiveResult:
    """One recognised utterance of a stream."""

    utterance: Utterance
    transcript: Transcript


def recognize_stream(chunks: Iterable[np.ndarray], sr: int, *, vad: VadConfig = VadConfig(),
                     asr: AsrConfig = AsrConfig()) -> Iterator[LiveResult]:
    """Live recognition: yield each utterance's transcript as soon as the utterance ends.

    Every utterance gets a fresh PocketSphinx decoder (``asr.transcribe``), so the results do not depend on
    what came before. Utterances the recogniser hears no words in are still yielded (with empty text).
    """
    for utt in segment_stream(chunks, sr, vad):
        try:
            transcript = transcribe(utt.y, utt.sr, cfg=asr)
        except AudioError:  # too short or too quiet to recognise
            transcript = Transcript(text="", duration_s=len(utt.y) / utt.sr)
        yield LiveResult(utt, transcript)


def chunked(y: np.ndarray, chunk: int) -> Iterator[np.ndarray]:
    """Cut a signal into consecutive chunks of ``chunk`` samples (the last may be shorter)."""
    for i in range(0, len(y), chunk):
        yield y[i:i + chunk]

"""A Live (WebRTC) session without Streamlit: WebRTC frames -> ``StreamingConverter`` -> frames.

``LiveSession`` is one browser connection's pipeline: its own converter (built from an ``EngineSpec``),
frame counters, an optional recording, an optional per-frame trace, and the decisions of stall
recovery (when to stop and restart a stream that says "playing" but delivers nothing), and the last few
seconds of input and converted output (``recent``) for the views that scroll while you speak. Its settings
(``config.LiveConfig``), the model loader and the clock are injected, so it is tested directly. The
page (``app_pages/live.py``) keeps only widgets and layout; it hands ``callback``/``on_ended`` to
``webrtc_streamer``, so the audio thread only ever touches its own session.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from .audio import resample, rms, save_audio
from .config import FeatureConfig, LiveConfig
from .features import n_frames, stft_db
from .frames import frame_to_mono, mono_to_frame
from .inference import VoiceConverter
from .streaming import StreamingConverter

ENGINES = ("model", "passthrough", "pitch", "anonymize")


@dataclass(frozen=True)
class RecentAudio:
    """The last seconds of a stream: the input and the converted output, aligned sample by sample.

    ``input``/``output``: ``np.ndarray, shape (n,), float32`` at ``sr`` Hz (``n`` at most
    ``LiveConfig.recent_s`` seconds). ``end_s``: stream time of the sample after the last one (seconds of
    audio pushed since the session began), so ``end_s - n / sr`` is where these samples start.
    """

    input: np.ndarray
    output: np.ndarray
    sr: int
    end_s: float

    @property
    def start_s(self) -> float:
        return self.end_s - self.input.size / self.sr

    @property
    def duration_s(self) -> float:
        return self.input.size / self.sr


@dataclass(frozen=True)
class EngineSpec:
    """What the person picked; a new spec means a new ``StreamingConverter`` (α and bypass are live).

    ``engine`` is one of ``ENGINES``; ``model`` a bundle folder (engine ``model``); ``semitones`` the shift
    of the ``pitch`` engine.
    """

    engine: str
    model: str = ""
    semitones: float = 0.0

    def build(self, *, mcadams: float, cfg: LiveConfig,
              load_converter: Callable[[str], VoiceConverter]) -> StreamingConverter:
        stream_cfg = cfg.stream
        if self.engine == "model":
            return StreamingConverter(load_converter(self.model), cfg=stream_cfg)
        if self.engine == "pitch":
            return StreamingConverter.pitch_shift(semitones=self.semitones, cfg=stream_cfg)
        if self.engine == "anonymize":
            return StreamingConverter.anonymize(mcadams=mcadams, cfg=stream_cfg)
        return StreamingConverter.passthrough(cfg=stream_cfg)


class LiveSession:
    """One browser session's pipeline and counters (read by the page's meters under a lock).

    Parameters
    ----------
    cfg : LiveConfig
        Stream, stall recovery, recording length and trace length.
    load_converter : callable, optional
        Bundle folder -> ``VoiceConverter`` (the app passes its shared, cached loader).
    recordings_dir : Path, optional
        Where ``save_recording`` writes; recording is unavailable without it.
    clock : callable
        Monotonic seconds (``time.monotonic``; tests pass their own).
    """

    def __init__(self, cfg: LiveConfig = LiveConfig(), *,
                 load_converter: Callable[[str], VoiceConverter] = VoiceConverter.load,
                 recordings_dir: Path | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg, self._load, self.recordings_dir, self._clock = cfg, load_converter, recordings_dir, clock
        self._lock = threading.Lock()
        self.spec: EngineSpec | None = None
        self.stream: StreamingConverter | None = None
        self.record = False
        self.restart_phase: str | None = None  # None | "stop" | "settle" | "start"
        self.phase_t = 0.0
        self.n_restarts = self.restarts_in_row = 0
        self.gave_up = False
        self._trace: deque[tuple[float, float, float]] = deque(maxlen=cfg.trace_frames or 1)
        self._recent = np.zeros((2, int(round(cfg.recent_s * cfg.stream.stream_sr))), np.float32)  # ring
        self._recent_pos = self._n_pushed = 0
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.n_frames = self.n_late = self.n_dropped = 0
        self.last_frame_t = 0.0
        self.playing_since = 0.0
        self._next_pts: int | None = None
        self._t0 = self._clock()
        n = int(self.cfg.max_record_s * 1000.0 / self.cfg.stream.chunk_ms)
        self._rec_in: deque[np.ndarray] = deque(maxlen=n)
        self._rec_out: deque[np.ndarray] = deque(maxlen=n)

    def use(self, spec: EngineSpec, *, mcadams: float, bypass: bool) -> StreamingConverter:
        """Switch to ``spec`` (a new converter only when it changed); α and bypass apply live."""
        if spec != self.spec or self.stream is None:
            stream = spec.build(mcadams=mcadams, cfg=self.cfg, load_converter=self._load)
            self.spec, self.stream = spec, stream  # one assignment: the audio thread sees old or new
        if spec.engine == "anonymize" and self.stream.mcadams != mcadams:
            self.stream.mcadams = mcadams
        self.stream.bypass = bypass
        return self.stream

    # -- audio thread ------------------------------------------------------------------------------
    async def callback(self, frames: list) -> list:
        """``queued_audio_frames_callback``: every frame that arrived since the last call, in order."""
        return self.process(frames)

    def process(self, frames: list) -> list:
        """Convert ``av.AudioFrame``s through this session's converter; returns frames of the same format."""
        stream, sr = self.stream, self.cfg.stream.stream_sr
        out, rows, pairs = [], [], []
        for frame in frames:
            x, _ = frame_to_mono(frame, sr=sr)
            y = stream.process(x) if stream is not None else x
            out.append(mono_to_frame(y, sr, frame))
            pairs.append((x, y))
            if self.cfg.trace_frames:
                rows.append((self._clock() - self._t0, rms(x), rms(y)))
            if self.record:
                self._rec_in.append(x)
                self._rec_out.append(y)
        with self._lock:
            now = self._clock()
            self.n_frames += len(frames)
            self.n_late += len(frames) - 1  # frames that queued up behind a slow chunk
            for frame in frames:
                if self._next_pts is not None and frame.pts is not None and frame.pts > self._next_pts:
                    self.n_dropped += round((frame.pts - self._next_pts) / frame.samples)  # lost in transit
                self._next_pts = None if frame.pts is None else frame.pts + frame.samples
            self.last_frame_t = now
            self._trace.extend(rows)
            for x, y in pairs:
                self._push_recent(x, y)
            if self.restart_phase is None:
                self.restarts_in_row, self.gave_up = 0, False  # audio flows: a later stall may restart
        return out

    def _push_recent(self, x: np.ndarray, y: np.ndarray) -> None:
        """Write one chunk into the ring buffer (caller holds the lock): a copy, nothing computed."""
        n = self._recent.shape[1]
        if not n or not x.size:
            return
        if y.size != x.size:  # a converter that returned another length: keep the two aligned
            y = np.pad(y[: x.size], (0, max(x.size - y.size, 0)))
        k = min(x.size, n)
        idx = (self._recent_pos + np.arange(x.size - k, x.size)) % n  # a chunk longer than the ring: its tail
        self._recent[0, idx], self._recent[1, idx] = x[-k:], y[-k:]
        self._recent_pos = (self._recent_pos + x.size) % n
        self._n_pushed += x.size

    def on_ended(self) -> None:
        """``on_audio_ended``: the browser stopped sending. Save a recording; the next stream starts fresh."""
        self.save_recording()
        if self.stream is not None:
            self.stream.reset()
        with self._lock:
            self._next_pts = None
            self.playing_since = 0.0

    # -- script thread -----------------------------------------------------------------------------
    def drain_trace(self) -> list[tuple[float, float, float]]:
        """Per-frame ``(seconds since start, input RMS, output RMS)`` rows since the last call."""
        with self._lock:
            rows = list(self._trace)
            self._trace.clear()
        return rows

    def recent(self, seconds: float | None = None) -> RecentAudio:
        """A copy of the last ``seconds`` (default: all kept, ``cfg.recent_s``) of input and output.

        Taken under the lock, so input and output always end at the same sample; empty before the first
        frame. The audio thread only copies samples into the ring; spectrograms, F0 and embeddings are
        computed by the caller from this copy.
        """
        sr = self.cfg.stream.stream_sr
        with self._lock:
            n = min(self._n_pushed, self._recent.shape[1])
            ring = np.roll(self._recent, -self._recent_pos, axis=1)[:, self._recent.shape[1] - n:]
            end_s = self._n_pushed / sr
        if seconds is not None:
            ring = ring[:, max(n - int(round(seconds * sr)), 0):]
        return RecentAudio(ring[0].copy(), ring[1].copy(), sr, end_s)

    def save_recording(self) -> Path | None:
        """Write what was recorded as ``<time>-input.wav`` / ``-output.wav``; None when nothing was."""
        with self._lock:
            x, y = list(self._rec_in), list(self._rec_out)
            self._rec_in.clear()
            self._rec_out.clear()
        if not x or self.recordings_dir is None:
            return None
        stem = self.recordings_dir / datetime.now().strftime("%Y%m%d-%H%M%S")
        save_audio(f"{stem}-input.wav", np.concatenate(x), self.cfg.stream.stream_sr)
        save_audio(f"{stem}-output.wav", np.concatenate(y), self.cfg.stream.stream_sr)
        return stem

    # -- stalled streams --------------------------------------------------------------------------
    def is_stalled(self, playing: bool) -> bool:
        """True when the browser says "playing" but no frame arrived for ``cfg.stall_s`` seconds.

        streamlit-webrtc 0.79 can stop its server-side worker right after connecting (its stale-context
        check compares script-run counts that the event loop updates asynchronously) while the browser
        still shows the stream as connected; a microphone track that stops sending looks the same.
        """
        now = self._clock()
        with self._lock:
            if not playing:
                self.playing_since = 0.0
                return False
            if not self.playing_since:
                self.playing_since = now
            return now - max(self.playing_since, self.last_frame_t) > self.cfg.stall_s

    def watch_stall(self, playing: bool) -> bool:
        """Start (or retry) an automatic Stop -> Start when the stream stalled; True when a rerun is due.

        ``gave_up`` is set after ``cfg.max_restarts`` restarts in a row brought no audio: the Start/Stop
        buttons come back and the page asks the person to press Stop, then Start.
        """
        now = self._clock()
        if self.restart_phase is None:
            if not self.is_stalled(playing):
                return False
        elif now - self.phase_t < self.cfg.restart_timeout_s:
            return False
        with self._lock:  # a new stall, or a restart that got stuck (e.g. the browser started twice)
            self.playing_since = 0.0
            if self.restarts_in_row >= self.cfg.max_restarts:
                self.gave_up, self.restart_phase = True, None
                return True
            self.gave_up = False
            self.restarts_in_row += 1
            self.n_restarts += 1
            self.restart_phase, self.phase_t = "stop", now
            return True

    @property
    def desired_playing_state(self) -> bool | None:
        """``webrtc_streamer(desired_playing_state=...)``: None (the Start/Stop buttons) unless restarting."""
        return {"stop": False, "settle": False, "start": True}.get(self.restart_phase or "")

    def advance_restart(self, *, playing: bool, signalling: bool) -> bool:
        """Move the restart on once the browser has stopped (then started); True when a rerun is due."""
        phase, now = self.restart_phase, self._clock()
        if phase == "stop" and not playing and not signalling:
            phase = "settle"  # the browser stopped: let it finish and redraw before asking it to start
        elif phase == "settle" and now - self.phase_t >= self.cfg.settle_s:
            phase = "start"
        elif phase == "start" and playing:
            phase = None  # hand Start/Stop back to the person
        else:
            return False
        self.restart_phase, self.phase_t = phase, self._clock()
        return True

    def recently_restarted(self, within_s: float = 10.0) -> bool:
        """A restart is under way or ended less than ``within_s`` ago (the page shows a notice)."""
        return bool(self.n_restarts and (self.restart_phase or self._clock() - self.phase_t < within_s))

    def counters(self) -> dict[str, float]:
        with self._lock:
            age = self._clock() - self.last_frame_t if self.last_frame_t else float("inf")
            return {"frames": self.n_frames, "late": self.n_late, "dropped": self.n_dropped, "age_s": age}


@dataclass(frozen=True)
class RecentFeatures:
    """What the scrolling view draws of a ``RecentAudio``: spectrograms and F0 of input and output.

    ``input_db``/``output_db``: ``(n_frames, cfg.n_fft // 2 + 1)`` dB; ``input_f0``/``output_f0``: ``(n_frames,)``
    Hz, 0 where unvoiced; frame ``i`` is at stream time ``start_s + i * cfg.hop_ms / 1000``.
    """

    input_db: np.ndarray
    output_db: np.ndarray
    input_f0: np.ndarray
    output_f0: np.ndarray
    start_s: float
    cfg: FeatureConfig


def analyse_recent(recent: RecentAudio, *, cfg: FeatureConfig = FeatureConfig(n_fft=512, hop_ms=10.0)) -> RecentFeatures:
    """STFT (dB) and F0 of both sides of ``recent``, brought to ``cfg.sr`` first.

    F0 is WORLD DIO at ``speed=4`` (it searches a 4x decimated signal) refined by StoneMask: 5 s of one
    side take about 25 ms instead of 180 ms at full speed, and this runs ~4 times a second in the page's
    refresh (never in the audio thread). Shorter than one analysis window (or empty): zero frames.
    """
    if recent.duration_s * cfg.sr < cfg.win_length:
        empty = np.zeros((0, cfg.n_fft // 2 + 1), np.float32)
        return RecentFeatures(empty, empty, np.zeros(0), np.zeros(0), recent.start_s, cfg)
    sides = [resample(y, orig_sr=recent.sr, target_sr=cfg.sr) for y in (recent.input, recent.output)]
    db_in, db_out = (stft_db(y, cfg=cfg) for y in sides)
    hz_in, hz_out = (_fast_f0(y, cfg) for y in sides)
    return RecentFeatures(db_in, db_out, hz_in, hz_out, recent.start_s, cfg)


def _fast_f0(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    import pyworld

    x = np.asarray(y, np.float64)
    hz, t = pyworld.dio(x, cfg.sr, f0_floor=cfg.f0_floor, f0_ceil=cfg.f0_ceil, frame_period=cfg.hop_ms, speed=4)
    hz = pyworld.stonemask(x, hz, t, cfg.sr)
    n = n_frames(y.size, cfg)
    return np.pad(hz[:n], (0, max(n - hz.size, 0)))


def write_trace(rows: list[tuple[float, float, float]], path: str | Path) -> None:
    """Append trace rows to a text file, one ``time input_rms output_rms`` line per frame."""
    if rows:
        with open(path, "a", encoding="utf-8") as fh:
            fh.writelines(f"{t:.4f} {a:.6f} {b:.6f}\n" for t, a, b in rows)


__all__ = ["LiveSession", "EngineSpec", "ENGINES", "RecentAudio", "RecentFeatures", "analyse_recent", "write_trace"]

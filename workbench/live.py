"""A Live (WebRTC) session without Streamlit: WebRTC frames -> ``StreamingConverter`` -> frames.

``LiveSession`` is one browser connection's pipeline: its own converter (built from an ``EngineSpec``),
frame counters, an optional recording, an optional per-frame trace, and the decisions of stall
recovery (when to stop and restart a stream that says "playing" but delivers nothing), and the last few
seconds of input and converted output (``recent``) for the views that scroll while you speak. Its settings
(``config.LiveConfig``), the model loader and the clock are injected, so it is tested directly. The
page (``app_pages/live.py``) keeps only widgets and layout; it hands ``callback``/``on_ended`` to
``webrtc_streamer``, so the audio thread only ever touches its own session.

Load: a ``LiveRegistry`` (one per app) hands out ``LiveConfig.max_sessions`` stream slots; a session takes
one with its first frames and gives it back when the stream ends, the session is closed or garbage
collected, or no frame came for ``idle_release_s``. Past the limit the newcomer hears silence and its page
says politely why (``LiveSession.refused``) instead of every stream falling behind. Each session also
watches its own compute time per audio time (``LiveSession.busy``): above ``busy_rtf`` over the last
``busy_window_s`` of audio the machine cannot keep up (e.g. a training run shares the CPU), and the page
says so instead of degrading silently.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from .audio import resample, rms, save_audio
from .config import FeatureConfig, LiveConfig
from .errors import WorkbenchError
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


class LiveBusyError(WorkbenchError, RuntimeError):
    """The app already converts as many live streams as it is configured for."""


class LiveRegistry:
    """The stream slots of one app: at most ``max_sessions`` sessions convert at once.

    Sessions are held by weak reference, so a session dropped with its browser tab (a reload) frees its
    slot even if nothing told it that the stream ended; so does a session silent for ``idle_release_s``.
    """

    def __init__(self, max_sessions: int, *, idle_release_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_sessions, self.idle_release_s, self._clock = max_sessions, idle_release_s, clock
        self._lock = threading.Lock()
        self._slots: dict[int, weakref.ref] = {}

    def _prune(self) -> None:
        now = self._clock()
        for key, ref in list(self._slots.items()):
            session = ref()
            if session is None or (session.last_frame_t and now - session.last_frame_t > self.idle_release_s):
                del self._slots[key]

    def active(self) -> int:
        """Sessions holding a slot now."""
        with self._lock:
            self._prune()
            return len(self._slots)

    def has_room_for(self, session: LiveSession) -> bool:
        """True when ``session`` holds a slot or one is free."""
        with self._lock:
            self._prune()
            return id(session) in self._slots or len(self._slots) < self.max_sessions

    def admit(self, session: LiveSession) -> None:
        """Give ``session`` a slot (a no-op when it has one); raise ``LiveBusyError`` when all are taken."""
        with self._lock:
            self._prune()
            if id(session) in self._slots:
                return
            if len(self._slots) >= self.max_sessions:
                raise LiveBusyError(
                    f"Sorry, this machine is already converting {len(self._slots)} live stream"
                    f"{'s' * (len(self._slots) != 1)}, as many as it is set up to keep in real time "
                    f"(max_sessions={self.max_sessions}). Please press Stop and try again in a few minutes; "
                    "the offline Clone page works meanwhile."
                )
            self._slots[id(session)] = weakref.ref(session)

    def release(self, session: LiveSession) -> None:
        """Free ``session``'s slot (nothing happens when it holds none)."""
        with self._lock:
            ref = self._slots.get(id(session))
            if ref is not None and ref() is session:
                del self._slots[id(session)]


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
        Monotonic seconds (``time.monotonic``; tests pass their own); also times the conversion of each
        batch of frames for ``busy``.
    registry : LiveRegistry, optional
        The app's stream slots; without one the session never refuses.
    """

    def __init__(self, cfg: LiveConfig = LiveConfig(), *,
                 load_converter: Callable[[str], VoiceConverter] = VoiceConverter.load,
                 recordings_dir: Path | None = None, clock: Callable[[], float] = time.monotonic,
                 registry: LiveRegistry | None = None) -> None:
        self.cfg, self._load, self.recordings_dir, self._clock = cfg, load_converter, recordings_dir, clock
        self.registry = registry
        self.refused: str | None = None  # the registry's message while this session has no slot
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
        self._load_window: deque[tuple[float, float]] = deque()  # (audio s, compute s) per batch
        self._load_audio_s = self._load_compute_s = 0.0

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
        if self.registry is not None:
            try:
                self.registry.admit(self)
                self.refused = None
            except LiveBusyError as err:
                self.refused = str(err)
                stream = None
        t_start, audio_s = self._clock(), 0.0
        for frame in frames:
            x, _ = frame_to_mono(frame, sr=sr)
            audio_s += len(x) / sr
            y = stream.process(x) if stream is not None else (np.zeros_like(x) if self.refused else x)
            out.append(mono_to_frame(y, sr, frame))
            pairs.append((x, y))
            if self.cfg.trace_frames:
                rows.append((self._clock() - self._t0, rms(x), rms(y)))
            if self.record:
                self._rec_in.append(x)
                self._rec_out.append(y)
        with self._lock:
            now = self._clock()
            self._note_load(audio_s, now - t_start)
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

    def _note_load(self, audio_s: float, compute_s: float) -> None:
        """Add one batch to the sliding window of the last ``busy_window_s`` seconds of audio (under the lock)."""
        self._load_window.append((audio_s, compute_s))
        self._load_audio_s += audio_s
        self._load_compute_s += compute_s
        while len(self._load_window) > 1 and self._load_audio_s - self._load_window[0][0] >= self.cfg.busy_window_s:
            a, c = self._load_window.popleft()
            self._load_audio_s -= a
            self._load_compute_s -= c

    @property
    def load(self) -> float:
        """Compute time / audio time over the last ``busy_window_s`` of audio (0 before any frame)."""
        with self._lock:
            return self._load_compute_s / self._load_audio_s if self._load_audio_s > 0 else 0.0

    @property
    def busy(self) -> bool:
        """True when a full ``busy_window_s`` of audio took more than ``busy_rtf`` times its duration to convert:
        the machine is too busy to keep this stream in real time (output falls behind, frames queue up)."""
        with self._lock:
            full = self._load_audio_s >= self.cfg.busy_window_s - 1e-9
            return full and self._load_compute_s > self.cfg.busy_rtf * self._load_audio_s

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
        """``on_audio_ended``: the browser stopped sending. Save a recording, free the stream slot; the next
        stream starts fresh."""
        self.save_recording()
        if self.stream is not None:
            self.stream.reset()
        if self.registry is not None:
            self.registry.release(self)
        with self._lock:
            self._next_pts = None
            self.playing_since = 0.0
            self._load_window.clear()
            self._load_audio_s = self._load_compute_s = 0.0

    def close(self) -> None:
        """The page is going away (disconnect, reload): end the stream and drop the converter and its slot."""
        self.on_ended()
        self.stream, self.spec = None, None

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
        """Write what was recorded as ``<time>-input.wav`` / ``-output.wav``; None when nothing was.

        The output is generated audio, so it goes through ``provenance.save_generated`` (watermarked and
        tagged with the engine or model, "live microphone" as its source and the model's target voice);
        the input is the person's own voice, saved as it came.
        """
        from .provenance import save_generated
        from .store import read_json

        with self._lock:
            x, y = list(self._rec_in), list(self._rec_out)
            self._rec_in.clear()
            self._rec_out.clear()
        if not x or self.recordings_dir is None:
            return None
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        stem = self.recordings_dir / datetime.now().strftime("%Y%m%d-%H%M%S")
        sr, spec = self.cfg.stream.stream_sr, self.spec or EngineSpec("passthrough")
        target = str(read_json(Path(spec.model) / "bundle.json").get("target_voice", "")) if spec.model else ""
        save_audio(f"{stem}-input.wav", np.concatenate(x), sr)
        save_generated(f"{stem}-output.wav", np.concatenate(y), sr, model=spec.model or spec.engine,
                       source="live microphone", target=target)
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
            full = self._load_audio_s >= self.cfg.busy_window_s - 1e-9
            load = self._load_compute_s / self._load_audio_s if self._load_audio_s > 0 else 0.0
            return {"frames": self.n_frames, "late": self.n_late, "dropped": self.n_dropped, "age_s": age,
                    "load": load, "busy": full and load > self.cfg.busy_rtf}


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


__all__ = ["LiveSession", "LiveRegistry", "LiveBusyError", "EngineSpec", "ENGINES", "RecentAudio", "RecentFeatures",
           "analyse_recent", "write_trace"]

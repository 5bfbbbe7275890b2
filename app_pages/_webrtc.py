"""Page-side helpers of the Live page: offline ICE, capture constraints, the per-session audio pipeline.

Nothing here imports ``streamlit_webrtc`` (the page does, inside its script: importing it before the
Streamlit runtime exists breaks the component) and nothing here runs ``st.*`` from an audio thread.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app_pages._state import ROOT
from workbench.audio import save_audio
from workbench.config import StreamConfig
from workbench.frames import frame_to_mono, mono_to_frame
from workbench.inference import VoiceConverter
from workbench.speaker import is_encoder_bundle
from workbench.streaming import StreamingConverter

# No STUN/TURN servers: the browser and this server meet on their own host candidates, so nothing
# leaves the machine (streamlit-webrtc would otherwise fill in Google STUN or a hosted TURN service).
RTC_CONFIGURATION = {"iceServers": []}
# The raw microphone: Chromium's echo cancellation, noise suppression and gain control change the voice.
MEDIA_CONSTRAINTS = {"video": False,
                     "audio": {"echoCancellation": False, "noiseSuppression": False, "autoGainControl": False}}
STREAM_CFG = StreamConfig(stream_sr=48_000)  # WebRTC (Opus) frames arrive at 48 kHz
STALL_S = 3.0  # "playing" for this long without a single frame: the server-side worker is gone
MAX_RESTARTS = 3  # automatic restarts in a row before asking the person to press Stop, then Start
RESTART_TIMEOUT_S = 6.0  # a restart phase that takes longer is retried
# The component starts twice (two offers, one answer: stuck "connecting") when it re-renders between
# "start" and its first state change, which its own stop-and-resize triggers: start only after a pause.
SETTLE_S = 1.0
LOG_ENV = "WORKBENCH_LIVE_LOG"  # path: append one line per frame (time, input RMS, output RMS) for tests
MODEL_ENV = "WORKBENCH_LIVE_MODEL"  # path of a bundle to offer (and preselect) instead of the shipped one
PRETRAINED_DIR = ROOT / "workbench" / "pretrained"
DEFAULT_MODEL = PRETRAINED_DIR / "any-to-slt"
RECORDINGS_DIR = ROOT / "workbench_data" / "recordings"
MAX_RECORD_S = 600.0


# ------------------------------------------------------------------------------------------------ ICE
def allow_loopback_ice() -> None:
    """Make aioice offer ``127.0.0.1`` as a host candidate when this machine has no other IPv4 address.

    aioice's ``get_host_addresses`` always skips 127.0.0.1, so on a machine (or network namespace) whose
    only interface is loopback the server offers no candidate at all and ICE fails, although the
    browser on the same machine could reach it. ``Connection.gather_candidates`` looks the function up
    in ``aioice.ice`` at call time, so replacing it there is enough. Idempotent (Streamlit re-runs pages).
    """
    import aioice.ice

    original = aioice.ice.get_host_addresses
    if getattr(original, "workbench_loopback", False):
        return

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and not any(":" not in a for a in addresses):
            addresses.append("127.0.0.1")
        return addresses

    get_host_addresses.workbench_loopback = True  # type: ignore[attr-defined]
    aioice.ice.get_host_addresses = get_host_addresses


# ------------------------------------------------------------------------------------------ GC stalls
def freeze_gc() -> None:
    """Move every object alive now out of the cycle collector's reach (``gc.freeze``).

    After every script run, fragment runs included, Streamlit calls ``gc.collect(2)`` and, once Keras is
    imported, ``keras.backend.clear_session()`` (another full collection). With TensorFlow loaded that
    is ~0.5 s with the GIL held per run (measured: 365k tracked objects), so meters refreshing 4x/s
    would starve the WebRTC threads (server got ~10 of 50 frames/s). Frozen objects are still freed by
    reference counting; only cycles among them are never collected, and they are long-lived modules
    and models. Collections then take ~1 ms. Call after imports and model loads.
    """
    gc.collect()
    gc.freeze()


# --------------------------------------------------------------------------------------------- models
def preferred_model() -> Path:
    """The bundle to preselect: ``$WORKBENCH_LIVE_MODEL``, else the shipped many-to-one any-to-slt."""
    return Path(os.environ[MODEL_ENV]) if os.environ.get(MODEL_ENV) else DEFAULT_MODEL


def model_choices() -> dict[str, Path]:
    """Bundles that exist, label -> folder, the preferred one first."""
    found = [preferred_model()] + sorted(p.parent for p in PRETRAINED_DIR.glob("*/bundle.json"))
    return {p.name: p for p in dict.fromkeys(found) if (p / "bundle.json").is_file() and not is_encoder_bundle(p)}


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def load_converter(path: str) -> VoiceConverter:
    """A loaded bundle, shared read-only by every session (each session streams with its own state)."""
    converter = VoiceConverter.load(path)
    converter.mapper  # noqa: B018 - build the numpy mapper now, not in the first audio frame
    freeze_gc()  # TensorFlow and Keras are loaded now
    return converter


@dataclass(frozen=True)
class EngineSpec:
    """What the person picked; a new spec means a new ``StreamingConverter`` (α and bypass are live)."""

    engine: str  # "model" | "passthrough" | "pitch" | "anonymize"
    model: str = ""
    semitones: float = 0.0

    def build(self, mcadams: float) -> StreamingConverter:
        if self.engine == "model":
            return StreamingConverter(load_converter(self.model), cfg=STREAM_CFG)
        if self.engine == "pitch":
            return StreamingConverter.pitch_shift(semitones=self.semitones, cfg=STREAM_CFG)
        if self.engine == "anonymize":
            return StreamingConverter.anonymize(mcadams=mcadams, cfg=STREAM_CFG)
        return StreamingConverter.passthrough(cfg=STREAM_CFG)


# ------------------------------------------------------------------------------------------- pipeline
class LiveSession:
    """One browser session's pipeline: WebRTC frames -> ``StreamingConverter.process`` -> frames.

    The page keeps one per session in ``st.session_state`` and hands ``callback``/``on_ended`` (bound to
    this object) to ``webrtc_streamer``, so the audio thread only ever touches its own session's
    converter. Counters are read by the page's meters under a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spec: EngineSpec | None = None
        self.stream: StreamingConverter | None = None
        self.log_path = os.environ.get(LOG_ENV) or None
        self.record = False
        self.restart_phase: str | None = None  # None | "stop" | "settle" | "start"
        self.phase_t = 0.0
        self.n_restarts = self.restarts_in_row = 0
        self.gave_up = False
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.n_frames = self.n_late = self.n_dropped = 0
        self.last_frame_t = 0.0
        self.playing_since = 0.0
        self._next_pts: int | None = None
        self._t0 = time.monotonic()
        self._rec_in: deque[np.ndarray] = deque(maxlen=int(MAX_RECORD_S * 50))
        self._rec_out: deque[np.ndarray] = deque(maxlen=int(MAX_RECORD_S * 50))

    def use(self, spec: EngineSpec, *, mcadams: float, bypass: bool) -> StreamingConverter:
        """Switch to ``spec`` (a new converter only when it changed); α and bypass apply live."""
        if spec != self.spec or self.stream is None:
            stream = spec.build(mcadams)
            self.spec, self.stream = spec, stream  # one assignment: the audio thread sees old or new
        if spec.engine == "anonymize" and self.stream.mcadams != mcadams:
            self.stream.mcadams = mcadams
        self.stream.bypass = bypass
        return self.stream

    # -- audio thread ------------------------------------------------------------------------------
    async def callback(self, frames: list[av.AudioFrame]) -> list[av.AudioFrame]:
        """``queued_audio_frames_callback``: every frame that arrived since the last call, in order."""
        return self.process(frames)

    def process(self, frames: list[av.AudioFrame]) -> list[av.AudioFrame]:
        stream = self.stream
        out, lines = [], []
        for frame in frames:
            x, sr = frame_to_mono(frame, sr=STREAM_CFG.stream_sr)
            y = stream.process(x) if stream is not None else x
            out.append(mono_to_frame(y, sr, frame))
            if self.log_path:
                lines.append(f"{time.monotonic() - self._t0:.4f} {_rms(x):.6f} {_rms(y):.6f}\n")
            if self.record:
                self._rec_in.append(x)
                self._rec_out.append(y)
        with self._lock:
            now = time.monotonic()
            self.n_frames += len(frames)
            self.n_late += len(frames) - 1  # frames that queued up behind a slow chunk
            for frame in frames:
                if self._next_pts is not None and frame.pts is not None and frame.pts > self._next_pts:
                    self.n_dropped += round((frame.pts - self._next_pts) / frame.samples)  # lost in transit
                self._next_pts = None if frame.pts is None else frame.pts + frame.samples
            self.last_frame_t = now
            if self.restart_phase is None:
                self.restarts_in_row, self.gave_up = 0, False  # audio flows: a later stall may restart
        if lines:
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.writelines(lines)
        return out

    def on_ended(self) -> None:
        """``on_audio_ended``: the browser stopped sending. Save a recording; the next stream starts fresh."""
        self.save_recording()
        if self.stream is not None:
            self.stream.reset()
        with self._lock:
            self._next_pts = None
            self.playing_since = 0.0

    # -- script thread -----------------------------------------------------------------------------
    def save_recording(self) -> Path | None:
        """Write what was recorded as ``<time>-input.wav`` / ``-output.wav``; None when nothing was."""
        with self._lock:
            x, y = list(self._rec_in), list(self._rec_out)
            self._rec_in.clear()
            self._rec_out.clear()
        if not x:
            return None
        stem = RECORDINGS_DIR / datetime.now().strftime("%Y%m%d-%H%M%S")
        save_audio(f"{stem}-input.wav", np.concatenate(x), STREAM_CFG.stream_sr)
        save_audio(f"{stem}-output.wav", np.concatenate(y), STREAM_CFG.stream_sr)
        return stem

    # -- stalled streams --------------------------------------------------------------------------
    def is_stalled(self, playing: bool) -> bool:
        """True when the browser says "playing" but no frame arrived for ``STALL_S`` seconds.

        streamlit-webrtc 0.79 can stop its server-side worker right after connecting (its stale-context
        check compares script-run counts that the event loop updates asynchronously) while the browser
        still shows the stream as connected; a microphone track that stops sending looks the same.
        """
        now = time.monotonic()
        with self._lock:
            if not playing:
                self.playing_since = 0.0
                return False
            if not self.playing_since:
                self.playing_since = now
            return now - max(self.playing_since, self.last_frame_t) > STALL_S

    def watch_stall(self, playing: bool) -> bool:
        """Start (or retry) an automatic Stop -> Start when the stream stalled; True when a rerun is due.

        ``gave_up`` is set after ``MAX_RESTARTS`` restarts in a row brought no audio: the Start/Stop
        buttons come back and the page asks the person to press Stop, then Start.
        """
        now = time.monotonic()
        if self.restart_phase is None:
            if not self.is_stalled(playing):
                return False
        elif now - self.phase_t < RESTART_TIMEOUT_S:
            return False
        with self._lock:  # a new stall, or a restart that got stuck (e.g. the browser started twice)
            self.playing_since = 0.0
            if self.restarts_in_row >= MAX_RESTARTS:
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
        phase, now = self.restart_phase, time.monotonic()
        if phase == "stop" and not playing and not signalling:
            phase = "settle"  # the browser stopped: let it finish and redraw before asking it to start
        elif phase == "settle" and now - self.phase_t >= SETTLE_S:
            phase = "start"
        elif phase == "start" and playing:
            phase = None  # hand Start/Stop back to the person
        else:
            return False
        self.restart_phase, self.phase_t = phase, time.monotonic()
        return True

    def counters(self) -> dict[str, float]:
        with self._lock:
            age = time.monotonic() - self.last_frame_t if self.last_frame_t else float("inf")
            return {"frames": self.n_frames, "late": self.n_late, "dropped": self.n_dropped, "age_s": age}


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0


# ---------------------------------------------------------------------------------------------- meters
def latency_figure(stages_ms: dict[str, float], chunk_ms: float) -> go.Figure:
    """Mean compute time per chunk of each stage, as one stacked horizontal bar against the chunk length."""
    fig = go.Figure()
    for stage, ms in stages_ms.items():
        fig.add_bar(y=["compute"], x=[ms], name=stage.replace("_", " "), orientation="h",
                    hovertemplate=f"{stage}: %{{x:.2f}} ms<extra></extra>")
    fig.add_vline(x=chunk_ms, line_dash="dot", annotation_text=f"{chunk_ms:g} ms chunk", annotation_position="top left")
    fig.update_layout(barmode="stack", height=190, margin=dict(l=10, r=10, t=40, b=10), title="Compute time per "
                      "chunk by stage (ms)", legend=dict(orientation="h", y=-0.3, traceorder="normal"),
                      xaxis=dict(range=[0, max(chunk_ms * 1.15, sum(stages_ms.values()) * 1.1)]),
                      yaxis=dict(showticklabels=False))
    return fig

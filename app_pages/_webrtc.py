"""Page-side settings of the Live page: offline ICE, capture constraints, models, the session factory.

The per-connection logic is ``workbench.live.LiveSession`` (no Streamlit); the process-wide WebRTC
workarounds are in ``_bootstrap.py``. Nothing here imports ``streamlit_webrtc`` (the page does, inside its
script: importing it before the Streamlit runtime exists breaks the component).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import streamlit as st

from app_pages._bootstrap import freeze_gc
from app_pages._state import ROOT
from workbench import capacity
from workbench.capacity import SessionLimit
from workbench.config import LiveConfig
from workbench.inference import VoiceConverter
from workbench.live import LiveRegistry, LiveSession
from workbench.speaker import is_encoder_bundle

# No STUN/TURN servers: the browser and this server meet on their own host candidates, so nothing
# leaves the machine (streamlit-webrtc would otherwise fill in Google STUN or a hosted TURN service).
RTC_CONFIGURATION = {"iceServers": []}
# The raw microphone: Chromium's echo cancellation, noise suppression and gain control change the voice.
MEDIA_CONSTRAINTS = {"video": False,
                     "audio": {"echoCancellation": False, "noiseSuppression": False, "autoGainControl": False}}
MODEL_ENV = "WORKBENCH_LIVE_MODEL"  # path of a bundle to offer (and preselect) instead of the shipped one
PRETRAINED_DIR = ROOT / "workbench" / "pretrained"
DEFAULT_MODEL = PRETRAINED_DIR / "any-to-slt"
TRACE_FRAMES = 3_000  # per-frame rows held between two meter refreshes when tracing (60 s at 50 frames/s)


def trace_path() -> Path | None:
    """``--live-trace PATH`` after ``--`` on the command line (``streamlit run app.py -- --live-trace f``).

    With it, every session appends one line per converted frame (time, input RMS, output RMS) to ``PATH``,
    written by the page's meter refresh (never from the audio thread); the real-browser test reads it.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--live-trace", type=Path)
    args, _ = parser.parse_known_args(sys.argv[1:])
    return args.live_trace


def preferred_model() -> Path:
    """The bundle to preselect: ``$WORKBENCH_LIVE_MODEL``, else the shipped many-to-one any-to-slt."""
    return Path(os.environ[MODEL_ENV]) if os.environ.get(MODEL_ENV) else DEFAULT_MODEL


def model_choices(pretrained_dir: Path | None = None) -> dict[str, Path]:
    """Bundles that exist, label -> folder: the preferred one, the person's own (newest first), the shipped ones.

    The person's own are the conversion bundles of the data store (``$WORKBENCH_DATA/models/``), labelled
    ``"<name> (yours)"``; speaker encoders are never offered.
    """
    from workbench.store import Store

    shipped = [preferred_model()] + sorted(p.parent for p in (pretrained_dir or PRETRAINED_DIR).glob("*/bundle.json"))
    found = {p.name: p for p in dict.fromkeys(shipped) if (p / "bundle.json").is_file() and not is_encoder_bundle(p)}
    own = {f"{m.slug} (yours)": m.path for m in Store().list_models(include_shipped=False)}
    first = dict(list(found.items())[:1]) if preferred_model() in found.values() else {}
    return {**first, **own, **found}


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def load_converter(path: str) -> VoiceConverter:
    """A loaded bundle, shared read-only by every session (each session streams with its own state)."""
    converter = VoiceConverter.load(path)
    converter.mapper  # noqa: B018 - build the frame mapper now, not in the first audio frame
    freeze_gc()  # the model's objects are loaded now (see _bootstrap.py, 3.)
    return converter


def session_limit() -> SessionLimit:
    """How many live streams this machine converts at once (``workbench.capacity``: the override
    ``$WORKBENCH_LIVE_MAX_SESSIONS``, else half what ``benchmarks/realtime.py --save`` measured here)."""
    from workbench.store import Store

    return capacity.session_limit(Store().root, default=LiveConfig().max_sessions)


def live_config() -> LiveConfig:
    """This app's Live settings: ``session_limit()`` streams at most, tracing on request."""
    return LiveConfig(trace_frames=TRACE_FRAMES if trace_path() else 0, max_sessions=session_limit().max_sessions)


@st.cache_resource
def registry() -> LiveRegistry:
    """The stream slots shared by every browser session of this server process."""
    cfg = live_config()
    return LiveRegistry(cfg.max_sessions, idle_release_s=cfg.idle_release_s)
@st.cache_resource(show_spinner="Preparing the live view…")
def warm_view() -> bool:
    """Run ``analyse_recent`` once per process on 0.1 s of noise, when the page opens.

    Its first call imports librosa and compiles its kernels (4-8 s on a busy machine): inside the first
    refresh after Start that stalled the meters (and the trace) for that long.
    """
    import numpy as np

    from workbench.live import RecentAudio, analyse_recent

    y = np.random.default_rng(0).normal(0, 0.01, 4800).astype(np.float32)
    analyse_recent(RecentAudio(y, y, 48_000, 0.1))
    return True


def new_session() -> LiveSession:
    """A session with this app's settings: the shared model loader and stream slots, the recordings folder."""
    from workbench.store import Store

    return LiveSession(live_config(), load_converter=load_converter, recordings_dir=Store().root / "recordings",
                       registry=registry())

"""Session-state keys and cached loaders shared by the pages.

Keys live here so that two pages never use the same widget key by accident. Loaders are cached
with ``st.cache_data`` on their arguments (file bytes, configs), so a slider change recomputes only
what depends on it; AudioWarnings are returned as strings because cached calls do not re-warn.
"""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

import numpy as np
import streamlit as st

from workbench import audio, features
from workbench.config import FeatureConfig

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR_ENV = "WORKBENCH_SAMPLE_DIR"  # points the app at another corpus (tests use an empty one)

# --- session-state / widget keys: Explore page
EXPLORE_VOICE = "explore_voice"
EXPLORE_UTT = "explore_utt"
EXPLORE_UPLOAD = "explore_upload"
EXPLORE_N_FFT = "explore_n_fft"
EXPLORE_WIN_MS = "explore_win_ms"
EXPLORE_HOP_MS = "explore_hop_ms"
EXPLORE_N_MELS = "explore_n_mels"
EXPLORE_F_RANGE = "explore_f_range"
EXPLORE_F0_METHOD = "explore_f0_method"
EXPLORE_TAB = "explore_tab"

# --- session-state / widget keys: Pipeline page and the "Say it in this voice" section (_say.py)
PIPELINE_SOURCE = "pipeline_source"
PIPELINE_VOICE = "pipeline_voice"
PIPELINE_UTT = "pipeline_utt"
PIPELINE_UPLOAD = "pipeline_upload"
PIPELINE_RECORD = "pipeline_record"
PIPELINE_DIRECT = "pipeline_direct"
PIPELINE_RESULT = "pipeline_result"
SAY_TEXT = "say_text"

# --- session-state / widget keys: Live page
LIVE_SESSION = "live_session"  # this session's LiveSession: its own StreamingConverter and counters
LIVE_WEBRTC = "live_webrtc"  # key of the webrtc_streamer component (its context lives under it)
LIVE_ENGINE = "live_engine"
LIVE_MODEL = "live_model"
LIVE_SEMITONES = "live_semitones"
LIVE_MCADAMS = "live_mcadams"
LIVE_BYPASS = "live_bypass"
LIVE_RECORD = "live_record"
LIVE_SCROLL = "live_scroll"  # the scrolling view's last (samples pushed, figure): redrawn, not recomputed, when idle


# --------------------------------------------------------------------------------------- sample corpus
def sample_dir() -> Path:
    """The sample corpus folder: ``$WORKBENCH_SAMPLE_DIR`` or ``sample_audio/`` in the project."""
    return Path(os.environ.get(SAMPLE_DIR_ENV) or ROOT / "sample_audio")


def sample_path(voice: str, utt_id: str, folder: Path | None = None) -> Path:
    """Audio file of one utterance: ``<folder>/<voice>/<utt_id>.flac``."""
    return (folder or sample_dir()) / voice / f"{utt_id}.flac"


@st.cache_data(show_spinner=False)
def _read_manifest(path: str, mtime_ns: int) -> list[dict[str, str]]:
    folder = Path(path).parent
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if r.get("voice") and r.get("utt_id") and sample_path(r["voice"], r["utt_id"], folder).is_file()]


def sample_rows(folder: Path | None = None) -> list[dict[str, str]]:
    """Rows of ``manifest.csv`` (voice, utt_id, split, gender, engine, text) whose audio exists.

    Returns ``[]`` when there is no manifest yet; re-read whenever the file changes.
    """
    manifest = (folder or sample_dir()) / "manifest.csv"
    if not manifest.is_file():
        return []
    return _read_manifest(str(manifest), manifest.stat().st_mtime_ns)


@st.cache_data(show_spinner=False, max_entries=64)
def read_bytes(path: str) -> bytes:
    """The bytes of a file (a sample clip), cached."""
    return Path(path).read_bytes()


# ---------------------------------------------------------------------------------------- audio, features
@st.cache_data(show_spinner=False, max_entries=32)
def load_clip(data: bytes, name: str, sr: int) -> tuple[np.ndarray, list[str]]:
    """Decode audio bytes to mono float32 at ``sr`` Hz.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
    warnings : list of str
        ``AudioWarning`` messages (clipping, low level) for the page to show.

    Raises
    ------
    AudioError
        Unreadable, empty, silent, non-finite, too short or too long audio.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", audio.AudioWarning)
        y, _ = audio.load_audio(data, sr=sr, name=name)
    return y, [str(w.message) for w in caught if issubclass(w.category, audio.AudioWarning)]


@st.cache_data(show_spinner=False, max_entries=16)
def phone_posteriors(data: bytes, name: str) -> np.ndarray:
    """``phonetic.phone_posteriorgram`` of a clip (the shipped encoder; its own 16 kHz analysis)."""
    from workbench.phonetic import phone_posteriorgram

    y, _ = load_clip(data, name, FeatureConfig().sr)
    return phone_posteriorgram(y, FeatureConfig().sr)


@st.cache_data(show_spinner=False, max_entries=32)
def analyse_clip(data: bytes, name: str, cfg: FeatureConfig) -> tuple[np.ndarray, features.FeatureSet]:
    """Decode ``data`` at ``cfg.sr`` and compute every feature with ``features.extract_all``.

    Returns the samples and the ``FeatureSet``; warnings are left to ``load_clip``.
    """
    y, _ = load_clip(data, name, cfg.sr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", audio.AudioWarning)  # already reported by load_clip
        return y, features.extract_all(y, cfg=cfg)


# --------------------------------------------------------------------------- the data store (Voices, Train, Clone)
# --- session-state / widget keys: Voices page
VOICES_NAME = "voices_name"  # the "Voice name" of the voice being recorded
VOICES_PROMPT = "voices_prompt"  # index of the prompt being recorded, per voice: {slug: index}
VOICES_UPLOAD = "voices_upload"
VOICES_PICK = "voices_pick"
VOICES_CLIP = "voices_clip"
VOICES_CONSENT_REC = "voices_consent_rec"
VOICES_FLASH = "voices_flash"  # one message to show after a rerun ("Saved s001")
# --- Train page
TRAIN_JOB = "train_job"  # this session's TrainingJob (each browser session has its own)
TRAIN_SOURCE = "train_source"
TRAIN_TARGET = "train_target"
TRAIN_EPOCHS = "train_epochs"
# --- Clone page
CLONE_MODEL = "clone_model"
CLONE_INPUT = "clone_input"
CLONE_RESULT = "clone_result"  # this session's latest conversion: {"output": path, "input": ..., ...}
# --- Preprocess page
PRE_SNR = "pre_snr"
# --- Explore comparison
EXPLORE_COMPARE = "explore_compare"
EXPLORE_VOICE_B = "explore_voice_b"
EXPLORE_UTT_B = "explore_utt_b"


def store():
    """The data store at ``$WORKBENCH_DATA``, with the app's sample corpus as its read-only voices."""
    from workbench.store import Store

    return Store(sample_dir=sample_dir())


@st.cache_data(show_spinner=False, max_entries=256)
def coach_clip(path: str, mtime_ns: int):
    """The quality coach's report of one stored clip (recomputed when the file changes)."""
    from workbench.coach import assess_clip

    y, sr = audio.load_audio(path, sr=16_000, validate=False)
    return assess_clip(y, sr)


def coach_file(path: Path):
    return coach_clip(str(path), path.stat().st_mtime_ns)


@st.cache_resource(show_spinner=False, max_entries=4)
def load_converter(path: str, created: str):
    """A ``VoiceConverter`` for a bundle, shared by sessions (read-only); ``created`` keys retrained bundles."""
    from workbench.inference import VoiceConverter

    return VoiceConverter.load(path)


@st.cache_data(show_spinner=False, max_entries=16)
def spectrum_f0(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """STFT in dB and the F0 track (Hz, voiced mask) of a clip at ``sr`` with the default analysis."""
    cfg = FeatureConfig(sr=sr) if sr != FeatureConfig().sr else FeatureConfig()
    hz, voiced = features.f0(y, cfg=cfg)
    return features.stft_db(y, cfg=cfg), hz, voiced


@st.cache_data(show_spinner=False, max_entries=16)
def coach_bytes(data: bytes):
    """The quality coach's report of a fresh take (WAV bytes from ``st.audio_input``)."""
    from workbench.coach import assess_clip

    y, sr = audio.load_audio(data, sr=16_000, validate=False, name="the recording")
    return assess_clip(y, sr)

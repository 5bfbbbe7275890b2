"""Session keys and cached loaders of the Evaluate and Speakers pages (kept apart from ``_state`` to ease merges)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from app_pages._state import ROOT, sample_dir, sample_path, sample_rows
from workbench.audio import load_audio

PRETRAINED_DIR = ROOT / "workbench" / "pretrained"
BASELINE_NAMES = ("identity", "f0")

# --- session-state / widget keys: Evaluate page
EVAL_RESULT = "eval_result"  # the last Evaluation (rows, per-utterance records with audio)
EVAL_MODELS = "eval_models"
EVAL_SOURCE = "eval_source"
EVAL_TARGET = "eval_target"
EVAL_N_UTT = "eval_n_utt"
EVAL_MEASURES = "eval_measures"
EVAL_DRILL = "eval_drill"
LISTEN_NAME = "listen_name"
LISTEN_MODE = "listen_mode"
LISTEN_PAIR = "listen_pair"
LISTEN_SEED = "listen_seed"

# --- session-state / widget keys: Speakers page
SPK_VOICES = "spk_voices"
SPK_N_CLIPS = "spk_n_clips"
SPK_MODEL = "spk_model"
SPK_UTT = "spk_utt"
SPK_PRIVACY = "spk_privacy"
SPK_WEBRTC = "spk_webrtc"  # the Speakers page's own microphone; it streams through the shared LIVE_SESSION
SPK_LIVE = "spk_live"  # the live voice's last (samples pushed, raw embedding, converted embedding)


def conversion_bundles() -> dict[str, Path]:
    """Shipped conversion bundles (speaker encoders left out), name -> folder."""
    from workbench.speaker import is_encoder_bundle

    return {p.parent.name: p.parent for p in sorted(PRETRAINED_DIR.glob("*/bundle.json"))
            if not is_encoder_bundle(p.parent)}


def voices() -> list[str]:
    return sorted({r["voice"] for r in sample_rows()})


def test_utterances(voice: str) -> list[str]:
    """The voice's held-out sentences (split ``test``), or all of them when the corpus has no split."""
    rows = [r for r in sample_rows() if r["voice"] == voice]
    test = [r["utt_id"] for r in rows if r.get("split") == "test"]
    return test or [r["utt_id"] for r in rows]


@st.cache_resource(show_spinner="Loading the speaker encoder…")
def encoder():
    from workbench.speaker import load_speaker_encoder

    return load_speaker_encoder()


@st.cache_data(show_spinner=False, max_entries=256)
def clip(voice: str, utt_id: str, sr: int = 16_000) -> np.ndarray:
    y, _ = load_audio(sample_path(voice, utt_id), sr=sr)
    return y


@st.cache_data(show_spinner="Embedding clips…", max_entries=64)
def embeddings(voice_list: tuple[str, ...], n_clips: int, corpus: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Speaker embeddings of the first ``n_clips`` test sentences of each voice: (E, voice labels, clip names)."""
    enc = encoder()
    embs, labels, names = [], [], []
    for v in voice_list:
        for u in test_utterances(v)[:n_clips]:
            embs.append(enc.embed(clip(v, u), 16_000))
            labels.append(v)
            names.append(f"{v}/{u}")
    return np.stack(embs) if embs else np.zeros((0, enc.emb_dim)), labels, names


@st.cache_data(show_spinner="Converting…", max_entries=32)
def converted_clip(bundle: str, voice: str, utt_id: str) -> tuple[np.ndarray, int]:
    """A sample sentence converted offline with a bundle (cached per bundle and sentence)."""
    from workbench.inference import VoiceConverter

    return VoiceConverter.load(bundle).convert(clip(voice, utt_id), 16_000)


def corpus_key() -> str:
    return str(sample_dir())


def live_points(live, emb_dim: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Embeddings ``(0 or 2, emb_dim)`` of a ``LiveSession``'s last 2 s (raw, converted), labels and hover texts.

    Recomputed only when new audio arrived (at least 1 s of it); during silence the last position stays.
    """
    from workbench.errors import WorkbenchError

    recent = live.recent(2.0)
    last = st.session_state.get(SPK_LIVE)
    if recent.duration_s >= 1.0 and (last is None or last[0] != recent.end_s):
        try:
            last = (recent.end_s, encoder().embed(recent.input, recent.sr), encoder().embed(recent.output, recent.sr))
        except WorkbenchError:  # silence (nothing to embed)
            pass
        st.session_state[SPK_LIVE] = last
    if last is None:
        return np.zeros((0, emb_dim)), [], []
    when = f"t = {last[0]:.1f} s"
    return np.stack(last[1:]), ["you (raw)", "you (converted)"], [f"your voice, {when}", f"converted, {when}"]

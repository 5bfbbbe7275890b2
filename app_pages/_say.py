"""The "Say it in this voice" section: typed text → TTS → conversion into a cloned voice.

``say_section(bundle)`` renders it for any text-to-voice bundle (``workbench train-voice``); the Clone page
calls it for the voice being cloned, the Pipeline page for the shipped ``say-slt``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages import _state
from workbench.errors import WorkbenchError

SAY_DEFAULT_TEXT = "Please bring the green umbrella to the station before noon."


@st.cache_resource(show_spinner="Loading the voice model…", max_entries=4)
def load_speaker(bundle: str, mtime_ns: int):
    """A ``VoiceSpeaker`` for a bundle folder, shared read-only across sessions (reloaded when it changes)."""
    from workbench.speech.voice import VoiceSpeaker

    return VoiceSpeaker.load(bundle)


def speaker_for(bundle: str | Path):
    """Load (cached) the text-to-voice bundle at ``bundle``; raises ``WorkbenchError`` when it is not one."""
    from workbench.speech.voice import read_voice_spec

    read_voice_spec(bundle)  # a clear BundleError before anything heavy
    meta = Path(bundle) / "bundle.json"
    return load_speaker(str(bundle), meta.stat().st_mtime_ns)


def say_section(bundle: str | Path, *, key: str = _state.SAY_TEXT) -> None:
    """Render "Say it in this voice": a text box, a button, the cloned speech and the TTS audio it came from.

    Parameters
    ----------
    bundle : path
        A text-to-voice bundle (has ``tts.json``).
    key : str
        Widget-key prefix, so two sections on one page do not collide.
    """
    st.subheader("Say it in this voice")
    text = st.text_area("Text to say", SAY_DEFAULT_TEXT, max_chars=1000, key=key,
                        help="Numbers, dates, times, money and abbreviations are spelled out first.")
    if not st.button("Say it", key=f"{key}_go", icon=":material/record_voice_over:"):
        result = st.session_state.get(f"{key}_result")
        if result is None:
            st.caption("Type a sentence and press **Say it**: a text-to-speech voice reads it, and the conversion "
                       "model turns that voice into the cloned one.")
            return
    else:
        try:
            with st.spinner("Speaking…"):
                speaker = speaker_for(bundle)
                result = speaker.say(text)
            st.session_state[f"{key}_result"] = result
        except WorkbenchError as err:
            st.session_state.pop(f"{key}_result", None)
            st.error(str(err))
            return
    st.markdown("**Said:** " + " ".join(result.sentences))
    cloned, plain = st.columns(2)
    with cloned:
        st.markdown("Cloned voice")
        st.audio(result.y, sample_rate=result.sr)
    with plain:
        st.markdown("Text-to-speech voice (before conversion)")
        st.audio(result.tts_y, sample_rate=result.sr)
    st.caption(" · ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.timings.items())
               + f" · {result.duration_s:.1f} s of speech")

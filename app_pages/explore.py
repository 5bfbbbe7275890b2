"""Explore: look at one clip through every feature the models use."""

from dataclasses import replace

import streamlit as st

from app_pages import _state
from workbench import plots
from workbench.config import F0_METHODS, FeatureConfig
from workbench.errors import WorkbenchError
from workbench.features import summarize_clip
from workbench.phonetic import default_encoder

BASE = FeatureConfig()

st.title("Explore a voice")
st.caption("Pick a sample sentence or upload a clip, then see its waveform, spectra, pitch and the WORLD "
           "vocoder's view of it. Change the analysis settings to see what each one does.")

# --- source: a sample utterance or one of the person's own clips, or an upload (which wins when present)
rows = _state.sample_rows()
store = _state.store()
own = {v.slug: v for v in store.list_voices(include_samples=False) if v.n_clips}


def pick_clip(keys: tuple[str, str], *, disabled: bool = False, suffix: str = "") -> tuple[bytes, str] | None:
    """Voice and sentence pickers over the sample corpus and the person's own voices; returns (bytes, name)."""
    voices = sorted({r["voice"] for r in rows}) + list(own)
    if not voices:
        return None
    c1, c2 = st.columns(2)
    voice = c1.selectbox(f"Voice{suffix}", voices, key=keys[0], disabled=disabled,
                         format_func=lambda v: own[v].label if v in own else v)
    if voice in own:
        clips = {c.stem: c for c in store.clips(voice)}
        texts, paths = {k: c.text for k, c in clips.items()}, {k: c.path for k, c in clips.items()}
    else:
        texts = {r["utt_id"]: r["text"] for r in rows if r["voice"] == voice}
        paths = {u: _state.sample_path(voice, u) for u in texts}
    utt_id = c2.selectbox(f"Sentence{suffix}", list(texts), format_func=lambda u: f"{u} · {texts[u]}", key=keys[1],
                          disabled=disabled)
    return _state.read_bytes(str(paths[utt_id])), f"{voice}/{paths[utt_id].name}"


pick, upload = st.columns(2)
with upload:
    uploaded = st.file_uploader("…or upload a clip", type=["wav", "flac", "ogg", "mp3"], key=_state.EXPLORE_UPLOAD)
with pick:
    chosen = pick_clip((_state.EXPLORE_VOICE, _state.EXPLORE_UTT), disabled=uploaded is not None)
    if chosen is None:
        st.info(f"No sample corpus found in `{_state.sample_dir().name}/` yet (see its README to generate it). "
                "Upload a WAV, FLAC, OGG or MP3 clip to explore it.")

if uploaded is not None:
    data, name = uploaded.getvalue(), uploaded.name
elif chosen is not None:
    data, name = chosen
else:
    st.stop()

try:
    y, clip_warnings = _state.load_clip(data, name, BASE.sr)
except WorkbenchError as err:
    st.error(str(err))
    st.stop()
for message in clip_warnings:
    st.warning(message)
st.audio(y, sample_rate=BASE.sr)

# --- analysis settings -> FeatureConfig (ConfigError for impossible combinations)
with st.expander("Analysis settings", expanded=True):
    c1, c2, c3, c4 = st.columns(4)
    n_fft = c1.select_slider("FFT size (n_fft)", [256, 512, 1024, 2048], value=BASE.n_fft, key=_state.EXPLORE_N_FFT)
    win_ms = c1.select_slider("Window (ms)", [10.0, 16.0, 20.0, 25.0, 32.0, 40.0, 50.0, 64.0], value=BASE.win_ms,
                              key=_state.EXPLORE_WIN_MS)
    hop_ms = c2.select_slider("Hop (ms)", [2.5, 5.0, 10.0, 12.5, 20.0], value=BASE.hop_ms, key=_state.EXPLORE_HOP_MS)
    n_mels = c2.slider("Mel bands", 24, 128, BASE.n_mels, step=8, key=_state.EXPLORE_N_MELS)
    nyquist = BASE.sr // 2
    fmin, fmax = c3.slider("Mel range (Hz)", 0, nyquist, (int(BASE.fmin), nyquist), step=50, key=_state.EXPLORE_F_RANGE)
    f0_method = c4.radio("F0 method", F0_METHODS, index=F0_METHODS.index(BASE.f0_method), horizontal=True,
                         key=_state.EXPLORE_F0_METHOD)
    if f0_method == "pyin":
        c4.warning("pYIN is slow: several seconds per second of audio.")

try:
    cfg = replace(BASE, n_fft=n_fft, win_ms=win_ms, hop_ms=hop_ms, n_mels=n_mels, fmin=float(fmin),
                  fmax=None if fmax == nyquist else float(fmax), f0_method=f0_method)
    with st.spinner("Computing features…"):
        y, feats = _state.analyse_clip(data, name, cfg)
except WorkbenchError as err:
    st.error(str(err))
    st.stop()

stats = summarize_clip(y, feats, cfg=cfg)
st.table([{k: f"{v:.0f}" if k == "frames" else f"{v:.1f}" for k, v in stats.items()}], hide_index=True)
st.caption(f"{name}: {cfg.n_fft}-point FFT, {cfg.win_length}-sample window, hop {cfg.hop_length} samples "
           f"({cfg.hop_ms:g} ms) at {cfg.sr} Hz, F0 by {cfg.f0_method}.")


# Only the open tab is drawn: nine large heatmaps at once make the browser slow.
figures = {
    "Waveform & spectrogram": lambda: [
        plots.waveform_figure(y, cfg.sr),
        plots.spectrogram_figure(feats.stft_db, cfg, feats.f0_hz, feats.voiced, max_hz=4000,
                                 title="Spectrogram with F0, 0–4 kHz (double-click to see all)")],
    "Mel & MFCC": lambda: [plots.mel_figure(feats.mel_db, cfg), plots.mfcc_figure(feats.mfcc, cfg)],
    "Pitch & energy": lambda: [plots.f0_figure(feats.f0_hz, feats.voiced, cfg),
                               plots.energy_figure(feats.rms_db, cfg, feats.centroid_hz)],
    "WORLD vocoder": lambda: [plots.envelope_figure(feats.sp_db, cfg, kind="sp"),
                              plots.envelope_figure(feats.ap, cfg, kind="ap"), plots.mcep_figure(feats.mcep, cfg)],
    "Phones": lambda: [plots.posteriorgram_figure(
        _state.phone_posteriors(data, name), default_encoder().phones, FeatureConfig(),
        title="Phone posteriorgram: what the phonetic encoder hears (LSTM/GAN models get these as input)")],
}
tabs = st.tabs(list(figures), key=_state.EXPLORE_TAB, on_change="rerun")
for tab, make in zip(tabs, figures.values(), strict=True):
    if tab.open:
        with tab:
            for fig in make():
                st.plotly_chart(fig, theme=None, config={"displaylogo": False})

# --- side by side: the same analysis of a second clip (another voice reading the same sentence, say)
st.divider()
if st.toggle("Compare with a second clip", key=_state.EXPLORE_COMPARE):
    other = pick_clip((_state.EXPLORE_VOICE_B, _state.EXPLORE_UTT_B), suffix=" (second clip)")
    if other is not None:
        try:
            pairs = [(name, y, feats), (other[1], *_state.analyse_clip(other[0], other[1], cfg))]
        except WorkbenchError as err:
            st.error(str(err))
            st.stop()
        st.table([{"clip": n, **{k: f"{v:.1f}" for k, v in summarize_clip(yy, ff, cfg=cfg).items()}} for n, yy, ff in pairs],
                 hide_index=True)
        for i, (col, (n, yy, ff)) in enumerate(zip(st.columns(2), pairs)):
            with col:
                st.audio(yy, sample_rate=cfg.sr)
                st.plotly_chart(plots.spectrogram_figure(ff.stft_db, cfg, ff.f0_hz, ff.voiced, max_hz=4000,
                                                         title=f"{n}: spectrogram and F0"), theme=None, key=f"cmp_{i}")

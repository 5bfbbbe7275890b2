"""Preprocess: clean a recording step by step and measure what each step does."""

from dataclasses import replace

import streamlit as st

from app_pages import _state
from workbench import plots
from workbench import preprocess as pp
from workbench.config import FeatureConfig
from workbench.errors import WorkbenchError

SR = FeatureConfig().sr
store = _state.store()
st.title("Preprocess")
st.caption("Denoise, trim, normalise: the clean-up a recording gets before analysis. Start from a clean sample "
           "sentence, add noise at a chosen signal-to-noise ratio, and see (and hear) how much the clean-up "
           "recovers, measured with PESQ (wide-band) and STOI. Training can apply the same steps (Train page).")


@st.cache_data(show_spinner=False, max_entries=16)
def run(data: bytes, name: str, snr_db: float | None, cfg: pp.PreprocessConfig):
    """Clean, noisy and processed signals, plus quality scores (length-preserving steps only)."""
    clean, _ = _state.load_clip(data, name, SR)
    noisy = clean if snr_db is None else pp.add_noise(clean, snr_db=snr_db, seed=0)
    out = pp.preprocess(noisy, SR, cfg=cfg)
    scores = {}
    if snr_db is not None:  # score only steps that keep the timing, so the signals stay aligned
        aligned = pp.preprocess(noisy, SR, cfg=replace(cfg, trim=False, vad=False, pre_emphasis=0.0))
        scores = {"noisy": pp.quality_scores(clean, noisy, SR), "processed": pp.quality_scores(clean, aligned, SR)}
    return clean, noisy, out, scores


voices = [v for v in store.list_voices() if v.n_clips]
c1, c2 = st.columns(2)
voice = c1.selectbox("Voice", voices, format_func=lambda v: v.label)
clips = store.clips(voice.slug)
clip = c2.selectbox("Clip", clips, format_func=lambda c: f"{c.stem} · {c.text[:60]}")
add = st.toggle("Add noise to a clean clip (to measure the denoiser)", value=True)
snr = st.slider("Signal-to-noise ratio (dB)", -5, 40, 15, key=_state.PRE_SNR, disabled=not add,
                help="How far the speech is above the added white noise: 40 is nearly clean, 0 is as loud as the speech.")

with st.expander("Steps", expanded=True):
    s1, s2, s3, s4 = st.columns(4)
    denoise = s1.checkbox("Denoise (spectral gating)", value=True)
    strength = s1.slider("Noise removed", 0.1, 1.0, pp.PreprocessConfig().denoise_strength, 0.05, disabled=not denoise)
    trim = s2.checkbox("Trim silence at the ends", value=True)
    vad = s2.checkbox("Voice activity detection (shorten pauses)", value=False)
    top_db = s2.slider("Silence: dB below the peak", 10, 80, 35)
    normalize = s3.checkbox("Loudness normalisation", value=True)
    lufs = s3.slider("Target loudness (LUFS)", -40.0, -10.0, -23.0, 1.0, disabled=not normalize)
    emph = s4.checkbox("Pre-emphasis", value=False, help="Lifts high frequencies ~6 dB/octave (y[n] − 0.97·y[n−1]).")

try:
    cfg = pp.PreprocessConfig(denoise=denoise, denoise_strength=strength, trim=trim, vad=vad, silence_top_db=float(top_db),
                              normalize=normalize, target_lufs=lufs, pre_emphasis=0.97 if emph else 0.0)
    with st.spinner("Processing…"):
        clean, noisy, out, scores = run(clip.path.read_bytes(), clip.path.name, float(snr) if add else None, cfg)
except WorkbenchError as err:
    st.error(str(err))
    st.stop()

before, after = st.columns(2)
for col, label, y in ((before, "Before" + (f" (noise at {snr} dB SNR)" if add else ""), noisy), (after, "After", out)):
    with col:
        st.markdown(f"**{label}** — {len(y) / SR:.2f} s, {pp.loudness_lufs(y, SR):.1f} LUFS")
        st.audio(y, sample_rate=SR)
        spec, hz, voiced = _state.spectrum_f0(y, SR)
        st.plotly_chart(plots.waveform_figure(y, SR, title=f"{label}: waveform", height=200), theme=None, key=f"w_{label[:5]}")
        st.plotly_chart(plots.spectrogram_figure(spec, FeatureConfig(), hz, voiced, max_hz=8000, title=f"{label}: spectrogram"),
                        theme=None, key=f"s_{label[:5]}")

if scores:
    st.subheader("Quality against the clean original")
    st.table([{"signal": k, "PESQ (1–4.64)": f"{v['pesq_wb']:.2f}", "STOI (0–1)": f"{v['stoi']:.3f}"} for k, v in scores.items()],
             hide_index=True)
    st.caption("PESQ predicts how a listener rates quality; STOI how intelligible speech is. 'processed' is scored with "
               "denoising and loudness only (trimming changes the timing, so it cannot be compared sample by sample).")

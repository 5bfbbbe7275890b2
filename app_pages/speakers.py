"""Speakers: what a "voice" is to a network — embeddings on a map, their similarities, and privacy."""

import numpy as np
import pandas as pd
import streamlit as st

from app_pages import _eval_state as S
from app_pages import _state, _webrtc
from app_pages._state import sample_dir
from workbench.errors import WorkbenchError
from workbench.plots_eval import embedding_map_figure, project_2d, similarity_heatmap_figure
from workbench.speaker import cosine_similarity, similarity_matrix, verification_eer

st.title("Speakers")
st.caption("The speaker encoder (an LSTM trained with the GE2E loss) turns a clip into a 64-number embedding "
           "whose direction is the voice. Clips of one voice cluster; the map is a 2-D PCA projection.")

voices = S.voices()
if not voices:
    st.info(f"No sample corpus in `{sample_dir().name}/`: generate it first (see sample_audio/README.md).")
    st.stop()
c1, c2 = st.columns([3, 1])
chosen = c1.multiselect("Voices", voices, default=voices, key=S.SPK_VOICES)
n_clips = c2.slider("Clips per voice", 2, 10, 4, key=S.SPK_N_CLIPS)
if len(chosen) < 2:
    st.info("Pick at least two voices.")
    st.stop()
try:
    embs, labels, names = S.embeddings(tuple(chosen), n_clips, S.corpus_key())
except WorkbenchError as err:
    st.error(str(err))
    st.stop()

# --- where a converted clip lands between its source and its target
bundles = S.conversion_bundles()
extra = None
with st.expander("Place a converted clip on the map", expanded=bool(bundles)):
    if bundles:
        m1, m2 = st.columns(2)
        model = m1.selectbox("Model", list(bundles), key=S.SPK_MODEL)
        from workbench.bundle import read_meta

        meta = read_meta(bundles[model])
        src = (meta.source_voices or voices)[0]
        utt = m2.selectbox(f"Sentence of {src}", S.test_utterances(src), key=S.SPK_UTT)
        try:
            y, sr = S.converted_clip(str(bundles[model]), src, utt)
            e = S.encoder().embed(y, sr)
            extra = (e, f"converted ({model})", f"{model}: {src}/{utt}")
            cents = {v: np.mean([embs[i] for i, lab in enumerate(labels) if lab == v], axis=0) for v in set(labels)}
            sims = {v: cosine_similarity(e, c) for v, c in cents.items()}
            st.audio(y, sample_rate=sr)
            st.write(f"Similarity to the source **{src}**: {sims.get(src, float('nan')):.3f} · to the target "
                     f"**{meta.target_voice}**: {sims.get(meta.target_voice, float('nan')):.3f} · nearest voice: "
                     f"**{max(sims, key=sims.get)}**")
        except WorkbenchError as err:
            st.error(str(err))
    else:
        st.caption("No conversion bundles are shipped.")

# --- your voice, live: the Live page's session (shared per browser session), embedded about once a second
live = st.session_state.get(_state.LIVE_SESSION)
with st.expander("Your voice on the map, live", expanded=live is not None):
    st.caption("Press **Start** and speak: the last 2 s of your voice (raw) and of the converted voice are "
               "embedded about once a second and placed on the map with its projection. The conversion is the "
               "one chosen on the Live page (passthrough until you pick one there). Wear headphones.")
    from streamlit_webrtc import WebRtcMode, webrtc_streamer  # in the script, as on the Live page

    from workbench.live import EngineSpec

    live = st.session_state.setdefault(_state.LIVE_SESSION, _webrtc.new_session())
    try:
        if live.stream is None:
            live.use(EngineSpec("passthrough"), mcadams=0.8, bypass=False)
    except WorkbenchError as err:
        st.error(str(err))
    ctx = webrtc_streamer(key=S.SPK_WEBRTC, mode=WebRtcMode.SENDRECV, rtc_configuration=_webrtc.RTC_CONFIGURATION,
                          media_stream_constraints=_webrtc.MEDIA_CONSTRAINTS, queued_audio_frames_callback=live.callback,
                          on_audio_ended=live.on_ended, async_processing=True,
                          desired_playing_state=live.desired_playing_state)  # None except while restarting
    # the Live page's stall recovery: connected but no audio for LiveConfig.stall_s -> restart the stream
    if live.advance_restart(playing=ctx.state.playing, signalling=ctx.state.signalling):
        st.rerun()
    if live.gave_up:
        st.warning("Connected, but no audio reaches the server, even after automatic restarts. Press Stop, then "
                   "Start.", icon=":material/mic_off:")


@st.fragment(run_every=1.0)
def embedding_map() -> None:
    if live is not None:  # a stalled stream (see the Live page) is restarted from here too
        ctx = st.session_state.get(S.SPK_WEBRTC)
        playing, signalling = (ctx.state.playing, ctx.state.signalling) if ctx is not None else (False, False)
        if live.watch_stall(playing) or live.advance_restart(playing=playing, signalling=signalling):
            st.rerun(scope="app")
    pts_e, pts_l, pts_n = embs, list(labels), list(names)
    marks = {"you (raw)": "diamond", "you (converted)": "diamond-open"}
    if extra is not None:
        pts_e, pts_l, pts_n = np.vstack([embs, extra[0]]), pts_l + [extra[1]], pts_n + [extra[2]]
        marks[extra[1]] = "star"
    live_e, live_l, live_n = S.live_points(live, embs.shape[1])
    pts_e, pts_l, pts_n = np.vstack([pts_e, live_e]), pts_l + live_l, pts_n + live_n
    st.plotly_chart(embedding_map_figure(project_2d(pts_e, fit_on=embs), pts_l, hover=pts_n, highlight=marks),
                    key="spk_map")


left, right = st.columns(2)
with left:
    embedding_map()
right.plotly_chart(similarity_heatmap_figure(similarity_matrix(embs), names, title="Clip-by-clip cosine similarity"),
                   key="spk_heat")
st.metric("Verification EER on these clips (all pairs)", f"{verification_eer(embs, labels):.1%}")
enc = S.encoder()
eer = enc.meta.get("eer", {})
if eer:
    st.caption("Shipped encoder, measured by scripts/train_speaker_encoder.py: " + " · ".join(
        f"{k.replace('_', ' ')}: EER {v['eer']:.1%} ({v['speakers']} voices)" for k, v in eer.items()))

# --- privacy of the McAdams anonymizer
st.subheader("Privacy of the anonymizer")
st.caption("VoicePrivacy-style: an attacker with this speaker encoder tries to recognise anonymised speakers. "
           "Ignorant: enrols with clean clips; lazy-informed: enrols with anonymised clips. Higher EER = more "
           "private (50 % is chance); WER shows what the anonymizer costs in intelligibility.")
if st.button("Measure privacy (two clips per chosen voice)", key=S.SPK_PRIVACY):
    from workbench.privacy import PrivacyConfig, privacy_table

    files = {v: [sample_dir() / v / f"{u}.flac" for u in S.test_utterances(v)[:4]] for v in chosen}
    bar = st.progress(0.0)
    try:
        rows = privacy_table(files, cfg=PrivacyConfig(alphas=(1.0, 0.8), max_clips_per_speaker=4),
                             on_progress=lambda label, i, n: bar.progress(min(i / max(n, 1), 1.0), label))
        st.dataframe(pd.DataFrame(rows).set_index("alpha"))
    except WorkbenchError as err:
        st.error(str(err))

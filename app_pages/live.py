"""Live: your microphone, converted while you speak, over WebRTC between this browser and this machine."""

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer  # here, not in app.py: see _webrtc's docstring

from app_pages import _bootstrap, _state, _webrtc
from workbench.errors import WorkbenchError
from workbench.live import EngineSpec, analyse_recent, write_trace
from workbench.plots import latency_figure
from workbench.plots_live import live_scroll_figure

_bootstrap.freeze_gc()  # the WebRTC stack is imported now: keep it out of Streamlit's per-run collections (3.)
ENGINES = {"model": "Voice model", "passthrough": "Passthrough", "pitch": "Pitch shift", "anonymize": "Anonymize"}

st.title("Live conversion")
st.caption("Press **Start**, allow the microphone and speak: you hear yourself in the chosen voice about "
           "0.2 s later. Wear headphones: echo cancellation is off so that the converter hears your real voice.")
with st.sidebar.expander("Live page on another computer", icon=":material/wifi:"):
    st.markdown(
        "Browsers open the microphone only on **https://** pages or on **localhost**. To teach from a "
        "server, put it behind HTTPS (a reverse proxy with a certificate) and open it by its name.\n\n"
        "Audio goes browser ↔ server directly, with **no STUN/TURN servers** (`iceServers: []`): that "
        "works on one machine and on a LAN. Across NATs or firewalls, run your own TURN server (e.g. "
        "coturn) and add it to `RTC_CONFIGURATION` in `app_pages/_webrtc.py`."
    )

models = _webrtc.model_choices()
controls, player = st.columns([2, 3], gap="large")
with controls:
    engine = st.radio("Voice", list(ENGINES), format_func=ENGINES.get, key=_state.LIVE_ENGINE, horizontal=True)
    spec, mcadams = EngineSpec(engine), 0.8
    if engine == "model":
        if _webrtc.preferred_model().name not in models:
            st.warning(f"The many-to-one model `{_webrtc.preferred_model().name}` is not installed; "
                       "pick another bundle or a baseline.")
        name = st.selectbox("Model", list(models), key=_state.LIVE_MODEL, placeholder="No model bundle found",
                            help="A many-to-one bundle converts any voice into its target speaker.")
        spec = EngineSpec(engine, model=str(models.get(name, _webrtc.preferred_model())))
    elif engine == "pitch":
        semitones = st.slider("Pitch shift (semitones)", -12, 12, 5, key=_state.LIVE_SEMITONES)
        spec = EngineSpec(engine, semitones=float(semitones))
    elif engine == "anonymize":
        mcadams = st.slider("McAdams coefficient α", 0.5, 1.5, 0.8, 0.05, key=_state.LIVE_MCADAMS,
                            help="Moves the formants (VoicePrivacy baseline); 1.0 leaves the voice as it is. "
                                 "Changes apply while you speak.")
    bypass = st.toggle("Bypass: hear your own voice, same delay", key=_state.LIVE_BYPASS)
    record = st.checkbox("Record input and output for evaluation", key=_state.LIVE_RECORD,
                         help="Saved to `workbench_data/recordings/` on this machine when you press Stop.")

live = st.session_state.setdefault(_state.LIVE_SESSION, _webrtc.new_session())
trace = _webrtc.trace_path()
try:
    stream = live.use(spec, mcadams=mcadams, bypass=bypass)
except WorkbenchError as err:
    st.error(str(err))
    st.stop()
live.record = record
controls.caption(f"Streaming through: **{stream.description}**")

player_box, meters_box = player.container(), player.container()
scroll_box = st.container()
_webrtc.warm_view()  # before Start, not in the first refresh of a stream


@st.fragment(run_every=0.25)
def meters() -> None:
    stats, counts = live.stream.snapshot(), live.counters()
    if trace:
        write_trace(live.drain_trace(), trace)
    row1, row2 = st.columns(3), st.columns(3)
    row1[0].metric("Input level", f"{stats.input_dbfs:.0f} dBFS" if stats.n_chunks else "—")
    row1[1].metric("Input F0", f"{stats.f0_hz:.0f} Hz" if stats.f0_hz > 0 else "—",
                   help="Pitch of the newest analysed frame; — when unvoiced or not measured.")
    row1[2].metric("Converter latency", f"{stats.latency_ms:.1f} ms", help="Algorithmic delay of the converter.")
    row2[0].metric("Chunk time", f"{stats.median_ms:.1f} ms", f"p99 {stats.p99_ms:.1f} ms", delta_color="off", delta_arrow="off",
                   help="Compute time per 20 ms chunk: median, and 99th percentile below.")
    row2[1].metric("Real-time factor", f"{stats.rtf:.2f}", help="Compute time / audio time; must stay below 1.")
    row2[2].metric("Late / dropped", f"{counts['late']} / {counts['dropped']}",
                   help="Late: frames that queued behind a slow chunk. Dropped: lost between browser and server.")
    if live.refused:
        st.error(live.refused, icon=":material/group:")
    elif counts["busy"]:
        st.warning(f"This machine is too busy to convert in real time: the last {live.cfg.busy_window_s:.0f} s of "
                   f"audio took {counts['load']:.1f}× as long to convert, so the voice comes late and choppy. "
                   "Another job (e.g. training) shares the processor: wait for it to finish, or close other "
                   "programs.", icon=":material/speed:")
    if live.registry is not None:
        st.caption(f"Live sessions in use: {live.registry.active()} of {live.registry.max_sessions}")
    if stats.stages_ms:
        st.plotly_chart(latency_figure(stats.stages_ms, live.cfg.stream.chunk_ms))
    ctx = st.session_state.get(_state.LIVE_WEBRTC)  # webrtc_streamer's context (none before its first run)
    playing, signalling = (ctx.state.playing, ctx.state.signalling) if ctx is not None else (False, False)
    if live.watch_stall(playing) or live.advance_restart(playing=playing, signalling=signalling):
        st.rerun(scope="app")
    if live.gave_up:
        st.warning(f"Connected, but no audio has reached the server for {live.cfg.stall_s:.0f} s, even after "
                   f"{live.n_restarts} automatic restarts. Press Stop, then Start.", icon=":material/mic_off:")
    elif live.recently_restarted():
        st.warning(f"The browser was connected but no audio reached the server for {live.cfg.stall_s:.0f} s "
                   "(streamlit-webrtc can drop its server side right after connecting), so the stream is "
                   f"restarted automatically ({live.n_restarts}×).", icon=":material/restart_alt:")


@st.fragment(run_every=0.25)
def scrolling_view() -> None:
    """The last ~5 s of input and output, recomputed from the session's snapshot only when audio arrived."""
    recent = live.recent()
    last = st.session_state.get(_state.LIVE_SCROLL)
    if last is None or last[0] != recent.end_s:
        last = (recent.end_s, live_scroll_figure(analyse_recent(recent), window_s=live.cfg.recent_s))
        st.session_state[_state.LIVE_SCROLL] = last
    st.plotly_chart(last[1], key="live_scroll_chart")
    if not recent.input.size:
        st.caption("Spectrograms and F0 of your voice and of the converted voice scroll by here while you speak.")


if live.registry is not None and not live.registry.has_room_for(live):
    st.info(f"Sorry, {live.registry.active()} people are already converting live, as many as this machine is "
            "set up to keep in real time. Please try again in a few minutes; the Clone page works meanwhile.\n\n"
            f"Live-session limit: {live.registry.max_sessions} ({_webrtc.session_limit().detail}).",
            icon=":material/group:")
    st.stop()

with meters_box:
    meters()
with scroll_box:
    scrolling_view()
with player_box:
    ctx = webrtc_streamer(
        key=_state.LIVE_WEBRTC,
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=_webrtc.RTC_CONFIGURATION,
        media_stream_constraints=_webrtc.MEDIA_CONSTRAINTS,
        desired_playing_state=live.desired_playing_state,  # None (buttons) except while restarting
        queued_audio_frames_callback=live.callback,  # bound to this session's own LiveSession
        on_audio_ended=live.on_ended,
        async_processing=True,
    )
if live.advance_restart(playing=ctx.state.playing, signalling=ctx.state.signalling):
    st.rerun()

"""Pipeline: speech → text → speech in a cloned voice, every stage with its output and its time."""

from __future__ import annotations

import streamlit as st

from app_pages import _say, _state
from workbench import plots
from workbench.errors import WorkbenchError
from workbench.speech.diagram import pipeline_figure, timing_figure

PRETRAINED = _state.ROOT / "workbench" / "pretrained"
SAY_BUNDLE = PRETRAINED / "say-slt"
DIRECT = {"any-to-slt (any speaker)": PRETRAINED / "any-to-slt", "awb-to-slt (trained on awb)": PRETRAINED / "awb-to-slt"}


@st.cache_resource(show_spinner="Loading the conversion model…", max_entries=2)
def load_converter(path: str):
    from workbench.inference import VoiceConverter

    return VoiceConverter.load(path)


st.title("Pipeline: speech → text → speech")
st.caption("The seed's whole path, offline: a recording is recognised (PocketSphinx), the words are normalised, a "
           "text-to-speech voice reads them and a conversion model turns that voice into the cloned one (slt). "
           "Race it against direct voice-to-voice conversion to see what each route keeps and loses.")

rows = _state.sample_rows()
source = st.radio("Input", ["Sample sentence", "Upload", "Record"], horizontal=True, key=_state.PIPELINE_SOURCE)
data = name = reference = None
target_path = None
if source == "Sample sentence" and rows:
    c1, c2 = st.columns([1, 3])
    voice = c1.selectbox("Voice", sorted({r["voice"] for r in rows if r["voice"] != "slt"} or {"slt"}),
                         key=_state.PIPELINE_VOICE)
    texts = {r["utt_id"]: r["text"] for r in rows if r["voice"] == voice and r.get("split") == "test"} or \
        {r["utt_id"]: r["text"] for r in rows if r["voice"] == voice}  # held-out sentences first
    utt = c2.selectbox("Sentence", list(texts), format_func=lambda u: f"{u} · {texts[u]}", key=_state.PIPELINE_UTT)
    data, name, reference = _state.read_bytes(str(_state.sample_path(voice, utt))), f"{voice}/{utt}.flac", texts[utt]
    target_path = _state.sample_path("slt", utt)
elif source == "Upload":
    up = st.file_uploader("A clip of one spoken sentence", type=["wav", "flac", "ogg", "mp3"], key=_state.PIPELINE_UPLOAD)
    data, name = (up.getvalue(), up.name) if up is not None else (None, None)
elif source == "Record":
    rec = st.audio_input("Say one sentence", sample_rate=16_000, key=_state.PIPELINE_RECORD)
    data, name = (rec.getvalue(), "recording.wav") if rec is not None else (None, None)
else:
    st.info("No sample corpus found; upload or record a clip.")

direct_name = st.selectbox("Race against direct conversion with", ["(no race)", *DIRECT], key=_state.PIPELINE_DIRECT)
if st.button("Run the pipeline", type="primary", disabled=data is None, icon=":material/play_arrow:"):
    from workbench.audio import load_audio
    from workbench.speech.cascade import race, run_pipeline

    try:
        with st.spinner("Recognising, normalising, speaking, converting…"):
            y, sr = load_audio(data, sr=None, name=name)
            run = run_pipeline(y, sr, _say.speaker_for(SAY_BUNDLE))
            rows_race = None
            if direct_name in DIRECT:
                target = load_audio(target_path, sr=None) if target_path is not None and target_path.is_file() else None
                rows_race = [r.to_dict() for r in race(y, sr, direct=load_converter(str(DIRECT[direct_name])),
                             speaker=_say.speaker_for(SAY_BUNDLE), reference_text=reference, target=target,
                             cascade=run.cascade)]
        st.session_state[_state.PIPELINE_RESULT] = (name, len(y) / sr, run, rows_race)
    except WorkbenchError as err:
        st.session_state.pop(_state.PIPELINE_RESULT, None)
        st.error(str(err))

result = st.session_state.get(_state.PIPELINE_RESULT)
st.plotly_chart(pipeline_figure({"capture": result[1], **result[2].timings} if result else None), config={"displayModeBar": False})
if result:
    name, input_s, run, rows_race = result
    casc = run.cascade
    st.plotly_chart(timing_figure(run.timings, title=f"{sum(run.timings.values()):.2f} s for {input_s:.1f} s of "
                                  f"speech ({sum(run.timings.values()) / input_s:.2f} s per second)"))
    a, b = st.columns(2)
    with a:
        st.markdown(f"**Capture → preprocessing** ({name}: 16 kHz, -23 dBFS)")
        st.audio(run.y, sample_rate=run.sr)
        st.markdown("**Features** (mel spectrogram)")
        st.plotly_chart(plots.mel_figure(run.mel))
    with b:
        st.markdown(f"**Speech recognition**: “{casc.transcript.text}”")
        st.dataframe([{"word": w.text, "start s": round(w.start_s, 2), "end s": round(w.end_s, 2),
                       "confidence": round(w.confidence, 2)} for w in casc.transcript.words], height=180)
        st.markdown("**Text processing**: " + " ".join(casc.sentences))
        st.markdown("**Speech synthesis** (text-to-speech voice)")
        st.audio(casc.tts_y, sample_rate=casc.sr)
        st.markdown("**Cloned output**")
        st.audio(casc.y, sample_rate=casc.sr)
    if rows_race:
        st.subheader("Race: direct vs cascade")
        st.dataframe([{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k != "timings"}
                      for r in rows_race], hide_index=True)
        st.caption("Latency: processing time from the end of the input to the output. WER: the output recognised "
                   "again against what was said. MCD: distance to slt's own reading of the sentence (lower is "
                   "closer); similarity needs a speaker encoder (NaN until one is installed).")

_say.say_section(SAY_BUNDLE)

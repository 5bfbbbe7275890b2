"""Clone: convert a sentence into a model's target voice, and compare original, converted and target."""

from pathlib import Path

import streamlit as st

from app_pages import _say, _state
from workbench import plots
from workbench.config import FeatureConfig
from workbench.errors import WorkbenchError

store = _state.store()
st.title("Clone a voice")
st.caption("Choose a model and something to say, then press Convert. The converted clip keeps the words and timing "
           "of the input and takes on the target's voice. Every conversion is kept in "
           f"`{store.root.name}/outputs/`, with a note of the model and input that made it.")

models = store.list_models()
if not models:
    st.info("No model yet: train one on the Train page.")
    st.stop()
sample_voices = {v.slug: v for v in store.list_voices() if v.read_only}
# preselect the newest own model; else a shipped one trained from a sample voice (it has test sentences
# to convert), not one whose source is a text-to-speech voice (those serve "Say it in this voice")
preferred = next((i for i, m in enumerate(models) if not m.read_only), None)
if preferred is None:
    preferred = next((i for i, m in enumerate(models)
                      if set(m.meta.get("source_voices") or ["?"]) <= set(sample_voices)), 0)
model = st.selectbox("Model", models, index=preferred, format_func=lambda m: m.label, key=_state.CLONE_MODEL,
                     help="Your models, newest first, then the shipped ones.")
sources, target = model.meta.get("source_voices") or [], model.meta.get("target_voice", "")
test_ids = {r["utt_id"]: r["text"] for r in store.sentences() if r["split"] == "test"}

kind = st.radio("Input", ["A sample sentence", "One of your recordings", "Upload a clip"], horizontal=True,
                key=_state.CLONE_INPUT)
data = name = utt = None
if kind == "A sample sentence":
    voice_ids = list(sample_voices)
    default = next((s for s in sources if s in sample_voices), "awb" if "awb" in sample_voices else None)
    c1, c2 = st.columns(2)
    voice = c1.selectbox("Speaker", voice_ids, index=voice_ids.index(default) if default in voice_ids else 0,
                         help="A held-out test sentence: the model never heard it in training.")
    utt = c2.selectbox("Sentence", list(test_ids), format_func=lambda u: f"{u} · {test_ids[u]}") if test_ids else None
    if voice and utt:
        path = store.sample_dir / voice / f"{utt}.flac"
        data, name = _state.read_bytes(str(path)), f"{voice}/{utt}.flac"
elif kind == "One of your recordings":
    own = [c for v in store.list_voices(include_samples=False) for c in store.clips(v.slug)]
    fresh = st.audio_input("Record something now (or pick a saved recording below)")
    if fresh is not None:
        data, name = fresh.getvalue(), "microphone.wav"
    elif own:
        clip = st.selectbox("Recording", own, format_func=lambda c: f"{c.voice}/{c.stem} · {c.text[:60]}")
        data, name, utt = clip.path.read_bytes(), f"{clip.voice}/{clip.path.name}", clip.stem
    else:
        st.info("No saved recordings yet: record one above or on the Voices page, or upload a clip.")
else:
    up = st.file_uploader("Audio file", type=["wav", "flac", "ogg", "mp3"])
    if up is not None:
        data, name = up.getvalue(), up.name

if data is not None:
    st.audio(data)


def convert() -> None:
    try:
        with st.spinner("Loading the model and converting (the first time loads TensorFlow, a few seconds)…"):
            y, _ = _state.load_clip(data, name, FeatureConfig().sr)
            converter = _state.load_converter(str(model.path), model.created)
            y_out, sr_out = converter.convert(y, FeatureConfig().sr)
            out = store.save_output(y_out, sr_out, model=model.slug, source=name, extra={"target_voice": target})
        st.session_state[_state.CLONE_RESULT] = {"output": str(out.path), "input": name, "input_bytes": data, "utt": utt,
                                                 "model": model.slug, "target": target}
    except WorkbenchError as err:
        st.session_state[_state.CLONE_RESULT] = {"error": str(err)}


st.button("Convert", type="primary", disabled=data is None, on_click=convert)
result = st.session_state.get(_state.CLONE_RESULT)
if result and result.get("error"):
    st.error(result["error"])
elif result:
    out_path = Path(result["output"])
    target_path = store.sample_dir / result["target"] / f"{result['utt']}.flac" if result.get("utt") else None
    cols = st.columns(3)
    clips = [("Original", result["input_bytes"]), ("Converted", out_path.read_bytes()),
             ("Target voice, same sentence", target_path.read_bytes() if target_path and target_path.is_file() else None)]
    for col, (label, raw) in zip(cols, clips):
        with col:
            st.markdown(f"**{label}**")
            if raw is None:
                st.caption("Not available for this input.")
                continue
            st.audio(raw)
            try:
                y, _ = _state.load_clip(raw, label, FeatureConfig().sr)
                spec, hz, voiced = _state.spectrum_f0(y, FeatureConfig().sr)
                st.plotly_chart(plots.spectrogram_figure(spec, FeatureConfig(), hz, voiced, max_hz=4000, title=f"{label}: spectrum and F0",
                                                         height=260), theme=None, key=f"clone_spec_{label}")
            except WorkbenchError as err:
                st.error(str(err))
    st.download_button("Download the converted clip", out_path.read_bytes(), file_name=out_path.name, mime="audio/wav")
    st.caption(f"Saved as `{out_path.name}` with model {result['model']}. Converted speech is synthetic: say so when you share it.")

st.divider()
say_models = [m for m in models if (m.path / "tts.json").is_file()]  # text-to-voice bundles (train-voice)
if say_models:
    say_model = st.selectbox("Voice to speak typed text in", say_models, format_func=lambda m: m.label,
                             help="Models trained from a text-to-speech voice to a target voice (workbench train-voice).")
    _say.say_section(say_model.path)
else:
    st.subheader("Say it in this voice")
    st.info("No text-to-voice model yet: train one with `workbench train-voice --target VOICE_FOLDER --out BUNDLE`.")

outputs = store.list_outputs()
with st.expander(f"Earlier conversions ({len(outputs)})"):
    if outputs:
        st.table([{"file": o.path.name, "model": o.info.get("model", "?"), "input": o.info.get("source", "?"),
                   "created": o.info.get("created", "")} for o in outputs[:50]], hide_index=True)
        earlier = st.selectbox("Play", outputs[:50], format_func=lambda o: o.path.name)
        st.audio(str(earlier.path))

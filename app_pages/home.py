"""Home: what the workbench is, the pipeline, and where to start."""

import threading

import streamlit as st


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import librosa's spectral code in the background once per server (5-12 s on a busy CPU), so the
    Explore page does not wait for it; Home itself renders without it."""

    def run() -> None:
        import librosa.core.spectrum  # noqa: F401

    thread = threading.Thread(target=run, name="warm-up-librosa", daemon=True)
    thread.start()
    return thread


warm_up()
st.title("Voice Cloning Workbench")
st.markdown(
    "Learn, teach and demo **voice cloning** on a laptop: record a voice, train a small model that turns one "
    "speaker into another, and hear the result — seeing every step on the way. Everything runs locally, and "
    "the sample voices are synthetic speech from open text-to-speech engines."
)

st.subheader("Start here")
s1, s2, s3 = st.columns(3)
with s1:
    st.markdown("**1. Record** your voice: read the prompted sentences (or use a sample voice).")
    st.page_link("app_pages/voices.py", label="Voices", icon=":material/record_voice_over:")
with s2:
    st.markdown("**2. Train** a model from a source voice to a target voice (a minute for a rough one).")
    st.page_link("app_pages/train.py", label="Train", icon=":material/model_training:")
with s3:
    st.markdown("**3. Clone**: convert a sentence and compare original, converted and target.")
    st.page_link("app_pages/clone.py", label="Clone", icon=":material/content_copy:")

st.subheader("The pipeline")
st.graphviz_chart(
    """
digraph pipeline {
  rankdir=LR; bgcolor="transparent";
  node [shape=box, style="rounded,filled", fillcolor="#e8f1fa", color="#1f77b4", fontname="sans-serif", fontsize=11];
  edge [color="#555555"];
  capture [label="Capture\\nmicrophone / file"];
  pre [label="Preprocessing\\ndenoise, trim, loudness"];
  feat [label="Features\\nspectrogram, F0, WORLD"];
  asr [label="Recognition\\nspeech → text", style="rounded,dashed"];
  text [label="Text", style="rounded,dashed"];
  tts [label="Synthesis\\nconversion model + vocoder"];
  out [label="Cloned output", fillcolor="#fde9d9", color="#ff7f0e"];
  capture -> pre -> feat -> tts -> out;
  feat -> asr -> text -> tts [style=dashed];
}
""",
)
st.caption("Solid: the voice-conversion path this app runs (the words and timing come from the input). Dashed: the "
           "text path (Pipeline page), where speech is recognised as text and spoken again in the target voice.")
st.markdown(
    """
| Stage | What happens | Page | Notebook | Library |
|---|---|---|---|---|
| Capture | microphone (48 kHz frames) or a file → mono float32 at 16 kHz | Voices, Live | — | `workbench.audio` |
| Preprocessing | denoise (spectral gating), trim or VAD, loudness to a target LUFS | Preprocess | `notebooks/02_preprocessing.ipynb` | `workbench.preprocess` |
| Features | spectrogram, mel, MFCC, F0, WORLD envelope as a mel-cepstrum every 5 ms | Explore | `notebooks/01_signals_and_features.ipynb` | `workbench.features` |
| Recognition → text | speech recognised as words, numbers and dates spelled out (the text path) | Pipeline | `notebooks/08_text_to_cloned_speech.ipynb` | `workbench.speech` |
| Synthesis | an LSTM / GAN / GMM maps source mel-cepstra to the target's (or a TTS voice reads the text); the WORLD vocoder resynthesises | Train, Clone, Pipeline | `notebooks/03_rnn_and_lstm.ipynb`, `04_lstm_voice_conversion`, `05_gan`, `08_text_to_cloned_speech` | `workbench.training`, `workbench.inference`, `workbench.speech` |
| Cloned output | audio in the browser, in `outputs/` with its provenance, or live within ~50 ms | Clone, Live | `notebooks/07_realtime_streaming.ipynb` | `workbench.store`, `workbench.streaming` |
| Speaker identity | a GE2E speaker encoder: embeddings, similarity, verification EER | Speakers | `notebooks/06_speaker_encoder.ipynb` | `workbench.speaker` |
| Evaluation | MCD, F0, V/UV, GV, speaker similarity, WER, DNSMOS; blind MOS/ABX listening tests | Evaluate | `notebooks/09_evaluation.ipynb` | `workbench.evaluation`, `workbench.listening` |
"""
)
c = st.columns(4)
c[0].page_link("app_pages/preprocess.py", label="Preprocess", icon=":material/tune:")
c[1].page_link("app_pages/explore.py", label="Explore features", icon=":material/insights:")
c[2].page_link("app_pages/clone.py", label="Clone", icon=":material/content_copy:")
c[3].page_link("app_pages/live.py", label="Live conversion", icon=":material/mic:")

st.subheader("Use it responsibly")
st.markdown(
    "Voice conversion can impersonate people. Convert **only your own voice, a synthetic voice, or a voice "
    "whose owner has given consent** (the Voices page records it), and say so when you share converted audio. "
    "Never use it to deceive, to get past voice authentication, or to put words in someone's mouth."
)

"""Home: what the workbench is, the pipeline, and where to start."""

import streamlit as st

st.title("Voice Cloning Workbench")
st.markdown(
    "Learn, teach and demo **real-time voice conversion** on a CPU: turn what one speaker says into "
    "another speaker's voice, and see every step on the way. Everything runs locally, and the sample "
    "corpus is synthetic speech from open text-to-speech voices."
)

st.subheader("The pipeline")
st.markdown(
    """
| Step | What happens | Where |
|---|---|---|
| 1. Capture | microphone frames (48 kHz) or a file → mono float32 at 16 kHz | `workbench.audio` |
| 2. Preprocess | validate, trim, level to a target loudness | `workbench.audio` |
| 3. Features | spectrogram, mel, MFCC, F0 and the WORLD envelope as a mel-cepstrum, every 5 ms | `workbench.features` |
| 4. Model | a small causal LSTM maps source mel-cepstra to the target voice | `workbench.models` |
| 5. Vocoder | WORLD resynthesises a waveform from the converted envelope and a shifted F0 | `workbench.features` |
| 6. Output | audio back to the browser, or to a file, within a ~50 ms latency budget | `workbench.streaming` |
"""
)

st.subheader("Start here")
st.page_link("app_pages/explore.py", label="Explore: look at a voice through every feature", icon=":material/insights:")
st.caption("More pages (train a model, clone a voice, live conversion, evaluation) appear in the sidebar as they land.")

st.subheader("Use it responsibly")
st.markdown(
    "Voice conversion can impersonate people. Convert **only your own voice, a synthetic voice, or a voice "
    "whose owner has given consent**, and say so when you share converted audio. Never use it to deceive, "
    "to get past voice authentication, or to put words in someone's mouth."
)

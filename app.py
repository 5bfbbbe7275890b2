"""Voice Cloning Workbench: the Streamlit app.

Run with ``streamlit run app.py``. This file only sets up the page, the shared sidebar and the
navigation; every page is a thin script in ``app_pages/``. To add a page, add one ``st.Page`` line.
"""

import streamlit as st

from app_pages._bootstrap import bootstrap

bootstrap()  # process-wide WebRTC workarounds, once (see app_pages/_bootstrap.py)
st.set_page_config(page_title="Voice Cloning Workbench", page_icon=":material/graphic_eq:", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/voices.py", title="Voices", icon=":material/record_voice_over:", url_path="voices"),
    st.Page("app_pages/explore.py", title="Explore", icon=":material/insights:", url_path="explore"),
    st.Page("app_pages/preprocess.py", title="Preprocess", icon=":material/tune:", url_path="preprocess"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/clone.py", title="Clone", icon=":material/content_copy:", url_path="clone"),
    st.Page("app_pages/live.py", title="Live", icon=":material/mic:", url_path="live"),
    st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/leaderboard:", url_path="evaluate"),
    st.Page("app_pages/speakers.py", title="Speakers", icon=":material/groups:", url_path="speakers"),
    st.Page("app_pages/pipeline.py", title="Pipeline", icon=":material/account_tree:", url_path="pipeline"),
]

with st.sidebar:
    with st.expander("About / privacy", icon=":material/lock:"):
        st.markdown(
            "Everything runs **on this machine**: audio you upload or record is processed locally and is "
            "not sent anywhere. The sample voices are **synthetic** (flite and espeak-ng text-to-speech), "
            "so no real person's voice is cloned. Only convert a real voice with its owner's consent."
        )

st.navigation(PAGES).run()

"""The Evaluate page's Listen section: blind MOS and ABX tests on an evaluation's clips, and their summary."""

import zlib

import pandas as pd
import streamlit as st

from app_pages import _eval_state as S
from workbench import listening as L
from workbench.audio import load_audio
from workbench.errors import WorkbenchError
from workbench.evaluation import Evaluation


def listening_test(ev: Evaluation) -> None:
    """Render the MOS / ABX forms for the clips of ``ev`` (the target's readings as hidden reference) and the results so far."""
    listener = st.text_input("Your name (or a code)", "listener", key=S.LISTEN_NAME)
    audio = {m: {u.stem: (u.audio, ev.sr) for u in ev.utterances if u.model == m} for m in dict.fromkeys(
        u.model for u in ev.utterances)}
    audio[L.REFERENCE] = {u.stem: load_audio(u.target, sr=ev.sr) for u in ev.utterances}  # the target's reading
    clips = L.make_clips(audio)
    seed = zlib.crc32(listener.encode())  # each listener hears their own order
    paths = L.results_paths()
    mode = st.radio("Test", ["MOS (rate 1-5)", "ABX preference"], horizontal=True, key=S.LISTEN_MODE)
    try:
        if mode.startswith("MOS"):
            trials = L.mos_trials(clips, seed=seed)
            with st.form("mos"):
                answers = []
                for t in trials:
                    st.audio(t.clip.y, sample_rate=t.clip.sr)
                    answers.append((t, st.radio(f"Clip {t.trial + 1}: quality", [1, 2, 3, 4, 5], index=None,
                                                horizontal=True, key=f"mos_{t.trial}")))
                if st.form_submit_button("Save ratings"):
                    done = [(t, a) for t, a in answers if a is not None]
                    L.save_mos(done, listener, paths["mos"])
                    st.success(f"Saved {len(done)} ratings to {paths['mos']}.")
        else:
            systems = list(audio)[:-1]
            pair = st.multiselect("Compare two systems", systems, default=systems[:2], max_selections=2, key=S.LISTEN_PAIR)
            if len(pair) == 2:
                trials = L.ab_trials(clips, pair[0], pair[1], seed=seed)
                with st.form("ab"):
                    answers = []
                    for t in trials:
                        a, b, x = st.columns(3)
                        if t.reference is not None:
                            x.markdown("X (reference)")
                            x.audio(t.reference.y, sample_rate=t.reference.sr)
                        a.markdown("A")
                        a.audio(t.first.y, sample_rate=t.first.sr)
                        b.markdown("B")
                        b.audio(t.second.y, sample_rate=t.second.sr)
                        answers.append((t, st.radio(f"Trial {t.trial + 1}: which is closer to X?", ["A", "B"], index=None,
                                                    horizontal=True, key=f"ab_{t.trial}")))
                    if st.form_submit_button("Save choices"):
                        done = [(t, a) for t, a in answers if a is not None]
                        L.save_ab(done, listener, paths["ab"])
                        st.success(f"Saved {len(done)} choices to {paths['ab']}.")
    except WorkbenchError as err:
        st.error(str(err))

    st.subheader("Results so far")
    objective = {r["model"]: r for r in ev.rows}
    mos = [{"system": s, "MOS": i.mean, "95% CI": f"{i.low:.2f}-{i.high:.2f}", "answers": i.n,
            "DNSMOS OVRL": objective.get(s, {}).get("dnsmos_ovrl"), "MCD (dB)": objective.get(s, {}).get("mcd_db")}
           for s, i in L.summarize_mos(L.read_results(paths["mos"])).items()]
    pref = [{"pair": f"{a} vs {b}", "share preferring the first": i.mean, "95% CI": f"{i.low:.2f}-{i.high:.2f}",
             "answers": i.n} for (a, b), i in L.summarize_preference(L.read_results(paths["ab"])).items()]
    for name, table in (("MOS ratings", mos), ("A/B choices", pref)):
        if table:
            st.dataframe(pd.DataFrame(table))
        else:
            st.caption(f"No {name} saved yet.")

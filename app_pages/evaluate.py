"""Evaluate: compare models and baselines on held-out sentences, drill down per utterance, and Listen."""

import tempfile

import pandas as pd
import streamlit as st

from app_pages import _eval_state as S
from app_pages._listen import listening_test
from app_pages._state import sample_dir
from workbench.errors import WorkbenchError
from workbench.evaluation import EvalConfig, Evaluation, evaluate_converters
from workbench.report import LABELS, best_per_column, utterance_rows, write_report

st.title("Evaluate")
st.caption("Convert the held-out test sentences of a source voice with each model and baseline, and score the "
           "result against the target voice: MCD and F0 (closeness to the target's reading), speaker similarity "
           "(SECS), intelligibility (PocketSphinx WER) and predicted quality (DNSMOS). Then **Listen** below.")

bundles, voices = S.conversion_bundles(), S.voices()
if not voices:
    st.info(f"No sample corpus in `{sample_dir().name}/`: generate it first (see sample_audio/README.md).")
    st.stop()
c1, c2, c3 = st.columns(3)
choices = list(bundles) + list(S.BASELINE_NAMES)
models = c1.multiselect("Models and baselines", choices, default=[m for m in ("awb-to-slt", "identity", "f0")
                                                                     if m in choices], key=S.EVAL_MODELS)
src = c2.selectbox("Source voice", voices, index=voices.index("awb") if "awb" in voices else 0, key=S.EVAL_SOURCE)
tgt = c3.selectbox("Target voice", voices, index=voices.index("slt") if "slt" in voices else 0, key=S.EVAL_TARGET)
stems = S.test_utterances(src)
n_utt = c1.slider("Test sentences", 1, len(stems), min(3, len(stems)), key=S.EVAL_N_UTT)
measures = c2.multiselect("Measures", ["WER", "DNSMOS", "Speaker similarity"], default=["WER", "DNSMOS",
                          "Speaker similarity"], key=S.EVAL_MEASURES)

if st.button("Run evaluation", type="primary", disabled=not models):
    from workbench.inference import VoiceConverter

    bar = st.progress(0.0, "Loading models…")
    try:
        convs = [VoiceConverter.load(bundles.get(m, m)) for m in models]
        meta = next((c.meta for c in convs if c.meta is not None), None)
        convs = [VoiceConverter.f0_baseline(meta) if c.name == "f0" and meta else c for c in convs]
        cfg = EvalConfig(use_wer="WER" in measures, use_dnsmos="DNSMOS" in measures,
                         use_speaker="Speaker similarity" in measures, keep_audio=True)
        ev = Evaluation(rows=[])
        evaluate_converters(convs, sample_dir() / src, sample_dir() / tgt, cfg=cfg, details=ev, stems=stems[:n_utt],
                            on_progress=lambda name, i, n: bar.progress(min(i / max(n, 1), 1.0), f"{name}: {i}/{n}"))
        st.session_state[S.EVAL_RESULT] = ev
    except WorkbenchError as err:
        st.error(str(err))
    bar.empty()

ev = st.session_state.get(S.EVAL_RESULT)
if ev is not None:
    st.subheader("Comparison")
    table = pd.DataFrame(ev.rows).drop(columns=["description"], errors="ignore").set_index("model")
    best = best_per_column(ev.rows)
    st.dataframe(table.rename(columns=LABELS).style.apply(
        lambda col: ["font-weight: bold; background-color: #d4edda" if best.get(next(
            (k for k, v in LABELS.items() if v == col.name), col.name)) == m else "" for m in col.index]
    ).format(precision=3))
    st.caption("Best value per column highlighted (GV ratio: closest to 1; SECS source: lowest).")
    for note in ev.notes:
        st.info(note)
    st.subheader("Per utterance")
    stem = st.selectbox("Utterance", ev.stems, key=S.EVAL_DRILL)
    mine = [u for u in ev.utterances if u.stem == stem]
    cols = st.columns(len(mine) + 2)
    cols[0].markdown("**source**")
    cols[0].audio(str(mine[0].source))
    for col, u in zip(cols[1:], mine):
        col.markdown(f"**{u.model}**")
        if u.audio is not None:
            col.audio(u.audio, sample_rate=ev.sr)
    cols[-1].markdown("**target**")
    cols[-1].audio(str(mine[0].target))
    st.dataframe(pd.DataFrame([r for r in utterance_rows(ev) if r["utterance"] == stem]).set_index("model"))
    if st.button("Build the report"):
        with tempfile.TemporaryDirectory() as tmp, st.spinner("Drawing figures…"):
            page = write_report(ev, tmp, meta={"source": src, "target": tgt}).read_bytes()
        st.download_button("Download report (HTML, works offline)", page, "evaluation_report.html", "text/html")

# ------------------------------------------------------------------------------------------- Listen
st.header("Listen")
st.caption("Blind listening test on the clips above: systems are hidden, clips are shuffled and level-matched, "
           "and the target's own reading is a hidden reference. Answers are saved as CSV in the data store.")
if ev is None or not any(u.audio is not None for u in ev.utterances):
    st.info("Run an evaluation first: its converted clips are the test material.")
    st.stop()
listening_test(ev)

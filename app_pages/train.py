"""Train: teach a model to turn one voice into another, in the background, with live loss curves."""

from dataclasses import replace

import streamlit as st

from app_pages import _state
from workbench import plots
from workbench.config import MODEL_KINDS, ModelConfig, TrainConfig
from workbench.errors import WorkbenchError
from workbench.jobs import TrainingJob
from workbench.preprocess import PreprocessConfig

BASE = TrainConfig()
store = _state.store()
st.title("Train a voice model")
st.caption("Pick who speaks (source) and whose voice should come out (target). Both read the same sentences, so "
           "the model learns frame by frame how one voice maps onto the other. Training runs in the background: "
           "you can watch it, stop it and resume it.")

voices = {v.slug: v for v in store.list_voices()}
slugs = list(voices)
c1, c2, c3 = st.columns(3)
source = c1.selectbox("Source voice", slugs, index=slugs.index("awb") if "awb" in slugs else 0, key=_state.TRAIN_SOURCE,
                      format_func=lambda s: voices[s].label, help="The voice that speaks into the model.")
target = c2.selectbox("Target voice", slugs, index=slugs.index("slt") if "slt" in slugs else min(1, len(slugs) - 1),
                      key=_state.TRAIN_TARGET, format_func=lambda s: voices[s].label,
                      help="The voice the model produces. It needs its owner's consent record.")
kind = c3.radio("Model", MODEL_KINDS, horizontal=True, format_func=str.upper,
                help="LSTM: a small recurrent network (default). GAN: LSTM plus an adversarial critic for crisper "
                     "spectra. GMM: the classic joint-density Gaussian mixture, no deep learning.")
with st.expander("Hyperparameters", expanded=True):
    h1, h2, h3, h4 = st.columns(4)
    epochs = h1.number_input("Epochs", 1, 500, 30, key=_state.TRAIN_EPOCHS,
                             help="Passes over the data; early stopping may end sooner. 2 gives a rough model in a minute.")
    layers = h2.number_input("LSTM layers", 1, 4, BASE.model_cfg.n_layers)
    units = h3.select_slider("Units per layer", [32, 64, 96, 128, 192, 256], BASE.model_cfg.units,
                             help="Bigger learns more but overfits the little data here (96 works best).")
    lr = h4.select_slider("Learning rate", [2e-4, 5e-4, 1e-3, 2e-3, 5e-3], BASE.learning_rate, format_func=lambda v: f"{v:g}")
    lookahead = h1.slider("Lookahead (frames of 5 ms)", 0, 10, BASE.lookahead_frames,
                          help="Future context the model may see: better quality, more latency (4 = 20 ms).")
    augment = h2.multiselect("Augmentation", ["pitch", "formant", "speed"],
                             help="Perturbed copies of the source: a model that copes with more speakers.")
    name = h3.text_input("Model name", f"{source}-to-{target}")
    use_pre = h4.toggle("Clean clips first", help="Trim silence and normalise loudness (Preprocess page steps).")
    phonetic = h4.toggle("Phone posteriors as input", BASE.phonetic_input,
                         help="LSTM/GAN: the shipped phonetic encoder tells the model which sound each frame is "
                              "(clearer words after conversion). GMMs ignore it.")
    phone_loss = h4.select_slider("Phonetic loss weight", [0.0, 0.1, 0.3, 0.5, 1.0], BASE.phonetic_loss_weight,
                                  disabled=not phonetic,
                                  help="With phone posteriors: how much the loss asks that the encoder still hears "
                                       "each predicted frame's phone (crisper words, a little higher MCD). 0 is "
                                       "squared error alone.")
    pseudo = h3.select_slider("Pseudo-source pairs", [0.0, 0.5, 1.0], BASE.pseudo_source_weight,
                              help="LSTM/GAN: also train on the target's own frames, unaligned, from a pseudo-source "
                                   "made of them (sharper output, clearer words; training takes about twice as "
                                   "long). 0 trains on the aligned pairs alone.")
try:
    cfg = replace(BASE, model=kind, epochs=int(epochs), gan_epochs=min(BASE.gan_epochs, int(epochs)),
                  learning_rate=float(lr), lookahead_frames=int(lookahead), augment=tuple(augment),
                  phonetic_input=bool(phonetic), phonetic_loss_weight=float(phone_loss),
                  pseudo_source_weight=float(pseudo),
                  n_jobs=1,  # analysis in this process: no worker processes forked from the server
                  model_cfg=ModelConfig(units=int(units), n_layers=int(layers)))
except WorkbenchError as err:
    st.error(str(err))
    st.stop()


def start() -> None:
    try:
        job = TrainingJob(store, sources=[source], target=target, name=name or f"{source}-to-{target}", cfg=cfg,
                          preprocess=PreprocessConfig() if use_pre else None)
        st.session_state[_state.TRAIN_JOB] = job.start()
    except WorkbenchError as err:
        st.session_state["train_error"] = str(err)


def resume(job: TrainingJob) -> None:
    try:
        job.resume()
    except WorkbenchError as err:
        st.session_state["train_error"] = str(err)


job: TrainingJob | None = st.session_state.get(_state.TRAIN_JOB)
st.button("Start training", type="primary", on_click=start, disabled=bool(job and job.is_active))
if err := st.session_state.pop("train_error", None):
    st.error(err)


@st.fragment(run_every=3.0 if job is not None and job.is_active else None)
def progress() -> None:
    """Polls this session's job: progress bar, status, live loss curves, stop / resume."""
    job.poll()
    st.progress(job.fraction(), text=job.status())
    st.plotly_chart(plots.loss_figure(job.history, title=f"Loss: {job.out_dir.name} (train solid, validation dashed)"),
                    theme=None, key="train_loss")
    b1, b2 = st.columns(2)
    if job.is_active:
        b1.button("Stop", on_click=job.stop, disabled=job.state == "stopping")
    elif job.state in ("stopped", "failed"):
        b2.button("Resume from the last checkpoint", on_click=resume, args=(job,))
    if not job.is_active and st.session_state.get("train_polling"):
        st.session_state["train_polling"] = False
        st.rerun()  # the whole page: the new model appears in the list below
    st.session_state["train_polling"] = job.is_active


if job is not None:
    progress()
    if job.state == "failed":
        st.error(job.error)

st.subheader("Your models")
models = store.list_models(include_shipped=False)
if not models:
    st.info("No models yet: start a training run above. The shipped models are on the Clone page.")
for m in models:
    with st.expander(m.label, expanded=m is models[0]):
        rows = (m.metrics or {}).get("results")
        if rows:
            st.table([{"system": r["model"], "MCD (dB)": f"{r['mcd_db']:.2f}", "F0 RMSE (cents)": f"{r['f0_rmse_cents']:.0f}",
                       "V/UV error": f"{r['vuv_error']:.3f}"} for r in rows], hide_index=True)
            st.caption(f"Held-out test sentences ({m.metrics['utterances']}, {m.metrics['test_source']} → "
                       f"{m.metrics['test_target']}); lower MCD is closer to the target. identity = no change, f0 = pitch only.")
        elif m.metrics.get("note"):
            st.caption(m.metrics["note"])
        summary = m.meta.get("metrics", {})
        st.caption(f"{summary.get('epochs_run', '?')} epochs, {summary.get('train_frames', '?')} training frames, "
                   f"{summary.get('train_seconds', '?')} s; best validation loss {summary.get('val_loss', float('nan')):.4f}.")
        history = (m.log or {}).get("history") or m.meta.get("train_args", {}).get("history")
        if history:
            st.plotly_chart(plots.loss_figure(history, title="Training curves"), theme=None, key=f"loss_{m.slug}")
        if st.toggle("Delete this model…", key=f"del_model_{m.slug}") and st.button("Yes, delete it", key=f"del_{m.slug}"):
            store.delete_model(m.slug)
            st.rerun()

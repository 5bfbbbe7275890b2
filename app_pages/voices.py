"""Voices: record a new voice prompt by prompt, upload clips, check their quality, manage the library."""

from datetime import date

import streamlit as st

from app_pages import _state
from workbench import plots
from workbench.coach import assess_voice
from workbench.consent import consent_advice, consent_statement
from workbench.errors import WorkbenchError

ICONS = {"ok": ":material/check_circle:", "warn": ":material/warning:", "bad": ":material/error:"}
store = _state.store()
prompts = store.prompts()
st.title("Voices")
st.caption("Record your own voice by reading prompted sentences (the same sentences the sample voices read, so "
           "any pair can train a model), or upload clips. Everything stays in "
           f"`{store.root.name}/voices/` on this machine.")


def show_advice(advice) -> None:
    for a in advice:
        {"ok": st.success, "warn": st.warning, "bad": st.error}[a.severity](a.text, icon=ICONS[a.severity])


def save_take(name: str, prompt: dict, key: str, index: int) -> None:
    """Button callback: store the take under the prompt's sentence id and move on to the next prompt."""
    take = st.session_state.get(key)
    try:
        voice = store.create_voice(name)
        store.import_clip(voice.slug, take.getvalue(), f"{prompt['utt_id']}.wav", stem=prompt["utt_id"], text=prompt["text"])
        st.session_state[_state.VOICES_PROMPT][voice.slug] = index + 1
        st.session_state[_state.VOICES_FLASH] = ("success", f"Saved {prompt['utt_id']} to {voice.name}.")
    except WorkbenchError as err:
        st.session_state[_state.VOICES_FLASH] = ("error", str(err))


def move(slug: str, index: int) -> None:
    st.session_state[_state.VOICES_PROMPT][slug] = index


# ------------------------------------------------------------------------------------- record a voice
st.subheader("Record a new voice")
name = st.text_input("Voice name", key=_state.VOICES_NAME, placeholder="e.g. your first name, then press Enter")
kind, text = st.session_state.pop(_state.VOICES_FLASH, (None, None))
if kind:
    (st.success if kind == "success" else st.error)(text)
if name.strip() and prompts:
    try:
        slug = store.slug_for(name)
    except WorkbenchError as err:
        st.error(str(err))
        st.stop()
    done = {c.stem for c in store.clips(slug)} if (store.voices_dir / slug).is_dir() else set()
    positions = st.session_state.setdefault(_state.VOICES_PROMPT, {})
    i = positions.setdefault(slug, next((k for k, p in enumerate(prompts) if p["utt_id"] not in done), len(prompts)))
    if i >= len(prompts):
        st.success(f"All {len(prompts)} prompts recorded for {name}. Train a model on the Train page.")
        st.button("Start again from prompt 1", on_click=move, args=(slug, 0))
    else:
        prompt = prompts[i]
        st.markdown(f"**{i + 1} / {len(prompts)}**" + (" · already recorded, recording again replaces it" if prompt["utt_id"] in done else ""))
        st.markdown(f"### “{prompt['text']}”")
        key = f"rec_{slug}_{prompt['utt_id']}"
        take = st.audio_input("Record this sentence (press the microphone, read, then stop)", key=key)
        if take is not None:
            try:
                show_advice(_state.coach_bytes(take.getvalue()).advice)
            except WorkbenchError as err:
                st.error(str(err))
        c1, c2, c3 = st.columns(3)
        c1.button("Save recording", type="primary", disabled=take is None, on_click=save_take, args=(name, prompt, key, i))
        c2.button("Skip this sentence", on_click=move, args=(slug, i + 1))
        c3.button("Back to the previous sentence (re-record)", disabled=i == 0, on_click=move, args=(slug, i - 1))
    with st.expander("…or upload recordings instead"):
        st.caption("Name files by sentence id (`s001.wav`, `s002.flac`, …) to pair them with the sample voices.")
        files = st.file_uploader("Audio files", type=["wav", "flac", "ogg", "mp3"], accept_multiple_files=True,
                                 key=_state.VOICES_UPLOAD)
        if files and st.button("Add the uploaded files"):
            texts = {p["utt_id"]: p["text"] for p in store.sentences()}
            for f in files:
                try:
                    clip = store.import_clip(store.create_voice(name).slug, f.getvalue(), f.name, text=texts.get(f.name.rsplit(".", 1)[0], ""))
                    st.success(f"Added {clip.stem}.")
                except WorkbenchError as err:
                    st.error(str(err))

# ------------------------------------------------------------------------------------------- library
st.divider()
st.subheader("Voice library")
voices = store.list_voices()
slugs = [v.slug for v in voices]
by_slug = {v.slug: v for v in voices}
pick = st.selectbox("Voice", slugs, format_func=lambda s: by_slug[s].label, key=_state.VOICES_PICK)
voice = by_slug[pick]
clips = store.clips(voice.slug)
try:
    with st.spinner("Checking the recordings…"):
        reports = [_state.coach_file(c.path) for c in clips[:20]]
    left, right = st.columns([2, 3])
    with left:
        st.markdown(f"**{voice.name}** — {len(clips)} clips" + (" (sample voice, read-only)" if voice.read_only else "")
                    + (", consent on record" if voice.has_consent else ", **no consent record yet**"))
        report = assess_voice(reports)
        show_advice(report.advice)
    with right:
        if report.f0_hz.size:
            st.plotly_chart(plots.f0_histogram_figure(report.f0_hz, title=f"F0 range of {voice.name} "
                            f"({report.f0_range_hz[0]:.0f}–{report.f0_range_hz[1]:.0f} Hz)"), theme=None)
    if clips:
        stems = [c.stem for c in clips]
        clip = clips[stems.index(st.selectbox("Clip", stems, key=_state.VOICES_CLIP,
                                              format_func=lambda s: f"{s} · {clips[stems.index(s)].text[:70]}"))]
        st.audio(str(clip.path))
        r = _state.coach_file(clip.path)
        st.table([{k: f"{v:.1f}" for k, v in r.summary().items()}], hide_index=True)
        show_advice(r.advice)
        if not voice.read_only and st.toggle("Delete this clip…", key=f"del_clip_{voice.slug}_{clip.stem}"):
            if st.button(f"Yes, delete {clip.stem}", type="primary"):
                store.delete_clip(voice.slug, clip.stem)
                st.rerun()
    if not voice.read_only:
        with st.expander("Consent: let this voice be a target", expanded=not voice.has_consent):
            statement = consent_statement(date.today())
            st.markdown("Read this aloud and record it (the recording is checked: a speech recogniser must hear "
                        "these words, and the speaker encoder must hear the same person as the voice's "
                        f"recordings):\n\n> {statement}")
            rec = st.audio_input("Record the consent statement", key=f"{_state.VOICES_CONSENT_REC}_{voice.slug}")
            speaker = st.text_input("Your full name", key=f"consent_name_{voice.slug}")
            agreed = st.checkbox("This is my voice and I agree to the statement above", key=f"consent_ok_{voice.slug}")
            if st.button("Save consent", disabled=not (rec and speaker.strip() and agreed)):
                with st.spinner("Checking the recording (words and speaker)…"):
                    record = store.save_consent(voice.slug, speaker=speaker, statement=statement,
                                                date=date.today().isoformat(), recording=rec.getvalue())
                check = record["check"]
                st.caption(f"Words found: {check['words']['match_rate']:.0%} (needs {check['words']['threshold']:.0%})"
                           " · speaker similarity: " + ("no recordings to compare" if check["speaker"]["cosine"] is None
                           else f"{check['speaker']['cosine']:.2f} (needs {check['speaker']['threshold']:.2f})"))
                if check["passed"]:
                    st.success("Consent checked and saved: this voice can now be a training target.")
                for advice in consent_advice(check):
                    st.error(advice)
        with st.expander("Rename or delete this voice"):
            new = st.text_input("New name", value=voice.name, key=f"rename_{voice.slug}")
            if st.button("Rename") and new.strip() != voice.name:
                store.rename_voice(voice.slug, new)
                st.rerun()
            if st.toggle(f"Delete {voice.name} and everything made from it…", key=f"del_voice_{voice.slug}"):
                models, outputs = store.made_from(voice.slug)
                st.warning(f"This removes {len(clips)} clips, the consent record, {len(models)} model(s) trained on "
                           f"this voice ({', '.join(m.slug for m in models) or 'none'}) and {len(outputs)} output(s) "
                           "made from it. It cannot be undone.")
                if st.button("Yes, delete this voice and everything made from it", type="primary"):
                    st.session_state[_state.VOICES_FLASH] = ("success", store.delete_voice(voice.slug).summary())
                    st.rerun()
except WorkbenchError as err:
    st.error(str(err))

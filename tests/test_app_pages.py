"""AppTest of the Voices, Preprocess, Train and Clone pages on a small sample corpus and an empty data store."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from app_pages import _state

TIMEOUT = 120
TRAIN, TEST = [f"s{i:03d}" for i in range(1, 9)], ["s041", "s042"]


def page(name: str) -> str:
    return str(ROOT / "app_pages" / f"{name}.py")


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """awb and slt reading 8 training and 2 test sentences (linked from sample_audio/); an empty data store."""
    folder = tmp_path / "corpus"
    rows = [r for r in csv.DictReader(open(ROOT / "sample_audio" / "manifest.csv"))
            if r["voice"] in ("awb", "slt") and r["utt_id"] in TRAIN + TEST]
    for voice in ("awb", "slt"):
        (folder / voice).mkdir(parents=True)
        for utt in TRAIN + TEST:
            for ext in (".flac", ".txt"):
                os.symlink(ROOT / "sample_audio" / voice / f"{utt}{ext}", folder / voice / f"{utt}{ext}")
    os.symlink(ROOT / "sample_audio" / "slt" / "consent.json", folder / "slt" / "consent.json")  # awb: none
    with open(folder / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setenv(_state.SAMPLE_DIR_ENV, str(folder))
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def take(voice="awb", utt="s001", sr=16_000) -> bytes:
    """A 'microphone recording': a sample sentence as 16 kHz WAV bytes, as st.audio_input sends it."""
    y, file_sr = sf.read(ROOT / "sample_audio" / voice / f"{utt}.flac", dtype="float32")
    buf = io.BytesIO()
    sf.write(buf, y, file_sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def texts(at) -> str:
    return " ".join(m.value for m in at.markdown)


def button(at, label):
    return next(b for b in at.button if b.label == label)


# ---------------------------------------------------------------------------------------------- all pages
def test_every_page_renders_through_the_app(corpus):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    for name in ("voices", "explore", "preprocess", "train", "clone"):
        at.switch_page(f"app_pages/{name}.py").run()
        assert not at.exception, (name, at.exception)
        assert not at.error, (name, [e.value for e in at.error])


def test_home_links_the_pipeline_and_start_here(corpus):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [s.value for s in at.subheader][:2] == ["Start here", "The pipeline"]
    table = texts(at)
    for stage in ("Capture", "Preprocessing", "Features", "Recognition", "Synthesis", "Cloned output"):
        assert stage in table
    assert "capture -> pre -> feat" in at.get("graphviz_chart")[0].proto.spec


# ------------------------------------------------------------------------------------------------- voices
def test_voices_name_then_recorder_then_save_lands_in_store(corpus):
    at = AppTest.from_file(page("voices"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.audio_input  # nothing to record before a name
    at.text_input(key=_state.VOICES_NAME).input("Flow Tester").run()
    assert not at.exception
    assert "**1 / 10**" in texts(at) and "A brown fox" in texts(at)  # the first prompt, right away
    (rec,) = at.audio_input
    rec.upload("take.wav", take()).run()
    assert any("Good take" in s.value for s in at.success)  # the coach judged the take
    button(at, "Save recording").click().run()
    assert not at.exception
    clip = corpus / "voices" / "flow-tester" / "s001.wav"
    assert clip.is_file() and sf.info(clip).duration > 1.0
    assert (clip.with_suffix(".txt")).read_text().startswith("A brown fox")
    assert json.loads((clip.parent / "voice.json").read_text())["name"] == "Flow Tester"
    assert "**2 / 10**" in texts(at)  # moved on to the next prompt
    button(at, "Skip this sentence").click().run()
    assert "**3 / 10**" in texts(at)
    button(at, "Back to the previous sentence (re-record)").click().run()
    assert "**2 / 10**" in texts(at)


@pytest.mark.skipif(shutil.which("flite") is None, reason="needs the flite binary")
def test_voices_consent_is_recorded_checked_and_stored(corpus, tmp_path):
    from datetime import date

    from workbench.consent import consent_statement, date_in_words
    from workbench.store import Store

    store = Store(corpus, sample_dir=corpus.parent / "corpus")
    mine = store.create_voice("Mine").slug
    for utt in ("s001", "s003", "s004"):
        store.save_clip(mine, utt, *sf.read(ROOT / "sample_audio" / "slt" / f"{utt}.flac", dtype="float32"))
    at = AppTest.from_file(page("voices"), default_timeout=TIMEOUT).run()
    assert at.selectbox(key=_state.VOICES_PICK).value == "mine"  # own voices come first
    assert "no consent record yet" in texts(at)
    # a sentence that is not the statement: stored with its check, refused, with advice
    at.audio_input(key=f"{_state.VOICES_CONSENT_REC}_mine").upload("consent.wav", take("slt", "s002")).run()
    at.text_input(key="consent_name_mine").input("Mina Example").run()
    at.checkbox(key="consent_ok_mine").check().run()
    button(at, "Save consent").click().run()
    assert not at.exception and any("Read the whole statement" in e.value for e in at.error)
    assert not store.voice(mine).has_consent
    # the owner's voice (flite slt, like the clips) reading today's statement: checked and accepted
    wav = tmp_path / "statement.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", consent_statement(date.today()), "-o", str(wav)], check=True)
    at.audio_input(key=f"{_state.VOICES_CONSENT_REC}_mine").upload("consent.wav", wav.read_bytes()).run()
    button(at, "Save consent").click().run()
    assert not at.exception and any("Consent checked and saved" in m.value for m in at.success)
    record = json.loads((corpus / "voices" / "mine" / "consent.json").read_text())
    assert record["speaker"] == "Mina Example" and record["consent"] is True and record["check"]["passed"]
    assert date_in_words(date.fromisoformat(record["date"])) in record["statement"]
    assert store.voice(mine).has_consent


def test_voices_delete_asks_then_says_what_it_removed(corpus):
    from workbench.store import Store

    store = Store(corpus, sample_dir=corpus.parent / "corpus")
    gone = store.create_voice("Gone").slug
    for utt in ("s001", "s002"):
        store.save_clip(gone, utt, *sf.read(ROOT / "sample_audio" / "slt" / f"{utt}.flac", dtype="float32"))
    out = store.save_output(np.zeros(1600, np.float32) + 0.01, 16_000, model="m", source="gone/s001.wav")
    at = AppTest.from_file(page("voices"), default_timeout=TIMEOUT).run()
    at.toggle(key="del_voice_gone").set_value(True).run()
    assert any("2 clips" in w.value and "1 output(s)" in w.value for w in at.warning)
    assert (corpus / "voices" / "gone").is_dir()  # nothing removed before the confirmation
    button(at, "Yes, delete this voice and everything made from it").click().run()
    assert not at.exception and not (corpus / "voices" / "gone").exists() and not out.path.exists()
    assert any(m.value.startswith("Deleted voice 'gone': 2 clips") for m in at.success)


def test_voices_recording_over_the_upload_limit_is_one_message(corpus):
    at = AppTest.from_file(page("voices"), default_timeout=TIMEOUT).run()
    at.text_input(key=_state.VOICES_NAME).input("Big Take").run()
    key = next(a.key for a in at.get("audio_input") if str(a.key).startswith("rec_big-take_"))
    at.audio_input(key=key).upload("take.wav", take("slt", "s001")[:44] + bytes(51_000_000)).run()
    assert not at.exception and any("over the 50 MB upload limit" in e.value for e in at.error)
    assert not (corpus / "voices" / "big-take").exists()


def test_voices_sample_voice_shows_coach_and_histogram(corpus):
    at = AppTest.from_file(page("voices"), default_timeout=TIMEOUT).run()
    assert at.selectbox(key=_state.VOICES_PICK).value == "awb"
    assert any("ready to train" in s.value or "so far" in w.value for s in at.success for w in at.warning) or at.success
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles and titles[0].startswith("F0 range of awb")


# --------------------------------------------------------------------------------------------- preprocess
def test_preprocess_scores_noisy_and_processed(corpus):
    at = AppTest.from_file(page("preprocess"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    rows = at.table[0].value
    assert list(rows["signal"]) == ["noisy", "processed"]
    assert float(rows["STOI (0–1)"].iloc[1]) > 0.5
    at.slider(key=_state.PRE_SNR).set_value(40).run()  # nearly clean: the noisy signal scores higher
    assert float(at.table[0].value["PESQ (1–4.64)"].iloc[0]) > float(rows["PESQ (1–4.64)"].iloc[0])


# -------------------------------------------------------------------------------------------------- train
def test_train_defaults_and_consent_refusal(corpus):
    at = AppTest.from_file(page("train"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.selectbox(key=_state.TRAIN_SOURCE).value == "awb" and at.selectbox(key=_state.TRAIN_TARGET).value == "slt"
    assert at.number_input(key=_state.TRAIN_EPOCHS).label == "Epochs"
    at.selectbox(key=_state.TRAIN_SOURCE).set_value("slt").run()
    at.selectbox(key=_state.TRAIN_TARGET).set_value("awb").run()
    button(at, "Start training").click().run()
    assert not at.exception
    assert "no consent record" in at.error[0].value and "Voices" in at.error[0].value
    assert _state.TRAIN_JOB not in at.session_state


@pytest.mark.slow
def test_train_one_epoch_bundle_appears(corpus):
    at = AppTest.from_file(page("train"), default_timeout=TIMEOUT).run()
    at.number_input(key=_state.TRAIN_EPOCHS).set_value(1).run()
    button(at, "Start training").click().run()
    assert not at.exception and not at.error
    job = at.session_state[_state.TRAIN_JOB]
    job.join(600)
    at.run()
    assert job.state == "done", job.error
    assert job.out_dir.name == "awb-to-slt-2"  # the shipped awb-to-slt keeps its name
    bundle = corpus / "models" / job.out_dir.name / "bundle.json"
    assert bundle.is_file() and json.loads(bundle.read_text())["metrics"]["epochs_run"] == 1
    assert any(e.label.startswith("awb-to-slt-2 · LSTM awb → slt") for e in at.expander)
    assert "identity" in list(at.table[0].value["system"])  # held-out metrics against the baselines
    assert at.get("plotly_chart")  # the loss curves


@pytest.mark.slow
def test_two_people_training_at_once_keep_their_own_jobs_and_files(corpus):
    """Two browser sessions start a model of the same name at the same moment (one LSTM, one GMM): each gets
    its own folder, its own job and its own result; neither overwrites the other."""
    people = [AppTest.from_file(page("train"), default_timeout=TIMEOUT).run() for _ in range(2)]
    people[0].number_input(key=_state.TRAIN_EPOCHS).set_value(1).run()
    people[1].radio[0].set_value("gmm").run()
    for at in people:
        button(at, "Start training").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    jobs = [at.session_state[_state.TRAIN_JOB] for at in people]
    assert jobs[0] is not jobs[1] and jobs[0].out_dir != jobs[1].out_dir
    assert {j.out_dir.name for j in jobs} == {"awb-to-slt-2", "awb-to-slt-3"}
    for job in jobs:
        job.join(600)
        assert job.state == "done", job.error
    for at, job, kind in zip(people, jobs, ("lstm", "gmm")):
        at.run()
        assert not at.exception
        assert at.session_state[_state.TRAIN_JOB] is job  # each session still shows its own run
        meta = json.loads((corpus / "models" / job.out_dir.name / "bundle.json").read_text())
        assert meta["kind"] == kind and meta["target_voice"] == "slt"


# -------------------------------------------------------------------------------------------------- clone
@pytest.mark.slow
def test_clone_converts_with_the_newest_model(corpus):
    at = AppTest.from_file(page("clone"), default_timeout=TIMEOUT).run()
    assert not at.exception
    # no own model yet: a shipped model trained from a sample voice, not the text-to-speech one (say-slt)
    assert at.selectbox(key=_state.CLONE_MODEL).value.slug in ("awb-to-slt", "slt-to-awb")
    n_audio = len(at.get("audio"))
    t0 = time.time()
    button(at, "Convert").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    outputs = list((corpus / "outputs").glob("*.wav"))
    assert len(outputs) == 1 and sf.info(outputs[0]).duration > 1.0
    side = json.loads(outputs[0].with_suffix(".json").read_text())
    model = at.selectbox(key=_state.CLONE_MODEL).value
    # the model's own source voice speaks by default
    assert side["model"] == model.slug and side["source"] == f"{model.meta['source_voices'][0]}/s041.flac"
    assert len(at.get("audio")) >= n_audio + 2  # converted and target players
    assert time.time() - t0 < 120


# ------------------------------------------------------------------------------------------------ explore
def test_explore_lists_own_voices_and_compares_two_clips(corpus):
    from workbench.store import Store

    store = Store(corpus, sample_dir=corpus.parent / "corpus")
    y, sr = sf.read(ROOT / "sample_audio" / "slt" / "s003.flac", dtype="float32")
    store.save_clip(store.create_voice("Mine").slug, "s003", y, sr, text="My take.")
    at = AppTest.from_file(page("explore"), default_timeout=TIMEOUT).run()
    assert at.selectbox(key=_state.EXPLORE_VOICE).options == ["awb", "slt", "Mine (yours, 1 clip)"]
    at.selectbox(key=_state.EXPLORE_VOICE).set_value("mine").run()
    assert not at.exception and "mine/s003.wav" in " ".join(c.value for c in at.caption)
    at.toggle(key=_state.EXPLORE_COMPARE).set_value(True).run()
    at.selectbox(key=_state.EXPLORE_VOICE_B).set_value("slt").run()
    at.selectbox(key=_state.EXPLORE_UTT_B).set_value("s003").run()
    assert not at.exception
    table = at.table[-1].value
    assert list(table["clip"]) == ["mine/s003.wav", "slt/s003.flac"]
    assert table["median F0 (Hz)"].iloc[0] == table["median F0 (Hz)"].iloc[1]  # the same recording, twice

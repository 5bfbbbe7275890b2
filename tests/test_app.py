"""Smoke and behaviour tests of the Streamlit app with ``streamlit.testing.v1.AppTest`` (no browser)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT, synth_speech
from streamlit.testing.v1 import AppTest

from app_pages import _state

TIMEOUT = 60  # the first feature extraction in a process warms librosa up (~3 s)
EXPLORE = str(ROOT / "app_pages" / "explore.py")


def wav_bytes(y: np.ndarray, sr: int = 16_000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A two-voice, one-sentence corpus in the sample_audio layout; the app is pointed at it."""
    rows = [("low", "s001", 120.0, "male"), ("high", "s001", 220.0, "female")]
    with open(tmp_path / "manifest.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["voice", "utt_id", "split", "gender", "engine", "text"])
        for voice, utt, f0, gender in rows:
            (tmp_path / voice).mkdir()
            sf.write(tmp_path / voice / f"{utt}.flac", synth_speech(16_000, f0_hz=f0, duration_s=0.8), 16_000)
            writer.writerow([voice, utt, "train", gender, "test", f"A {voice} test sentence."])
    monkeypatch.setenv(_state.SAMPLE_DIR_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def explore(corpus):
    at = AppTest.from_file(EXPLORE, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def stats(at) -> dict[str, float]:
    """The page's one-row stats table."""
    (table,) = at.table
    return {k: float(v) for k, v in table.value.iloc[0].items()}


def caption_text(at) -> str:
    return " ".join(c.value for c in at.caption)


def charts(at) -> list[str]:
    """Titles of the plotly charts on the page, from each chart's JSON spec."""
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


FIRST_TAB = ["Waveform", "Spectrogram with F0, 0–4 kHz (double-click to see all)"]


# ------------------------------------------------------------------------------------------------- home
def test_home_renders_through_the_app():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Voice Cloning Workbench"
    text = " ".join(m.value for m in at.main.markdown)
    assert "Capture" in text and "vocoder" in text and "consent" in text
    assert "on this machine" in " ".join(m.value for m in at.sidebar.markdown)  # the shared privacy note


def test_app_switches_to_explore(corpus):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/explore.py").run()
    assert not at.exception, at.exception
    assert "Explore" in at.title[0].value
    assert charts(at) == FIRST_TAB


# ---------------------------------------------------------------------------------------------- explore
def test_explore_renders_every_figure(explore):
    at = explore
    assert "Explore" in at.title[0].value
    assert not at.error and not at.warning
    assert [s.label for s in at.selectbox] == ["Voice", "Sentence"] and at.selectbox[0].value == "high"
    assert [t.label for t in at.tabs] == ["Waveform & spectrogram", "Mel & MFCC", "Pitch & energy", "WORLD vocoder",
                                          "Phones"]
    assert charts(at) == FIRST_TAB  # only the open tab is drawn
    assert stats(at)["median F0 (Hz)"] == pytest.approx(220.0, rel=0.03)
    assert stats(at)["duration (s)"] == pytest.approx(0.8)
    assert "high/s001.flac: 1024-point FFT" in caption_text(at)


def test_explore_voice_change_reanalyses(explore):
    at = explore.selectbox(key=_state.EXPLORE_VOICE).set_value("low").run()
    assert not at.exception
    assert stats(at)["median F0 (Hz)"] == pytest.approx(120.0, rel=0.03)


def test_explore_slider_change_rerenders(explore):
    at = explore.select_slider(key=_state.EXPLORE_N_FFT).set_value(512).run()
    at = at.select_slider(key=_state.EXPLORE_HOP_MS).set_value(10.0).run()
    assert not at.exception and not at.error
    assert "512-point FFT" in caption_text(at) and "hop 160 samples" in caption_text(at)
    assert stats(at)["frames"] == 1 + int(0.8 * 16_000) // 160
    assert charts(at) == FIRST_TAB


@pytest.mark.parametrize(("tab", "titles"), [
    ("Mel & MFCC", ["Mel spectrogram", "MFCC (standardised per coefficient)"]),
    ("Pitch & energy", ["Fundamental frequency (F0)", "Energy and spectral centroid"]),
    ("WORLD vocoder", ["WORLD spectral envelope (CheapTrick)", "WORLD aperiodicity (D4C)",
                       "Mel-cepstrum (order 24, α=0.42, c0 hidden)"]),
    ("Phones", ["Phone posteriorgram: what the phonetic encoder hears (LSTM/GAN models get these as input)"]),
])
def test_explore_tabs_draw_their_figures(explore, tab, titles):
    explore.session_state[_state.EXPLORE_TAB] = tab  # as a click on the tab would
    at = explore.run()
    assert not at.exception and charts(at) == titles


def test_explore_impossible_settings_show_config_error(explore):
    at = explore.select_slider(key=_state.EXPLORE_N_FFT).set_value(256).run()  # 25 ms window = 400 samples
    assert not at.exception
    assert len(at.error) == 1 and "more than n_fft=256" in at.error[0].value
    assert not charts(at)
    at = at.select_slider(key=_state.EXPLORE_WIN_MS).set_value(16.0).run()  # 256 samples fit
    assert not at.exception and not at.error and charts(at) == FIRST_TAB


def test_explore_pyin_warns_that_it_is_slow(explore):
    at = explore.radio(key=_state.EXPLORE_F0_METHOD).set_value("pyin").run()
    assert not at.exception
    assert any("slow" in w.value for w in at.warning)
    assert "F0 by pyin" in caption_text(at)


def test_explore_bad_upload_shows_error_not_exception(explore):
    at = explore.file_uploader(key=_state.EXPLORE_UPLOAD).upload("notes.wav", b"not audio at all" * 10, "audio/wav").run()
    assert not at.exception
    assert len(at.error) == 1 and "notes.wav could not be read as audio" in at.error[0].value
    assert not charts(at)


def test_explore_short_upload_shows_error(explore):
    short = wav_bytes(synth_speech(16_000, duration_s=0.1))
    at = explore.file_uploader(key=_state.EXPLORE_UPLOAD).upload("short.wav", short, "audio/wav").run()
    assert not at.exception and "at least 300 ms" in at.error[0].value


def test_explore_good_upload_wins_and_warnings_show(explore):
    clipped = np.clip(synth_speech(16_000, f0_hz=180.0) * 8, -1, 1)
    at = explore.file_uploader(key=_state.EXPLORE_UPLOAD).upload("mine.wav", wav_bytes(clipped), "audio/wav").run()
    assert not at.exception and not at.error
    assert any("clipped" in w.value for w in at.warning)
    assert "mine.wav: 1024-point FFT" in caption_text(at)
    assert at.selectbox[0].disabled
    assert charts(at) == FIRST_TAB


def test_explore_without_corpus_still_takes_uploads(tmp_path, monkeypatch):
    monkeypatch.setenv(_state.SAMPLE_DIR_ENV, str(tmp_path))  # empty: no manifest.csv
    at = AppTest.from_file(EXPLORE, default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    assert "No sample corpus" in at.info[0].value and not at.selectbox and not charts(at)
    at.file_uploader(key=_state.EXPLORE_UPLOAD).upload("mine.wav", wav_bytes(synth_speech(16_000)), "audio/wav").run()
    assert not at.exception and not at.error and charts(at) == FIRST_TAB


def test_sample_rows_skip_missing_files(corpus):
    (corpus / "low" / "s001.flac").unlink()
    assert [r["voice"] for r in _state.sample_rows(corpus)] == ["high"]

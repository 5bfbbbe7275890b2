"""The Evaluate and Speakers pages under ``AppTest`` (no browser): they render, run and save listening results."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import _eval_state as S

ROOT = Path(__file__).resolve().parents[1]
EVALUATE = str(ROOT / "app_pages" / "evaluate.py")
SPEAKERS = str(ROOT / "app_pages" / "speakers.py")
TIMEOUT = 240


@pytest.fixture(autouse=True)
def data_store(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path / "store"))
    return tmp_path / "store"


@pytest.fixture
def no_webrtc_runtime(monkeypatch):
    """The Speakers page has a microphone (streamlit-webrtc); under AppTest it gets "no session", as in test_live_page."""
    import streamlit_webrtc.component

    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)


def _text(at) -> str:
    return " ".join([t.value for t in at.title] + [h.value for h in at.header] + [m.value for m in at.markdown]
                    + [c.value for c in at.caption] + [i.value for i in at.info])


def test_evaluate_page_renders_before_a_run():
    at = AppTest.from_file(EVALUATE, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    text = _text(at)
    assert "Evaluate" in text and "Listen" in text and "Run an evaluation first" in text
    assert set(at.multiselect(key=S.EVAL_MODELS).value) == {"awb-to-slt", "identity", "f0"}


@pytest.mark.slow
def test_evaluate_runs_baselines_and_saves_mos_ratings(data_store):
    at = AppTest.from_file(EVALUATE, default_timeout=TIMEOUT).run()
    at.multiselect(key=S.EVAL_MODELS).set_value(["identity", "f0"])
    at.multiselect(key=S.EVAL_MEASURES).set_value(["DNSMOS"])
    at.slider(key=S.EVAL_N_UTT).set_value(2)
    at.button[0].click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table.index) == ["identity", "f0"]
    assert table.loc["identity", "MCD (dB)"] > 8.0  # awb is far from slt unconverted
    assert 1.0 <= table.loc["f0", "DNSMOS OVRL"] <= 5.0
    # 2 systems + the hidden reference, 2 sentences: 6 shuffled MOS trials
    for k in range(6):
        at.radio(key=f"mos_{k}").set_value(3 + (k % 2))
    next(b for b in at.button if b.label == "Save ratings").click().run()
    assert not at.exception, at.exception
    rows = list(csv.DictReader(open(data_store / "listening" / "mos.csv")))
    assert len(rows) == 6 and {r["system"] for r in rows} == {"identity", "f0", "reference"}
    assert any("MOS" in list(df.value.columns) for df in at.dataframe)


def test_speakers_page_maps_voices_and_places_a_converted_clip(no_webrtc_runtime):
    at = AppTest.from_file(SPEAKERS, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    text = _text(at)
    assert "Speakers" in text
    assert len(at.get("plotly_chart")) == 2
    eer = float(at.metric[0].value.rstrip("%")) / 100
    assert eer <= 0.10  # six sample voices, four test clips each
    assert any("Similarity to the source" in m.value for m in at.markdown)


def test_speaker_encoder_is_not_offered_as_a_conversion_model():
    from app_pages import _webrtc

    assert "speaker-encoder" not in _webrtc.model_choices() and "awb-to-slt" in _webrtc.model_choices()
    assert "speaker-encoder" not in S.conversion_bundles() and "slt-to-awb" in S.conversion_bundles()


def test_live_voice_moves_on_the_map(no_webrtc_runtime):
    """A session (shared with the Live page) that heard 2.4 s of awb through the awb-to-slt model: both points
    land on the map, with the map's own projection, and the converted one is nearer slt than the raw one."""
    import json

    import numpy as np
    from test_live import webrtc_frames
    from test_plots import decode

    from app_pages import _state, _webrtc
    from workbench.audio import load_audio
    from workbench.live import EngineSpec
    from workbench.plots_eval import project_2d

    y, _ = load_audio(ROOT / "sample_audio" / "awb" / f"{S.test_utterances('awb')[0]}.flac", sr=48_000)
    live = _webrtc.new_session()
    live.use(EngineSpec("model", model=str(S.PRETRAINED_DIR / "awb-to-slt")), mcadams=0.8, bypass=False)
    live.process(webrtc_frames(y[:48_000 * 3]))
    at = AppTest.from_file(SPEAKERS, default_timeout=TIMEOUT)
    at.session_state[_state.LIVE_SESSION] = live
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[_state.LIVE_SESSION] is live
    end, e_raw, e_conv = at.session_state[S.SPK_LIVE]
    assert end == pytest.approx(live.recent().end_s)
    recent = live.recent(2.0)
    np.testing.assert_allclose(e_raw, S.encoder().embed(recent.input, recent.sr), atol=1e-5)  # the last 2 s
    fig = json.loads(next(c for c in at.get("plotly_chart") if "you (raw)" in c.proto.spec).proto.spec)
    traces = {t["name"]: t for t in fig["data"]}
    embs, labels, _ = S.embeddings(tuple(S.voices()), 4, S.corpus_key())
    expected = project_2d(np.stack([e_raw, e_conv]), fit_on=embs)  # the map's PCA, not refitted
    for name, row in (("you (raw)", 0), ("you (converted)", 1)):
        xy = [float(decode(traces[name][k])[0]) for k in ("x", "y")]
        np.testing.assert_allclose(xy, expected[row], atol=1e-4)
    slt = project_2d(embs, fit_on=embs)[[lab == "slt" for lab in labels]].mean(axis=0)
    assert np.linalg.norm(expected[1] - slt) < np.linalg.norm(expected[0] - slt)

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


def test_speakers_page_maps_voices_and_places_a_converted_clip():
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

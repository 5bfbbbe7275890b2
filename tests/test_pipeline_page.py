"""The Pipeline page and the "Say it in this voice" section, with AppTest (no browser)."""

from __future__ import annotations

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from app_pages import _state  # noqa: F401 - imports pylibsrtp before any test loads TensorFlow (see _state.py)

PIPELINE = str(ROOT / "app_pages" / "pipeline.py")
TIMEOUT = 120  # the first run loads TensorFlow and the bundle


def texts(at) -> str:
    return " ".join(str(m.value) for m in [*at.title, *at.subheader, *at.markdown, *at.caption])


def test_page_renders_diagram_and_say_section():
    at = AppTest.from_file(PIPELINE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "Pipeline" in at.title[0].value
    assert any(s.value == "Say it in this voice" for s in at.subheader)
    assert len(at.get("plotly_chart")) == 1  # the diagram, before any run


def test_running_the_pipeline_on_a_sample_shows_every_stage():
    at = AppTest.from_file(PIPELINE, default_timeout=TIMEOUT).run()
    at.selectbox(key="pipeline_voice").set_value("awb")
    at.selectbox(key="pipeline_utt").set_value("s042")
    at.selectbox(key="pipeline_direct").set_value("awb-to-slt (trained on awb)")
    next(b for b in at.button if b.label == "Run the pipeline").click()
    at.run()
    assert not at.exception and not at.error
    body = texts(at)
    assert "Speech recognition" in body and "Text processing" in body and "Cloned output" in body
    assert "Race: direct vs cascade" in body
    race = at.dataframe[-1].value
    assert list(race["route"]) == ["direct", "cascade"]
    assert (race["latency_s"] > 0).all() and race["mcd_db"].notna().all()
    assert len(at.get("plotly_chart")) == 3  # diagram with times, timing bar, mel spectrogram


def test_say_section_speaks_and_refuses_odd_text():
    at = AppTest.from_file(PIPELINE, default_timeout=TIMEOUT).run()
    at.text_area(key="say_text").set_value("Meet me at 10:30 on Main St.")
    next(b for b in at.button if b.label == "Say it").click()
    at.run()
    assert not at.exception and not at.error
    assert any("ten thirty" in str(m.value) for m in at.markdown)
    assert len(at.get("audio")) >= 2  # cloned and TTS audio
    at.text_area(key="say_text").set_value("!!! ???")
    next(b for b in at.button if b.label == "Say it").click()
    at.run()
    assert not at.exception
    assert at.error and "only punctuation" in at.error[0].value


@pytest.mark.parametrize("source", ["Upload", "Record"])
def test_other_inputs_render_without_a_clip(source):
    at = AppTest.from_file(PIPELINE, default_timeout=TIMEOUT).run()
    at.radio(key="pipeline_source").set_value(source)
    at.run()
    assert not at.exception
    assert next(b for b in at.button if b.label == "Run the pipeline").disabled

"""Evaluation with speaker similarity, and the offline report (JSON, CSV, self-contained HTML)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from workbench.errors import DataError
from workbench.evaluation import EvalConfig, Evaluation, evaluate_converters
from workbench.inference import VoiceConverter
from workbench.plots_eval import project_2d
from workbench.report import best_per_column, write_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"


def test_best_per_column_directions():
    rows = [{"model": "a", "mcd_db": 5.0, "gv_ratio": 0.7, "secs_target": 0.8, "wer": float("nan")},
            {"model": "b", "mcd_db": 9.0, "gv_ratio": 1.1, "secs_target": 0.3, "wer": 0.4}]
    assert best_per_column(rows) == {"mcd_db": "a", "gv_ratio": "b", "secs_target": "a", "wer": "b"}


def test_project_2d_recovers_the_main_axes(rng):
    x = np.zeros((50, 8))
    x[:, 2] = rng.normal(0, 5, 50)  # the widest spread
    x[:, 5] = rng.normal(0, 1, 50)
    p = project_2d(x)
    assert p.shape == (50, 2)
    assert abs(np.corrcoef(p[:, 0], x[:, 2])[0, 1]) > 0.99  # PC 1 follows the widest spread
    # rank-2 data: the projection is a rotation, so every distance is kept
    d = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(p), d(x), atol=1e-9)


def test_project_2d_places_new_points_with_the_maps_own_axes(rng):
    x = rng.normal(0, 1, (30, 6)) * [5, 3, 1, 1, 1, 1]
    new = rng.normal(0, 4, (20, 6))
    np.testing.assert_allclose(project_2d(x, fit_on=x), project_2d(x), atol=1e-12)  # same fit, same map
    both = project_2d(np.vstack([x, new]), fit_on=x)
    np.testing.assert_allclose(both[:30], project_2d(x), atol=1e-12)  # new points do not move the map
    p = project_2d(new, fit_on=x)
    np.testing.assert_allclose(p, both[30:], atol=1e-12)
    assert abs(np.corrcoef(p[:, 0], new[:, 0] - x[:, 0].mean())[0, 1]) > 0.95  # PC 1 is the widest input axis


@pytest.fixture(scope="module")
def evaluation():
    ev = Evaluation(rows=[])
    convs = [VoiceConverter.load("identity"), VoiceConverter.load("f0")]
    evaluate_converters(convs, SAMPLES / "awb", SAMPLES / "slt", cfg=EvalConfig(use_wer=False, use_dnsmos=False,
                        keep_audio=True), details=ev, stems=["s041", "s042"])
    return ev


def test_speaker_similarity_of_the_unconverted_source(evaluation):
    ident = next(r for r in evaluation.rows if r["model"] == "identity")
    # the identity "conversion" is the source itself: close to the source voice, far from the target
    assert ident["secs_source"] > 0.9 and ident["secs_target"] < ident["secs_source"] - 0.3
    assert ident["utterances"] == 2 and "wer" not in ident
    assert evaluation.reference_embeddings["target"].shape[0] == 2
    with pytest.raises(DataError, match="None of the stems"):
        evaluate_converters([VoiceConverter.load("identity")], SAMPLES / "awb", SAMPLES / "slt",
                            cfg=EvalConfig(use_wer=False, use_dnsmos=False, use_speaker=False), stems=["nope"])


def test_report_files_are_complete_and_offline(evaluation, tmp_path):
    page = write_report(evaluation, tmp_path, meta={"source": "awb"})
    rows = json.loads((tmp_path / "report.json").read_text())
    assert [r["model"] for r in rows["results"]] == ["identity", "f0"] and len(rows["utterances"]) == 4
    with open(tmp_path / "report.csv", newline="") as f:
        assert [r["model"] for r in csv.DictReader(f)] == ["identity", "f0"]
    html = page.read_text()
    assert "<script src=" not in html and len(html) > 3_000_000  # plotly.js (3-4 MB) is inlined, no CDN
    assert html.count("Plotly.newPlot") >= 5  # MCD per utterance, F0 contours, spectrograms, embedding map
    assert "class='best'" in html and "SECS target" in html

"""The background training job: consent, progress events, metrics, stop and resume."""

from __future__ import annotations

import csv
import json
import os

import pytest
from conftest import ROOT

from workbench.config import TrainConfig
from workbench.errors import ConsentError, DataError
from workbench.jobs import JobEvent, TrainingJob
from workbench.preprocess import PreprocessConfig
from workbench.store import Store

TRAIN, TEST = [f"s{i:03d}" for i in range(1, 9)], ["s041", "s042"]


@pytest.fixture
def store(tmp_path):
    """A small corpus (8 train + 2 test sentences of awb and slt, linked from sample_audio) and an empty store."""
    corpus = tmp_path / "corpus"
    rows = [r for r in csv.DictReader(open(ROOT / "sample_audio" / "manifest.csv"))
            if r["voice"] in ("awb", "slt") and r["utt_id"] in TRAIN + TEST]
    for voice in ("awb", "slt"):
        (corpus / voice).mkdir(parents=True)
        for utt in TRAIN + TEST:
            os.symlink(ROOT / "sample_audio" / voice / f"{utt}.flac", corpus / voice / f"{utt}.flac")
    os.symlink(ROOT / "sample_audio" / "slt" / "consent.json", corpus / "slt" / "consent.json")
    with open(corpus / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return Store(tmp_path / "data", sample_dir=corpus, pretrained_dir=tmp_path / "none")


def test_target_without_consent_is_refused_before_starting(store):
    job = TrainingJob(store, sources=["slt"], target="awb", name="x")
    with pytest.raises(ConsentError, match="consent statement"):
        job.start()
    assert job.state == "ready" and not job.is_active


def test_source_equal_to_target_is_refused(store):
    with pytest.raises(DataError, match="two different voices"):
        TrainingJob(store, sources=["slt"], target="slt", name="x")


def test_history_and_progress_from_events(store):
    job = TrainingJob(store, sources=["awb"], target="slt", name="x")
    for epoch in (1, 2):
        job.events.put(JobEvent("lstm", epoch, 4, 5, 10, {"loss": 1.0}, 1.0 * epoch))
        job.events.put(JobEvent("lstm", epoch, 4, 10, 10, {"loss": 1.0 / epoch}, 2.0 * epoch))
        job.events.put(JobEvent("lstm", epoch, 4, 10, 10, {"loss": 1.0 / epoch, "val_loss": 2.0 / epoch}, 2.0 * epoch))
    job.events.put(JobEvent("refine", 1, 2, 10, 10, {"loss": 0.3, "val_loss": 0.4}, 1.0))
    assert len(job.poll()) == 7
    assert job.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 1.0], "refine_loss": [0.3], "val_refine_loss": [0.4]}
    job.events.put(JobEvent("lstm", 3, 4, 5, 10, {"loss": 0.2}, 5.0))
    job.poll()
    assert job.fraction() == pytest.approx(2.5 / 4) and job.eta_s() == pytest.approx(3.0)
    assert "epoch 3/4" in job.status()


@pytest.mark.slow  # ~40 s: analysis of 20 files and evaluation
def test_gmm_job_trains_saves_logs_and_measures(store):
    cfg = TrainConfig(model="gmm", gmm_components=4, n_jobs=1)
    job = TrainingJob(store, sources=["awb"], target="slt", name="awb to slt", cfg=cfg).start()
    job.join(300)
    job.poll()
    assert job.state == "done", job.error
    bundle = store.models_dir / "awb-to-slt"
    assert json.loads((bundle / "bundle.json").read_text())["kind"] == "gmm"
    log = json.loads((bundle / "training_log.json").read_text())
    assert log["sources"] == ["awb"] and log["target"] == "slt" and log["train_config"]["model"] == "gmm"
    rows = {r["model"]: r for r in json.loads((bundle / "metrics.json").read_text())["results"]}
    assert set(rows) == {"awb-to-slt", "identity", "f0"} and rows["identity"]["utterances"] == 2
    assert rows["awb-to-slt"]["mcd_db"] < rows["identity"]["mcd_db"] - 1.0
    assert [m.slug for m in store.list_models()] == ["awb-to-slt"]
    assert not (store.root / "checkpoints" / "awb-to-slt").exists()  # removed once done
    assert TrainingJob(store, sources=["awb"], target="slt", name="awb to slt").out_dir.name == "awb-to-slt-2"


@pytest.mark.slow
def test_preprocessing_option_cleans_the_clips(store):
    cfg = TrainConfig(model="gmm", gmm_components=2, n_jobs=1)
    job = TrainingJob(store, sources=["awb"], target="slt", name="clean", cfg=cfg, evaluate=False,
                      preprocess=PreprocessConfig(trim=True, target_lufs=-20.0)).start()
    job.join(300)
    assert job.state == "done", job.error
    log = json.loads((store.models_dir / "clean" / "training_log.json").read_text())
    assert log["preprocess"]["target_lufs"] == -20.0
    assert not (store.models_dir / "clean" / "metrics.json").exists()


@pytest.mark.slow
def test_lstm_job_stops_and_resumes_from_checkpoint(store):
    cfg = TrainConfig(epochs=3, patience=10, realign_rounds=0, n_jobs=1, seq_frames=100)
    job = TrainingJob(store, sources=["awb"], target="slt", name="lstm", cfg=cfg, evaluate=False)
    job.start()
    while job.is_active:  # stop as soon as the first epoch has ended
        job.poll()
        if job.history.get("val_loss"):
            job.stop()
        job.join(0.2)
    job.poll()
    assert job.state == "stopped", job.error
    state = json.loads((job.checkpoint_dir / "lstm.json").read_text())
    assert 1 <= state["epoch"] < 3
    job.resume().join(600)
    job.poll()
    assert job.state == "done", job.error
    meta = json.loads((store.models_dir / "lstm" / "bundle.json").read_text())
    assert meta["metrics"]["epochs_run"] == 3 - state["epoch"]  # the resumed run trained only the remaining epochs

"""The local data store: slugs, voices, clips, consent, models and outputs."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from conftest import synth_speech

from workbench.errors import AudioError, WorkbenchError
from workbench.store import Store, StoreError, slugify


@pytest.fixture
def samples(tmp_path):
    """Two sample voices, three sentences each (two train, one test), with a manifest."""
    root = tmp_path / "samples"
    with open(root.mkdir(parents=True) or root / "manifest.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["voice", "utt_id", "split", "gender", "engine", "text"])
        for voice in ("awb", "slt"):
            (root / voice).mkdir()
            (root / voice / "consent.json").write_text(json.dumps({"consent": True}))
            for utt, split in (("s001", "train"), ("s002", "train"), ("s041", "test")):
                sf.write(root / voice / f"{utt}.flac", synth_speech(16_000, duration_s=0.5), 16_000)
                w.writerow([voice, utt, split, "x", "t", f"Sentence {utt}."])
    return root


@pytest.fixture
def store(tmp_path, samples):
    return Store(tmp_path / "data", sample_dir=samples, pretrained_dir=tmp_path / "none")


@pytest.mark.parametrize(("name", "slug"), [
    ("My Voice", "my-voice"), ("  Zoë Ŝmith  ", "zoe-smith"), ("../../etc/passwd", "etc-passwd"),
    ("/abs/path", "abs-path"), ("a" * 100, "a" * 48), ("x..y", "x-y"),
])
def test_slugify_makes_safe_names(name, slug):
    assert slugify(name) == slug


def test_slugify_non_latin_names_stay_distinct():
    a, b = slugify("李雷"), slugify("韩梅梅")
    assert a.startswith("voice-") and b.startswith("voice-") and a != b and a == slugify("李雷")


def test_slugify_rejects_empty():
    with pytest.raises(StoreError, match="A name is needed"):
        slugify("   ")


def test_default_root_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path / "elsewhere"))
    assert Store().root == (tmp_path / "elsewhere").resolve()


def test_samples_are_listed_read_only(store):
    voices = store.list_voices()
    assert [(v.slug, v.read_only, v.n_clips, v.has_consent) for v in voices] == [
        ("awb", True, 3, True), ("slt", True, 3, True)]
    with pytest.raises(StoreError, match="read-only"):
        store.delete_voice("awb")
    with pytest.raises(StoreError, match="read-only"):
        store.save_clip("slt", "s001", synth_speech(16_000), 16_000)


def test_create_save_list_and_transcripts(store):
    v = store.create_voice("Flow Tester")
    assert v.slug == "flow-tester" and (store.voices_dir / "flow-tester" / "voice.json").is_file()
    y = synth_speech(16_000, duration_s=1.2)
    clip = store.save_clip(v.slug, "s002", y, 16_000, text="Sentence s002.")
    assert clip.path == store.voices_dir / "flow-tester" / "s002.wav"
    assert (clip.path.with_suffix(".txt")).read_text() == "Sentence s002.\n"
    back, sr = sf.read(clip.path, dtype="float32")
    assert sr == 16_000 and np.max(np.abs(back - y)) < 1e-4  # 16-bit PCM
    assert [(c.stem, c.text) for c in store.clips(v.slug)] == [("s002", "Sentence s002.")]
    assert store.list_voices()[0].label == "Flow Tester (yours, 1 clip)"
    assert store.create_voice("flow tester").n_clips == 1  # same slug: the existing voice, not a new one


def test_rerecording_replaces_and_leaves_no_temp_files(store):
    v = store.create_voice("me")
    store.save_clip(v.slug, "s001", synth_speech(16_000), 16_000)
    store.save_clip(v.slug, "s001", synth_speech(16_000, duration_s=2.0), 16_000)
    assert [p.name for p in sorted(v.path.iterdir())] == ["s001.wav", "voice.json"]
    assert sf.info(v.path / "s001.wav").duration == pytest.approx(2.0)


def test_clip_stems_cannot_escape_the_voice_folder(store):
    v = store.create_voice("me")
    clip = store.save_clip(v.slug, "../../evil", synth_speech(16_000), 16_000)
    assert clip.path.parent == v.path and clip.stem == "evil"


def test_sample_slug_is_never_shadowed(store):
    assert store.slug_for("AWB") == "awb-2" and store.create_voice("AWB").slug == "awb-2"
    assert store.voice("awb").read_only


def test_import_clip_decodes_and_rejects_garbage(store, speech_wav):
    v = store.create_voice("me")
    clip = store.import_clip(v.slug, speech_wav.read_bytes(), "My Take (1).wav")
    assert clip.stem == "My-Take-1" and clip.path.is_file()
    with pytest.raises(AudioError, match="could not be read as audio"):
        store.import_clip(v.slug, b"nope" * 100, "junk.wav")


def test_rename_and_delete(store):
    v = store.create_voice("first")
    store.save_clip(v.slug, "s001", synth_speech(16_000), 16_000)
    r = store.rename_voice(v.slug, "Second Name")
    assert r.slug == "second-name" and r.name == "Second Name" and r.n_clips == 1
    assert not (store.voices_dir / "first").exists()
    with pytest.raises(StoreError, match="already exists"):
        store.rename_voice(r.slug, "slt")
    store.delete_clip(r.slug, "s001")
    assert store.clips(r.slug) == []
    store.delete_voice(r.slug)
    assert [v.slug for v in store.list_voices(include_samples=False)] == []
    with pytest.raises(StoreError, match="No voice"):
        store.voice("second-name")


def test_consent_is_stored_beside_the_voice_with_its_check(store):
    v = store.create_voice("me")
    assert store.consent(v.slug) is None and not v.has_consent
    import io

    buf = io.BytesIO()
    sf.write(buf, synth_speech(16_000), 16_000, format="WAV")
    with pytest.raises(StoreError, match="recorded"):
        store.save_consent(v.slug, speaker="Me Myself", statement="I agree.", date="2026-12-01", recording=b"")
    record = store.save_consent(v.slug, speaker="Me Myself", statement="I agree.", date="2026-12-01",
                                recording=buf.getvalue())
    assert json.loads((v.path / "consent.json").read_text()) == record and record["recording"] == "consent.wav"
    assert (v.path / "consent.wav").is_file() and store.clips(v.slug) == [] and store.voice(v.slug).n_clips == 0
    assert record["consent"] is True and record["date"] == "2026-12-01" and record["speaker"] == "Me Myself"
    assert len(record["sha256"]) == 64
    # a synthetic buzz says no words and the voice has no clips to compare with: stored, but not a target
    assert record["check"]["passed"] is False and record["check"]["speaker"]["cosine"] is None
    assert not store.voice(v.slug).has_consent and store.consent(v.slug) is None


def test_prompts_and_splits(store):
    assert [p["utt_id"] for p in store.prompts(n_train=1, n_test=1)] == ["s001", "s041"]
    assert [p.stem for p in store.split_files("awb", "train")] == ["s001", "s002"]
    assert [p.stem for p in store.split_files("awb", "test")] == ["s041"]


def test_models_newest_first_and_unique_dirs(store):
    for slug, created in (("old", "2026-01-01T00:00:00+00:00"), ("new", "2026-06-01T00:00:00+00:00")):
        (store.models_dir / slug).mkdir(parents=True)
        (store.models_dir / slug / "bundle.json").write_text(json.dumps({"created": created, "kind": "lstm"}))
    (store.models_dir / ".new.tmp.part").mkdir()  # an in-progress atomic save is not a model
    (store.models_dir / "half").mkdir()  # nor is a folder without bundle.json
    assert [m.slug for m in store.list_models()] == ["new", "old"]
    assert store.new_model_dir("new") == store.models_dir / "new-2"
    store.write_model_file("new", "metrics.json", {"mcd_db": 5.5})
    assert store.list_models()[0].metrics == {"mcd_db": 5.5}
    store.delete_model("old")
    assert [m.slug for m in store.list_models()] == ["new"]
    with pytest.raises(StoreError):
        store.write_model_file("new", "../evil.json", {})


def test_save_output_writes_audio_and_provenance(store):
    y = synth_speech(16_000, duration_s=0.7)
    out = store.save_output(y, 16_000, model="awb-to-slt", source="awb/s041.flac", extra={"input": "sample"})
    assert out.path.parent == store.outputs_dir and out.path.suffix == ".wav"
    side = json.loads(out.path.with_suffix(".json").read_text())
    assert side["model"] == "awb-to-slt" and side["source"] == "awb/s041.flac" and side["duration_s"] == 0.7
    assert side["input"] == "sample" and "created" in side
    assert [o.path for o in store.list_outputs()] == [out.path]


def test_saved_outputs_carry_the_watermark_and_provenance(store):
    from workbench.audio import load_audio
    from workbench.provenance import read_provenance
    from workbench.watermark import detect_watermark

    y = synth_speech(16_000, duration_s=3.0)
    out = store.save_output(y, 16_000, model="awb-to-slt", source="awb/s041.flac", extra={"target_voice": "bob"})
    marked, sr = load_audio(out.path, sr=None)
    assert detect_watermark(marked, sr).detected and not detect_watermark(y, 16_000).detected
    assert read_provenance(out.path)["model"] == "awb-to-slt"


def test_store_error_is_a_workbench_error():
    assert issubclass(StoreError, WorkbenchError)


@pytest.mark.parametrize("renamed", [False, True])
def test_delete_voice_removes_everything_made_from_it(store, samples, renamed):
    """Real GMM bundles trained on the voice (as target and as source); other models and outputs stay.

    Renamed after training, the voice still takes what was made under its former name with it, and a new
    voice cannot take that former name (it would inherit those models)."""
    from workbench.config import TrainConfig
    from workbench.training import train_conversion

    folders = {}
    for name, f0 in (("Me", 220.0), ("Ann", 120.0), ("Bob", 160.0)):
        v = store.create_voice(name)
        for utt in ("s001", "s002", "s041"):
            store.save_clip(v.slug, utt, synth_speech(16_000, duration_s=2.5, f0_hz=f0), 16_000, text=f"Sentence {utt}.")
        folders[v.slug] = v.path
    me = store.voice("me")
    (me.path / "consent.json").write_text(json.dumps({"consent": True}))
    cfg = TrainConfig(model="gmm", gmm_components=2, n_jobs=1)
    to_me = train_conversion(folders["ann"], me.path, store.new_model_dir("ann-to-me"), cfg=cfg).bundle_dir
    from_me = train_conversion(me.path, folders["bob"], store.new_model_dir("me-to-bob"), cfg=cfg).bundle_dir
    other = train_conversion(folders["ann"], folders["bob"], store.new_model_dir("ann-to-bob"), cfg=cfg).bundle_dir
    (store.root / "checkpoints" / to_me.name / "lstm.json").write_text("{}")  # its folder: new_model_dir made it
    y = synth_speech(16_000, duration_s=0.5)
    made = [store.save_output(y, 16_000, model=to_me.name, source="ann/s041.wav", extra={"target_voice": "me"}),
            store.save_output(y, 16_000, model=from_me.name, source="upload.wav", extra={"target_voice": "bob"}),
            store.save_output(y, 16_000, model=other.name, source="me/s041.wav", extra={"target_voice": "bob"})]
    kept = store.save_output(y, 16_000, model=other.name, source="awb/s041.flac", extra={"target_voice": "bob"})
    if renamed:
        me = store.rename_voice("me", "Me Again")
        assert store.slug_for("me") == "me-2"
    models, outputs = store.made_from(me.slug)
    assert sorted(m.slug for m in models) == ["ann-to-me", "me-to-bob"]
    assert sorted(o.path for o in outputs) == sorted(o.path for o in made)

    removal = store.delete_voice(me.slug)
    assert removal.clips == 3 and removal.consent and sorted(removal.models) == ["ann-to-me", "me-to-bob"]
    assert sorted(removal.outputs) == sorted(o.path.name for o in made)
    assert removal.summary() == (f"Deleted voice '{me.slug}': 3 clips, its consent record, 2 models (ann-to-me, me-to-bob) "
                                 "and 3 outputs made with them.")
    for p in (me.path, to_me, from_me, store.root / "checkpoints" / to_me.name,
              *(o.path for o in made), *(o.path.with_suffix(".json") for o in made)):
        assert not p.exists() and p in removal.paths
    assert [m.slug for m in store.list_models()] == ["ann-to-bob"] and (other / "bundle.json").is_file()
    assert [o.path for o in store.list_outputs()] == [kept.path] and kept.path.with_suffix(".json").is_file()
    assert [v.slug for v in store.list_voices()] == ["ann", "bob", "awb", "slt"]  # others untouched


def test_new_model_dir_reserves_one_folder_per_caller(store):
    """Eight threads ask for the same model name at once: eight different folders."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda _: store.new_model_dir("same name"), range(8)))
    assert len(set(dirs)) == 8 and dirs[0].parent == store.models_dir
    assert all((store.root / "checkpoints" / d.name).is_dir() for d in dirs)

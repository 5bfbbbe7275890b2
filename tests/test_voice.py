"""Text in a cloned voice: parallel TTS data from transcripts, train_voice bundles and VoiceSpeaker.say."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from workbench.config import TrainConfig
from workbench.errors import BundleError, DataError
from workbench.metrics import word_error_rate
from workbench.speech.asr import transcribe
from workbench.speech.cascade import mcd_to_reference
from workbench.speech.text import EmptyTextError, TooLongTextError
from workbench.speech.tts import TtsConfig
from workbench.speech.voice import (
    TTS_FILE,
    VoiceSpeaker,
    default_train_config,
    default_tts,
    read_transcripts,
    read_voice_spec,
    speak,
    synthesize_parallel,
    train_voice,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"
SAY_SLT = ROOT / "workbench" / "pretrained" / "say-slt"


def link(tmp: Path, voice: str, ids, *, transcripts=True, name="voice") -> Path:
    d = tmp / name
    d.mkdir()
    for i in ids:
        os.symlink(SAMPLES / voice / f"{i}.flac", d / f"{i}.flac")
        if transcripts:
            os.symlink(SAMPLES / voice / f"{i}.txt", d / f"{i}.txt")
    os.symlink(SAMPLES / voice / "consent.json", d / "consent.json")
    return d


def test_read_transcripts_pairs_audio_with_text(tmp_path):
    d = link(tmp_path, "slt", ["s001", "s002", "s003", "s004"])
    (d / "s004.txt").unlink()
    (d / "s004.txt").write_text("  \n")  # an empty transcript does not count
    (d / "orphan.txt").write_text("no audio for this one")
    got = read_transcripts(d)
    assert sorted(got) == ["s001", "s002", "s003"]
    assert got["s001"] == (SAMPLES / "slt" / "s001.txt").read_text().strip()


def test_read_transcripts_refuses_untranscribed_folders(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_transcripts(tmp_path / "missing")
    d = link(tmp_path, "slt", ["s001", "s002", "s003"], transcripts=False)
    with pytest.raises(DataError, match="3 recording\\(s\\) but only 0 with a transcript"):
        read_transcripts(d)


def test_speak_joins_sentences_at_the_requested_rate():
    one, sentences = speak("Good morning.", TtsConfig(), sr=16_000)
    two, sentences2 = speak("Good morning. Good morning.", TtsConfig(), sr=16_000)
    assert sentences == ["Good morning."] and sentences2 == ["Good morning.", "Good morning."]
    assert len(two) == pytest.approx(2 * len(one) + 0.15 * 16_000, rel=0.02)
    with pytest.raises(EmptyTextError):
        speak("?!", TtsConfig(), sr=16_000)


def test_synthesize_parallel_writes_one_file_per_speakable_transcript(tmp_path):
    written = synthesize_parallel({"a": "One sentence.", "b": "Another one here.", "c": "A third.", "d": "!!!"},
                                  tmp_path / "tts", TtsConfig(), sr=16_000)
    assert [p.name for p in written] == ["a.wav", "b.wav", "c.wav"]
    info = sf.info(written[0])
    assert info.samplerate == 16_000 and info.channels == 1
    with pytest.raises(DataError, match="Only 1 transcript"):
        synthesize_parallel({"a": "Fine.", "b": "", "c": "???"}, tmp_path / "tts2", TtsConfig(), sr=16_000)


def test_text_to_voice_training_looks_further_ahead_than_live_bundles():
    assert default_train_config().lookahead_frames == 10 > TrainConfig().lookahead_frames
    assert default_train_config(seed=3, lookahead_frames=2) == TrainConfig(seed=3, lookahead_frames=2)
    # the phonetic term keeps the words of the converted TTS voice (say WER 0.55 -> 0.35 over 70 sentences)
    cfg = default_train_config()
    assert cfg.phonetic_input and cfg.phonetic_loss_weight == TrainConfig().phonetic_loss_weight > 0


def test_voice_to_voice_bundle_cannot_speak_text():
    with pytest.raises(BundleError, match="no tts.json"):
        read_voice_spec(ROOT / "workbench" / "pretrained" / "awb-to-slt")
    with pytest.raises(BundleError, match="No model bundle"):
        VoiceSpeaker.load(ROOT / "nowhere")


def test_shipped_say_bundle_names_its_tts_voice():
    tts, text_cfg = read_voice_spec(SAY_SLT)
    assert tts == default_tts() or tts.engine == "espeak-ng"
    meta = json.loads((SAY_SLT / "bundle.json").read_text())
    assert meta["target_voice"] == "slt" and meta["source_voices"] == [f"{tts.engine}-{tts.voice}"]
    assert sum(f.stat().st_size for f in SAY_SLT.iterdir()) < 2_500_000


def test_shipped_say_bundle_speaks_in_the_target_voice():
    speaker = VoiceSpeaker.load(SAY_SLT)
    text = (SAMPLES / "slt" / "s044.txt").read_text()
    result = speaker.say(text)
    assert result.sr == 16_000 and result.y.dtype == np.float32 and len(result.y) == len(result.tts_y)
    assert set(result.timings) == {"text", "synthesis", "conversion"}
    assert word_error_rate(text, transcribe(result.y, result.sr).text) <= 0.5
    ref, ref_sr = sf.read(SAMPLES / "slt" / "s044.flac", dtype="float32")
    # converted speech is much closer to the target's own reading than the TTS voice it came from
    assert mcd_to_reference(result.y, result.sr, ref, ref_sr) < mcd_to_reference(result.tts_y, result.sr, ref, ref_sr) - 2.0
    with pytest.raises(TooLongTextError):
        speaker.say("word " * 400)


@pytest.mark.slow
def test_train_voice_writes_a_speaking_bundle(tmp_path):
    target = link(tmp_path, "slt", [f"s{i:03d}" for i in range(1, 9)])
    out = tmp_path / "bundle"
    result = train_voice(target, out, tts=TtsConfig(), cfg=TrainConfig(model="gmm", gmm_components=4))
    assert result.bundle_dir == out and (out / TTS_FILE).is_file() and (out / "bundle.json").is_file()
    assert read_voice_spec(out)[0] == TtsConfig()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".train-voice")]  # staging removed
    speaker = VoiceSpeaker.load(out)
    said = speaker.say("A brown fox crept under the fence beside the sleepy river.")
    ref, ref_sr = sf.read(SAMPLES / "slt" / "s001.flac", dtype="float32")
    assert mcd_to_reference(said.y, said.sr, ref, ref_sr) < mcd_to_reference(said.tts_y, said.sr, ref, ref_sr) - 1.0

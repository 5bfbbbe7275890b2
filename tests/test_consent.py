"""Consent that is checked: the statement's words (PocketSphinx) and the speaker (speaker encoder), on real clips.

The positive case is the flite ``slt`` voice reading the statement for a voice made of the ``slt`` sample
clips; the negatives are another flite voice (``awb``) reading it, and ``slt`` reading a different sentence.
"""

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from workbench.consent import (
    CONSENT_FILE,
    ConsentCheckConfig,
    check_consent,
    consent_advice,
    consent_statement,
    date_in_words,
    read_consent,
    record_in_bundle,
    word_match_rate,
    write_consent,
)
from workbench.errors import ConfigError, ConsentError
from workbench.store import Store

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 12, 1)
needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="needs the flite binary")


def test_date_in_words_and_statement():
    assert date_in_words(DAY) == "the first of December, two thousand twenty six"
    assert date_in_words(date(2031, 3, 22)) == "the twenty second of March, two thousand thirty one"
    assert date_in_words(date(2030, 7, 30)) == "the thirtieth of July, two thousand thirty"
    assert date_in_words(date(2026, 2, 12)) == "the twelfth of February, two thousand twenty six"
    assert "Today is the first of December, two thousand twenty six." in consent_statement(DAY)


def test_word_match_rate():
    s = consent_statement(DAY)
    assert word_match_rate(s, s.upper()) == 1.0
    heard = "i agree that my advice may be used to train voice conversion models"
    assert word_match_rate("I agree that my voice may be used", heard) == pytest.approx(7 / 8)
    assert word_match_rate(s, "") == 0.0 and word_match_rate("", "anything") == 0.0
    assert word_match_rate(s, " ".join(reversed(s.split()))) < 0.2  # the right words in the wrong order
    with pytest.raises(ConfigError, match="min_word_match"):
        ConsentCheckConfig(min_word_match=0.0)


def test_records_are_atomic_and_a_failed_check_is_no_consent(tmp_path):
    write_consent(tmp_path, {"consent": True, "check": {"passed": False}})
    assert read_consent(tmp_path) is None and [p.name for p in tmp_path.iterdir()] == [CONSENT_FILE]
    write_consent(tmp_path, {"consent": True, "check": {"passed": True}})
    assert read_consent(tmp_path)["check"]["passed"] is True
    (tmp_path / CONSENT_FILE).unlink()
    with pytest.raises(ConsentError, match="--i-have-consent"):
        check_consent(tmp_path)
    assert check_consent(tmp_path, confirmed=True)["basis"].startswith("confirmed")
    (tmp_path / "bundle.json").write_text(json.dumps({"kind": "gmm"}))
    record_in_bundle(tmp_path, check_consent(tmp_path))
    assert json.loads((tmp_path / "bundle.json").read_text())["consent"]["basis"].startswith("confirmed")


def _flite(voice: str, text: str, out: Path) -> bytes:
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(out)], check=True, timeout=60)
    return out.read_bytes()


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """One own voice of four slt sample clips and three consent recordings, checked by the store."""
    tmp = tmp_path_factory.mktemp("consent")
    store = Store(tmp / "data")
    voice = store.create_voice("Sarah")
    for p in sorted((ROOT / "sample_audio" / "slt").glob("s00[1-4].flac")):
        store.import_clip(voice.slug, p.read_bytes(), p.name)
    statement = consent_statement(DAY)
    out = {}
    for case, (flite_voice, text) in {"slt": ("slt", statement), "awb": ("awb", statement),
                                      "other words": ("slt", "The birch canoe slid on the smooth planks.")}.items():
        clip = _flite(flite_voice, text, tmp / f"{flite_voice}.wav")
        out[case] = store.save_consent(voice.slug, speaker="Sarah", statement=statement, date=DAY.isoformat(),
                                       recording=clip)
        out[case + " has_consent"] = store.voice(voice.slug).has_consent
    return out


@needs_flite
def test_the_owner_reading_the_statement_passes(checked):
    rec = checked["slt"]
    assert rec["check"]["passed"] and checked["slt has_consent"]
    assert rec["check"]["words"]["match_rate"] >= 0.6 and rec["check"]["speaker"]["clips"] == 4
    assert rec["check"]["speaker"]["cosine"] > rec["check"]["speaker"]["threshold"] > 0.0
    assert consent_advice(rec["check"]) == []


@needs_flite
def test_another_speaker_reading_it_fails_on_the_speaker(checked):
    rec = checked["awb"]
    assert rec["check"]["words"]["passed"] and not rec["check"]["speaker"]["passed"]
    assert not rec["check"]["passed"] and not checked["awb has_consent"]
    assert rec["check"]["speaker"]["cosine"] < checked["slt"]["check"]["speaker"]["cosine"] - 0.3
    assert "owner of the voice must read it" in " ".join(consent_advice(rec["check"]))


@needs_flite
def test_other_words_fail_on_the_words(checked):
    rec = checked["other words"]
    assert rec["check"]["speaker"]["passed"] and not rec["check"]["words"]["passed"]
    assert rec["check"]["words"]["match_rate"] < 0.3 and not checked["other words has_consent"]
    assert "Read the whole statement" in consent_advice(rec["check"])[0]

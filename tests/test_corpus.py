"""Tests of workbench.corpus: the sample manifest and split folders for training and evaluation."""

from __future__ import annotations

import pytest
from conftest import ROOT

from workbench import corpus
from workbench.data import pair_files
from workbench.errors import DataError

SAMPLES = ROOT / "sample_audio"


@pytest.fixture
def tiny_corpus(tmp_path, speech_wav):
    """Two voices, three sentences each (s1, s2 train; s3 test), with a consent record for ``b``."""
    root = tmp_path / "corpus"
    lines = ["voice,utt_id,split,gender,engine,text"]
    for voice in ("a", "b"):
        (root / voice).mkdir(parents=True)
        for utt, split in (("s1", "train"), ("s2", "train"), ("s3", "test")):
            (root / voice / f"{utt}.flac").write_bytes(speech_wav.read_bytes())
            lines.append(f"{voice},{utt},{split},female,test,Sentence {utt}.")
    (root / "b" / "consent.json").write_text("{}")
    (root / corpus.MANIFEST).write_text("\n".join(lines) + "\n")
    return root


def test_link_split_holds_exactly_the_split_and_pairs(tiny_corpus, tmp_path):
    out = tmp_path / "splits"
    a = corpus.link_split(tiny_corpus, "a", "train", out)
    b = corpus.link_split(tiny_corpus, "b", "train", out)
    assert a == out / "train" / "a"
    assert sorted(p.name for p in a.iterdir()) == ["s1.flac", "s2.flac"]
    assert sorted(p.name for p in b.iterdir()) == ["consent.json", "s1.flac", "s2.flac"]
    assert [(s.name, t.name) for s, t in pair_files(a, b, min_pairs=2)] == [("s1.flac", "s1.flac"), ("s2.flac", "s2.flac")]
    assert (a / "s1.flac").read_bytes() == (tiny_corpus / "a" / "s1.flac").read_bytes()


def test_link_split_limit_keeps_manifest_order_and_relinking_replaces(tiny_corpus, tmp_path):
    first = corpus.link_split(tiny_corpus, "a", "train", tmp_path, limit=1)
    assert [p.name for p in first.iterdir()] == ["s1.flac"]
    again = corpus.link_split(tiny_corpus, "a", "train", tmp_path)
    assert again == first and len(list(again.iterdir())) == 2


def test_unknown_voice_or_missing_manifest_raise_data_error(tiny_corpus, tmp_path):
    with pytest.raises(DataError, match="no 'test' files for voice 'zz'"):
        corpus.link_split(tiny_corpus, "zz", "test", tmp_path)
    with pytest.raises(DataError, match="No manifest.csv"):
        corpus.read_manifest(tmp_path)
    (tiny_corpus / "a" / "s3.flac").unlink()
    with pytest.raises(DataError, match="missing"):
        corpus.link_split(tiny_corpus, "a", "test", tmp_path)


@pytest.mark.skipif(not (SAMPLES / corpus.MANIFEST).is_file(), reason="sample corpus not generated")
def test_sample_corpus_test_split_is_the_last_ten_sentences(tmp_path):
    rows = corpus.read_manifest(SAMPLES)
    assert {r["voice"] for r in rows} >= {"awb", "slt"}
    folder = corpus.link_split(SAMPLES, "slt", "test", tmp_path)
    assert sorted(p.stem for p in folder.glob("*.flac")) == [f"s{i:03d}" for i in range(41, 51)]

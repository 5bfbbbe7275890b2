"""Measure the text path on the sample test split (s041-s050) and write ``say-slt/evaluation.md``.

Usage::

    nice -n 10 .venv/bin/python scripts/measure_text_path.py [--bundle workbench/pretrained/say-slt] [--no-write]

1. PocketSphinx WER on the clean sample voices (the TTS voices of the corpus).
2. ``say`` output (text -> TTS -> slt): WER, and MCD to slt's own recordings of the same sentences, against the
   plain TTS voice.
3. The cascade's end-to-end time per second of input speech.
4. The race: direct conversion vs the cascade on the same inputs (awb with ``awb-to-slt``; the unseen kal16 with
   ``any-to-slt``): latency, real-time factor, WER, MCD to slt's reading (speaker similarity is NaN until a speaker
   encoder is passed to ``race``).
WER is the mean over utterances of (S + D + I) / N after lower-casing and dropping punctuation.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.audio import load_audio  # noqa: E402
from workbench.inference import VoiceConverter  # noqa: E402
from workbench.metrics import word_error_rate  # noqa: E402
from workbench.speech.asr import transcribe  # noqa: E402
from workbench.speech.cascade import format_race, mcd_to_reference, race  # noqa: E402
from workbench.speech.voice import VoiceSpeaker  # noqa: E402

SAMPLES = ROOT / "sample_audio"


def test_rows() -> list[dict[str, str]]:
    return [r for r in csv.DictReader(open(SAMPLES / "manifest.csv")) if r["split"] == "test"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", default=str(ROOT / "workbench" / "pretrained" / "say-slt"))
    ap.add_argument("--no-write", action="store_true", help="print only; do not write evaluation.md")
    args = ap.parse_args()
    rows = test_rows()
    lines = []

    # 1. recognition on the clean sample voices
    asr = {}
    for voice in sorted({r["voice"] for r in rows}):
        utts = [r for r in rows if r["voice"] == voice]
        wers = [word_error_rate(r["text"], transcribe(*load_audio(SAMPLES / voice / f"{r['utt_id']}.flac", sr=None)).text)
                for r in utts]
        asr[voice] = (float(np.mean(wers)), utts[0]["engine"], len(utts))
    lines += ["### PocketSphinx WER on the sample test sentences", "", "| voice | engine | WER | n |", "|---|---|---|---|"]
    lines += [f"| {v} | {e} | {w:.3f} | {n} |" for v, (w, e, n) in asr.items()]

    # 2. say output against the plain TTS voice
    speaker = VoiceSpeaker.load(args.bundle)
    slt = [r for r in rows if r["voice"] == "slt"]
    said = {"say": ([], []), "tts": ([], [])}
    for r in slt:
        res = speaker.say(r["text"])
        ref = load_audio(SAMPLES / "slt" / f"{r['utt_id']}.flac", sr=None)
        for key, y in (("say", res.y), ("tts", res.tts_y)):
            said[key][0].append(word_error_rate(r["text"], transcribe(y, res.sr).text))
            said[key][1].append(mcd_to_reference(y, res.sr, *ref))
    lines += ["", f"### `say` with {Path(args.bundle).name} ({speaker.description}) on the slt test sentences", "",
              "| output | WER | MCD to slt's recordings (dB) |", "|---|---|---|",
              f"| plain TTS ({speaker.tts.label}) | {np.mean(said['tts'][0]):.3f} | {np.mean(said['tts'][1]):.2f} |",
              f"| `say` (TTS converted to slt) | {np.mean(said['say'][0]):.3f} | {np.mean(said['say'][1]):.2f} |"]

    # 3 + 4. cascade timing and the race
    lines += ["", "### Direct conversion vs the cascade (same inputs, mean over the test sentences)", ""]
    per_second = []
    for voice, bundle in (("awb", "awb-to-slt"), ("kal16", "any-to-slt")):
        direct = VoiceConverter.load(ROOT / "workbench" / "pretrained" / bundle)
        results = []
        for r in [r for r in rows if r["voice"] == voice]:
            y, sr = load_audio(SAMPLES / voice / f"{r['utt_id']}.flac", sr=None)
            ref = load_audio(SAMPLES / "slt" / f"{r['utt_id']}.flac", sr=None)
            results.append(race(y, sr, direct=direct, speaker=speaker, reference_text=r["text"], target=ref))
        table = []
        for i, route in enumerate(("direct", "cascade")):
            rs = [res[i] for res in results]
            table.append({"route": route, "latency_s": float(np.mean([x.latency_s for x in rs])),
                          "rtf": float(np.mean([x.rtf for x in rs])), "wer": float(np.mean([x.wer for x in rs])),
                          "mcd_db": float(np.mean([x.mcd_db for x in rs])), "similarity": float("nan")})
        per_second += [res[1].rtf for res in results]
        stage = {k: float(np.mean([res[1].timings[k] for res in results])) for k in results[0][1].timings}
        lines += [f"Input {voice} (test split), direct = `{bundle}`, cascade = `{Path(args.bundle).name}`:", "", "```",
                  format_race(table), "```", "", "Cascade stages (mean s): " +
                  ", ".join(f"{k} {v:.3f}" for k, v in stage.items()), ""]
    lines += [f"Cascade end-to-end time per second of input speech: {np.mean(per_second):.3f} s "
              f"(min {np.min(per_second):.3f}, max {np.max(per_second):.3f}, n={len(per_second)}).", "",
              "Similarity is NaN: no speaker encoder is passed yet (`race(..., similarity=fn)` is the hook)."]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        (Path(args.bundle) / "evaluation.md").write_text(
            f"## {Path(args.bundle).name}\n\nText -> {speaker.description}; made by `scripts/train_say_voice.py`, "
            f"measured by `scripts/measure_text_path.py` on this machine (2 busy CPU cores, so times are upper "
            f"bounds).\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate many synthetic speakers for training and testing the speaker encoder.

Six sample voices are too few to learn what a "speaker" is. This script renders the project's sentences
(from ``make_sample_audio.SENTENCES``) with many more synthetic voices:

- flite's five voices (``kal kal16 awb rms slt``);
- pitch / vocal-tract variants of them made with ``sox pitch`` (which shifts F0 and formants together,
  like a shorter or longer vocal tract) and ``sox pitch`` + ``speed`` (formants and F0 by different amounts);
- espeak-ng accents x voice variants (``en-us+m1``, ``en-gb-scotland+f2``, ...).

Each speaker gets the training sentences ``s001``-``s030`` and the test sentences ``s041``-``s050`` (the
same split as ``sample_audio``), processed like the sample corpus (16 kHz mono, trimmed, -22 dBFS). For
every speaker (and the six sample voices) a few training utterances are also resynthesised with the WORLD
vocoder (``w_sNNN.flac``), so that the encoder learns that vocoder artefacts are not a speaker.

``speakers.csv`` lists every speaker with its recipe and role: ``train`` (used to train the encoder) or
``unseen`` (held out: the encoder never hears these voices). Nothing here is committed; the script
regenerates the data deterministically.

Usage::

    nice -n 10 .venv/bin/python scripts/make_speaker_data.py --out workbench_data/speakers
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_sample_audio as corpus  # noqa: E402

SAMPLE_VOICES = ("awb", "kal16", "rms", "slt", "espeak_f3", "espeak_m3")
TRAIN_IDS = [f"s{i:03d}" for i in range(1, 31)]
TEST_IDS = [f"s{i:03d}" for i in range(41, 51)]
N_WORLD = 5  # WORLD copy-synthesis utterances per speaker


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: an engine voice, optionally transformed with sox."""

    speaker_id: str
    engine: str
    engine_voice: str
    sox: tuple[str, ...] = ()
    role: str = "train"


def speakers() -> list[Speaker]:
    out = [Speaker("kal", "flite", "kal", role="unseen")]
    shifts = {"awb": (-300, 250), "kal16": (300, -250), "rms": (-250, 400), "slt": (-350, 250)}
    for base, cents in shifts.items():
        for c in cents:
            out.append(Speaker(f"{base}_p{c:+d}", "flite", base, ("pitch", str(c))))
    # F0 and formants moved by different amounts: pitch shift, then a speed change that moves both back
    for base, (c, speed) in {"awb": (500, 0.85), "slt": (-500, 1.15), "rms": (400, 0.9)}.items():
        out.append(Speaker(f"{base}_vt{c:+d}", "flite", base, ("pitch", str(c), "speed", str(speed))))
    accents = ["en-us", "en", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc", "en-gb-x-gbcwmd"]
    variants = ["m1", "m2", "m4", "m5", "m6", "m7", "f1", "f2", "f4", "f5", "klatt", "Andy", "Annie", "Alex",
                "edward", "linda", "Michael", "steph", "grandpa", "Storm"]
    for k, variant in enumerate(variants):
        accent = accents[k % len(accents)]
        out.append(Speaker(f"es_{accent}_{variant}".replace("-", ""), "espeak-ng", f"{accent}+{variant}"))
    held = {"rms_p+400", "slt_vt-500", "es_en_linda", "es_enus_edward", "es_engbscotland_f5", "es_enusnyc_Annie"}
    return [Speaker(s.speaker_id, s.engine, s.engine_voice, s.sox, "unseen" if s.speaker_id in held else s.role)
            for s in out]


def render(job: tuple[Speaker, str, str, Path]) -> str:
    spk, utt_id, text, out = job
    path = out / spk.speaker_id / f"{utt_id}.flac"
    if path.exists():
        return str(path)
    voice = corpus.Voice(spk.speaker_id, spk.engine, spk.engine_voice, "", "")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "raw.wav"
        corpus.synthesize(voice, text, wav)
        if spk.sox:
            moved = Path(tmp) / "sox.wav"
            subprocess.run(["sox", "-D", str(wav), "-e", "floating-point", "-b", "32", str(moved), *spk.sox],
                           check=True, capture_output=True)
            wav = moved
        y = corpus.process(wav)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, corpus.SR, subtype="PCM_16")
    path.with_suffix(".txt").write_text(text + "\n")
    return str(path)


def world_copy(job: tuple[Path, Path]) -> str:
    """WORLD analysis + resynthesis of one utterance (the vocoder every converter here uses)."""
    from workbench.features import world_analyze, world_synthesize

    src, dst = job
    if dst.exists():
        return str(dst)
    y, sr = sf.read(src, dtype="float32")
    out = world_synthesize(world_analyze(y), n_samples=len(y))
    out = np.clip(out * np.sqrt(np.mean(y**2) / max(1e-12, float(np.mean(out**2)))), -1.0, 1.0)  # same level
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, out, sr, subtype="PCM_16")
    return str(dst)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="workbench_data/speakers", help="output folder (one sub-folder per speaker)")
    p.add_argument("--sample-audio", default="sample_audio", help="the sample corpus (for WORLD copies)")
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    spks = speakers()
    sentences = dict(zip(corpus.utt_ids(), corpus.SENTENCES))
    jobs = [(s, u, sentences[u], out) for s in spks for u in TRAIN_IDS + TEST_IDS]
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, _ in enumerate(pool.map(render, jobs, chunksize=8)):
            if i % 200 == 0:
                print(f"rendered {i}/{len(jobs)}", flush=True)
    copies = [(out / s.speaker_id / f"{u}.flac", out / s.speaker_id / f"w_{u}.flac")
              for s in spks for u in TRAIN_IDS[:N_WORLD]]
    copies += [(Path(args.sample_audio) / v / f"{u}.flac", out / "_world" / v / f"w_{u}.flac")
               for v in SAMPLE_VOICES for u in TRAIN_IDS[:N_WORLD]]
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(world_copy, copies, chunksize=4))
    with open(out / "speakers.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["speaker", "engine", "engine_voice", "sox", "role"])
        for s in spks:
            w.writerow([s.speaker_id, s.engine, s.engine_voice, " ".join(s.sox), s.role])
    print(f"{len(spks)} speakers in {out} ({sum(s.role == 'unseen' for s in spks)} held out)")


if __name__ == "__main__":
    main()

"""Write the shipped speaker encoder's EER operating point (the cosine threshold) into its bundle.json.

The consent check (``workbench.consent.check_consent_clip``) calls a clip the voice's owner when its cosine
to the voice's centroid is at least this threshold. It is measured on the sample voices' held-out test
clips: every clip is scored against every voice's centroid of its *training* clips (one same-speaker and
five different-speaker trials per clip), and the threshold is where false acceptances equal false rejections (when the voices separate
completely, EER 0, the middle of the gap between the lowest same-speaker and highest other-speaker score).

Usage: ``python scripts/encoder_threshold.py [--clips 8]``
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from workbench.audio import load_audio
from workbench.speaker import DEFAULT_ENCODER, equal_error_rate, load_speaker_encoder, voice_centroid
from workbench.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8, help="training clips per centroid and test clips per voice")
    args = ap.parse_args()
    store, enc = Store(), load_speaker_encoder()
    voices = [v.slug for v in store.list_voices() if v.read_only]
    cents, tests = {}, {}
    for v in voices:
        train = [load_audio(p, sr=enc.sr)[0] for p in store.split_files(v, "train")[: args.clips]]
        cents[v] = voice_centroid(enc, train, enc.sr)
        test = [load_audio(p, sr=enc.sr)[0] for p in store.split_files(v, "test")[: args.clips]]
        tests[v] = enc.embed_many(test, enc.sr)
    scores, labels = [], []
    for v, emb in tests.items():
        e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        for w, c in cents.items():
            scores += list(e @ c)
            labels += [v == w] * len(e)
    eer, thr = equal_error_rate(np.array(scores), np.array(labels))
    same = np.array(scores)[np.array(labels)]
    diff = np.array(scores)[~np.array(labels)]
    if eer == 0.0:  # every threshold in the gap separates the voices: take the middle of the gap
        thr = (float(same.min()) + float(diff.max())) / 2.0
    path = DEFAULT_ENCODER / "bundle.json"
    meta = json.loads(path.read_text())
    meta["operating_point"] = {
        "threshold": round(float(thr), 4), "eer": round(eer, 4), "trials": len(scores), "voices": voices,
        "same_min": round(float(same.min()), 4), "different_max": round(float(diff.max()), 4),
        "measured_by": "scripts/encoder_threshold.py (test clip vs training-clip centroid, sample voices)",
    }
    path.write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta["operating_point"], indent=2))


if __name__ == "__main__":
    main()

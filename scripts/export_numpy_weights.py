"""Write ``weights.npz`` (the NumPy LSTM's arrays) beside ``model.keras`` in LSTM/GAN bundles that lack it.

    .venv/bin/python scripts/export_numpy_weights.py [BUNDLE ...]   (default: workbench/pretrained/*)

Bundles saved by this version already carry the file; older ones still load (through Keras) without it,
but then conversion imports TensorFlow. The arrays are checked against the Keras model before writing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.bundle import load_keras_model, read_meta  # noqa: E402
from workbench.models.lstm import WEIGHTS_FILE, NumpyLSTM  # noqa: E402


def export(bundle: Path) -> None:
    meta = read_meta(bundle)
    if not (bundle / "model.keras").is_file():
        print(f"{bundle.name}: {meta.kind} bundle without model.keras, skipped")
        return
    model = load_keras_model(bundle, meta)
    lstm = NumpyLSTM.from_model(model)
    x = np.random.default_rng(0).normal(size=(50, lstm.in_dim)).astype(np.float32)
    err = float(np.abs(np.asarray(model(x[None], training=False))[0] - lstm.run(x)[0]).max())
    if err > 1e-4:
        raise SystemExit(f"{bundle.name}: NumPy and Keras outputs differ by {err:.2e}; not written")
    lstm.save(bundle / WEIGHTS_FILE)
    print(f"{bundle.name}: wrote {WEIGHTS_FILE} ({(bundle / WEIGHTS_FILE).stat().st_size / 1024:.0f} KiB, max |diff| {err:.1e})")


if __name__ == "__main__":
    bundles = [Path(p) for p in sys.argv[1:]] or sorted(p.parent for p in (ROOT / "workbench/pretrained").glob("*/bundle.json"))
    for b in bundles:
        export(b)

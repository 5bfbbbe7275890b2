"""Command-line tools of the speech path: ``train-voice``, ``say`` and ``transcribe``.

``register(sub)`` adds the subcommands to the main parser (``cli.build_parser``); errors reach
``cli.main``, which prints one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from .errors import WorkbenchError


def cmd_train_voice(args: argparse.Namespace) -> int:
    from .config import FeatureConfig
    from .consent import check_consent, record_in_bundle
    from .speech.tts import TtsConfig
    from .speech.voice import default_train_config, default_tts, read_transcripts, train_voice
    from .training import Progress

    transcripts = read_transcripts(args.target)  # missing folder or transcripts: report before consent
    consent = check_consent(args.target, confirmed=args.i_have_consent)
    tts = default_tts()
    if args.engine or args.voice:
        engine = args.engine or tts.engine
        tts = TtsConfig(engine=engine, voice=args.voice or ("rms" if engine == "flite" else "en-us"))
    overrides = {"model": args.model, "seed": args.seed}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    cfg = default_train_config(**overrides)
    print(f"speaking {len(transcripts)} transcripts with {tts.label}, then training {tts.label} -> "
          f"{Path(args.target).name} ({cfg.model})", file=sys.stderr)

    def on_progress(p: Progress) -> None:
        if p.step == 0 and p.stage in ("synthesis", "analysis", "alignment", "gmm"):
            print(f"{p.stage}...", file=sys.stderr)
        elif p.step == p.steps and p.steps and p.stage not in ("synthesis", "analysis", "alignment", "gmm"):
            loss = p.logs.get("val_loss", p.logs.get("loss", float("nan")))
            print(f"{p.stage} epoch {p.epoch}/{p.epochs} loss {loss:.4f}", file=sys.stderr)

    stop = threading.Event()
    try:
        result = train_voice(args.target, args.out, tts=tts, cfg=cfg, feature_cfg=FeatureConfig(),
                             on_progress=on_progress, stop_event=stop)
    except KeyboardInterrupt:
        stop.set()
        raise
    if (Path(result.bundle_dir) / "bundle.json").is_file():
        record_in_bundle(result.bundle_dir, consent)
    print(f"saved {result.bundle_dir} ({tts.label} -> {Path(args.target).name}, {result.n_train_frames} training "
          f"frames, {result.elapsed_s:.0f} s)")
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    from .audio import save_audio
    from .speech.text import prepare_text
    from .speech.voice import VoiceSpeaker, read_voice_spec

    out = Path(args.output)
    if out.suffix.lower() not in (".wav", ".flac", ".ogg"):
        raise WorkbenchError(f"Output {out.name!r} must end in .wav, .flac or .ogg.")
    _, text_cfg = read_voice_spec(args.model)
    prepare_text(args.text, text_cfg)  # refuse odd text before loading the model
    speaker = VoiceSpeaker.load(args.model)
    result = speaker.say(args.text)
    save_audio(out, result.y, result.sr)
    if args.tts_output:
        save_audio(args.tts_output, result.tts_y, result.sr)
    times = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
    print(f"wrote {out} ({result.duration_s:.2f} s, {speaker.description}; {times})")
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from .audio import load_audio
    from .speech.asr import transcribe

    y, sr = load_audio(args.input, sr=None)
    transcript = transcribe(y, sr)
    if args.json:
        print(json.dumps(transcript.to_dict(), indent=2, allow_nan=True))
    else:
        print(transcript.text)
    return 0


def register(sub) -> None:
    """Add ``train-voice``, ``say`` and ``transcribe`` to the ``workbench`` subparsers."""
    t = sub.add_parser("train-voice", help="train a text-to-voice model: a TTS voice converted into a target voice")
    t.add_argument("--target", required=True, help="folder of target recordings with same-name .txt transcripts")
    t.add_argument("--out", required=True, help="bundle folder to write")
    t.add_argument("--engine", choices=("espeak-ng", "flite"), help="TTS engine (default: flite if installed)")
    t.add_argument("--voice", help="TTS voice (default: flite rms, or espeak-ng en-us)")
    t.add_argument("--model", choices=("lstm", "gmm"), default="lstm")
    t.add_argument("--epochs", type=int, default=None, help="maximum epochs (early stopping may end sooner)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--i-have-consent", action="store_true", help="confirm the target voice's owner agreed")
    t.set_defaults(func=cmd_train_voice)

    s = sub.add_parser("say", help="speak typed text in a cloned voice")
    s.add_argument("--model", required=True, help="bundle made by train-voice (e.g. workbench/pretrained/say-slt)")
    s.add_argument("--tts-output", help="also write the intermediate TTS audio here")
    s.add_argument("text")
    s.add_argument("output")
    s.set_defaults(func=cmd_say)

    r = sub.add_parser("transcribe", help="recognise the words in an audio file (PocketSphinx, offline)")
    r.add_argument("--json", action="store_true", help="print words with timings and confidences as JSON")
    r.add_argument("input")
    r.set_defaults(func=cmd_transcribe)

"""Typed, validated configuration for every part of the workbench.

Every tunable lives in a frozen dataclass; derived values are properties. Variants come from
``dataclasses.replace(cfg, field=value)``. Configs round-trip through JSON with ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

# the real-time path's configs live in config_stream.py; importing them from here keeps working
from .config_stream import (  # noqa: F401
    AnalysisConfig,
    LiveConfig,
    McAdamsConfig,
    PostfilterConfig,
    ResamplerConfig,
    StreamConfig,
    SynthConfig,
)
from .errors import ConfigError
from .models.registry import BASELINES, MODEL_KINDS  # noqa: F401 - the one list of kinds (light: no Keras)

T = TypeVar("T")

ENVELOPE_F0 = ("world", "held")
F0_METHODS = ("dio", "harvest", "pyin")


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls`` from a dict, ignoring unknown keys (a newer bundle may carry more)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names}
    return cls(**kwargs)


class _JsonConfig:
    """``to_dict``/``from_dict`` for config dataclasses, so they round-trip through JSON (bundle.json)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class AudioConfig:
    """Limits applied when audio is loaded or validated.

    ``max_upload_mb``: audio handed over as bytes or an in-memory file (an upload, a recording) larger than
    this is refused before decoding; it matches the app's ``server.maxUploadSize`` in ``.streamlit/config.toml``.
    """

    min_duration_s: float = 0.3
    max_duration_s: float = 600.0
    silence_dbfs: float = -70.0
    low_level_dbfs: float = -45.0
    clip_fraction_warn: float = 0.01
    max_upload_mb: float = 50.0

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0:
            raise ConfigError(f"max_upload_mb={self.max_upload_mb} must be > 0 (MB); 50 is the default.")
        if not 0 < self.min_duration_s < self.max_duration_s:
            raise ConfigError(
                f"min_duration_s={self.min_duration_s} must be > 0 and below max_duration_s="
                f"{self.max_duration_s}; choose a smaller minimum."
            )


@dataclass(frozen=True)
class FeatureConfig(_JsonConfig):
    """Analysis parameters shared by every feature, the vocoder and the models.

    Frames are centred every ``hop_ms``; all features computed with one config have the same
    number of frames for the same signal (see ``features.n_frames``).

    ``envelope_f0``: the F0 that sizes CheapTrick's window on unvoiced frames. ``"world"`` is WORLD's own
    choice (a 500 Hz window, ~6 ms); ``"held"`` keeps the last voiced frame's F0 (``envelope_f0_hz`` before the
    first), computed causally, so the live path's envelope is the offline one. With ``"world"`` every
    voicing decision the live analysis (15 ms of lookahead) gets wrong swaps a ~25 ms window for a 6 ms one: its
    mel-cepstrum sat 0.51 dB from offline (0.63 on voiced frames), 0.07 of it from the sliding window and the rest
    from that F0. Bundles saved before this field existed read ``"world"``.
    """

    sr: int = 16_000
    n_fft: int = 1024
    win_ms: float = 25.0
    hop_ms: float = 5.0
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None
    n_mfcc: int = 20
    mcep_order: int = 24
    mcep_alpha: float = 0.42
    f0_method: str = "dio"
    f0_floor: float = 60.0
    f0_ceil: float = 500.0
    envelope_f0: str = "held"
    envelope_f0_hz: float = 150.0

    def __post_init__(self) -> None:
        if not 4_000 <= self.sr <= 96_000:
            raise ConfigError(f"sr={self.sr} Hz is outside 4000..96000; use e.g. 16000.")
        if not 0 < self.hop_ms <= self.win_ms:
            raise ConfigError(f"hop_ms={self.hop_ms} must be in (0, win_ms={self.win_ms}]; shorten the hop.")
        if self.win_length > self.n_fft:
            raise ConfigError(
                f"win_ms={self.win_ms} gives {self.win_length} samples, more than n_fft={self.n_fft}; "
                "raise n_fft or shorten the window."
            )
        if self.n_fft & (self.n_fft - 1):
            raise ConfigError(f"n_fft={self.n_fft} must be a power of two (e.g. 512, 1024).")
        if not 0 <= self.fmin < self.fmax_hz <= self.sr / 2:
            raise ConfigError(
                f"Need 0 <= fmin ({self.fmin}) < fmax ({self.fmax_hz}) <= sr/2 ({self.sr / 2}); adjust the range."
            )
        if not 8 <= self.n_mels <= 256:
            raise ConfigError(f"n_mels={self.n_mels} must be in 8..256.")
        if not 2 <= self.n_mfcc <= self.n_mels:
            raise ConfigError(f"n_mfcc={self.n_mfcc} must be in 2..n_mels ({self.n_mels}).")
        if not 4 <= self.mcep_order <= self.n_fft // 8:
            raise ConfigError(f"mcep_order={self.mcep_order} must be in 4..n_fft/8 ({self.n_fft // 8}).")
        if not 0.0 <= self.mcep_alpha < 1.0:
            raise ConfigError(f"mcep_alpha={self.mcep_alpha} must be in [0, 1); 0.42 suits 16 kHz.")
        if self.f0_method not in F0_METHODS:
            raise ConfigError(f"f0_method={self.f0_method!r} is unknown; choose one of {F0_METHODS}.")
        if not 20 <= self.f0_floor < self.f0_ceil <= self.sr / 4:
            raise ConfigError(
                f"Need 20 <= f0_floor ({self.f0_floor}) < f0_ceil ({self.f0_ceil}) <= sr/4; adjust the F0 range."
            )
        if self.envelope_f0 not in ENVELOPE_F0:
            raise ConfigError(f"envelope_f0={self.envelope_f0!r} is unknown; choose one of {ENVELOPE_F0}.")
        if not self.f0_floor <= self.envelope_f0_hz <= self.f0_ceil:
            raise ConfigError(f"envelope_f0_hz={self.envelope_f0_hz} must lie in the F0 range "
                              f"{self.f0_floor:g}..{self.f0_ceil:g} Hz.")

    @property
    def hop_length(self) -> int:
        """Hop in samples."""
        return int(round(self.sr * self.hop_ms / 1000.0))

    @property
    def win_length(self) -> int:
        """Analysis window in samples."""
        return int(round(self.sr * self.win_ms / 1000.0))

    @property
    def fmax_hz(self) -> float:
        """Upper mel band edge in Hz (``fmax`` or the Nyquist frequency)."""
        return float(self.fmax) if self.fmax is not None else self.sr / 2.0

    @property
    def n_bins(self) -> int:
        """Number of one-sided spectrum bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1


@dataclass(frozen=True)
class ModelConfig(_JsonConfig):
    """Hyperparameters of the LSTM mapping model; field names equal ``MappingModel``'s kwargs."""

    in_dim: int = 26
    out_dim: int = 24
    units: int = 96
    n_layers: int = 2
    dropout: float = 0.1
    input_noise: float = 0.0

    def __post_init__(self) -> None:
        if self.units < 4 or self.n_layers < 1 or self.in_dim < 1 or self.out_dim < 1:
            raise ConfigError(f"Model sizes must be positive (got {self}); e.g. units=96, n_layers=2.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout={self.dropout} must be in [0, 1).")


@dataclass(frozen=True)
class TrainConfig(_JsonConfig):
    """How a conversion model is trained.

    ``lookahead_frames`` delays the target so that a causal model sees that many future frames
    (each ``hop_ms`` long) before it emits a frame: 4 frames of 5 ms add 20 ms of latency.
    ``realign_rounds`` 1 realigns the targets once by DTW against the model's own conversion of the source
    (closer to the target than the source is) and refines the model on them; 0 keeps the first alignment.
    ``delta_weight`` adds the squared error of each coefficient's frame-to-frame change to the LSTM's loss
    (``losses.mapping_loss``), against transitions smeared in time.
    ``phonetic_input`` gives LSTM and GAN models the shipped phonetic encoder's phone posteriors of each source
    frame as extra input (``workbench.phonetic``): which sound a frame is, in a speaker-independent form that
    40 sentences of one voice cannot teach. GMMs ignore it.
    ``phonetic_loss_weight`` (with ``phonetic_input``; ``losses.PhoneticLoss``) adds the cross-entropy between the
    encoder's reading of each *predicted* frame and the source frame's most likely phone to the LSTM's loss:
    squared error alone settles between neighbouring sounds, this term makes the prediction commit to one.
    The default 0.5 was measured with pseudo-source pairs (awb -> slt, 70 sentences, three seeds: WER 0.354 ->
    0.344 offline, 0.355 -> 0.328 streamed against 0.3); without them 0.3 and 0.5 tied.
    The GAN stage adds its adversarial term to the same loss.
    ``pseudo_source_weight`` (LSTM and GAN kinds, one source voice; 0 turns it off) adds one training pair per
    target utterance whose output is the target's own frames, unaligned: DTW-aligned targets are averages of the
    frames matched to each source frame, and these pairs show the model the target's sharp frames and transitions.
    Their input is a pseudo-source (``data.add_pseudo_source_pairs``); the value scales their loss weights.
    """

    model: str = "lstm"
    epochs: int = 60
    batch_size: int = 16
    seq_frames: int = 200
    learning_rate: float = 2e-3
    seed: int = 0
    patience: int = 8
    lr_patience: int = 0
    realign_rounds: int = 1
    val_fraction: float = 0.15
    lookahead_frames: int = 4
    silence_weight: float = 0.1
    delta_weight: float = 0.0
    output_scale: str = "global"
    use_f0_input: bool = True
    phonetic_input: bool = True
    phonetic_loss_weight: float = 0.5
    pseudo_source_weight: float = 1.0
    gmm_components: int = 16
    gan_epochs: int = 25
    gan_adv_weight: float = 0.3
    gan_learning_rate: float = 2e-4
    disc_channels: int = 64
    disc_kernel_size: int = 5
    disc_layers: int = 2
    augment: tuple[str, ...] = ()
    augment_copies: int = 2
    n_jobs: int = 2
    strategy: str = "default"
    checkpoint_dir: str | None = None
    model_cfg: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        if self.model not in MODEL_KINDS:
            raise ConfigError(f"model={self.model!r} is unknown; choose one of {MODEL_KINDS}.")
        if self.epochs < 1 or self.batch_size < 1 or self.seq_frames < 16:
            raise ConfigError(
                f"epochs ({self.epochs}), batch_size ({self.batch_size}) must be >= 1 and seq_frames "
                f"({self.seq_frames}) >= 16."
            )
        if not 0.0 < self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction={self.val_fraction} must be in (0, 0.5).")
        if not 0 <= self.lookahead_frames <= 10:
            raise ConfigError(f"lookahead_frames={self.lookahead_frames} must be in 0..10 (latency budget).")
        if self.strategy not in ("default", "mirrored", "multiworker"):
            raise ConfigError(f"strategy={self.strategy!r}; choose default, mirrored or multiworker.")
        if self.disc_channels < 1 or self.disc_kernel_size < 1 or self.disc_layers < 1:
            raise ConfigError(
                f"Discriminator sizes must be >= 1 (channels {self.disc_channels}, kernel {self.disc_kernel_size}, "
                f"layers {self.disc_layers}); e.g. 64, 5, 2."
            )
        if self.realign_rounds not in (0, 1):  # one refinement checkpoint stage ("refine") exists
            raise ConfigError(f"realign_rounds={self.realign_rounds} must be 0 or 1 (realign once and refine).")
        if not 0.0 <= self.delta_weight <= 10.0:
            raise ConfigError(f"delta_weight={self.delta_weight} must be in [0, 10]; 0 trains on squared error alone.")
        if not 0.0 <= self.phonetic_loss_weight <= 10.0:
            raise ConfigError(f"phonetic_loss_weight={self.phonetic_loss_weight} must be in [0, 10]; 0 trains on "
                              "squared error alone.")
        if not 0.0 <= self.pseudo_source_weight <= 10.0:
            raise ConfigError(f"pseudo_source_weight={self.pseudo_source_weight} must be in [0, 10]; 0 trains on the "
                              "aligned pairs alone.")
        if self.output_scale not in ("global", "per_dim"):
            raise ConfigError(f"output_scale={self.output_scale!r}; choose global or per_dim.")
        unknown = set(self.augment) - {"pitch", "formant", "speed"}
        if unknown:
            raise ConfigError(f"Unknown augmentation {sorted(unknown)}; use pitch, formant or speed.")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        if isinstance(data.get("model_cfg"), dict):
            data["model_cfg"] = ModelConfig.from_dict(data["model_cfg"])
        return _from_dict(cls, data)


@dataclass(frozen=True)
class F0TransformConfig:
    """How ``pitch.F0Transform`` estimates a many-to-one (adaptive) bundle's source mean from the input.

    Offline, the utterance's own mean log-F0 is used once it has ``min_voiced_frames`` voiced frames;
    a stream starts from the training speakers' mean, worth ``prior_frames`` voiced frames, and its
    running mean converges to the same utterance mean as ``1 / n``.
    """

    prior_frames: int = 50
    min_voiced_frames: int = 10

    def __post_init__(self) -> None:
        if self.prior_frames < 0 or self.min_voiced_frames < 1:
            raise ConfigError(
                f"prior_frames ({self.prior_frames}) must be >= 0 and min_voiced_frames ({self.min_voiced_frames}) >= 1."
            )


@dataclass(frozen=True)
class EncoderConfig(_JsonConfig):
    """The speaker encoder's features and architecture (``units``..``emb_dim`` are ``SpeakerEncoder``'s kwargs).

    Utterances are embedded in partial windows of ``window_frames`` log-mel frames, ``window_hop_frames``
    apart; the utterance embedding is the normalised mean of the window embeddings.
    """

    sr: int = 16_000
    n_mels: int = 40
    win_ms: float = 25.0
    hop_ms: float = 10.0
    window_frames: int = 160
    window_hop_frames: int = 80
    units: int = 128
    n_layers: int = 2
    emb_dim: int = 64

    def __post_init__(self) -> None:
        if not 8_000 <= self.sr <= 48_000:
            raise ConfigError(f"sr={self.sr} must be in 8000..48000 Hz; 16000 suits speech.")
        if not 0 < self.hop_ms <= self.win_ms:
            raise ConfigError(f"hop_ms={self.hop_ms} must be in (0, win_ms={self.win_ms}].")
        if not 16 <= self.window_frames <= 1000 or not 1 <= self.window_hop_frames <= self.window_frames:
            raise ConfigError(f"window_frames={self.window_frames} must be in 16..1000 and window_hop_frames="
                              f"{self.window_hop_frames} in 1..window_frames.")
        if min(self.n_mels, self.units, self.n_layers, self.emb_dim) < 1:
            raise ConfigError(f"Encoder sizes must be positive, got {self}.")

    @property
    def model_kwargs(self) -> dict[str, int]:
        return {"n_mels": self.n_mels, "units": self.units, "n_layers": self.n_layers, "emb_dim": self.emb_dim}


@dataclass(frozen=True)
class EncoderTrainConfig(_JsonConfig):
    """How the speaker encoder is trained with the GE2E loss.

    Each step draws ``speakers_per_batch`` speakers with ``utterances_per_speaker`` random crops each, all
    ``crop_frames`` long (drawn per step between ``min_crop_frames`` and the window length). An epoch is
    ``steps_per_epoch`` steps (by default: as many as the data has utterances, in batches).
    """

    epochs: int = 40
    speakers_per_batch: int = 16
    utterances_per_speaker: int = 6
    min_crop_frames: int = 100
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    seed: int = 0
    checkpoint_dir: str | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.speakers_per_batch < 2 or self.utterances_per_speaker < 2:
            raise ConfigError(f"epochs ({self.epochs}) must be >= 1, speakers_per_batch ({self.speakers_per_batch}) "
                              f"and utterances_per_speaker ({self.utterances_per_speaker}) >= 2 (GE2E compares them).")
        if self.min_crop_frames < 16 or (self.steps_per_epoch is not None and self.steps_per_epoch < 1):
            raise ConfigError(f"min_crop_frames={self.min_crop_frames} must be >= 16 and steps_per_epoch >= 1.")
        if not 0.0 < self.learning_rate < 1.0:
            raise ConfigError(f"learning_rate={self.learning_rate} must be in (0, 1).")

"""Error types of the workbench.

Every message says what was expected, what arrived and what to do about it, so the app and the CLI
can show ``str(err)`` as it is.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class AudioError(WorkbenchError, ValueError):
    """Audio that cannot be used: unreadable, empty, silent, non-finite, too short or too long."""


class EmptyAudioError(AudioError):
    """No samples, or fewer than the minimum duration."""


class SilentAudioError(AudioError):
    """Only digital silence (or a level far below speech)."""


class NonFiniteAudioError(AudioError):
    """NaN or infinite samples."""


class UnreadableAudioError(AudioError):
    """A file that is not audio, is corrupt, or uses a format no decoder here reads."""


class TooLongAudioError(AudioError):
    """Longer than the configured limit."""


class ConfigError(WorkbenchError, ValueError):
    """A configuration value outside its valid range."""


class DataError(WorkbenchError, ValueError):
    """Training or evaluation data that cannot be used (missing, unpaired, too little)."""


class BundleError(WorkbenchError, ValueError):
    """A model bundle that is missing, corrupt or incompatible with this version."""


class ConsentError(WorkbenchError, PermissionError):
    """A voice is used as a conversion target without a consent record."""


class ModelNotReadyError(WorkbenchError, RuntimeError):
    """A model was used before it was trained or loaded."""


class TrainingStopped(WorkbenchError, RuntimeError):
    """Training was stopped on request; the last checkpoint is kept."""

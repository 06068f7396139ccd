"""Errors users see: each carries one line that says what is wrong and what to do."""

import importlib
from types import ModuleType


class PoseNetError(Exception):
    """Base of every error ros2_posenet reports to a user as a single line."""


class ModelError(PoseNetError):
    """A network's files are missing, unreadable, corrupt or do not match the registry."""


class BackendUnavailableError(PoseNetError):
    """An inference runtime or GPU library is not installed; the message says what to install."""


class InputError(PoseNetError):
    """An input (image, video, camera, glob, folder) cannot be read."""


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message, or its type's name when it has none."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def import_optional(module: str, missing: str) -> ModuleType:
    """Import an optional runtime (onnxruntime, torch, tensorrt, pycuda); ``missing`` says what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise BackendUnavailableError(missing) from None

"""The once-per-process warning with which a backend announces that it runs another one for a call."""

from __future__ import annotations

import warnings

_warned: set[str] = set()


def warn_once(topic: str, message: str) -> None:
    """A ``UserWarning`` the first time ``topic`` comes up in this process (fallbacks announce themselves)."""
    if topic not in _warned:
        _warned.add(topic)
        warnings.warn(message, UserWarning, stacklevel=3)

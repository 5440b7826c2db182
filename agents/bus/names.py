"""The names a bus accepts for subjects and durable consumers: the same on both implementations.

JetStream gives ``.``, ``*``, ``>`` and whitespace meanings of their own, so a subject is dot-separated
tokens of letters, digits, ``-`` and ``_`` (no wildcards) and a durable name is one such token; the
in-process bus refuses what JetStream would, so code that runs on one runs on the other.
"""

from __future__ import annotations

import re
from typing import Final

from enertwin.kg.errors import InputError

_PART: Final = r"[A-Za-z0-9_-]+"
_SUBJECT: Final = re.compile(rf"{_PART}(?:\.{_PART})*")
_DURABLE: Final = re.compile(_PART)
MAX_NAME: Final = 200


def check_subject(subject: str) -> str:
    """``subject`` if it is a valid bus subject, else :class:`InputError` naming the rule."""
    if len(subject) > MAX_NAME or not _SUBJECT.fullmatch(subject):
        raise InputError(
            f"bus subject {subject!r} must be dot-separated tokens of letters, digits, '-' and '_' "
            f"(no wildcards, at most {MAX_NAME} characters)"
        )
    return subject


def check_durable(durable: str) -> str:
    """``durable`` if it is a valid durable consumer name, else :class:`InputError` naming the rule."""
    if len(durable) > MAX_NAME or not _DURABLE.fullmatch(durable):
        raise InputError(
            f"durable consumer name {durable!r} must be letters, digits, '-' and '_' (at most {MAX_NAME} characters)"
        )
    return durable

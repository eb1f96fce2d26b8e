"""How good a new key password is: a 0..4 score for the meter and the one problem to fix.

Written here rather than taken from a library because the rules are the house policy the brief
names (long enough, not the IIN or the birth date in it, not a common word) and the common list
must hold what people here type (Kazakh and Russian words in Latin letters, the demo
"Qwerty12"); a general estimator such as zxcvbn knows neither, and would be one more dependency.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

MIN_LENGTH = 8

# Lower-case; a password is "common" when it is one of these, or one of these followed by
# digits or punctuation (password2026, qwerty12!).
COMMON = frozenset(
    {
        "password",
        "passw0rd",
        "parol",
        "parol1",
        "пароль",
        "qwerty",
        "qwertyui",
        "qwertyuiop",
        "йцукен",
        "asdfgh",
        "asdfghjk",
        "zxcvbn",
        "zxcvbnm",
        "qazwsx",
        "qazwsxedc",
        "1q2w3e4r",
        "1q2w3e",
        "zaq12wsx",
        "abc",
        "abcd",
        "abcdef",
        "abcdefgh",
        "iloveyou",
        "admin",
        "root",
        "welcome",
        "letmein",
        "monkey",
        "dragon",
        "master",
        "sunshine",
        "football",
        "secret",
        "kazakhstan",
        "qazaqstan",
        "казахстан",
        "қазақстан",
        "astana",
        "almaty",
        "shymkent",
        "karaganda",
        "aktobe",
        "nursultan",
        "qalam",
        "ncalayer",
        "egov",
        "kaspi",
        "halyk",
        "test",
        "test1234",
        "demo",
        "user",
        "qwerty12",
        "qwerty123",
    }
)
_TAIL = re.compile(r"[\d\W_]*$")
_DIGITS_ONLY = re.compile(r"^\d+$")


@dataclass(frozen=True)
class Strength:
    """``score`` 0..4 for the meter; ``problem`` names what blocks the password (or None)."""

    score: int
    problem: str | None

    @property
    def acceptable(self) -> bool:
        """Whether the password may be used."""
        return self.problem is None


def _is_sequence(text: str) -> bool:
    if len(set(text)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1 and steps.pop() in (1, -1)


def assess(password: str, iin: str = "") -> Strength:
    """The strength of ``password`` for the person with ``iin`` (may be empty)."""
    if not password:
        return Strength(0, "empty")
    if len(password) < MIN_LENGTH:
        return Strength(0, "too_short")
    lowered = password.lower()
    if iin and (iin in password or iin[:6] in password or iin[-6:] in password):
        return Strength(0, "contains_iin")
    stem = _TAIL.sub("", lowered)
    if lowered in COMMON or stem in COMMON or not stem or _is_sequence(lowered):
        return Strength(1, "common")
    if _DIGITS_ONLY.match(password):
        return Strength(1, "common")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    score = 1
    if len(password) >= 10 or classes >= 3:
        score = 2
    if len(password) >= 12 and classes >= 2:
        score = 3
    if len(password) >= 16 or (len(password) >= 12 and classes >= 3):
        score = 4
    return Strength(score, None)


__all__ = ["COMMON", "MIN_LENGTH", "Strength", "assess"]

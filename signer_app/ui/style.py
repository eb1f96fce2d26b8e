"""Colours the widgets set themselves, chosen against the palette in use so that they stay
readable when the system's theme is dark (issue 5: "dark theme follows the system").

Everything else takes its colours from the palette, which Qt's platform theme fills from the
system; only an accent such as the red of a warning line has to be picked here.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

# Material Design's error reds: the dark one for light backgrounds, the light one for dark
# backgrounds; each above WCAG AA's 4.5 : 1 on its kind of window colour.
ERROR_ON_LIGHT = QColor("#b00020")
ERROR_ON_DARK = QColor("#ff8a80")


def is_dark(palette: QPalette) -> bool:
    """True when the window background is dark (the system's dark theme)."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_colour(palette: QPalette) -> QColor:
    """The red for warnings, readable on ``palette``'s window background."""
    return QColor(ERROR_ON_DARK if is_dark(palette) else ERROR_ON_LIGHT)


# A password meter's chunk for scores 0-4 (red, red, orange, green, dark green): the Material
# 800/900 shades on light windows, the 200/300 shades on dark ones, each at least WCAG's 3 : 1
# for graphical objects against its kind of window colour.
_STRENGTH_ON_LIGHT = ("#c62828", "#c62828", "#e65100", "#2e7d32", "#1b5e20")
_STRENGTH_ON_DARK = ("#ef9a9a", "#ef9a9a", "#ffb74d", "#a5d6a7", "#81c784")


def strength_colour(palette: QPalette, score: int) -> QColor:
    """The colour of a password-strength meter at ``score`` (0-4), visible on ``palette``."""
    shades = _STRENGTH_ON_DARK if is_dark(palette) else _STRENGTH_ON_LIGHT
    return QColor(shades[max(0, min(score, len(shades) - 1))])


def error_text_style(palette: QPalette) -> str:
    """A style sheet for warning text in that red (not bold: sentences, not headlines)."""
    return f"color: {error_colour(palette).name()};"


def error_style(palette: QPalette) -> str:
    """A style sheet for a bold warning line in that red."""
    return f"color: {error_colour(palette).name()}; font-weight: bold;"


__all__ = [
    "ERROR_ON_DARK",
    "ERROR_ON_LIGHT",
    "error_colour",
    "error_style",
    "error_text_style",
    "is_dark",
    "strength_colour",
]

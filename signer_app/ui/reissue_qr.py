"""The one-time re-issue code as a QR image and as a printed slip for the citizen.

The QR matrix comes from segno (PyPI "segno"): pure Python with no dependencies (no Pillow),
actively maintained, standard-conformant (ISO/IEC 18004) and it hands out the module matrix
itself, so Qt paints it at any size for the screen and the printer. We never hand-build QR codes.
Regular QR (never Micro QR), because phone camera apps do not all read Micro QR.
"""

from __future__ import annotations

import segno
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPagedPaintDevice, QPageLayout, QPainter

QUIET_ZONE = 4  # modules of white around the symbol, as the standard asks


def qr_matrix(text: str) -> list[list[bool]]:
    """The dark (True) and light modules of ``text``'s QR code, row by row, without border."""
    code = segno.make_qr(text, error="m")
    return [[bool(cell) for cell in row] for row in code.matrix]


def paint_qr(painter: QPainter, matrix: list[list[bool]], target: QRectF) -> None:
    """Paint ``matrix`` with its quiet zone, square, into ``target`` (white background)."""
    count = len(matrix) + 2 * QUIET_ZONE
    side = min(target.width(), target.height())
    module = side / count
    left = target.left() + (target.width() - side) / 2
    top = target.top() + (target.height() - side) / 2
    painter.fillRect(QRectF(left, top, side, side), QColor("white"))
    dark = QColor("black")
    for y, row in enumerate(matrix):
        for x, on in enumerate(row):
            if on:
                painter.fillRect(
                    QRectF(
                        left + (x + QUIET_ZONE) * module,
                        top + (y + QUIET_ZONE) * module,
                        module + 0.02,  # no hairline gaps between neighbours
                        module + 0.02,
                    ),
                    dark,
                )


def qr_image(text: str, module_px: int = 6) -> QImage:
    """``text`` as a QR image, ``module_px`` pixels a module, quiet zone included."""
    matrix = qr_matrix(text)
    side = (len(matrix) + 2 * QUIET_ZONE) * module_px
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        paint_qr(painter, matrix, QRectF(0, 0, side, side))
    finally:
        painter.end()
    return image


def print_slip(device: QPagedPaintDevice, lines: list[str], code: str, note: str) -> None:
    """One A4 page: ``lines`` (who, valid until) above the code in large letters, its QR code,
    and ``note`` (keep it secret, once only) below."""
    device.setPageOrientation(QPageLayout.Orientation.Portrait)
    painter = QPainter(device)
    try:
        page = device.pageLayout().paintRectPixels(device.logicalDpiX())
        area = QRect(0, 0, page.width(), page.height())
        unit = area.height() / 100
        y = 0.0
        font = QFont()
        font.setPointSizeF(12)
        painter.setFont(font)
        for line in lines:
            painter.drawText(QRectF(0, y, area.width(), unit * 4), Qt.AlignmentFlag.AlignLeft, line)
            y += unit * 4
        y += unit * 2
        big = QFont("DejaVu Sans Mono")
        big.setStyleHint(QFont.StyleHint.Monospace)
        big.setPointSizeF(28)
        big.setBold(True)
        painter.setFont(big)
        painter.drawText(QRectF(0, y, area.width(), unit * 8), Qt.AlignmentFlag.AlignCenter, code)
        y += unit * 10
        side = unit * 40
        paint_qr(painter, qr_matrix(code), QRectF((area.width() - side) / 2, y, side, side))
        y += side + unit * 3
        painter.setFont(font)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        painter.drawText(QRectF(0, y, area.width(), unit * 20), flags, note)
    finally:
        painter.end()


__all__ = ["QUIET_ZONE", "paint_qr", "print_slip", "qr_image", "qr_matrix"]

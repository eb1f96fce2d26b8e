"""The HTML validation report printed to PDF by Qt (QTextDocument onto a QPdfWriter).

Qt rather than a browser or a PDF library: PySide6 is already a dependency and prints offline,
headless (the ``offscreen`` platform when there is no display), with the fonts the desktop uses.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..crypto.atomicfile import atomic_write
from ..crypto.validation import ValidationReport
from .report_html import ReportFile, render_html


def _application() -> object:
    """A Qt GUI application (fonts and painting need one): the running one, or an offscreen one."""
    from PySide6.QtGui import QGuiApplication

    existing = QGuiApplication.instance()
    if existing is not None:
        return existing
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return QGuiApplication([])


def html_to_pdf(html: str, title: str = "Qalam") -> bytes:
    """``html`` laid out on A4 pages and printed to PDF bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

    _application()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(title)
    writer.setCreator("Qalam")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setResolution(96)
    document = QTextDocument()
    document.setHtml(html)
    area = writer.pageLayout().paintRectPixels(writer.resolution())
    document.setPageSize(QSizeF(area.width(), area.height()))
    document.print_(writer)
    buffer.close()
    return bytes(data.data())


def render_pdf(report: ValidationReport, file: ReportFile, language: str = "kk") -> bytes:
    """The report as PDF bytes."""
    return html_to_pdf(render_html(report, file, language), title=file.name)


def save_report(
    report: ValidationReport, file: ReportFile, target: Path, language: str = "kk"
) -> Path:
    """Write the report to ``target``: PDF when it ends in .pdf, else HTML; atomically."""
    if target.suffix.lower() == ".pdf":
        blob = render_pdf(report, file, language)
    else:
        blob = render_html(report, file, language).encode("utf-8")
    atomic_write(target, blob, mode=0o644)
    return target


__all__ = ["html_to_pdf", "render_pdf", "save_report"]

"""showFileChooser: the page asks the person to pick a local file; the page learns its path.

Qt's own file dialog (not the platform's), so it is awaited like every other dialog and works
the same under tests; the title names the asking site, since the path goes to it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from ...service.prompter import FileRequest
from ..i18n import Text, Translator, register

register(
    {
        "filechooser.title": Text(
            "{origin} asks for a file — Qalam",
            "{origin} запрашивает файл — Qalam",
            "{origin} файл сұрайды — Qalam",
        ),
        "filechooser.local": Text(
            "A program on this computer",
            "Программа на этом компьютере",
            "Осы компьютердегі бағдарлама",
        ),
        "filechooser.filter": Text(
            "Requested files (*.{extension});;All files (*)",
            "Запрошенные файлы (*.{extension});;Все файлы (*)",
            "Сұралған файлдар (*.{extension});;Барлық файлдар (*)",
        ),
    }
)


def make_file_dialog(
    translator: Translator, request: FileRequest, parent: QWidget | None = None
) -> QFileDialog:
    """A Qt file dialog for ``request`` (the extension filter first, then every file)."""
    origin = request.origin or translator.text("filechooser.local")
    extension = request.extension.strip().lstrip("*.")
    name_filter = translator.text("filechooser.filter", extension=extension) if extension else ""
    folder = request.directory if request.directory and Path(request.directory).is_dir() else ""
    dialog = QFileDialog(parent, translator.text("filechooser.title", origin=origin), folder)
    if name_filter:
        dialog.setNameFilter(name_filter)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
    return dialog


__all__ = ["make_file_dialog"]

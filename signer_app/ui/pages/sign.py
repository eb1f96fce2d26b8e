"""*Sign*: drop or choose files, pick CMS (attached or detached) or XML, with or without a
timestamp, and sign them next to the originals.

Every file goes through ``SigningService.sign_file``: the same key chooser and confirmation as a
portal's request (origin: this computer's user). The job runs in a worker thread (the event
loop keeps serving the window and the API); progress arrives through a Qt signal; Cancel stops
the job at the next chunk, and the service leaves no partial output. An output that already
exists is replaced only when the person says so.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ...service.errors import ActionCanceled
from ...service.file_signing import SignFormat, output_path
from ...service.signing import KeyQuery, SigningService
from ..context import AppContext
from ..i18n import Text, register
from ..widgets.page_dialogs import PageDialogs
from ..widgets.page_drop import DropList
from ..widgets.page_errors import ErrorBox

register(
    {
        "page.sign.title": Text("Sign files", "Подписать файлы", "Файлдарға қол қою"),
        "page.sign.files": Text(
            "Files to sign (drop them here)",
            "Файлы для подписи (перетащите сюда)",
            "Қол қойылатын файлдар (осында сүйреңіз)",
        ),
        "page.sign.add": Text("Choose files…", "Выбрать файлы…", "Файлдарды таңдау…"),
        "page.sign.remove": Text("Remove", "Убрать", "Алып тастау"),
        "page.sign.format": Text("Signature", "Подпись", "Қолтаңба"),
        "page.sign.attached": Text(
            "CMS with the document inside (.cms)",
            "CMS с документом внутри (.cms)",
            "Құжат ішінде CMS (.cms)",
        ),
        "page.sign.detached": Text(
            "CMS in a separate file (.sig), any size",
            "CMS отдельным файлом (.sig), любой размер",
            "Бөлек файлдағы CMS (.sig), кез келген өлшем",
        ),
        "page.sign.xml": Text(
            "XML signature inside the XML document",
            "XML-подпись внутри XML-документа",
            "XML құжатының ішіндегі XML қолтаңба",
        ),
        "page.sign.timestamp": Text(
            "Add a timestamp (proves when it was signed)",
            "Добавить метку времени (подтверждает время подписи)",
            "Уақыт белгісін қосу (қол қойылған уақытты растайды)",
        ),
        "page.sign.no_tsa": Text(
            "No timestamp service is set (Settings).",
            "Служба меток времени не настроена (Настройки).",
            "Уақыт белгісі қызметі бапталмаған (Баптаулар).",
        ),
        "page.sign.start": Text("Sign", "Подписать", "Қол қою"),
        "page.sign.cancel": Text("Cancel", "Отмена", "Болдырмау"),
        "page.sign.choose": Text("Choose files to sign", "Выберите файлы", "Файлдарды таңдаңыз"),
        "page.sign.working": Text(
            "Signing {name}…", "Подписываем {name}…", "{name} файлына қол қойылуда…"
        ),
        "page.sign.done": Text("Signed: {path}", "Подписано: {path}", "Қол қойылды: {path}"),
        "page.sign.cancelled": Text(
            "Signing was cancelled; no file was written.",
            "Подписание отменено; файл не создан.",
            "Қол қою тоқтатылды; файл жазылмады.",
        ),
        "page.sign.skipped": Text(
            "{name} skipped: its signature file already exists.",
            "{name} пропущен: файл подписи уже существует.",
            "{name} өткізілді: қолтаңба файлы бұрыннан бар.",
        ),
        "page.sign.overwrite": Text(
            "{path} already exists. Replace it with the new signature?",
            "{path} уже существует. Заменить его новой подписью?",
            "{path} бұрыннан бар. Оны жаңа қолтаңбамен ауыстыру керек пе?",
        ),
        "page.sign.empty": Text(
            "Add at least one file first.",
            "Сначала добавьте хотя бы один файл.",
            "Алдымен кемінде бір файл қосыңыз.",
        ),
        "page.sign.results": Text("Signed files", "Подписанные файлы", "Қол қойылған файлдар"),
    }
)

# Progress is shown in thousandths: a 1 GiB file updates the bar at most 1000 times.
PROGRESS_STEPS = 1000


class _ProgressRelay(QObject):
    """Carries progress from the worker thread to the UI thread (a queued connection)."""

    moved = Signal(int)


class SignPage(QWidget):
    """The *Sign* page."""

    def __init__(
        self,
        context: AppContext,
        service: SigningService,
        dialogs: PageDialogs | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.service = service
        self.translator = context.translator
        self.dialogs = dialogs or PageDialogs()
        self.task: asyncio.Task[None] | None = None
        self.written: list[Path] = []
        self._stop = threading.Event()
        self._relay = _ProgressRelay()
        self._relay.moved.connect(self._moved)

        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.heading.setFont(font)
        self.files_label = QLabel()
        self.files = DropList()
        self.files_label.setBuddy(self.files)
        self.files.dropped.connect(self.add_files)
        self.add_button = QPushButton()
        self.add_button.clicked.connect(self.choose_files)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(self.remove_selected)

        self.format_label = QLabel()
        self.attached = QRadioButton()
        self.detached = QRadioButton()
        self.xml = QRadioButton()
        self.formats = QButtonGroup(self)
        for button in (self.attached, self.detached, self.xml):
            self.formats.addButton(button)
        self.detached.setChecked(True)
        self.formats.buttonToggled.connect(lambda *_: self._update_timestamp())
        self.timestamp = QCheckBox()
        self.no_tsa = QLabel()

        self.sign_button = QPushButton()
        self.sign_button.setDefault(True)
        self.sign_button.clicked.connect(self.start)
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = ErrorBox(self.translator)
        self.results_label = QLabel()
        self.results = QListWidget()
        self.results_label.setBuddy(self.results)

        file_buttons = QHBoxLayout()
        file_buttons.addWidget(self.add_button)
        file_buttons.addWidget(self.remove_button)
        file_buttons.addStretch(1)
        run_row = QHBoxLayout()
        run_row.addWidget(self.sign_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.files_label)
        layout.addWidget(self.files, 1)
        layout.addLayout(file_buttons)
        layout.addWidget(self.format_label)
        for widget in (self.attached, self.detached, self.xml, self.timestamp, self.no_tsa):
            layout.addWidget(widget)
        layout.addLayout(run_row)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.results_label)
        layout.addWidget(self.results)
        self.translator.changed.connect(self.retranslate)
        self.retranslate()

    # ------------------------------------------------------------------ texts and state

    def retranslate(self) -> None:
        """Every visible string in the current language."""
        t = self.translator.text
        self.heading.setText(t("page.sign.title"))
        self.files_label.setText(t("page.sign.files") + ":")
        self.files.setAccessibleName(t("page.sign.files"))
        self.format_label.setText(t("page.sign.format") + ":")
        self.results_label.setText(t("page.sign.results") + ":")
        self.results.setAccessibleName(t("page.sign.results"))
        self.no_tsa.setText(t("page.sign.no_tsa"))
        for widget, key in (
            (self.add_button, "page.sign.add"),
            (self.remove_button, "page.sign.remove"),
            (self.attached, "page.sign.attached"),
            (self.detached, "page.sign.detached"),
            (self.xml, "page.sign.xml"),
            (self.timestamp, "page.sign.timestamp"),
            (self.sign_button, "page.sign.start"),
            (self.cancel_button, "page.sign.cancel"),
        ):
            widget.setText(t(key))
            widget.setAccessibleName(t(key).rstrip("…"))
        self._update_timestamp()

    def _update_timestamp(self) -> None:
        has_tsa = self.service.tsa is not None
        self.timestamp.setEnabled(has_tsa and not self.xml.isChecked())
        self.no_tsa.setVisible(not has_tsa)
        if not self.timestamp.isEnabled():
            self.timestamp.setChecked(False)

    @property
    def format(self) -> tuple[SignFormat, bool]:
        """(format, detached) as chosen."""
        if self.xml.isChecked():
            return "xml", False
        return "cms", self.detached.isChecked()

    @property
    def busy(self) -> bool:
        """True while a job runs."""
        return self.task is not None and not self.task.done()

    def paths(self) -> list[Path]:
        """The files listed, in order."""
        return [Path(self.files.item(i).text()) for i in range(self.files.count())]

    def add_files(self, paths: list[Path]) -> None:
        """Add files to the list (each once)."""
        known = set(self.paths())
        for path in paths:
            if path not in known:
                self.files.addItem(str(path))
                known.add(path)

    def choose_files(self) -> None:
        """Pick files with the file dialog."""
        self.add_files(self.dialogs.open_files(self, self.translator.text("page.sign.choose"), ""))

    def remove_selected(self) -> None:
        """Take the selected file off the list."""
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))

    # ------------------------------------------------------------------ the job

    def start(self) -> None:
        """Sign every listed file, one after the other."""
        if self.busy:
            return
        paths = self.paths()
        self.error.clear()
        if not paths:
            self.error.show_text(self.translator.text("page.sign.empty"))
            return
        self._stop.clear()
        self._set_running(True)
        self.task = asyncio.get_event_loop().create_task(self._sign_all(paths))

    def cancel(self) -> None:
        """Stop the job: a dialog closes, or the worker stops at the next chunk."""
        self._stop.set()
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def _set_running(self, running: bool) -> None:
        self.sign_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)
        self.progress.setValue(0)
        for widget in (self.files, self.add_button, self.remove_button):
            widget.setEnabled(not running)

    def _moved(self, permille: int) -> None:
        self.progress.setValue(permille)

    def _progress_for(self) -> Callable[[int, int], None]:
        last = [-1]

        def report(done: int, total: int) -> None:
            permille = done * PROGRESS_STEPS // total if total else PROGRESS_STEPS
            if permille != last[0]:
                last[0] = permille
                self._relay.moved.emit(permille)

        return report

    async def _sign_all(self, paths: list[Path]) -> None:
        t = self.translator.text
        fmt, detached = self.format
        stamp = self.timestamp.isChecked()
        query = KeyQuery(None, locale=self.translator.language)
        try:
            for path in paths:
                out = output_path(path, fmt, detached)
                overwrite = False
                if out.exists():
                    question = t("page.sign.overwrite", path=str(out))
                    if not self.dialogs.ask(self, t("page.sign.title"), question):
                        self.status.setText(t("page.sign.skipped", name=path.name))
                        continue
                    overwrite = True
                self.status.setText(t("page.sign.working", name=path.name))
                self.progress.setValue(0)
                report = self._progress_for()
                written = await self.service.sign_file(
                    query,
                    path,
                    out,
                    fmt=fmt,
                    detached=detached,
                    timestamp=stamp,
                    overwrite=overwrite,
                    progress=report,
                    cancel=self._stop.is_set,
                )
                self.written.append(written)
                self.results.addItem(str(written))
                self.status.setText(t("page.sign.done", path=str(written)))
        except (ActionCanceled, asyncio.CancelledError):
            self.status.setText(t("page.sign.cancelled"))
        except Exception as error:
            self.status.clear()
            self.error.show_error(error)
        finally:
            self._set_running(False)


__all__ = ["SignPage"]

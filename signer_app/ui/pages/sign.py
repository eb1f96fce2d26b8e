"""*Sign*: drop or choose files, pick CMS (attached or detached), XML or, for PDFs, a PAdES
signature inside the PDF (level and visible stamp: pages/sign_pdf.py), and sign them next to the
originals.

Every file goes through ``SigningService.sign_file``: the same key chooser and confirmation as a
portal's request (origin: this computer's user). The job runs in a worker thread (the event
loop keeps serving the window and the API); progress arrives through a Qt signal; Cancel stops
the job at the next chunk, and the service leaves no partial output. An output that already
exists is replaced only when the person says so.

A PDF (told by its content, ``%PDF-``) is signed through ``SigningService.sign_local`` with a
job from service/pdf_local.py: the PDF is read before any dialog (a broken or encrypted one costs
no prompt), a GOST key is refused before the confirmation, and pyHanko signs in one step, so the
bar shows "busy" and a cancel takes effect once that step ends (nothing is kept). A signed PDF
can be checked at once: "Verify" hands it to the Verify page.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QShowEvent
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
from ...service.pdf_local import looks_like_pdf, prepare_pdf, refuse_gost
from ...service.signing import KeyQuery, SigningService
from ...service.tsa_client import HttpTsa
from ..context import AppContext
from ..i18n import Text, register
from ..widgets.page_dialogs import PageDialogs
from ..widgets.page_drop import DropList
from ..widgets.page_errors import ErrorBox
from .sign_pdf import PdfOptions

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
        "page.sign.verify": Text(
            "Verify the signed PDF", "Проверить подписанный PDF", "Қол қойылған PDF-ті тексеру"
        ),
        "page.sign.not_pdf": Text(
            "{name} is not a PDF: a PDF signature needs PDF files only.",
            "{name} не PDF: подпись PDF ставится только на PDF-файлы.",
            "{name} PDF емес: PDF қолтаңбасы тек PDF файлдарына қойылады.",
        ),
    }
)

# Progress is shown in thousandths: a 1 GiB file updates the bar at most 1000 times.
PROGRESS_STEPS = 1000


class _ProgressRelay(QObject):
    """Carries progress from the worker thread to the UI thread (a queued connection)."""

    moved = Signal(int)


class SignPage(QWidget):
    """The *Sign* page; ``verify_requested`` asks the window to check a signed file."""

    verify_requested = Signal(Path)

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
        self._running = False
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
        self.pdf = QRadioButton()
        self.pdf.setEnabled(False)  # offered once the list holds PDFs only
        self.formats = QButtonGroup(self)
        for button in (self.attached, self.detached, self.xml, self.pdf):
            self.formats.addButton(button)
        self.detached.setChecked(True)
        self.formats.buttonToggled.connect(lambda *_: self._update_timestamp())
        self.pdf_options = PdfOptions(self.translator)
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
        self.verify_button = QPushButton()
        self.verify_button.clicked.connect(self._verify_last)
        self.verify_button.hide()
        self.last_pdf: Path | None = None

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
        for widget in (self.attached, self.detached, self.xml, self.pdf, self.pdf_options):
            layout.addWidget(widget)
        layout.addWidget(self.timestamp)
        layout.addWidget(self.no_tsa)
        layout.addLayout(run_row)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.results_label)
        layout.addWidget(self.results)
        verify_row = QHBoxLayout()
        verify_row.addWidget(self.verify_button)
        verify_row.addStretch(1)
        layout.addLayout(verify_row)
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
            (self.pdf, "page.sign.pdf"),
            (self.verify_button, "page.sign.verify"),
            (self.timestamp, "page.sign.timestamp"),
            (self.sign_button, "page.sign.start"),
            (self.cancel_button, "page.sign.cancel"),
        ):
            widget.setText(t(key))
            widget.setAccessibleName(t(key).rstrip("…"))
        self.pdf_options.retranslate()
        self._update_timestamp()

    def showEvent(self, event: QShowEvent) -> None:
        """A TSA set in Settings meanwhile changes what is offered."""
        super().showEvent(event)
        self._update_timestamp()

    def _update_timestamp(self) -> None:
        has_tsa = self.service.tsa is not None
        pdf = self.pdf.isChecked()
        self.timestamp.setEnabled(has_tsa and not pdf)  # XML with a timestamp: XAdES-T
        # A PDF's level says whether it is timestamped; the CMS box would only confuse.
        self.timestamp.setVisible(not pdf)
        self.no_tsa.setVisible(not has_tsa and not pdf)
        self.pdf_options.set_timestamp_service(self.tsa_url is not None)
        self.pdf_options.setVisible(pdf)
        if not self.timestamp.isEnabled():
            self.timestamp.setChecked(False)

    @property
    def tsa_url(self) -> str | None:
        """The timestamp service the app signs with (PAdES takes its URL)."""
        tsa = self.service.tsa
        return tsa.url if isinstance(tsa, HttpTsa) else None

    @property
    def format(self) -> tuple[SignFormat, bool]:
        """(format, detached) as chosen; PDF is told by ``pdf.isChecked()``."""
        if self.xml.isChecked():
            return "xml", False
        return "cms", self.detached.isChecked()

    def _update_pdf_choice(self) -> None:
        """PDF signatures are offered while every listed file is a PDF, and chosen when the list
        becomes one of PDFs only. Files handed over during a job (a file manager) wait: the
        choice is settled when the job ends."""
        if self._running:
            return
        all_pdf = self._all_pdf()
        was = self.pdf.isEnabled()
        self.pdf.setEnabled(all_pdf)
        if all_pdf and not was:
            self.pdf.setChecked(True)
        elif not all_pdf and self.pdf.isChecked():
            self.detached.setChecked(True)

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
        self._update_pdf_choice()

    def choose_files(self) -> None:
        """Pick files with the file dialog."""
        self.add_files(self.dialogs.open_files(self, self.translator.text("page.sign.choose"), ""))

    def remove_selected(self) -> None:
        """Take the selected file off the list."""
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))
        self._update_pdf_choice()

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
        self._running = running
        self.sign_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        for widget in (self.files, self.add_button, self.remove_button, self.pdf_options):
            widget.setEnabled(not running)
        for button in self.formats.buttons():
            button.setEnabled(not running and (button is not self.pdf or self._all_pdf()))
        if not running and self.pdf.isChecked() and not self.pdf.isEnabled():
            self.detached.setChecked(True)

    def _all_pdf(self) -> bool:
        paths = self.paths()
        return bool(paths) and all(looks_like_pdf(p) for p in paths)

    def _verify_last(self) -> None:
        if self.last_pdf is not None:
            self.verify_requested.emit(self.last_pdf)

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
        pdf = self.pdf.isChecked()
        stamp = self.timestamp.isChecked()
        query = KeyQuery(None, locale=self.translator.language)
        self.verify_button.hide()
        try:
            for path in paths:
                if pdf and not looks_like_pdf(path):
                    self.error.show_text(t("page.sign.not_pdf", name=path.name))
                    return
                out = self._pdf_output(path) if pdf else output_path(path, fmt, detached)
                overwrite = False
                if out.exists():
                    question = t("page.sign.overwrite", path=str(out))
                    if not self.dialogs.ask(self, t("page.sign.title"), question):
                        self.status.setText(t("page.sign.skipped", name=path.name))
                        continue
                    overwrite = True
                self.status.setText(t("page.sign.working", name=path.name))
                self.progress.setValue(0)
                if pdf:
                    written = await self._sign_pdf(query, path, overwrite)
                    self.last_pdf = written
                    self.verify_button.show()
                    self.written.append(written)
                    self.results.addItem(str(written))
                    self.status.setText(t("page.sign.done", path=str(written)))
                    continue
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

    @staticmethod
    def _pdf_output(path: Path) -> Path:
        from ...crypto.pades import default_output  # pyHanko loads with the first PDF

        return default_output(path)

    async def _sign_pdf(self, query: KeyQuery, path: Path, overwrite: bool) -> Path:
        options = self.pdf_options
        job = await asyncio.to_thread(
            prepare_pdf,
            path,
            data_dir=self.context.data_dir,
            level=options.chosen_level,
            tsa_url=self.tsa_url,
            stamp=options.chosen_stamp,
            out=self._pdf_output(path),
            overwrite=overwrite,
        )
        # pyHanko signs in one step: a busy bar instead of a percentage.
        self.progress.setRange(0, 0)
        try:
            return await self.service.sign_local(
                query, "pdf", job.view, job.run, fits=refuse_gost, cancel=self._stop.is_set
            )
        finally:
            self.progress.setRange(0, PROGRESS_STEPS)


__all__ = ["SignPage"]

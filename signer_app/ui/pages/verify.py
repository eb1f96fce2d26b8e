"""*Verify*: drop a signed file (and its original for a detached signature) and read the report:
one verdict with a colour and an icon, and each signer's name, IIN/BIN, organisation, purpose,
signing time (from a timestamp or as claimed) and certificate status. "Copy details" puts a
plain-text report on the clipboard for support.

The check runs in a pool thread over pages/verify_model.py, which is all the page reads.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...crypto.errors import QalamError
from ...service.report_pdf import save_report
from ..context import AppContext
from ..i18n import Text, register
from ..widgets.page_dialogs import PageDialogs
from ..widgets.page_drop import DropList
from ..widgets.page_errors import ErrorBox
from ..widgets.page_identity import purpose_text
from ..widgets.page_tasks import run_blocking
from .verify_model import NeedsOriginal, SignerLine, VerifyReport, VerifySettings, verify_file

register(
    {
        "page.verify.title": Text("Verify a signature", "Проверить подпись", "Қолтаңбаны тексеру"),
        "page.verify.signed": Text(
            "Signed file (drop it here)",
            "Подписанный файл (перетащите сюда)",
            "Қол қойылған файл (осында сүйреңіз)",
        ),
        "page.verify.original": Text(
            "Original file, for a separate (.sig) signature",
            "Исходный файл, для отдельной подписи (.sig)",
            "Бөлек қолтаңба (.sig) үшін бастапқы файл",
        ),
        "page.verify.choose": Text("Choose…", "Выбрать…", "Таңдау…"),
        "page.verify.start": Text("Verify", "Проверить", "Тексеру"),
        "page.verify.copy": Text("Copy details", "Копировать подробности", "Толығырақ көшіру"),
        "page.verify.save": Text("Save report…", "Сохранить отчёт…", "Есепті сақтау…"),
        "page.verify.save_filter": Text(
            "PDF report (*.pdf);;Web page (*.html)",
            "Отчёт PDF (*.pdf);;Веб-страница (*.html)",
            "PDF есебі (*.pdf);;Веб-бет (*.html)",
        ),
        "page.verify.saved": Text(
            "Report saved: {path}", "Отчёт сохранён: {path}", "Есеп сақталды: {path}"
        ),
        "page.verify.overwrite": Text(
            "{name} already exists. Replace it?",
            "{name} уже существует. Заменить?",
            "{name} бұрыннан бар. Ауыстыру керек пе?",
        ),
        "page.verify.working": Text("Checking…", "Проверяем…", "Тексерілуде…"),
        "page.verify.need_signed": Text(
            "Choose the signed file first.",
            "Сначала выберите подписанный файл.",
            "Алдымен қол қойылған файлды таңдаңыз.",
        ),
        "page.verify.need_original": Text(
            "This signature is kept apart from the document. Add the original file it signs, "
            "then verify again.",
            "Эта подпись хранится отдельно от документа. Добавьте исходный файл и проверьте снова.",
            "Бұл қолтаңба құжаттан бөлек сақталады. Қол қойылған бастапқы файлды қосып, "
            "қайта тексеріңіз.",
        ),
        "page.verify.verdict.valid": Text(
            "The signature is valid", "Подпись действительна", "Қолтаңба жарамды"
        ),
        "page.verify.verdict.invalid": Text(
            "The signature is NOT valid",
            "Подпись НЕДЕЙСТВИТЕЛЬНА",
            "Қолтаңба ЖАРАМСЫЗ",
        ),
        "page.verify.verdict.indeterminate": Text(
            "The signature cannot be confirmed",
            "Подпись не удаётся подтвердить",
            "Қолтаңбаны растау мүмкін емес",
        ),
        "page.verify.scope": Text(
            "Checked: the signature itself, the certificate chain to a trusted root, revocation "
            "(OCSP or CRL) and timestamps.",
            "Проверено: сама подпись, цепочка сертификатов до доверенного корня, отзыв "
            "(OCSP или CRL) и метки времени.",
            "Тексерілді: қолтаңбаның өзі, сенімді түбірге дейінгі сертификаттар тізбегі, кері "
            "қайтарылуы (OCSP немесе CRL) және уақыт белгілері.",
        ),
        "page.verify.reason": Text("Reason: {reason}", "Причина: {reason}", "Себебі: {reason}"),
        "page.verify.sub.hash_failure": Text(
            "the document was changed after signing",
            "документ изменён после подписания",
            "құжат қол қойылғаннан кейін өзгертілген",
        ),
        "page.verify.sub.sig_crypto_failure": Text(
            "the signature is damaged", "подпись повреждена", "қолтаңба зақымдалған"
        ),
        "page.verify.sub.format_failure": Text(
            "the signature file is malformed",
            "файл подписи повреждён",
            "қолтаңба файлы бұзылған",
        ),
        "page.verify.sub.revoked": Text(
            "the signer's certificate was revoked",
            "сертификат подписавшего отозван",
            "қол қоюшының сертификаты кері қайтарылған",
        ),
        "page.verify.sub.try_later": Text(
            "the certificate's revocation status could not be obtained (is the network or "
            "the CA reachable?)",
            "не удалось узнать, отозван ли сертификат (доступны ли сеть и УЦ?)",
            "сертификаттың кері қайтарылу күйін алу мүмкін болмады (желі немесе КО қолжетімді ме?)",
        ),
        "page.verify.sub.no_certificate_chain_found": Text(
            "the certificate does not lead to a trusted root",
            "сертификат не ведёт к доверенному корню",
            "сертификат сенімді түбірге жеткізбейді",
        ),
        "page.verify.sub.no_signing_certificate_found": Text(
            "the signer's certificate is not included",
            "сертификат подписавшего не включён",
            "қол қоюшының сертификаты енгізілмеген",
        ),
        "page.verify.sub.out_of_bounds_no_poe": Text(
            "the certificate was not valid at the time and no timestamp proves otherwise",
            "сертификат не действовал в это время, и метка времени не доказывает обратное",
            "сертификат сол уақытта жарамсыз болған, уақыт белгісі керісінше дәлелдемейді",
        ),
        "page.verify.signer": Text("Signer {number}", "Подписант {number}", "{number}-қол қоюшы"),
        "page.verify.name": Text("Name", "Имя", "Аты-жөні"),
        "page.verify.ids": Text("IIN / BIN", "ИИН / БИН", "ЖСН / БСН"),
        "page.verify.organisation": Text("Organisation", "Организация", "Ұйым"),
        "page.verify.purpose": Text("Purpose", "Назначение", "Мақсаты"),
        "page.verify.time": Text("Signed at", "Время подписи", "Қол қойылған уақыт"),
        "page.verify.certificate": Text("Certificate", "Сертификат", "Сертификат"),
        "page.verify.result": Text("Signature", "Подпись", "Қолтаңба"),
        "page.verify.time.timestamp": Text(
            "{time} (proved by a timestamp)",
            "{time} (подтверждено меткой времени)",
            "{time} (уақыт белгісімен расталған)",
        ),
        "page.verify.time.archive_timestamp": Text(
            "{time} (proved by an archive timestamp)",
            "{time} (подтверждено архивной меткой времени)",
            "{time} (мұрағаттық уақыт белгісімен расталған)",
        ),
        "page.verify.time.claimed": Text(
            "{time} (as stated by the signer's computer)",
            "{time} (по часам компьютера подписавшего)",
            "{time} (қол қоюшының компьютер сағаты бойынша)",
        ),
        "page.verify.time.none": Text("not stated", "не указано", "көрсетілмеген"),
        "page.verify.cert.valid": Text(
            "valid (not revoked, checked by {source})",
            "действителен (не отозван, проверено по {source})",
            "жарамды (кері қайтарылмаған, {source} арқылы тексерілді)",
        ),
        "page.verify.cert.revoked": Text(
            "revoked on {time} (reason: {reason})",
            "отозван {time} (причина: {reason})",
            "{time} кері қайтарылған (себебі: {reason})",
        ),
        "page.verify.cert.unknown": Text(
            "status unknown: {why}",
            "статус неизвестен: {why}",
            "күйі белгісіз: {why}",
        ),
        "page.verify.cert.expired": Text(
            "had expired at signing time",
            "истёк на момент подписи",
            "қол қою сәтінде мерзімі біткен",
        ),
        "page.verify.cert.not_yet_valid": Text(
            "not yet valid at signing time",
            "ещё не действовал на момент подписи",
            "қол қою сәтінде әлі күшіне енбеген",
        ),
        "page.verify.cert.missing": Text(
            "not included in the signature",
            "не включён в подпись",
            "қолтаңбаға енгізілмеген",
        ),
        "page.verify.sig.ok": Text("intact", "не изменена", "өзгермеген"),
        "page.verify.sig.bad": Text(
            "does not match ({problems})", "не совпадает ({problems})", "сәйкес емес ({problems})"
        ),
        "page.verify.none": Text("—", "—", "—"),
    }
)

# Text colours per verdict for a light and for a dark window background.
_COLOURS = {
    "valid": ("#1b6e35", "#7ddc95"),
    "invalid": ("#a4231b", "#ff8f86"),
    "indeterminate": ("#7a4f00", "#ffcf70"),
}
_ICONS = {
    "valid": QStyle.StandardPixmap.SP_DialogApplyButton,
    "invalid": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "indeterminate": QStyle.StandardPixmap.SP_MessageBoxWarning,
}


class VerifyPage(QWidget):
    """The *Verify* page."""

    def __init__(
        self,
        context: AppContext,
        dialogs: PageDialogs | None = None,
        parent: QWidget | None = None,
        settings: VerifySettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.settings = settings or VerifySettings(context.data_dir)
        self.translator = context.translator
        self.dialogs = dialogs or PageDialogs()
        self.report: VerifyReport | None = None
        self.checks = 0  # finished checks (tests wait on it)

        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.heading.setFont(font)
        self.signed_label = QLabel()
        self.signed = QLineEdit()
        self.signed_label.setBuddy(self.signed)
        self.signed_button = QPushButton()
        self.signed_button.clicked.connect(lambda: self._choose(self.signed))
        self.original_label = QLabel()
        self.original = QLineEdit()
        self.original_label.setBuddy(self.original)
        self.original_button = QPushButton()
        self.original_button.clicked.connect(lambda: self._choose(self.original))
        self.drop = DropList()
        self.drop.setMaximumHeight(70)
        self.drop.dropped.connect(self.drop_files)
        self.verify_button = QPushButton()
        self.verify_button.setDefault(True)
        self.verify_button.clicked.connect(self.start)
        self.copy_button = QPushButton()
        self.copy_button.clicked.connect(self.copy_details)
        self.copy_button.setEnabled(False)
        self.save_button = QPushButton()
        self.save_button.clicked.connect(self.save_report)
        self.save_button.setEnabled(False)
        self.saved = QLabel()
        self.saved.setWordWrap(True)

        self.verdict_icon = QLabel()
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setAccessibleName("verdict")
        font = self.verdict.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.verdict.setFont(font)
        self.scope = QLabel()
        self.scope.setWordWrap(True)
        self.error = ErrorBox(self.translator)
        self.signers_box = QVBoxLayout()

        form = QFormLayout()
        signed_row = QHBoxLayout()
        signed_row.addWidget(self.signed, 1)
        signed_row.addWidget(self.signed_button)
        original_row = QHBoxLayout()
        original_row.addWidget(self.original, 1)
        original_row.addWidget(self.original_button)
        form.addRow(self.signed_label, signed_row)
        form.addRow(self.original_label, original_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        verdict_row = QHBoxLayout()
        verdict_row.addWidget(self.verdict_icon)
        verdict_row.addWidget(self.verdict, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.drop)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.error)
        layout.addWidget(self.saved)
        layout.addLayout(verdict_row)
        layout.addWidget(self.scope)
        layout.addLayout(self.signers_box)
        layout.addStretch(1)
        self.translator.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        """Every visible string in the current language."""
        t = self.translator.text
        self.heading.setText(t("page.verify.title"))
        self.signed_label.setText(t("page.verify.signed") + ":")
        self.original_label.setText(t("page.verify.original") + ":")
        self.signed.setAccessibleName(t("page.verify.signed"))
        self.original.setAccessibleName(t("page.verify.original"))
        self.drop.setAccessibleName(t("page.verify.signed"))
        self.drop.setToolTip(t("page.verify.signed"))
        for button, key in (
            (self.signed_button, "page.verify.choose"),
            (self.original_button, "page.verify.choose"),
            (self.verify_button, "page.verify.start"),
            (self.copy_button, "page.verify.copy"),
            (self.save_button, "page.verify.save"),
        ):
            button.setText(t(key))
        self.signed_button.setAccessibleName(t("page.verify.signed"))
        self.original_button.setAccessibleName(t("page.verify.original"))
        self._show_report()

    # ------------------------------------------------------------------ input

    def _choose(self, field: QLineEdit) -> None:
        path = self.dialogs.open_file(self, self.translator.text("page.verify.choose"), "")
        if path is not None:
            field.setText(str(path))

    def drop_files(self, paths: list[Path]) -> None:
        """One file: the signed one; two: the signature and its original (told by suffix)."""
        signatures = [p for p in paths if p.suffix.lower() in (".sig", ".cms", ".p7s", ".xml")]
        signed = signatures[0] if signatures else paths[0]
        self.signed.setText(str(signed))
        others = [p for p in paths if p != signed]
        if others:
            self.original.setText(str(others[0]))
        self.start()

    # ------------------------------------------------------------------ checking

    def start(self) -> None:
        """Check the chosen file(s) in a pool thread."""
        t = self.translator.text
        self.error.clear()
        signed_text = self.signed.text().strip()
        if not signed_text:
            self.error.show_text(t("page.verify.need_signed"))
            return
        signed = Path(signed_text)
        original_text = self.original.text().strip()
        original = Path(original_text) if original_text else None
        self.report = None
        self.saved.clear()
        settings = self.settings
        self._show_report()
        self.verify_button.setEnabled(False)
        self.verdict.setText(t("page.verify.working"))
        run_blocking(
            lambda: verify_file(signed, original, settings=settings),
            self._checked,
            self._failed,
            owner=self,
        )

    def _checked(self, report: VerifyReport) -> None:
        self.checks += 1
        self.verify_button.setEnabled(True)
        self.report = report
        self._show_report()

    def _failed(self, error: Exception) -> None:
        self.checks += 1
        self.verify_button.setEnabled(True)
        self.verdict.clear()
        if isinstance(error, NeedsOriginal):
            self.error.show_text(self.translator.text("page.verify.need_original"))
        else:
            self.error.show_error(error)

    # ------------------------------------------------------------------ the report

    def _clear_signers(self) -> None:
        while self.signers_box.count():
            item = self.signers_box.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()

    def _show_report(self) -> None:
        self._clear_signers()
        report = self.report
        self.copy_button.setEnabled(report is not None)
        self.save_button.setEnabled(report is not None and report.validation is not None)
        self.scope.setVisible(report is not None)
        if report is None:
            self.verdict_icon.clear()
            if self.verify_button.isEnabled():
                self.verdict.clear()
            return
        t = self.translator.text
        self.verdict.setText(t(f"page.verify.verdict.{report.verdict}"))
        self.verdict.setStyleSheet(f"color: {self.verdict_colour(report.verdict)}")
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_LargeIconSize)
        icon = self.style().standardIcon(_ICONS[report.verdict])
        self.verdict_icon.setPixmap(icon.pixmap(size, size))
        scope = t("page.verify.scope")
        if report.sub_indication:
            scope += "\n" + t("page.verify.reason", reason=self._reason(report.sub_indication))
        self.scope.setText(scope)
        for number, signer in enumerate(report.signers, 1):
            self.signers_box.addWidget(self._signer_box(number, signer))

    def _reason(self, sub_indication: str) -> str:
        try:
            return self.translator.text(f"page.verify.sub.{sub_indication.lower()}")
        except KeyError:  # a rarer sub-indication: its code, as in ETSI EN 319 102-1
            return sub_indication

    def _certificate_text(self, s: SignerLine) -> str:
        t = self.translator.text
        none = t("page.verify.none")
        if s.certificate_status == "valid":
            return t("page.verify.cert.valid", source=s.revocation_source.upper())
        if s.certificate_status == "revoked":
            when = self.translator.datetime(s.revoked_at) if s.revoked_at else none
            return t("page.verify.cert.revoked", time=when, reason=s.revocation_reason or none)
        if s.certificate_status == "unknown":
            # the plain reason when the sub-indication has one; the technical detail is copied
            code = s.sub_indication or s.status_detail
            why = self._reason(code) if code else none
            return t("page.verify.cert.unknown", why=why)
        return t(f"page.verify.cert.{s.certificate_status}")

    def verdict_colour(self, verdict: str) -> str:
        """The verdict's colour, light or dark to contrast with the window's background."""
        background = self.palette().color(QPalette.ColorRole.Window)
        light, dark = _COLOURS[verdict]
        return dark if background.lightness() < 128 else light

    def _signer_box(self, number: int, s: SignerLine) -> QGroupBox:
        t = self.translator.text
        none = t("page.verify.none")
        box = QGroupBox(t("page.verify.signer", number=number))
        form = QFormLayout(box)
        ids = " / ".join(x for x in (s.iin, s.bin) if x) or none
        if s.signing_time is None:
            when = t("page.verify.time.none")
        else:
            moment = self.translator.datetime(s.signing_time)
            when = t(f"page.verify.time.{s.time_source}", time=moment)
        result = (
            t("page.verify.sig.ok")
            if s.valid
            else t("page.verify.sig.bad", problems=", ".join(s.problems) or none)
        )
        rows = (
            ("page.verify.result", result),
            ("page.verify.name", s.name or none),
            ("page.verify.ids", ids),
            ("page.verify.organisation", s.organisation or none),
            (
                "page.verify.purpose",
                purpose_text(self.translator, s.purpose) if s.purpose else none,
            ),
            ("page.verify.time", when),
            ("page.verify.certificate", self._certificate_text(s)),
        )
        for key, value in rows:
            label = QLabel(value)
            label.setWordWrap(True)
            label.setAccessibleName(t(key))
            form.addRow(t(key) + ":", label)
        return box

    def copy_details(self) -> None:
        """Put the plain-text report on the clipboard."""
        if self.report is None:
            return
        clipboard = QGuiApplication.clipboard()
        text = self.report.details_text()
        signed = self.signed.text().strip()
        if signed:
            text = f"File: {Path(signed).name}\n{text}"
        clipboard.setText(text)

    def save_report(self) -> None:
        """Ask where, then write the printable report (PDF or HTML, by the name chosen)."""
        report = self.report
        if report is None or report.validation is None or report.file is None:
            return
        t = self.translator.text
        signed = Path(self.signed.text().strip() or "signature")
        suggested = signed.with_name(signed.name + ".report.pdf")
        target = self.dialogs.save_file(
            self, t("page.verify.save"), suggested, t("page.verify.save_filter")
        )
        if target is None:
            return
        if target.suffix.lower() not in (".pdf", ".html", ".htm"):
            target = target.with_name(target.name + ".pdf")
        if target.exists() and not self.dialogs.ask(
            self, t("page.verify.save"), t("page.verify.overwrite", name=target.name)
        ):
            return
        self.error.clear()
        try:
            save_report(report.validation, report.file, target, self.translator.language)
        except QalamError as error:
            self.error.show_error(error)
            return
        self.saved.setText(t("page.verify.saved", path=str(target)))


__all__ = ["VerifyPage"]

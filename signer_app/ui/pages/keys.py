"""*My keys*: the key files and tokens found, each certificate's owner, validity, status and
chain; import, export the certificate, back up the key file, change its password or a token's PIN.

Key files come from the preselected ones, the recent ones and the configured folders, scanned
in a pool thread (pages/key_scan.py). A key file's certificate is read only after its password
is typed in a small dialog; the page keeps the certificate and chain, never the private key or
the password. Revocation is asked of ``status_checker`` in a pool thread: by default OCSP, then
CRL, at the certificate's AIA / CDP with a short timeout (service/verification.check_certificate);
tests inject their own. Tokens (widgets/token_panel.py) come from the app's TokenWatch: a token
key's certificate, once read with the PIN, is shown here like a key file's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...crypto.atomicfile import atomic_write
from ...crypto.errors import CorruptKeyStore, WrongPassword
from ...crypto.identity import identity_of
from ...crypto.keystores import MAX_KEYSTORE_SIZE, load_pkcs12
from ...crypto.revocation import RevocationStatus
from ...service.verification import check_certificate
from ..context import AppContext
from ..dialogs.pin_change import TokenCertificate
from ..i18n import Text, register
from ..reissue_wizard import Mode, ReissueWizard
from ..widgets.page_dialogs import PageDialogs
from ..widgets.page_errors import ErrorBox
from ..widgets.page_identity import IdentityCard
from ..widgets.page_password import ChangePasswordDialog, KeyPasswordDialog
from ..widgets.page_tasks import run_blocking
from ..widgets.token_panel import TokenPanel
from .key_scan import ScanResult, scan

register(
    {
        "page.keys.title": Text("My keys", "Мои ключи", "Менің кілттерім"),
        "page.keys.forgot": Text(
            "I forgot my password / I lost my key…",
            "Я забыл пароль / потерял ключ…",
            "Құпиясөзді ұмыттым / кілтті жоғалттым…",
        ),
        "page.keys.renew": Text("Get new keys…", "Получить новые ключи…", "Жаңа кілттер алу…"),
        "page.keys.list": Text("Key files", "Файлы ключей", "Кілт файлдары"),
        "page.keys.scanning": Text(
            "Looking for key files…", "Ищем файлы ключей…", "Кілт файлдары ізделуде…"
        ),
        "page.keys.none": Text(
            "No key files found. Import one, or add the folder that holds yours in Settings.",
            "Файлы ключей не найдены. Импортируйте файл или добавьте папку с ключами в настройках.",
            "Кілт файлдары табылмады. Файлды импорттаңыз немесе кілттер жатқан қалтаны "
            "баптауларда қосыңыз.",
        ),
        "page.keys.missing_folder": Text(
            "The folder {folder} is not there any more (an unplugged drive?). Plug it in, or "
            "remove it from the key folders in Settings.",
            "Папки {folder} больше нет (отключён накопитель?). Подключите его или удалите "
            "папку из списка в настройках.",
            "{folder} қалтасы енді жоқ (жинақтауыш ажыратылған ба?). Оны қосыңыз немесе "
            "баптаулардағы тізімнен өшіріңіз.",
        ),
        "page.keys.unreadable_folder": Text(
            "The folder {folder} cannot be read: check its permissions.",
            "Папку {folder} не удаётся прочитать: проверьте права доступа.",
            "{folder} қалтасын оқу мүмкін емес: рұқсаттарын тексеріңіз.",
        ),
        "page.keys.file_gone": Text(
            "{name} (not found)", "{name} (не найден)", "{name} (табылмады)"
        ),
        "page.keys.source.preselected": Text(
            "preselected", "выбран заранее", "алдын ала таңдалған"
        ),
        "page.keys.source.recent": Text("used recently", "недавний", "жуырда қолданылған"),
        "page.keys.source.folder": Text("in a key folder", "в папке ключей", "кілттер қалтасында"),
        "page.keys.choose": Text(
            "Choose a key file on the left.",
            "Выберите файл ключа слева.",
            "Сол жақтан кілт файлын таңдаңыз.",
        ),
        "page.keys.locked": Text(
            "{name}: open it with its password to see the certificate.",
            "{name}: откройте его паролем, чтобы увидеть сертификат.",
            "{name}: сертификатты көру үшін оны құпиясөзбен ашыңыз.",
        ),
        "page.keys.open": Text(
            "Show certificate…", "Показать сертификат…", "Сертификатты көрсету…"
        ),
        "page.keys.import": Text("Import…", "Импорт…", "Импорттау…"),
        "page.keys.export": Text(
            "Export certificate…", "Экспорт сертификата…", "Сертификатты экспорттау…"
        ),
        "page.keys.backup": Text("Back up key file…", "Резервная копия…", "Сақтық көшірме…"),
        "page.keys.passwd": Text("Change password…", "Сменить пароль…", "Құпиясөзді өзгерту…"),
        "page.keys.refresh": Text("Refresh", "Обновить", "Жаңарту"),
        "page.keys.chain": Text("Chain", "Цепочка", "Тізбек"),
        "page.keys.details": Text(
            "Technical details", "Технические подробности", "Техникалық мәліметтер"
        ),
        "page.keys.status": Text(
            "Revocation status: {status}",
            "Статус отзыва: {status}",
            "Кері қайтарылу күйі: {status}",
        ),
        "page.keys.status.checking": Text("checking…", "проверяется…", "тексерілуде…"),
        "page.keys.status.good": Text(
            "valid, not revoked (checked by {source})",
            "действителен, не отозван (проверено по {source})",
            "жарамды, кері қайтарылмаған ({source} арқылы тексерілді)",
        ),
        "page.keys.status.revoked": Text(
            "REVOKED on {time} (reason: {reason})",
            "ОТОЗВАН {time} (причина: {reason})",
            "{time} КЕРІ ҚАЙТАРЫЛҒАН (себебі: {reason})",
        ),
        "page.keys.status.unknown": Text(
            "unknown (the CA could not be asked: {why})",
            "неизвестен (УЦ недоступен: {why})",
            "белгісіз (КО-мен байланыс жоқ: {why})",
        ),
        "page.keys.import.title": Text(
            "Choose a key file to import",
            "Выберите файл ключа для импорта",
            "Импорттайтын кілт файлын таңдаңыз",
        ),
        "page.keys.import.folder": Text(
            "Choose the folder to keep the key in",
            "Выберите папку для хранения ключа",
            "Кілтті сақтайтын қалтаны таңдаңыз",
        ),
        "page.keys.import.not_key": Text(
            "{name} is not a key file (PKCS#12, .p12): nothing was imported.",
            "{name} не является файлом ключа (PKCS#12, .p12): ничего не импортировано.",
            "{name} кілт файлы емес (PKCS#12, .p12): ештеңе импортталмады.",
        ),
        "page.keys.import.done": Text(
            "{name} was copied to {folder}.",
            "{name} скопирован в {folder}.",
            "{name} файлы {folder} қалтасына көшірілді.",
        ),
        "page.keys.overwrite": Text(
            "{path} already exists. Replace it?",
            "{path} уже существует. Заменить?",
            "{path} бұрыннан бар. Ауыстыру керек пе?",
        ),
        "page.keys.export.title": Text(
            "Save the certificate", "Сохранить сертификат", "Сертификатты сақтау"
        ),
        "page.keys.export.done": Text(
            "The certificate was saved to {path}.",
            "Сертификат сохранён в {path}.",
            "Сертификат {path} файлына сақталды.",
        ),
        "page.keys.backup.title": Text(
            "Save a copy of the key file",
            "Сохранить копию файла ключа",
            "Кілт файлының көшірмесін сақтау",
        ),
        "page.keys.backup.done": Text(
            "A copy of the key file was saved to {path}. Keep it somewhere safe, away from this "
            "computer.",
            "Копия файла ключа сохранена в {path}. Храните её в надёжном месте, не на этом "
            "компьютере.",
            "Кілт файлының көшірмесі {path} файлына сақталды. Оны осы компьютерден тыс "
            "қауіпсіз жерде сақтаңыз.",
        ),
        "page.keys.passwd.done": Text(
            "The password of {name} was changed.",
            "Пароль файла {name} изменён.",
            "{name} файлының құпиясөзі өзгертілді.",
        ),
    }
)

StatusChecker = Callable[[x509.Certificate, tuple[x509.Certificate, ...]], RevocationStatus]


def online_checker(data_dir: Path) -> StatusChecker:
    """The default hook: OCSP, then CRL, against the trust store of ``data_dir``."""

    def check(
        certificate: x509.Certificate, chain: tuple[x509.Certificate, ...]
    ) -> RevocationStatus:
        return check_certificate(certificate, chain, data_dir=data_dir)

    return check


@dataclass(frozen=True)
class OpenedKey:
    """What the page keeps of an opened key file: its certificate and chain, no key."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def check_key_file(path: Path) -> None:
    """CorruptKeyStore unless ``path`` holds a PKCS#12 structure (no password needed)."""
    size = path.stat().st_size
    if size == 0 or size > MAX_KEYSTORE_SIZE:
        raise CorruptKeyStore(f"{size} bytes")
    try:
        load_pkcs12(path.read_bytes(), "", label=str(path))
    except WrongPassword:
        return  # a PKCS#12 structure whose password is not empty: a key file


def certificate_details(cert: x509.Certificate) -> str:
    """Subject, issuer, serial, validity and fingerprint, for "Technical details"."""
    who = identity_of(cert)
    sha256 = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    return "\n".join(
        (
            f"Subject: {who.subject_dn}",
            f"Issuer: {who.issuer_dn}",
            f"Serial: {who.serial_hex}",
            f"Not before: {who.not_before.isoformat()}",
            f"Not after: {who.not_after.isoformat()}",
            f"SHA-256: {sha256}",
        )
    )


class KeysPage(QWidget):
    """The *My keys* page."""

    def __init__(
        self,
        context: AppContext,
        dialogs: PageDialogs | None = None,
        status_checker: StatusChecker | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.translator = context.translator
        self.dialogs = dialogs or PageDialogs()
        self.status_checker = status_checker or online_checker(context.data_dir)
        self.scan_result: ScanResult | None = None
        self.opened: dict[Path, OpenedKey] = {}
        self.status: dict[Path, RevocationStatus] = {}  # absent: being checked
        self.token_status: dict[bytes, RevocationStatus] = {}  # by certificate fingerprint
        self.scans = 0  # finished scans (tests wait on it)
        # How a modal dialog is run; tests drive the dialog instead of blocking in exec().
        self.exec_dialog: Callable[[QDialog], int] = lambda dialog: dialog.exec()

        self.heading = QLabel()
        self.heading.setAccessibleName("heading")
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.heading.setFont(font)
        self.list_label = QLabel()
        self.files = QListWidget()
        self.list_label.setBuddy(self.files)
        self.files.currentItemChanged.connect(lambda item, _: self._file_selected(item))
        self.files.itemActivated.connect(lambda _: self.open_selected())
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.error = ErrorBox(self.translator)
        self.info = QLabel()
        self.info.setWordWrap(True)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.card = IdentityCard(self.translator)
        self.status_label = QLabel()
        self.chain_label = QLabel()
        self.chain = QListWidget()
        self.chain.setMaximumHeight(90)
        self.chain_label.setBuddy(self.chain)
        self.details_label = QLabel()
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(130)
        self.details_label.setBuddy(self.details)

        self.open_button = QPushButton()
        self.open_button.clicked.connect(self.open_selected)
        self.import_button = QPushButton()
        self.import_button.clicked.connect(self.import_key)
        self.export_button = QPushButton()
        self.export_button.clicked.connect(self.export_certificate)
        self.backup_button = QPushButton()
        self.backup_button.clicked.connect(self.back_up)
        self.passwd_button = QPushButton()
        self.passwd_button.clicked.connect(self.change_password)
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.refresh)
        # Re-issue (ui/reissue_wizard.py): with a PSC code, or renewed with the AUTH key.
        self.forgot_button = QPushButton()
        self.forgot_button.clicked.connect(lambda: self.start_reissue("code"))
        self.renew_button = QPushButton()
        self.renew_button.clicked.connect(lambda: self.start_reissue("renew"))

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.list_label)
        left_layout.addWidget(self.files, 1)
        left_layout.addWidget(self.notice)
        row = QHBoxLayout()
        row.addWidget(self.import_button)
        row.addWidget(self.refresh_button)
        left_layout.addLayout(row)
        left_layout.addWidget(self.forgot_button)
        self.token_panel: TokenPanel | None = None
        if context.token_watch is not None:
            self.token_panel = TokenPanel(context, context.token_watch, self.dialogs)
            self.token_panel.selected.connect(self._token_selected)
            self.token_panel.opened.connect(self._token_opened)
            left_layout.addWidget(self.token_panel)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.summary)
        right_layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        right_layout.addWidget(self.card)
        right_layout.addWidget(self.status_label)
        right_layout.addWidget(self.chain_label)
        right_layout.addWidget(self.chain)
        right_layout.addWidget(self.details_label)
        right_layout.addWidget(self.details)
        actions = QHBoxLayout()
        for button in (
            self.export_button,
            self.backup_button,
            self.passwd_button,
            self.renew_button,
        ):
            actions.addWidget(button)
        actions.addStretch(1)
        right_layout.addLayout(actions)
        right_layout.addStretch(1)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.error)
        layout.addWidget(self.info)
        layout.addWidget(splitter, 1)

        self.translator.changed.connect(self.retranslate)
        self.retranslate()
        self.refresh()

    # ------------------------------------------------------------------ texts

    def retranslate(self) -> None:
        """Every visible string in the current language."""
        t = self.translator.text
        self.heading.setText(t("page.keys.title"))
        self.list_label.setText(t("page.keys.list") + ":")
        self.files.setAccessibleName(t("page.keys.list"))
        self.chain_label.setText(t("page.keys.chain") + ":")
        self.chain.setAccessibleName(t("page.keys.chain"))
        self.details_label.setText(t("page.keys.details") + ":")
        self.details.setAccessibleName(t("page.keys.details"))
        for button, key in (
            (self.open_button, "page.keys.open"),
            (self.import_button, "page.keys.import"),
            (self.export_button, "page.keys.export"),
            (self.backup_button, "page.keys.backup"),
            (self.passwd_button, "page.keys.passwd"),
            (self.refresh_button, "page.keys.refresh"),
            (self.forgot_button, "page.keys.forgot"),
            (self.renew_button, "page.keys.renew"),
        ):
            button.setText(t(key))
            button.setAccessibleName(t(key).rstrip("…"))
        self._fill_list()
        self._show_selected()

    # ------------------------------------------------------------------ re-issue

    def start_reissue(self, mode: Mode) -> ReissueWizard:
        """Open the re-issue wizard: "code" (a PSC code) or "renew" (the selected AUTH key)."""
        key = self.selected_path() if mode == "renew" else None
        wizard = ReissueWizard(self.context, self, mode=mode, key_path=key)
        wizard.reissued.connect(lambda _result: self.refresh())
        wizard.open()
        return wizard

    # ------------------------------------------------------------------ listing

    def refresh(self) -> None:
        """Scan for key files again, in a pool thread."""
        settings = self.context.settings
        preselected = self.context.preselected_keys
        self.notice.setText(self.translator.text("page.keys.scanning"))

        def done(result: ScanResult) -> None:
            self.scan_result = result
            self.scans += 1
            self._fill_list()

        def failed(error: Exception) -> None:
            self.scans += 1
            self.error.show_error(error)

        run_blocking(
            lambda: scan(preselected, settings.recent_keys, settings.key_folders),
            done,
            failed,
            owner=self,
        )

    def _fill_list(self) -> None:
        result = self.scan_result
        if result is None:
            return
        t = self.translator.text
        current = self.selected_path()
        self.files.blockSignals(True)
        self.files.clear()
        for found in result.files:
            name = found.path.name
            label = name if found.exists else t("page.keys.file_gone", name=name)
            item = QListWidgetItem(f"{label}\n{t('page.keys.source.' + found.source)}")
            item.setData(Qt.ItemDataRole.UserRole, str(found.path))
            item.setToolTip(str(found.path))
            self.files.addItem(item)
            if found.path == current:
                self.files.setCurrentItem(item)
        self.files.blockSignals(False)
        notes = [t("page.keys.missing_folder", folder=f) for f in result.missing_folders]
        notes += [t("page.keys.unreadable_folder", folder=f) for f in result.unreadable_folders]
        if not result.files:
            notes.insert(0, t("page.keys.none"))
        self.notice.setText("\n".join(notes))
        if self.files.currentItem() is None and self.files.count():
            self.files.setCurrentRow(0)
        self._show_selected()

    def selected_path(self) -> Path | None:
        """The key file selected in the list."""
        item = self.files.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _file_selected(self, item: QListWidgetItem | None) -> None:
        if item is not None and self.token_panel is not None:
            self.token_panel.clear_selection()
        self._show_selected()

    def _token_selected(self, cert: TokenCertificate | None) -> None:
        if cert is not None:
            self.files.blockSignals(True)
            self.files.setCurrentRow(-1)
            self.files.blockSignals(False)
        self._show_selected()

    def _token_opened(self, _token: object, certs: tuple[TokenCertificate, ...]) -> None:
        checker = self.status_checker
        for cert in certs:
            key = cert.certificate.fingerprint(hashes.SHA256())

            def checked(status: RevocationStatus, key: bytes = key) -> None:
                self.token_status[key] = status
                self._show_selected()

            def failed(error: Exception, key: bytes = key) -> None:
                checked(RevocationStatus("unknown", "none", detail=str(error)), key)

            def check(c: TokenCertificate = cert) -> RevocationStatus:
                return checker(c.certificate, c.chain)

            run_blocking(check, checked, failed, owner=self)

    def _show_token_certificate(self, cert: TokenCertificate) -> None:
        t = self.translator.text
        token = self.token_panel.selected_token() if self.token_panel else None
        self.open_button.setVisible(False)
        for button in (self.backup_button, self.passwd_button, self.export_button):
            button.setEnabled(False)
        self.summary.setText(f"{token.info.label if token else ''}: {cert.alias}")
        for widget in (self.card, self.status_label, self.chain_label, self.chain):
            widget.setVisible(True)
        self.details_label.setVisible(True)
        self.details.setVisible(True)
        self.card.set_identity(identity_of(cert.certificate))
        status = self.token_status.get(cert.certificate.fingerprint(hashes.SHA256()))
        self.status_label.setText(t("page.keys.status", status=self._describe_status(status)))
        self.chain.clear()
        for issuer in cert.chain:
            self.chain.addItem(identity_of(issuer).common_name or issuer.subject.rfc4514_string())
        self.details.setPlainText(certificate_details(cert.certificate))

    def _show_selected(self) -> None:
        t = self.translator.text
        path = self.selected_path()
        token_cert = self.token_panel.selected_certificate() if self.token_panel else None
        if path is None and token_cert is not None:
            self._show_token_certificate(token_cert)
            return
        opened = self.opened.get(path) if path else None
        has_file = path is not None
        self.open_button.setVisible(has_file and opened is None)
        self.backup_button.setEnabled(has_file)
        self.passwd_button.setEnabled(has_file)
        self.export_button.setEnabled(opened is not None)
        self.chain.clear()
        if path is None:
            self.summary.setText(t("page.keys.choose"))
        elif opened is None:
            self.summary.setText(t("page.keys.locked", name=path.name))
        else:
            self.summary.setText(str(path))
        self.card.setVisible(opened is not None)
        for widget in (self.status_label, self.chain_label, self.chain):
            widget.setVisible(opened is not None)
        self.details_label.setVisible(opened is not None)
        self.details.setVisible(opened is not None)
        if opened is None or path is None:
            self.card.set_identity(None)
            self.details.clear()
            return
        self.card.set_identity(identity_of(opened.certificate))
        self.status_label.setText(t("page.keys.status", status=self._status_text(path)))
        for cert in opened.chain:
            self.chain.addItem(identity_of(cert).common_name or cert.subject.rfc4514_string())
        self.details.setPlainText(certificate_details(opened.certificate))

    def _status_text(self, path: Path) -> str:
        return self._describe_status(self.status.get(path))

    def _describe_status(self, status: RevocationStatus | None) -> str:
        t = self.translator.text
        if status is None:
            return t("page.keys.status.checking")
        if status.status == "good":
            return t("page.keys.status.good", source=status.source.upper())
        if status.status == "revoked":
            when = self.translator.datetime(status.revoked_at) if status.revoked_at else "—"
            return t("page.keys.status.revoked", time=when, reason=status.reason or "—")
        return t("page.keys.status.unknown", why=status.detail or "—")

    # ------------------------------------------------------------------ actions

    def _say(self, text: str) -> None:
        self.error.clear()
        self.info.setText(text)

    def open_selected(self) -> None:
        """Ask the selected file's password and show its certificate."""
        path = self.selected_path()
        if path is None:
            return
        dialog = KeyPasswordDialog(self.translator, path, self)
        if self.exec_dialog(dialog) != QDialog.DialogCode.Accepted.value or dialog.store is None:
            return
        entry = dialog.store.entry
        self.show_opened(path, OpenedKey(entry.certificate, tuple(entry.chain)))

    def show_opened(self, path: Path, opened: OpenedKey) -> None:
        """Show an opened key's certificate and ask the status checker about it."""
        self.opened[path] = opened
        self.context.remember_key(path)
        self._show_selected()

        def checked(status: RevocationStatus) -> None:
            self.status[path] = status
            self._show_selected()

        def failed(error: Exception) -> None:
            checked(RevocationStatus("unknown", "none", detail=str(error)))

        checker = self.status_checker
        run_blocking(lambda: checker(opened.certificate, opened.chain), checked, failed, owner=self)

    def _target_free(self, target: Path) -> bool:
        """True when ``target`` may be written: absent, or the person agreed to replace it."""
        if not target.exists():
            return True
        question = self.translator.text("page.keys.overwrite", path=str(target))
        return self.dialogs.ask(self, self.translator.text("page.keys.title"), question)

    def import_key(self) -> None:
        """Copy a key file into a folder the person picks (never replacing without asking)."""
        t = self.translator.text
        source = self.dialogs.open_file(
            self, t("page.keys.import.title"), "PKCS#12 (*.p12 *.pfx);;* (*)"
        )
        if source is None:
            return
        try:
            check_key_file(source)
        except CorruptKeyStore:
            self.error.show_text(t("page.keys.import.not_key", name=source.name))
            return
        except OSError as error:
            self.error.show_error(error)
            return
        folders = self.context.settings.key_folders
        start = Path(folders[0]) if folders else None
        folder = self.dialogs.folder(self, t("page.keys.import.folder"), start)
        if folder is None:
            return
        target = folder / source.name
        if not self._target_free(target):
            return
        try:
            atomic_write(target, source.read_bytes(), mode=0o600)
        except Exception as error:
            self.error.show_error(error)
            return
        self.context.remember_key(target)
        self._say(t("page.keys.import.done", name=source.name, folder=str(folder)))
        self.refresh()

    def export_certificate(self) -> None:
        """Save the opened key's certificate as PEM (.pem/.crt) or DER (.cer/.der)."""
        t = self.translator.text
        path = self.selected_path()
        opened = self.opened.get(path) if path else None
        if path is None or opened is None:
            return
        suggested = path.with_suffix(".pem")
        target = self.dialogs.save_file(
            self, t("page.keys.export.title"), suggested, "PEM (*.pem *.crt);;DER (*.cer *.der)"
        )
        if target is None or not self._target_free(target):
            return
        der = target.suffix.lower() in (".cer", ".der")
        encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
        try:
            atomic_write(target, opened.certificate.public_bytes(encoding), mode=0o644)
        except Exception as error:
            self.error.show_error(error)
            return
        self._say(t("page.keys.export.done", path=str(target)))

    def back_up(self) -> None:
        """Copy the selected key file where the person says (a copy, byte for byte)."""
        t = self.translator.text
        path = self.selected_path()
        if path is None:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        suggested = path.with_name(f"{path.stem}.backup-{stamp}{path.suffix}")
        target = self.dialogs.save_file(
            self, t("page.keys.backup.title"), suggested, "PKCS#12 (*.p12 *.pfx)"
        )
        if target is None or not self._target_free(target):
            return
        try:
            if target.resolve() == path.resolve():
                return
            atomic_write(target, path.read_bytes(), mode=0o600)
        except Exception as error:
            self.error.show_error(error)
            return
        self._say(t("page.keys.backup.done", path=str(target)))

    def change_password(self) -> None:
        """Re-encrypt the selected key file under a new password."""
        path = self.selected_path()
        if path is None:
            return
        dialog = ChangePasswordDialog(self.translator, path, self)
        if self.exec_dialog(dialog) == QDialog.DialogCode.Accepted.value and dialog.changed:
            self._say(self.translator.text("page.keys.passwd.done", name=path.name))


__all__ = [
    "KeysPage",
    "OpenedKey",
    "RevocationStatus",
    "StatusChecker",
    "check_key_file",
    "online_checker",
]

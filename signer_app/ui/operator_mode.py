"""Operator mode: the PSC operator's desk for forgotten passwords and lost keys.

Sign in with the operator's GOV CA AUTH key file: the password opens the file here, and the
certification centre receives only a signature over its one-time challenge. Then: find a person
by IIN (name, birth date, whether an ID document is on file, their certificates and status),
revoke the lost ones after a confirmation that names the person, record which identity document
was checked and create a one-time re-issue code, shown large, as a QR code, and printable.
The CA writes every step to its audit log under the operator's identity; the window lists what
was done in this session so the operator sees it too. Every call to the CA runs on a pool thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QRegularExpression, Qt, QTime
from PySide6.QtGui import QCloseEvent, QFont, QPixmap, QRegularExpressionValidator
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..crypto.errors import QalamError
from ..crypto.identity import CentreKind, Purpose, is_valid_iin
from ..crypto.keystores import open_pkcs12
from ..service.ca_client import CaClient
from ..service.errors import CaRefused
from ..service.known_keys import KnownKeys
from .context import AppContext
from .i18n import Text, register
from .reissue_pages import error_details
from .reissue_qr import print_slip, qr_image
from .reissue_worker import Job, Step, start
from .style import error_text_style

Json = dict[str, Any]

REVOCATION_REASONS = ("keyCompromise", "cessationOfOperation")
DOCUMENT_TYPES = ("id_card", "passport", "residence_permit")
_REASON_KEYS = {
    "keyCompromise": "operator.reason.key_compromise",
    "cessationOfOperation": "operator.reason.cessation_of_operation",
    "superseded": "operator.reason.superseded",
    "affiliationChanged": "operator.reason.affiliation_changed",
}
_SIGN_IN_AGAIN = frozenset({"session_expired", "unauthenticated"})

register(
    {
        "operator.window": Text(
            "Qalam — PSC operator", "Qalam — оператор ЦОН", "Qalam — ХҚКО операторы"
        ),
        "operator.signin.title": Text(
            "Sign in as an operator", "Вход оператора", "Оператор ретінде кіру"
        ),
        "operator.signin.intro": Text(
            "Sign in with your GOV CA operator key. The password only opens the key file on "
            "this computer; the certification centre receives a signature over a one-time "
            "challenge, never the password.",
            "Войдите с ключом оператора GOV CA. Пароль открывает файл ключа только на этом "
            "компьютере; удостоверяющий центр получает подпись одноразового запроса, а не "
            "пароль.",
            "GOV CA операторының кілтімен кіріңіз. Құпиясөз кілт файлын тек осы компьютерде "
            "ашады; куәландырушы орталық құпиясөзді емес, бір реттік сұрауға қойылған қолды "
            "ғана алады.",
        ),
        "operator.signin.file": Text(
            "Operator key file", "Файл ключа оператора", "Оператор кілтінің файлы"
        ),
        "operator.signin.password": Text("Password", "Пароль", "Құпиясөз"),
        "operator.signin.button": Text("Sign in", "Войти", "Кіру"),
        "operator.signin.pick": Text(
            "Choose your GOV CA AUTH key file",
            "Выберите файл ключа AUTH GOV CA",
            "GOV CA AUTH кілт файлын таңдаңыз",
        ),
        "operator.signin.filter": Text(
            "Key files (*.p12 *.pfx)", "Файлы ключей (*.p12 *.pfx)", "Кілт файлдары (*.p12 *.pfx)"
        ),
        "operator.browse": Text("Choose…", "Выбрать…", "Таңдау…"),
        "operator.busy": Text(
            "Waiting for the certification centre…",
            "Ожидание ответа удостоверяющего центра…",
            "Куәландырушы орталықтың жауабы күтілуде…",
        ),
        "operator.who": Text(
            "Signed in: {role}, IIN {iin}; session until {until}",
            "Вход выполнен: {role}, ИИН {iin}; сеанс до {until}",
            "Кірген: {role}, ЖСН {iin}; сеанс {until} дейін",
        ),
        "operator.signout": Text("Sign out", "Выйти", "Шығу"),
        "operator.find.label": Text("Citizen's IIN", "ИИН гражданина", "Азаматтың ЖСН-і"),
        "operator.find.button": Text("Find", "Найти", "Іздеу"),
        "operator.find.invalid": Text(
            "Not a valid IIN: check the digits.",
            "Это не ИИН: проверьте цифры.",
            "Бұл жарамды ЖСН емес: цифрларды тексеріңіз.",
        ),
        "operator.person.title": Text("Person", "Гражданин", "Азамат"),
        "operator.person.name": Text("Name", "ФИО", "Аты-жөні"),
        "operator.person.birth": Text("Born", "Дата рождения", "Туған күні"),
        "operator.person.document": Text(
            "ID document on file", "Документ в реестре", "Тізілімдегі құжат"
        ),
        "operator.yes": Text("yes", "есть", "бар"),
        "operator.no": Text(
            "no (a code cannot be checked against it)",
            "нет (код нельзя сверить с документом)",
            "жоқ (кодты құжатпен салыстыру мүмкін емес)",
        ),
        "operator.certs.title": Text(
            "Certificates (select the ones to revoke)",
            "Сертификаты (выберите те, что нужно отозвать)",
            "Сертификаттар (кері қайтарылатындарын таңдаңыз)",
        ),
        "operator.certs.purpose": Text("Purpose", "Назначение", "Мақсаты"),
        "operator.certs.role": Text("Role", "Роль", "Рөлі"),
        "operator.certs.serial": Text("Serial", "Серийный номер", "Сериялық нөмірі"),
        "operator.certs.until": Text("Valid until", "Действует до", "Жарамдылық мерзімі"),
        "operator.certs.status": Text("Status", "Статус", "Күйі"),
        "operator.certs.none": Text(
            "No certificates were issued to this person.",
            "Этому гражданину сертификаты не выпускались.",
            "Бұл азаматқа сертификат берілмеген.",
        ),
        "operator.status.good": Text("valid", "действует", "жарамды"),
        "operator.status.expired": Text("expired", "истёк", "мерзімі өткен"),
        "operator.status.revoked": Text(
            "revoked ({reason}) on {date}",
            "отозван ({reason}) {date}",
            "{date} кері қайтарылған ({reason})",
        ),
        "operator.reason.key_compromise": Text(
            "lost or stolen key (keyCompromise)",
            "ключ утерян или похищен (keyCompromise)",
            "кілт жоғалған не ұрланған (keyCompromise)",
        ),
        "operator.reason.cessation_of_operation": Text(
            "no longer needed (cessationOfOperation)",
            "больше не нужен (cessationOfOperation)",
            "енді қажет емес (cessationOfOperation)",
        ),
        "operator.reason.superseded": Text(
            "replaced by a new one", "заменён новым", "жаңасымен ауыстырылған"
        ),
        "operator.reason.affiliation_changed": Text(
            "affiliation changed", "смена места работы", "жұмыс орны өзгерген"
        ),
        "operator.revoke.reason": Text("Reason", "Причина", "Себебі"),
        "operator.revoke.button": Text(
            "Revoke selected…", "Отозвать выбранные…", "Таңдалғандарды кері қайтару…"
        ),
        "operator.revoke.confirm": Text(
            "Revoke {count} certificate(s) of {name}, IIN {iin}, because: {reason}? This cannot "
            "be undone.",
            "Отозвать сертификаты ({count}) гражданина {name}, ИИН {iin}, по причине: {reason}? "
            "Это действие необратимо.",
            "{name} (ЖСН {iin}) азаматының {count} сертификатын кері қайтару керек пе? Себебі: "
            "{reason}. Бұл әрекетті болдырмау мүмкін емес.",
        ),
        "operator.code.title": Text(
            "One-time re-issue code",
            "Одноразовый код перевыпуска",
            "Қайта шығарудың бір реттік коды",
        ),
        "operator.code.intro": Text(
            "Check the person's identity document and type its number: it is compared with the "
            "registry.",
            "Проверьте документ, удостоверяющий личность, и введите его номер: он сверяется с "
            "реестром.",
            "Жеке басты куәландыратын құжатты тексеріп, нөмірін енгізіңіз: ол тізіліммен "
            "салыстырылады.",
        ),
        "operator.code.document": Text("Document", "Документ", "Құжат"),
        "operator.code.number": Text("Number", "Номер", "Нөмірі"),
        "operator.document.id_card": Text("ID card", "удостоверение личности", "жеке куәлік"),
        "operator.document.passport": Text("passport", "паспорт", "төлқұжат"),
        "operator.document.residence_permit": Text(
            "residence permit", "вид на жительство", "тұруға ықтиярхат"
        ),
        "operator.code.button": Text("Create the code", "Создать код", "Код жасау"),
        "operator.code.valid": Text(
            "For IIN {iin} only, once, until {until}.",
            "Только для ИИН {iin}, один раз, до {until}.",
            "Тек ЖСН {iin} үшін, бір рет, {until} дейін.",
        ),
        "operator.code.print": Text("Print…", "Печать…", "Басып шығару…"),
        "operator.slip.heading": Text(
            "Qalam: one-time code to re-issue your keys",
            "Qalam: одноразовый код для перевыпуска ключей",
            "Qalam: кілттерді қайта шығаруға арналған бір реттік код",
        ),
        "operator.slip.person": Text("{name}, IIN {iin}", "{name}, ИИН {iin}", "{name}, ЖСН {iin}"),
        "operator.slip.note": Text(
            "Keep this code secret. At home open Qalam, My keys → I forgot my password / I lost "
            "my key, and type your IIN and this code. It works once.",
            "Никому не сообщайте этот код. Дома откройте Qalam, «Мои ключи» → «Я забыл пароль / "
            "потерял ключ», и введите ИИН и этот код. Код действует один раз.",
            "Бұл кодты ешкімге айтпаңыз. Үйде Qalam-ды ашып, «Менің кілттерім» → «Құпиясөзді "
            "ұмыттым / кілтті жоғалттым» бөлімінде ЖСН мен осы кодты енгізіңіз. Код бір рет "
            "жарамды.",
        ),
        "operator.log.title": Text(
            "Done in this session (the certification centre's audit log records each step "
            "under your name)",
            "Сделано за этот сеанс (журнал аудита удостоверяющего центра записывает каждый шаг "
            "от вашего имени)",
            "Осы сеанста істелгені (куәландырушы орталықтың аудит журналы әр қадамды сіздің "
            "атыңызбен жазады)",
        ),
        "operator.log.signed_in": Text(
            "{time} signed in", "{time} вход выполнен", "{time} жүйеге кірді"
        ),
        "operator.log.found": Text(
            "{time} looked up IIN {iin}: {name}",
            "{time} поиск ИИН {iin}: {name}",
            "{time} ЖСН {iin} ізделді: {name}",
        ),
        "operator.log.revoked": Text(
            "{time} revoked certificate {serial} ({reason})",
            "{time} отозван сертификат {serial} ({reason})",
            "{time} {serial} сертификаты кері қайтарылды ({reason})",
        ),
        "operator.log.code": Text(
            "{time} created a one-time code for IIN {iin} after checking the {document}",
            "{time} создан одноразовый код для ИИН {iin} после проверки документа: {document}",
            "{time} ЖСН {iin} үшін бір реттік код жасалды, тексерілген құжат: {document}",
        ),
        "operator.log.signed_out": Text(
            "{time} signed out", "{time} выход", "{time} жүйеден шықты"
        ),
        "operator.details": Text("Details", "Подробности", "Толығырақ"),
        "operator.role.operator": Text("operator", "оператор", "оператор"),
        "operator.role.admin": Text("administrator", "администратор", "әкімші"),
        "operator.role.auditor": Text("auditor", "аудитор", "аудитор"),
    }
)

_IIN_DIGITS = QRegularExpression(r"\d{0,12}")


def operator_keys(known: KnownKeys) -> list[Path]:
    """Key files this computer has opened that may sign in to operator mode (GOV CA AUTH):
    the shell shows the "Operator mode" entry only when there is one."""
    found = []
    for key in known.entries():
        who = key.identity
        if who.centre is CentreKind.GOV and who.purpose is Purpose.AUTH and key.path.exists():
            found.append(key.path)
    return found


def _when(text: object) -> datetime:
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ask(parent: QWidget, title: str, question: str) -> bool:
    answer = QMessageBox.question(parent, title, question)
    return answer == QMessageBox.StandardButton.Yes


class OperatorWindow(QMainWindow):
    """The operator's window: sign in, find, revoke, code, sign out."""

    def __init__(
        self,
        context: AppContext,
        parent: QWidget | None = None,
        *,
        key_path: Path | None = None,
        client_factory: Callable[..., CaClient] = CaClient,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("operator_window")
        self.context = context
        self.translator = context.translator
        self._client_factory = client_factory
        self.client: CaClient | None = None
        self.session: Json | None = None
        self.person: Json | None = None
        self.certificates: list[Json] = []
        self.ticket: Json | None = None
        self.log: list[tuple[str, dict[str, str]]] = []
        self._error: BaseException | None = None
        self._job: Job | None = None
        self._busy = False
        # Asked before any revocation; tests answer it without a modal dialog.
        self.confirm: Callable[[str, str], bool] = lambda title, text: _ask(self, title, text)

        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self._build_sign_in(key_path)
        self._build_desk()
        self.stack.addWidget(self.sign_in_page)
        self.stack.addWidget(self.desk_page)
        self.resize(1000, 720)
        self.translator.changed.connect(self.retranslate)
        self.retranslate()

    # -- building ----------------------------------------------------------------------------

    def _banner(self) -> tuple[QLabel, QPushButton, QPlainTextEdit]:
        message = QLabel()
        message.setWordWrap(True)
        message.setStyleSheet(error_text_style(message.palette()))
        button = QPushButton()
        button.setCheckable(True)
        button.setVisible(False)
        details = QPlainTextEdit()
        details.setReadOnly(True)
        details.setVisible(False)
        details.setMaximumHeight(80)
        button.toggled.connect(details.setVisible)
        return message, button, details

    def _build_sign_in(self, key_path: Path | None) -> None:
        page = QWidget()
        page.setObjectName("operator.sign_in")
        self.sign_in_page = page
        self.signin_title = QLabel()
        font = QFont(self.signin_title.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.signin_title.setFont(font)
        self.signin_intro = QLabel()
        self.signin_intro.setWordWrap(True)
        self.key_file = QLineEdit(str(key_path) if key_path else "")
        self.key_browse = QPushButton()
        self.key_password = QLineEdit()
        self.key_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = QPushButton()
        self.sign_in_button.setDefault(True)
        self.signin_message, self.signin_details_button, self.signin_details = self._banner()
        self.key_file_label, self.key_password_label = QLabel(), QLabel()
        row = QHBoxLayout()
        row.addWidget(self.key_file, 1)
        row.addWidget(self.key_browse)
        form = QFormLayout()
        form.addRow(self.key_file_label, row)
        form.addRow(self.key_password_label, self.key_password)
        layout = QVBoxLayout(page)
        layout.addStretch()
        for widget in (self.signin_title, self.signin_intro):
            layout.addWidget(widget)
        layout.addLayout(form)
        layout.addWidget(self.sign_in_button, 0, Qt.AlignmentFlag.AlignRight)
        for shown in (self.signin_message, self.signin_details_button, self.signin_details):
            layout.addWidget(shown)
        layout.addStretch()
        page.setContentsMargins(120, 0, 120, 0)
        self.key_browse.clicked.connect(self._choose_key)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.key_password.returnPressed.connect(self.sign_in)
        self.key_file.textChanged.connect(self._update_buttons)
        self.key_password.textChanged.connect(self._update_buttons)

    def _build_desk(self) -> None:
        page = QWidget()
        page.setObjectName("operator.desk")
        self.desk_page = page
        self.who = QLabel()
        self.sign_out_button = QPushButton()
        top = QHBoxLayout()
        top.addWidget(self.who, 1)
        top.addWidget(self.sign_out_button)

        self.find_label = QLabel()
        self.find_iin = QLineEdit()
        self.find_iin.setValidator(QRegularExpressionValidator(_IIN_DIGITS, self.find_iin))
        self.find_iin.setMaxLength(12)
        self.find_button = QPushButton()
        self.find_state = QLabel()
        find_row = QHBoxLayout()
        find_row.addWidget(self.find_label)
        find_row.addWidget(self.find_iin, 1)
        find_row.addWidget(self.find_button)

        self.person_box = QGroupBox()
        person_form = QFormLayout(self.person_box)
        self.person_name, self.person_birth, self.person_document = QLabel(), QLabel(), QLabel()
        self.person_name_label, self.person_birth_label = QLabel(), QLabel()
        self.person_document_label = QLabel()
        bold = QFont(self.person_name.font())
        bold.setBold(True)
        bold.setPointSizeF(bold.pointSizeF() * 1.2)
        self.person_name.setFont(bold)
        person_form.addRow(self.person_name_label, self.person_name)
        person_form.addRow(self.person_birth_label, self.person_birth)
        person_form.addRow(self.person_document_label, self.person_document)

        self.certs_box = QGroupBox()
        certs_layout = QVBoxLayout(self.certs_box)
        self.table = QTableWidget(0, 5)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.no_certs = QLabel()
        self.reason_label = QLabel()
        self.reason = QComboBox()
        for _ in REVOCATION_REASONS:
            self.reason.addItem("")
        self.revoke_button = QPushButton()
        revoke_row = QHBoxLayout()
        revoke_row.addWidget(self.reason_label)
        revoke_row.addWidget(self.reason, 1)
        revoke_row.addWidget(self.revoke_button)
        certs_layout.addWidget(self.table, 1)
        certs_layout.addWidget(self.no_certs)
        certs_layout.addLayout(revoke_row)

        self.code_box = QGroupBox()
        code_layout = QVBoxLayout(self.code_box)
        self.code_intro = QLabel()
        self.code_intro.setWordWrap(True)
        self.document_type = QComboBox()
        for _ in DOCUMENT_TYPES:
            self.document_type.addItem("")
        self.document_number = QLineEdit()
        self.document_number.setMaxLength(32)
        self.code_button = QPushButton()
        self.document_type_label, self.document_number_label = QLabel(), QLabel()
        code_form = QFormLayout()
        code_form.addRow(self.document_type_label, self.document_type)
        code_form.addRow(self.document_number_label, self.document_number)
        self.code_text = QLabel()
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(mono.pointSizeF() * 2.2 if mono.pointSizeF() > 0 else 24)
        mono.setBold(True)
        self.code_text.setFont(mono)
        self.code_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code_valid = QLabel()
        self.code_valid.setWordWrap(True)
        self.code_valid.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.print_button = QPushButton()
        code_layout.addWidget(self.code_intro)
        code_layout.addLayout(code_form)
        code_layout.addWidget(self.code_button, 0, Qt.AlignmentFlag.AlignRight)
        code_layout.addWidget(self.code_text)
        code_layout.addWidget(self.qr)
        code_layout.addWidget(self.code_valid)
        code_layout.addWidget(self.print_button, 0, Qt.AlignmentFlag.AlignCenter)
        code_layout.addStretch()

        self.log_title = QLabel()
        self.log_title.setWordWrap(True)
        self.log_list = QListWidget()
        self.log_list.setMaximumHeight(110)
        self.busy = QLabel()
        self.message, self.details_button, self.details = self._banner()

        left = QVBoxLayout()
        left.addLayout(find_row)
        left.addWidget(self.find_state)
        left.addWidget(self.person_box)
        left.addWidget(self.certs_box, 1)
        columns = QHBoxLayout()
        columns.addLayout(left, 3)
        columns.addWidget(self.code_box, 2)
        layout = QVBoxLayout(page)
        layout.addLayout(top)
        layout.addWidget(self.busy)
        for shown in (self.message, self.details_button, self.details):
            layout.addWidget(shown)
        layout.addLayout(columns, 1)
        layout.addWidget(self.log_title)
        layout.addWidget(self.log_list)

        self.sign_out_button.clicked.connect(self.sign_out)
        self.find_button.clicked.connect(self.find_person)
        self.find_iin.returnPressed.connect(self.find_person)
        self.find_iin.textChanged.connect(self._update_buttons)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.document_number.textChanged.connect(self._update_buttons)
        self.code_button.clicked.connect(self.create_code)
        self.print_button.clicked.connect(self.print_code)

    # -- state -------------------------------------------------------------------------------

    @property
    def busy_now(self) -> bool:
        """Whether a call to the CA is under way."""
        # Cleared by the UI-thread handlers, after the result is shown (not by the pool thread).
        return self._busy

    def _update_buttons(self) -> None:
        idle = not self.busy_now
        self.sign_in_button.setEnabled(
            idle and bool(self.key_file.text().strip()) and bool(self.key_password.text())
        )
        typed = self.find_iin.text()
        self.find_button.setEnabled(idle and is_valid_iin(typed))
        self.find_state.setText(
            self.translator.text("operator.find.invalid")
            if len(typed) == 12 and not is_valid_iin(typed)
            else ""
        )
        selected = self.selected_serials()
        self.revoke_button.setEnabled(idle and bool(selected))
        self.code_button.setEnabled(
            idle and self.person is not None and bool(self.document_number.text().strip())
        )
        self.print_button.setVisible(self.ticket is not None)
        self.sign_out_button.setEnabled(idle)
        self.busy.setText(self.translator.text("operator.busy") if self.busy_now else "")

    def selected_serials(self) -> list[str]:
        """Serials of the selected certificates that are still valid (revocable)."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [
            str(self.certificates[row]["serial"])
            for row in rows
            if row < len(self.certificates) and self.certificates[row]["status"] == "good"
        ]

    def _run(self, work: Callable[[Step], Any], done: Callable[[Any], None]) -> None:
        self._clear_error()
        job = Job(work)
        job.done.connect(done)
        job.done.connect(self._finished)
        job.failed.connect(self._failed)
        self._job = job
        self._busy = True
        start(job)
        self._update_buttons()

    def _finished(self, _result: object) -> None:
        self._busy = False
        self._release_job()
        self._update_buttons()

    def _release_job(self) -> None:
        if self._job is not None:
            self._job.release()
            self._job = None

    def _note(self, key: str, **params: str) -> None:
        params["time"] = QTime.currentTime().toString("HH:mm")
        self.log.append((key, params))
        self._render_log()

    # -- errors ------------------------------------------------------------------------------

    def _clear_error(self) -> None:
        self._error = None
        self._render_error()

    def _failed(self, error: object) -> None:
        if not isinstance(error, BaseException):
            raise TypeError("a failed job reports an exception")
        self._busy = False
        self._release_job()
        if isinstance(error, CaRefused) and error.ca_code in _SIGN_IN_AGAIN:
            self.client = None
            self.session = None
            self.stack.setCurrentWidget(self.sign_in_page)
        self._error = error
        self._render_error()
        self._update_buttons()

    def _render_error(self) -> None:
        error = self._error
        on_sign_in = self.stack.currentWidget() is self.sign_in_page
        targets = (
            (self.signin_message, self.signin_details_button, self.signin_details),
            (self.message, self.details_button, self.details),
        )
        for index, (label, button, details) in enumerate(targets):
            shown = error is not None and (index == 0) == on_sign_in
            if not shown or error is None:
                label.setText("")
                button.setVisible(False)
                button.setChecked(False)
                continue
            if isinstance(error, QalamError):
                label.setText(self.translator.error(error))
            else:
                label.setText(self.translator.error(QalamError(type(error).__name__)))
            button.setText(self.translator.text("operator.details"))
            button.setVisible(True)
            details.setPlainText(error_details(error))

    @property
    def error_text(self) -> str:
        """The plain sentence shown for the last failure ("" when none)."""
        if self.stack.currentWidget() is self.sign_in_page:
            return self.signin_message.text()
        return self.message.text()

    # -- sign in and out ---------------------------------------------------------------------

    def _choose_key(self) -> None:
        picked, _ = QFileDialog.getOpenFileName(
            self,
            self.translator.text("operator.signin.pick"),
            self.key_file.text(),
            self.translator.text("operator.signin.filter"),
        )
        if picked:
            self.key_file.setText(picked)

    def sign_in(self) -> None:
        """Open the key file here, sign the CA's challenge, keep the session."""
        if not self.sign_in_button.isEnabled():
            return
        path = Path(self.key_file.text().strip()).expanduser()
        password = self.key_password.text()
        self.key_password.clear()  # the password is not kept once the file is opened
        client = self._client_factory(self.context.settings.ca_url)

        def work(_step: Step) -> tuple[CaClient, Json]:
            entry = open_pkcs12(path, password).entry
            return client, client.sign_in(entry)

        self._run(work, self._signed_in)

    def _signed_in(self, result: object) -> None:
        client, session = cast(tuple[CaClient, Json], result)
        self.client, self.session = client, session
        self.person, self.certificates, self.ticket, self.log = None, [], None, []
        self.find_iin.clear()
        self.document_number.clear()
        self.stack.setCurrentWidget(self.desk_page)
        self._note("operator.log.signed_in")
        self.retranslate()
        self.find_iin.setFocus()

    def sign_out(self) -> None:
        """End the session at the CA and forget everything shown."""
        client = self.client
        if client is None:
            self.stack.setCurrentWidget(self.sign_in_page)
            return

        def work(_step: Step) -> None:
            client.close_session()

        self._run(work, self._signed_out)

    def _signed_out(self, _result: object) -> None:
        self._note("operator.log.signed_out")
        self.client, self.session = None, None
        self.person, self.certificates, self.ticket = None, [], None
        self.stack.setCurrentWidget(self.sign_in_page)
        self.retranslate()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window ends the session too (best effort: it expires anyway)."""
        client = self.client
        if client is not None:

            def work(_step: Step) -> None:
                client.close_session()

            # Off the UI thread and unanswered: a failure changes nothing, the session expires.
            # (This one Job stays with the application until it quits.)
            start(Job(work))
            self.client = None
        super().closeEvent(event)

    # -- find --------------------------------------------------------------------------------

    def find_person(self) -> None:
        """Look up the person with the typed IIN and their certificates."""
        client = self.client
        iin = self.find_iin.text()
        if client is None or not is_valid_iin(iin) or self.busy_now:
            return

        def work(_step: Step) -> tuple[Json, list[Json]]:
            return client.person(iin), client.person_certificates(iin)

        self._run(work, self._found)

    def _found(self, result: object) -> None:
        person, certificates = cast(tuple[Json, list[Json]], result)
        self.person, self.certificates, self.ticket = person, certificates, None
        self.document_number.clear()
        self._note("operator.log.found", iin=str(person["iin"]), name=self._name())
        self.retranslate()

    def _name(self) -> str:
        person = self.person or {}
        parts = (person.get("surname"), person.get("given_name"), person.get("patronymic"))
        return " ".join(str(p) for p in parts if p)

    # -- revoke ------------------------------------------------------------------------------

    def revoke_selected(self) -> None:
        """Revoke the selected certificates with the chosen reason, after a confirmation."""
        client, person = self.client, self.person
        serials = self.selected_serials()
        if client is None or person is None or not serials or self.busy_now:
            return
        reason = REVOCATION_REASONS[self.reason.currentIndex()]
        question = self.translator.text(
            "operator.revoke.confirm",
            count=str(len(serials)),
            name=self._name(),
            iin=str(person["iin"]),
            reason=self._reason(reason),
        )
        if not self.confirm(self.translator.text("operator.window"), question):
            return
        iin = str(person["iin"])

        def work(_step: Step) -> tuple[list[Json], list[Json]]:
            done = [client.revoke(serial, reason) for serial in serials]
            return done, client.person_certificates(iin)

        self._run(work, self._revoked)

    def _revoked(self, result: object) -> None:
        done, certificates = cast(tuple[list[Json], list[Json]], result)
        for item in done:
            self._note(
                "operator.log.revoked",
                serial=str(item["serial"])[:16],
                reason=self._reason(str(item["reason"])),
            )
        self.certificates = certificates
        self.retranslate()

    # -- the code ----------------------------------------------------------------------------

    def create_code(self) -> None:
        """Record the checked document and get a one-time re-issue code for the person."""
        client, person = self.client, self.person
        number = self.document_number.text().strip()
        if client is None or person is None or not number or self.busy_now:
            return
        document = DOCUMENT_TYPES[self.document_type.currentIndex()]
        iin = str(person["iin"])

        def work(_step: Step) -> Json:
            return client.ticket(iin, document, number, "reissue")

        self._run(work, self._code_made)

    def _code_made(self, result: object) -> None:
        if not isinstance(result, dict):
            raise TypeError("a ticket is a JSON object")
        self.ticket = result
        document = DOCUMENT_TYPES[self.document_type.currentIndex()]
        self._note(
            "operator.log.code",
            iin=str(result["iin"]),
            document=self.translator.text(f"operator.document.{document}"),
        )
        self.retranslate()

    def _slip_lines(self) -> list[str]:
        ticket = self.ticket or {}
        t = self.translator
        until = t.datetime(_when(ticket.get("expires_at")))
        return [
            t.text("operator.slip.heading"),
            t.text("operator.slip.person", name=self._name(), iin=str(ticket.get("iin"))),
            t.text("operator.code.valid", iin=str(ticket.get("iin")), until=until),
        ]

    def print_to(self, printer: QPrinter) -> None:
        """Print the code slip for the person on ``printer`` (a real printer or a PDF)."""
        if self.ticket is None:
            return
        print_slip(
            printer,
            self._slip_lines(),
            str(self.ticket["code"]),
            self.translator.text("operator.slip.note"),
        )

    def print_code(self) -> None:
        """Ask which printer (or PDF), then print the code slip."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() == QPrintDialog.DialogCode.Accepted:
            self.print_to(printer)

    # -- showing -----------------------------------------------------------------------------

    def _reason(self, reason: str) -> str:
        """An RFC 5280 reason name in plain words (the name itself when it is not one of ours)."""
        key = _REASON_KEYS.get(reason)
        return self.translator.text(key) if key else reason

    def _status(self, cert: Json) -> str:
        t = self.translator
        if cert["status"] == "revoked":
            reason_text = self._reason(str(cert.get("reason") or ""))
            date = t.date(_when(cert["revoked_at"])) if cert.get("revoked_at") else "—"
            return t.text("operator.status.revoked", reason=reason_text, date=date)
        if cert.get("expired"):
            return t.text("operator.status.expired")
        return t.text("operator.status.good")

    def _render_person(self) -> None:
        t = self.translator
        person = self.person
        self.person_box.setVisible(person is not None)
        self.certs_box.setVisible(person is not None)
        self.code_box.setEnabled(person is not None)
        if person is None:
            return
        self.person_name.setText(f"{self._name()}  ·  {person['iin']}")
        birth = person.get("birth_date")
        self.person_birth.setText(
            t.date(datetime.fromisoformat(str(birth)).replace(tzinfo=UTC)) if birth else "—"
        )
        self.person_document.setText(
            t.text("operator.yes") if person.get("has_id_document") else t.text("operator.no")
        )
        selected = set(self.selected_serials())
        self.table.clearSelection()
        self.table.setRowCount(len(self.certificates))
        for row, cert in enumerate(self.certificates):
            cells = (
                str(cert.get("purpose", "")).upper(),
                str(cert.get("role", "")),
                str(cert["serial"])[:16] + "…",
                t.date(_when(cert["not_after"])),
                self._status(cert),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(cert["serial"]) if column == 2 else text)
                if cert["status"] != "good":
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(row, column, item)
            if cert["serial"] in selected and cert["status"] == "good":
                self.table.selectRow(row)
        self.no_certs.setVisible(not self.certificates)

    def _render_code(self) -> None:
        ticket = self.ticket
        if ticket is None:
            self.code_text.setText("")
            self.qr.clear()
            self.code_valid.setText("")
            return
        code = str(ticket["code"])
        self.code_text.setText(code)
        self.qr.setPixmap(QPixmap.fromImage(qr_image(code, module_px=5)))
        self.code_valid.setText(
            self.translator.text(
                "operator.code.valid",
                iin=str(ticket["iin"]),
                until=self.translator.datetime(_when(ticket["expires_at"])),
            )
        )

    def _render_log(self) -> None:
        self.log_list.clear()
        for key, params in self.log:
            self.log_list.addItem(self.translator.text(key, **params))
        self.log_list.scrollToBottom()

    def retranslate(self) -> None:
        """Rewrite every visible string in the current language."""
        t = self.translator.text
        self.setWindowTitle(t("operator.window"))
        self.signin_title.setText(t("operator.signin.title"))
        self.signin_intro.setText(t("operator.signin.intro"))
        self.key_file_label.setText(t("operator.signin.file"))
        self.key_password_label.setText(t("operator.signin.password"))
        self.key_browse.setText(t("operator.browse"))
        self.sign_in_button.setText(t("operator.signin.button"))
        session = self.session
        if session is not None:
            who = session.get("operator", {})
            self.who.setText(
                t(
                    "operator.who",
                    role=t(f"operator.role.{who.get('role', 'operator')}"),
                    iin=str(who.get("iin", "")),
                    until=self.translator.datetime(_when(session["expires_at"])),
                )
            )
        self.sign_out_button.setText(t("operator.signout"))
        self.find_label.setText(t("operator.find.label"))
        self.find_button.setText(t("operator.find.button"))
        self.person_box.setTitle(t("operator.person.title"))
        self.person_name_label.setText(t("operator.person.name"))
        self.person_birth_label.setText(t("operator.person.birth"))
        self.person_document_label.setText(t("operator.person.document"))
        self.certs_box.setTitle(t("operator.certs.title"))
        self.table.setHorizontalHeaderLabels(
            [
                t("operator.certs.purpose"),
                t("operator.certs.role"),
                t("operator.certs.serial"),
                t("operator.certs.until"),
                t("operator.certs.status"),
            ]
        )
        self.no_certs.setText(t("operator.certs.none"))
        self.reason_label.setText(t("operator.revoke.reason"))
        for index, reason in enumerate(REVOCATION_REASONS):
            self.reason.setItemText(index, self._reason(reason))
        self.revoke_button.setText(t("operator.revoke.button"))
        self.code_box.setTitle(t("operator.code.title"))
        self.code_intro.setText(t("operator.code.intro"))
        self.document_type_label.setText(t("operator.code.document"))
        self.document_number_label.setText(t("operator.code.number"))
        for index, kind in enumerate(DOCUMENT_TYPES):
            self.document_type.setItemText(index, t(f"operator.document.{kind}"))
        self.code_button.setText(t("operator.code.button"))
        self.print_button.setText(t("operator.code.print"))
        self.log_title.setText(t("operator.log.title"))
        self._render_person()
        self._render_code()
        self._render_log()
        self._render_error()
        self._update_buttons()


__all__ = ["DOCUMENT_TYPES", "REVOCATION_REASONS", "OperatorWindow", "operator_keys"]

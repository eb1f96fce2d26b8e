"""The small dialogs *My keys* uses: open a key file with its password; change the password.

A wrong password keeps the dialog open with the reason and the attempt count; the key file is
opened (or re-encrypted) in a pool thread so the window never freezes while PBKDF2 runs. No
password outlives the dialog: the fields are cleared when it closes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...crypto.errors import WrongPassword
from ...crypto.keystores import Pkcs12KeyStore, change_password, open_pkcs12
from ..i18n import Text, Translator, register
from .page_errors import ErrorBox
from .page_tasks import run_blocking

register(
    {
        "page.password.title": Text("Open key file", "Открыть файл ключа", "Кілт файлын ашу"),
        "page.password.prompt": Text(
            "Type the password of {name} to see its certificate.",
            "Введите пароль файла {name}, чтобы увидеть сертификат.",
            "Сертификатты көру үшін {name} файлының құпиясөзін енгізіңіз.",
        ),
        "page.password.field": Text("Password", "Пароль", "Құпиясөз"),
        "page.password.wrong": Text(
            "The password is not right (attempt {attempt}). Check the keyboard layout and Caps "
            "Lock, then try again.",
            "Неверный пароль (попытка {attempt}). Проверьте раскладку клавиатуры и Caps Lock "
            "и попробуйте снова.",
            "Құпиясөз дұрыс емес ({attempt}-әрекет). Пернетақта тілін және Caps Lock-ты "
            "тексеріп, қайталап көріңіз.",
        ),
        "page.password.working": Text("Opening…", "Открываем…", "Ашылуда…"),
        "page.passwd.title": Text("Change password", "Смена пароля", "Құпиясөзді өзгерту"),
        "page.passwd.old": Text("Current password", "Текущий пароль", "Қазіргі құпиясөз"),
        "page.passwd.new": Text("New password", "Новый пароль", "Жаңа құпиясөз"),
        "page.passwd.repeat": Text(
            "New password again", "Новый пароль ещё раз", "Жаңа құпиясөз қайтадан"
        ),
        "page.passwd.mismatch": Text(
            "The two new passwords differ. Type the same password twice.",
            "Новые пароли не совпадают. Введите один и тот же пароль дважды.",
            "Жаңа құпиясөздер сәйкес емес. Бір құпиясөзді екі рет енгізіңіз.",
        ),
        "page.passwd.short": Text(
            "The new password is too short: use at least {count} characters.",
            "Новый пароль слишком короткий: нужно не меньше {count} символов.",
            "Жаңа құпиясөз тым қысқа: кемінде {count} таңба болуы керек.",
        ),
        "page.passwd.same": Text(
            "The new password is the same as the current one.",
            "Новый пароль совпадает с текущим.",
            "Жаңа құпиясөз қазіргісімен бірдей.",
        ),
        "page.passwd.strength.weak": Text(
            "Weak: add length, digits, capital letters and symbols.",
            "Слабый: сделайте длиннее, добавьте цифры, заглавные буквы и символы.",
            "Әлсіз: ұзартып, сандар, бас әріптер мен таңбалар қосыңыз.",
        ),
        "page.passwd.strength.fair": Text(
            "Fair: a longer password with symbols is safer.",
            "Средний: длинный пароль с символами надёжнее.",
            "Орташа: таңбалары бар ұзынырақ құпиясөз сенімдірек.",
        ),
        "page.passwd.strength.strong": Text("Strong.", "Надёжный.", "Сенімді."),
        "page.passwd.guidance": Text(
            "The old file is kept as a backup until the new one opens. Write the new password "
            "down somewhere safe: nobody can recover it.",
            "Старый файл сохраняется как резервная копия, пока новый не откроется. Запишите "
            "новый пароль в надёжном месте: восстановить его невозможно.",
            "Жаңа файл ашылғанша ескі файл сақтық көшірме ретінде сақталады. Жаңа құпиясөзді "
            "қауіпсіз жерге жазып қойыңыз: оны ешкім қалпына келтіре алмайды.",
        ),
    }
)

MIN_PASSWORD_LENGTH = 8


def strength(password: str) -> str:
    """ "weak", "fair" or "strong": length and the kinds of characters used."""
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if len(password) < MIN_PASSWORD_LENGTH or kinds < 2:
        return "weak"
    if len(password) >= 12 and kinds >= 3:
        return "strong"
    return "fair"


def _password_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


class KeyPasswordDialog(QDialog):
    """Ask a key file's password and open it; ``store`` holds the result once accepted."""

    def __init__(self, translator: Translator, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.translator = translator
        self.path = path
        self.store: Pkcs12KeyStore | None = None
        self.attempts = 0
        t = translator
        self.setWindowTitle(t.text("page.password.title"))
        self.prompt = QLabel(t.text("page.password.prompt", name=path.name))
        self.prompt.setWordWrap(True)
        self.password = _password_field(t.text("page.password.field"))
        self.error = ErrorBox(t)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.try_open)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        label = QLabel(t.text("page.password.field") + ":")
        label.setBuddy(self.password)
        form.addRow(label, self.password)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.finished.connect(lambda _: self.password.clear())

    def try_open(self) -> None:
        """Open the file in a pool thread; stay open on a wrong password."""
        password = self.password.text()
        self.buttons.setEnabled(False)
        self.error.show_text(self.translator.text("page.password.working"))
        run_blocking(
            lambda: open_pkcs12(self.path, password), self._opened, self._failed, owner=self
        )

    def _opened(self, store: Pkcs12KeyStore) -> None:
        self.buttons.setEnabled(True)
        self.store = store
        self.accept()

    def _failed(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        self.password.clear()
        self.password.setFocus()
        if isinstance(error, WrongPassword):
            self.attempts += 1
            self.error.show_text(self.translator.text("page.password.wrong", attempt=self.attempts))
        else:
            self.error.show_error(error)


class ChangePasswordDialog(QDialog):
    """Old password, new one twice, strength guidance; re-encrypts with change_password."""

    def __init__(self, translator: Translator, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.translator = translator
        self.path = path
        self.changed = False
        t = translator
        self.setWindowTitle(t.text("page.passwd.title"))
        self.old = _password_field(t.text("page.passwd.old"))
        self.new = _password_field(t.text("page.passwd.new"))
        self.repeat = _password_field(t.text("page.passwd.repeat"))
        self.meter = QLabel()
        self.meter.setAccessibleName("password strength")
        self.new.textChanged.connect(self._rate)
        guidance = QLabel(t.text("page.passwd.guidance"))
        guidance.setWordWrap(True)
        self.error = ErrorBox(t)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.try_change)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        for key, field in (
            ("page.passwd.old", self.old),
            ("page.passwd.new", self.new),
            ("page.passwd.repeat", self.repeat),
        ):
            label = QLabel(t.text(key) + ":")
            label.setBuddy(field)
            form.addRow(label, field)
        form.addRow("", self.meter)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(path.name))
        layout.addLayout(form)
        layout.addWidget(guidance)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._rate("")
        self.finished.connect(lambda _: self._wipe())

    def _wipe(self) -> None:
        for field in (self.old, self.new, self.repeat):
            field.clear()

    def _rate(self, text: str) -> None:
        self.meter.setText(self.translator.text(f"page.passwd.strength.{strength(text)}"))

    def problem(self) -> str | None:
        """Why the typed passwords cannot be used, or None."""
        t = self.translator
        new = self.new.text()
        if new != self.repeat.text():
            return t.text("page.passwd.mismatch")
        if len(new) < MIN_PASSWORD_LENGTH:
            return t.text("page.passwd.short", count=MIN_PASSWORD_LENGTH)
        if new == self.old.text():
            return t.text("page.passwd.same")
        return None

    def try_change(self) -> None:
        """Check the fields, then re-encrypt in a pool thread; stay open on any failure."""
        problem = self.problem()
        if problem is not None:
            self.error.show_text(problem)
            return
        old, new = self.old.text(), self.new.text()
        self.buttons.setEnabled(False)
        run_blocking(
            lambda: change_password(self.path, old, new), self._done, self._failed, owner=self
        )

    def _done(self, _store: Pkcs12KeyStore) -> None:
        self.buttons.setEnabled(True)
        self.changed = True
        self.accept()

    def _failed(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        if isinstance(error, WrongPassword):
            self.old.clear()
            self.old.setFocus()
        self.error.show_error(error)


__all__ = ["MIN_PASSWORD_LENGTH", "ChangePasswordDialog", "KeyPasswordDialog", "strength"]

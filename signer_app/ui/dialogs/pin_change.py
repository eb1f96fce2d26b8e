"""The token PIN dialogs of *My keys*: log in to see a token's certificates; change its PIN.

Both talk to the token in a pool thread (a driver may take seconds) and say what the token says
in NCALayer's wording (crypto/errors: wrong PIN, few tries left, one try left, locked): a wrong
PIN keeps the dialog open with that sentence; a locked token is said before anything is typed
and no attempt is made, since every attempt on a token counts against it. PINs are cleared
from the fields when the dialog closes and are never shown or logged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cryptography import x509
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...crypto.errors import PinCountLow, PinFinalTry, PinLocked, WrongPassword
from ...crypto.pkcs11 import PinState, TokenInfo
from ...service.tokens import PresentToken, TokenRegistry, change_pin
from ..i18n import Text, Translator, register
from ..widgets.page_errors import ErrorBox
from ..widgets.page_tasks import run_blocking

register(
    {
        "token.pin.title": Text("Token PIN", "PIN-код токена", "Токен PIN-коды"),
        "token.pin.prompt": Text(
            "Type the PIN of the token {label} to see its keys and certificates.",
            "Введите PIN-код токена {label}, чтобы увидеть его ключи и сертификаты.",
            "{label} токенінің кілттері мен сертификаттарын көру үшін PIN-кодын енгізіңіз.",
        ),
        "token.pin.field": Text("PIN", "PIN-код", "PIN-код"),
        "token.pin.working": Text(
            "Asking the token…", "Обращаемся к токену…", "Токенге сұрау жіберілуде…"
        ),
        "token.pinchange.title": Text(
            "Change the token PIN", "Смена PIN-кода токена", "Токен PIN-кодын өзгерту"
        ),
        "token.pinchange.old": Text("Current PIN", "Текущий PIN-код", "Қазіргі PIN-код"),
        "token.pinchange.new": Text("New PIN", "Новый PIN-код", "Жаңа PIN-код"),
        "token.pinchange.repeat": Text(
            "New PIN again", "Новый PIN-код ещё раз", "Жаңа PIN-код қайтадан"
        ),
        "token.pinchange.mismatch": Text(
            "The two new PINs differ. Type the same PIN twice.",
            "Новые PIN-коды не совпадают. Введите один и тот же PIN-код дважды.",
            "Жаңа PIN-кодтар сәйкес емес. Бір PIN-кодты екі рет енгізіңіз.",
        ),
        "token.pinchange.empty": Text(
            "Type the current PIN and the new one.",
            "Введите текущий и новый PIN-код.",
            "Қазіргі және жаңа PIN-кодты енгізіңіз.",
        ),
        "token.pinchange.warning": Text(
            "Each wrong current PIN counts against the token: after too many it locks.",
            "Каждый неверный текущий PIN-код засчитывается токеном: после нескольких ошибок "
            "он блокируется.",
            "Әр қате PIN-код токенде есептеледі: бірнеше қатеден кейін ол бұғатталады.",
        ),
    }
)


@dataclass(frozen=True)
class TokenCertificate:
    """A key pair on a token as the page keeps it: its label, certificate and chain (no key
    handle: the session is closed once they are read)."""

    alias: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def _pin_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


def _buttons() -> QDialogButtonBox:
    return QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )


class _TokenDialog(QDialog):
    """What both dialogs share: the token, the sentence box, the locked state."""

    def __init__(
        self,
        translator: Translator,
        registry: TokenRegistry,
        token: PresentToken,
        parent: QWidget | None,
    ) -> None:
        super().__init__(parent)
        self.translator = translator
        self.registry = registry
        self.token = token
        self.error = ErrorBox(translator)
        self.buttons = _buttons()
        self.buttons.rejected.connect(self.reject)

    @property
    def locked(self) -> bool:
        """True when the token says its PIN is locked: nothing may be tried."""
        return self.token.info.pin_state is PinState.LOCKED

    def _say_locked(self, fields: tuple[QLineEdit, ...]) -> None:
        self.error.show_text(self.translator.error(PinLocked(self.token.info.label)))
        for field in fields:
            field.setEnabled(False)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(False)

    def _set_state(self, state: PinState) -> None:
        self.token = PresentToken(self.token.storage, replace(self.token.info, pin_state=state))

    def _refused(self, error: Exception, field: QLineEdit, fields: tuple[QLineEdit, ...]) -> None:
        self.buttons.setEnabled(True)
        if isinstance(error, PinLocked):
            self._set_state(PinState.LOCKED)
            self._say_locked(fields)
            return
        if isinstance(error, PinFinalTry):
            self._set_state(PinState.FINAL_TRY)
        elif isinstance(error, PinCountLow):
            self._set_state(PinState.COUNT_LOW)
        if isinstance(error, WrongPassword):
            field.clear()
            field.setFocus()
        self.error.show_error(error)


class TokenPinDialog(_TokenDialog):
    """Log in with the PIN and read the token's keys; ``entries`` holds them once accepted."""

    def __init__(
        self,
        translator: Translator,
        registry: TokenRegistry,
        token: PresentToken,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(translator, registry, token, parent)
        t = translator
        self.entries: tuple[TokenCertificate, ...] = ()
        self.setWindowTitle(t.text("token.pin.title"))
        prompt = QLabel(t.text("token.pin.prompt", label=token.info.label))
        prompt.setWordWrap(True)
        self.pin = _pin_field(t.text("token.pin.field"))
        self.buttons.accepted.connect(self.try_open)
        form = QFormLayout()
        label = QLabel(t.text("token.pin.field") + ":")
        label.setBuddy(self.pin)
        form.addRow(label, self.pin)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.finished.connect(lambda _: self.pin.clear())
        if self.locked:
            self._say_locked((self.pin,))

    def try_open(self) -> None:
        """Log in and read the keys in a pool thread; stay open on a wrong PIN."""
        if self.locked:
            return
        pin = self.pin.text()
        storage, serial = self.token.storage, self.token.info.serial
        registry = self.registry

        def read() -> tuple[TokenCertificate, ...]:
            with registry.open(storage, pin, serial) as store:
                return tuple(
                    TokenCertificate(e.alias, e.certificate, tuple(e.chain))
                    for e in store.entries()
                )

        self.buttons.setEnabled(False)
        self.error.show_text(self.translator.text("token.pin.working"))
        run_blocking(read, self._opened, self._failed, owner=self)

    def _opened(self, entries: tuple[TokenCertificate, ...]) -> None:
        self.buttons.setEnabled(True)
        # A right PIN resets the token's count of wrong ones.
        self._set_state(PinState.OK)
        self.entries = entries
        self.accept()

    def _failed(self, error: Exception) -> None:
        self._refused(error, self.pin, (self.pin,))


class PinChangeDialog(_TokenDialog):
    """Current PIN, new PIN twice; changes it with service.tokens.change_pin."""

    def __init__(
        self,
        translator: Translator,
        registry: TokenRegistry,
        token: PresentToken,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(translator, registry, token, parent)
        t = translator
        self.changed = False
        self.setWindowTitle(t.text("token.pinchange.title"))
        self.old = _pin_field(t.text("token.pinchange.old"))
        self.new = _pin_field(t.text("token.pinchange.new"))
        self.repeat = _pin_field(t.text("token.pinchange.repeat"))
        self.buttons.accepted.connect(self.try_change)
        form = QFormLayout()
        for key, field in (
            ("token.pinchange.old", self.old),
            ("token.pinchange.new", self.new),
            ("token.pinchange.repeat", self.repeat),
        ):
            label = QLabel(t.text(key) + ":")
            label.setBuddy(field)
            form.addRow(label, field)
        warning = QLabel(t.text("token.pinchange.warning"))
        warning.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{token.info.label} ({token.info.serial})"))
        layout.addLayout(form)
        layout.addWidget(warning)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.finished.connect(lambda _: self._wipe())
        if self.locked:
            self._say_locked(self._fields)

    @property
    def _fields(self) -> tuple[QLineEdit, ...]:
        return (self.old, self.new, self.repeat)

    def _wipe(self) -> None:
        for field in self._fields:
            field.clear()

    def problem(self) -> str | None:
        """Why the typed PINs cannot be sent to the token (nothing is tried then), or None."""
        t = self.translator
        if not self.old.text() or not self.new.text():
            return t.text("token.pinchange.empty")
        if self.new.text() != self.repeat.text():
            return t.text("token.pinchange.mismatch")
        return None

    def try_change(self) -> None:
        """Check the fields, then change the PIN in a pool thread; stay open on any failure."""
        if self.locked:
            return
        problem = self.problem()
        if problem is not None:
            self.error.show_text(problem)
            return
        old, new = self.old.text(), self.new.text()
        storage, serial = self.token.storage, self.token.info.serial
        registry = self.registry
        self.buttons.setEnabled(False)
        self.error.show_text(self.translator.text("token.pin.working"))
        run_blocking(
            lambda: change_pin(registry, storage, old, new, serial),
            self._done,
            self._failed,
            owner=self,
        )

    def _done(self, info: TokenInfo) -> None:
        self.buttons.setEnabled(True)
        self.token = PresentToken(self.token.storage, info)
        self.changed = True
        self.accept()

    def _failed(self, error: Exception) -> None:
        self._refused(error, self.old, self._fields)


__all__ = ["PinChangeDialog", "TokenCertificate", "TokenPinDialog"]

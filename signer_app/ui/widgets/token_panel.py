"""The tokens part of *My keys*: tokens present, their keys after the PIN, PIN change, drivers.

The list follows the app's TokenWatch: a token plugged in appears, one pulled out disappears
(with the keys read from it), without the UI thread calling a driver. A token's keys are read
after its PIN (as a key file's after its password); the page shows a chosen key's certificate
like a key file's. Under the list: for each configured driver that is missing, what to install
on this OS (service/token_guidance.py), and "Choose module file…" for a generic PKCS#11 module,
checked by loading it before it is saved in the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...crypto.identity import identity_of
from ...crypto.pkcs11 import GENERIC_STORAGE, PinState, load_module
from ...service.settings import Settings
from ...service.token_guidance import guidance_for, needs_guidance, no_driver_at_all
from ...service.tokens import DRIVERS, PresentToken, environment_registry
from ..context import AppContext
from ..dialogs.pin_change import PinChangeDialog, TokenCertificate, TokenPinDialog
from ..i18n import Text, register
from .page_dialogs import PageDialogs
from .page_errors import ErrorBox
from .page_identity import purpose_text
from .page_tasks import run_blocking
from .token_watch import TokenSnapshot, TokenWatch

register(
    {
        "token.list": Text(
            "Tokens and ID cards", "Токены и удостоверения", "Токендер мен куәліктер"
        ),
        "token.none": Text("No token is connected.", "Токен не подключён.", "Токен қосылмаған."),
        "token.item": Text(
            "{title}: {label}\nserial {serial}; {pin}",
            "{title}: {label}\nсерийный номер {serial}; {pin}",
            "{title}: {label}\nсериялық нөмірі {serial}; {pin}",
        ),
        "token.pin.ok": Text("PIN: OK", "PIN-код: в порядке", "PIN-код: қалыпты"),
        "token.pin.count_low": Text(
            "PIN: few tries left", "PIN-код: осталось мало попыток", "PIN-код: аз әрекет қалды"
        ),
        "token.pin.final_try": Text(
            "PIN: one try left", "PIN-код: осталась одна попытка", "PIN-код: бір әрекет қалды"
        ),
        "token.pin.locked": Text("PIN: LOCKED", "PIN-код: ЗАБЛОКИРОВАН", "PIN-код: БҰҒАТТАЛҒАН"),
        "token.key": Text(
            "    {name} ({purpose})", "    {name} ({purpose})", "    {name} ({purpose})"
        ),
        "token.open": Text(
            "Show token keys…", "Показать ключи токена…", "Токен кілттерін көрсету…"
        ),
        "token.passwd": Text("Change PIN…", "Сменить PIN-код…", "PIN-кодты өзгерту…"),
        "token.passwd.done": Text(
            "The PIN of the token {label} was changed.",
            "PIN-код токена {label} изменён.",
            "{label} токенінің PIN-коды өзгертілді.",
        ),
        "token.module": Text(
            "Choose module file…", "Выбрать файл модуля…", "Модуль файлын таңдау…"
        ),
        "token.module.title": Text(
            "Choose the PKCS#11 module (driver library) of your token",
            "Выберите модуль PKCS#11 (библиотеку драйвера) вашего токена",
            "Токеніңіздің PKCS#11 модулін (драйвер кітапханасын) таңдаңыз",
        ),
        "token.module.done": Text(
            "The module {path} is used for the generic PKCS#11 storage.",
            "Модуль {path} используется для общего хранилища PKCS#11.",
            "{path} модулі жалпы PKCS#11 қоймасы үшін қолданылады.",
        ),
        "token.guidance.linux": Text(
            "{title}: its driver was not found ({where}). Install {product} and the packages "
            "{packages} (sudo apt install {packages}), then plug the token in again, or choose "
            "the module file.",
            "{title}: драйвер не найден ({where}). Установите {product} и пакеты {packages} "
            "(sudo apt install {packages}), затем заново подключите токен или выберите файл "
            "модуля.",
            "{title}: драйвер табылмады ({where}). {product} және {packages} пакеттерін "
            "орнатыңыз (sudo apt install {packages}), содан кейін токенді қайта қосыңыз немесе "
            "модуль файлын таңдаңыз.",
        ),
        "token.guidance.windows": Text(
            "{title}: its driver was not found ({where}). Download and run the Windows "
            "installer of {product}, then plug the token in again, or choose the module file.",
            "{title}: драйвер не найден ({where}). Скачайте и запустите установщик {product} "
            "для Windows, затем заново подключите токен или выберите файл модуля.",
            "{title}: драйвер табылмады ({where}). {product} бағдарламасының Windows "
            "орнатушысын жүктеп, іске қосыңыз, содан кейін токенді қайта қосыңыз немесе модуль "
            "файлын таңдаңыз.",
        ),
        "token.guidance.darwin": Text(
            "{title}: its driver was not found ({where}). Download and run the macOS "
            "installer of {product}, then plug the token in again, or choose the module file.",
            "{title}: драйвер не найден ({where}). Скачайте и запустите установщик {product} "
            "для macOS, затем заново подключите токен или выберите файл модуля.",
            "{title}: драйвер табылмады ({where}). {product} бағдарламасының macOS "
            "орнатушысын жүктеп, іске қосыңыз, содан кейін токенді қайта қосыңыз немесе модуль "
            "файлын таңдаңыз.",
        ),
        "token.product.vendor": Text(
            "the driver from the vendor of {title}",
            "драйвер производителя устройства {title}",
            "{title} өндірушісінің драйверін",
        ),
        "token.guidance.none": Text(
            "No token driver is installed on this computer.",
            "На этом компьютере не установлен ни один драйвер токена.",
            "Бұл компьютерде бірде-бір токен драйвері орнатылмаған.",
        ),
    }
)

Role = Qt.ItemDataRole.UserRole


def token_key(token: PresentToken) -> str:
    """A token's name in the page's maps: its module, slot and serial."""
    return f"{token.info.module}#{token.info.slot_id}#{token.info.serial}"


class TokenPanel(QWidget):
    """Tokens present (from ``watch``), their keys once opened, PIN change, driver guidance."""

    # A token key's certificate was chosen in the list (None: a token or nothing is).
    selected = Signal(object)
    # Keys were read from a token: (token, tuple of TokenCertificate).
    opened = Signal(object, object)

    def __init__(
        self,
        context: AppContext,
        watch: TokenWatch,
        dialogs: PageDialogs,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.translator = context.translator
        self.watch = watch
        self.dialogs = dialogs
        self.present: tuple[PresentToken, ...] = watch.snapshot.tokens
        self.keys: dict[str, tuple[TokenCertificate, ...]] = {}
        # How a modal dialog is run; tests drive the dialog instead of blocking in exec().
        self.exec_dialog: Callable[[QDialog], int] = lambda dialog: dialog.exec()

        self.label = QLabel()
        self.list = QListWidget()
        self.list.setMaximumHeight(160)
        self.label.setBuddy(self.list)
        self.list.currentItemChanged.connect(lambda *_: self._selection_changed())
        self.list.itemActivated.connect(lambda _: self.open_selected())
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.error = ErrorBox(self.translator)
        self.open_button = QPushButton()
        self.open_button.clicked.connect(self.open_selected)
        self.passwd_button = QPushButton()
        self.passwd_button.clicked.connect(self.change_pin)
        self.module_button = QPushButton()
        self.module_button.clicked.connect(self.choose_module)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.list)
        layout.addWidget(self.notice)
        layout.addWidget(self.error)
        layout.addWidget(self.info)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.passwd_button)
        layout.addLayout(row)
        layout.addWidget(self.module_button)

        watch.changed.connect(self._snapshot)
        self.translator.changed.connect(self.retranslate)
        self.retranslate()

    # ------------------------------------------------------------------ texts and list

    def retranslate(self) -> None:
        """Every visible string in the current language."""
        t = self.translator.text
        self.label.setText(t("token.list") + ":")
        self.list.setAccessibleName(t("token.list"))
        for button, key in (
            (self.open_button, "token.open"),
            (self.passwd_button, "token.passwd"),
            (self.module_button, "token.module"),
        ):
            button.setText(t(key))
            button.setAccessibleName(t(key).rstrip("…"))
        self._fill()

    def _snapshot(self, snapshot: TokenSnapshot) -> None:
        self.present = snapshot.tokens
        here = {token_key(token) for token in self.present}
        # A token pulled out takes the keys read from it along.
        self.keys = {k: v for k, v in self.keys.items() if k in here}
        self._fill()

    def _pin_text(self, state: PinState) -> str:
        return self.translator.text(f"token.pin.{state.value}")

    def _fill(self) -> None:
        t = self.translator.text
        current = self._current_data()
        self.list.blockSignals(True)
        self.list.clear()
        for token in self.present:
            info = token.info
            text = t(
                "token.item",
                title=DRIVERS[token.storage].title,
                label=info.label,
                serial=info.serial,
                pin=self._pin_text(info.pin_state),
            )
            item = QListWidgetItem(text)
            item.setData(Role, (token_key(token), None))
            item.setToolTip(f"{token.storage}: {info.manufacturer} {info.model}")
            self.list.addItem(item)
            for index, cert in enumerate(self.keys.get(token_key(token), ())):
                who = identity_of(cert.certificate)
                name = who.common_name or cert.alias
                purpose = purpose_text(self.translator, who.purpose)
                child = QListWidgetItem(t("token.key", name=name, purpose=purpose))
                child.setData(Role, (token_key(token), index))
                self.list.addItem(child)
        for row in range(self.list.count()):
            if self.list.item(row).data(Role) == current:
                self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        self._show_state()
        self._selection_changed()

    def _show_state(self) -> None:
        t = self.translator.text
        notes = [] if self.present else [t("token.none")]
        statuses = self.watch.registry.statuses()
        for status in needs_guidance(statuses):
            notes.append(self._guidance(status.storage))
        if no_driver_at_all(statuses):
            notes.append(t("token.guidance.none"))
            notes.append(self._guidance(GENERIC_STORAGE))
        self.notice.setText("\n".join(notes))

    def _guidance(self, storage: str) -> str:
        guide = guidance_for(self.watch.registry.status(storage))
        return self.translator.text(
            f"token.guidance.{guide.os}",
            title=guide.title,
            where=", ".join(guide.looked_at) or "—",
            product=guide.product
            or self.translator.text("token.product.vendor", title=guide.title),
            packages=" ".join(guide.packages),
        )

    # ------------------------------------------------------------------ selection

    def _current_data(self) -> tuple[str, int | None] | None:
        item = self.list.currentItem()
        return item.data(Role) if item is not None else None  # type: ignore[no-any-return]

    def selected_token(self) -> PresentToken | None:
        """The token of the selected row (a token or one of its keys)."""
        data = self._current_data()
        if data is None:
            return None
        return next((t for t in self.present if token_key(t) == data[0]), None)

    def selected_certificate(self) -> TokenCertificate | None:
        """The token key selected, if a key row (not a token row) is."""
        data = self._current_data()
        if data is None or data[1] is None:
            return None
        return self.keys.get(data[0], ())[data[1]]

    def clear_selection(self) -> None:
        """Nothing selected (the page's key file list took the focus)."""
        self.list.setCurrentRow(-1)

    def _selection_changed(self) -> None:
        token = self.selected_token()
        has = token is not None
        self.open_button.setEnabled(has)
        self.passwd_button.setEnabled(has)
        self.selected.emit(self.selected_certificate())

    # ------------------------------------------------------------------ actions

    def open_selected(self) -> None:
        """Ask the selected token's PIN and list its keys under it."""
        token = self.selected_token()
        if token is None:
            return
        dialog = TokenPinDialog(self.translator, self.watch.registry, token, self)
        accepted = self.exec_dialog(dialog) == QDialog.DialogCode.Accepted.value
        self._keep_pin_state(dialog.token)
        if not accepted:
            return
        self.keys[token_key(token)] = dialog.entries
        self._fill()
        self.opened.emit(token, dialog.entries)
        for row in range(self.list.count()):
            if self.list.item(row).data(Role) == (token_key(token), 0):
                self.list.setCurrentRow(row)

    def change_pin(self) -> None:
        """The PIN change dialog for the selected token."""
        token = self.selected_token()
        if token is None:
            return
        dialog = PinChangeDialog(self.translator, self.watch.registry, token, self)
        accepted = self.exec_dialog(dialog) == QDialog.DialogCode.Accepted.value
        self._keep_pin_state(dialog.token)
        if accepted and dialog.changed:
            self.error.clear()
            self.info.setText(self.translator.text("token.passwd.done", label=token.info.label))

    def _keep_pin_state(self, token: PresentToken) -> None:
        # A dialog learnt the token's state (locked, say): the list shows it at once.
        key = token_key(token)
        self.present = tuple(token if token_key(p) == key else p for p in self.present)
        self._fill()

    def choose_module(self) -> None:
        """Point the generic PKCS#11 storage at a module file, once it proves to load."""
        t = self.translator.text
        path = self.dialogs.open_file(
            self, t("token.module.title"), "PKCS#11 (*.so *.dll *.dylib);;* (*)"
        )
        if path is None:
            return
        run_blocking(lambda: load_module(path), lambda _: self._use_module(path), self._bad_module,
                     owner=self)  # fmt: skip

    def _bad_module(self, error: Exception) -> None:
        self.info.clear()
        self.error.show_error(error)

    def _use_module(self, path: Path) -> None:
        def update(settings: Settings) -> Settings:
            modules = {**settings.pkcs11_modules, GENERIC_STORAGE: str(path)}
            return replace(settings, pkcs11_modules=modules)

        try:
            settings = self.context.settings_store.update(update)
        except Exception as error:
            self._bad_module(error)
            return
        self.error.clear()
        self.info.setText(self.translator.text("token.module.done", path=str(path)))
        self.watch.set_registry(environment_registry(settings.pkcs11_modules))
        self._show_state()


__all__ = ["TokenPanel", "token_key"]

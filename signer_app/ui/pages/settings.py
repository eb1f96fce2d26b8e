"""*Settings*: language (live), timestamp and CA services, key folders, start on login, and the
OS keyring for key passwords (off by default; a warning when turned on; "forget all").

Every change is saved at once through the atomic SettingsStore. Start on login writes or removes
the XDG autostart entry (signer_app/ui/autostart.py). There are no compatibility switches yet
(settings.py has none to show).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...crypto.pkcs11 import GENERIC_STORAGE
from ...service import remembered
from ...service.settings import Settings
from ...service.tokens import environment_registry
from ..autostart import set_start_on_login
from ..context import AppContext
from ..i18n import LANGUAGE_NAMES, LANGUAGES, Text, register
from ..widgets.page_dialogs import PageDialogs
from ..widgets.page_errors import ErrorBox

register(
    {
        "page.settings.title": Text("Settings", "Настройки", "Баптаулар"),
        "page.settings.language": Text("Language", "Язык", "Тіл"),
        "page.settings.tsa": Text(
            "Timestamp service (TSA)", "Служба меток времени (TSA)", "Уақыт белгісі қызметі (TSA)"
        ),
        "page.settings.ca": Text(
            "Certification authority service",
            "Служба удостоверяющего центра",
            "Куәландырушы орталық қызметі",
        ),
        "page.settings.save_urls": Text(
            "Save addresses", "Сохранить адреса", "Мекенжайларды сақтау"
        ),
        "page.settings.bad_url": Text(
            "“{url}” is not a web address. Use one like https://tsp.example.kz/tsp, or leave "
            "the field empty for none.",
            "«{url}» не является веб-адресом. Укажите адрес вида https://tsp.example.kz/tsp "
            "или оставьте поле пустым.",
            "«{url}» веб-мекенжай емес. https://tsp.example.kz/tsp сияқты мекенжай жазыңыз "
            "немесе өрісті бос қалдырыңыз.",
        ),
        "page.settings.saved": Text("Saved.", "Сохранено.", "Сақталды."),
        "page.settings.folders": Text(
            "Folders with key files", "Папки с файлами ключей", "Кілт файлдары бар қалталар"
        ),
        "page.settings.add_folder": Text("Add folder…", "Добавить папку…", "Қалта қосу…"),
        "page.settings.remove_folder": Text("Remove", "Удалить", "Өшіру"),
        "page.settings.autostart": Text(
            "Start Qalam when I log in",
            "Запускать Qalam при входе в систему",
            "Жүйеге кірген кезде Qalam-ды іске қосу",
        ),
        "page.settings.remember": Text(
            "Remember key passwords in the system keyring",
            "Запоминать пароли ключей в хранилище системы",
            "Кілт құпиясөздерін жүйе қоймасында есте сақтау",
        ),
        "page.settings.remember.warning": Text(
            "Anyone who can use this computer account could then sign with your keys without "
            "typing the password. Turn this on only on a computer nobody else uses. Continue?",
            "Тогда любой, кто может войти в эту учётную запись, сможет подписывать вашими "
            "ключами без пароля. Включайте только на компьютере, которым пользуетесь только "
            "вы. Продолжить?",
            "Сонда осы есептік жазбаға кіре алатын кез келген адам сіздің кілттеріңізбен "
            "құпиясөзсіз қол қоя алады. Мұны тек өзіңіз ғана пайдаланатын компьютерде "
            "қосыңыз. Жалғастыру керек пе?",
        ),
        "page.settings.module": Text(
            "Generic PKCS#11 module", "Общий модуль PKCS#11", "Жалпы PKCS#11 модулі"
        ),
        "page.settings.module.none": Text(
            "none (choose one in My keys)",
            "не выбран (выберите в разделе «Мои ключи»)",
            "таңдалмаған («Менің кілттерім» бөлімінде таңдаңыз)",
        ),
        "page.settings.module.forget": Text(
            "Stop using this module", "Не использовать этот модуль", "Бұл модульді қолданбау"
        ),
        "page.settings.forget": Text(
            "Forget all remembered passwords",
            "Забыть все сохранённые пароли",
            "Сақталған құпиясөздердің бәрін ұмыту",
        ),
        "page.settings.forgotten": Text(
            "Remembered passwords deleted: {count}.",
            "Удалено сохранённых паролей: {count}.",
            "Өшірілген сақталған құпиясөздер: {count}.",
        ),
        "page.settings.folder.title": Text(
            "Choose a folder with key files",
            "Выберите папку с файлами ключей",
            "Кілт файлдары бар қалтаны таңдаңыз",
        ),
    }
)


def valid_url(text: str) -> bool:
    """An http(s) address with a host, or empty (no service)."""
    if not text:
        return True
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in text


class SettingsPage(QWidget):
    """The *Settings* page."""

    saved = Signal(object)  # the Settings just saved

    def __init__(
        self,
        context: AppContext,
        dialogs: PageDialogs | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.translator = context.translator
        self.dialogs = dialogs or PageDialogs()
        settings = context.settings

        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.heading.setFont(font)
        self.language = QComboBox()
        for code in LANGUAGES:
            self.language.addItem(LANGUAGE_NAMES[code], code)
        self.language.setCurrentIndex(LANGUAGES.index(self.translator.language))
        self.language.currentIndexChanged.connect(self._language_chosen)
        self.tsa = QLineEdit(settings.tsa_url)
        self.ca = QLineEdit(settings.ca_url)
        self.save_urls = QPushButton()
        self.save_urls.clicked.connect(self.save_addresses)
        self.folders = QListWidget()
        self.folders.addItems(list(settings.key_folders))
        self.add_folder = QPushButton()
        self.add_folder.clicked.connect(self.choose_folder)
        self.remove_folder = QPushButton()
        self.remove_folder.clicked.connect(self.remove_selected_folder)
        self.autostart = QCheckBox()
        self.autostart.setChecked(settings.start_on_login)
        self.autostart.toggled.connect(self._autostart_toggled)
        self.remember = QCheckBox()
        self.remember.setChecked(settings.remember_passwords)
        self.remember.toggled.connect(self._remember_toggled)
        self.forget = QPushButton()
        self.forget.clicked.connect(self.forget_passwords)
        # The generic token module is chosen (and checked) in My keys; here it is seen and dropped.
        self.module = QLabel()
        self.module.setWordWrap(True)
        self.forget_module = QPushButton()
        self.forget_module.clicked.connect(self.drop_module)
        if context.token_watch is not None:
            context.token_watch.registry_changed.connect(self._registry_changed)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.error = ErrorBox(self.translator)

        self.labels: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, field in (
            ("page.settings.language", self.language),
            ("page.settings.tsa", self.tsa),
            ("page.settings.ca", self.ca),
        ):
            label = QLabel()
            label.setBuddy(field)
            self.labels[key] = label
            form.addRow(label, field)
        form.addRow("", self.save_urls)
        module_label = QLabel()
        module_label.setBuddy(self.forget_module)
        self.labels["page.settings.module"] = module_label
        form.addRow(module_label, self.module)
        form.addRow("", self.forget_module)
        folder_label = QLabel()
        folder_label.setBuddy(self.folders)
        self.labels["page.settings.folders"] = folder_label
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(self.add_folder)
        folder_buttons.addWidget(self.remove_folder)
        folder_buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(folder_label)
        layout.addWidget(self.folders)
        layout.addLayout(folder_buttons)
        layout.addWidget(self.autostart)
        layout.addWidget(self.remember)
        layout.addWidget(self.forget)
        layout.addWidget(self.info)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.translator.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        """Every visible string in the current language."""
        t = self.translator.text
        self.heading.setText(t("page.settings.title"))
        for key, label in self.labels.items():
            label.setText(t(key) + ":")
        self.language.setAccessibleName(t("page.settings.language"))
        self.tsa.setAccessibleName(t("page.settings.tsa"))
        self.ca.setAccessibleName(t("page.settings.ca"))
        self.folders.setAccessibleName(t("page.settings.folders"))
        for widget, key in (
            (self.save_urls, "page.settings.save_urls"),
            (self.add_folder, "page.settings.add_folder"),
            (self.remove_folder, "page.settings.remove_folder"),
            (self.autostart, "page.settings.autostart"),
            (self.remember, "page.settings.remember"),
            (self.forget, "page.settings.forget"),
            (self.forget_module, "page.settings.module.forget"),
        ):
            widget.setText(t(key))
            widget.setAccessibleName(t(key).rstrip("…"))
        self._show_module()
        with_language = LANGUAGES.index(self.translator.language)
        if self.language.currentIndex() != with_language:
            self.language.blockSignals(True)
            self.language.setCurrentIndex(with_language)
            self.language.blockSignals(False)

    # ------------------------------------------------------------------ saving

    def _save(self, **changes: Any) -> Settings | None:
        try:
            saved = self.context.settings_store.update(lambda s: replace(s, **changes))
        except Exception as error:
            self.error.show_error(error)
            return None
        self.saved.emit(saved)
        return saved

    def _language_chosen(self, index: int) -> None:
        code = str(self.language.itemData(index))
        if self._save(locale=code) is not None:
            self.translator.set_language(code)

    def save_addresses(self) -> None:
        """Check both addresses and save them."""
        self.error.clear()
        t = self.translator.text
        tsa, ca = self.tsa.text().strip(), self.ca.text().strip()
        for url in (tsa, ca):
            if not valid_url(url):
                self.error.show_text(t("page.settings.bad_url", url=url))
                return
        if self._save(tsa_url=tsa, ca_url=ca) is not None:
            self.info.setText(t("page.settings.saved"))

    def choose_folder(self) -> None:
        """Add a key folder."""
        folder = self.dialogs.folder(self, self.translator.text("page.settings.folder.title"))
        if folder is None:
            return
        folders = [*self.context.settings.key_folders]
        if str(folder) not in folders:
            folders.append(str(folder))
            if self._save(key_folders=tuple(folders)) is not None:
                self.folders.addItem(str(folder))

    def remove_selected_folder(self) -> None:
        """Remove the selected key folder (the files in it stay where they are)."""
        item = self.folders.currentItem()
        if item is None:
            return
        folders = tuple(f for f in self.context.settings.key_folders if f != item.text())
        if self._save(key_folders=folders) is not None:
            self.folders.takeItem(self.folders.row(item))

    def _autostart_toggled(self, enabled: bool) -> None:
        try:
            set_start_on_login(enabled)
        except Exception as error:
            self.error.show_error(error)
            self.autostart.blockSignals(True)
            self.autostart.setChecked(not enabled)
            self.autostart.blockSignals(False)
            return
        self._save(start_on_login=enabled)

    def _remember_toggled(self, enabled: bool) -> None:
        t = self.translator.text
        if enabled and not self.dialogs.ask(
            self, t("page.settings.title"), t("page.settings.remember.warning")
        ):
            self.remember.blockSignals(True)
            self.remember.setChecked(False)
            self.remember.blockSignals(False)
            return
        self._save(remember_passwords=enabled)

    def _registry_changed(self, _registry: object) -> None:
        self._show_module()

    def _show_module(self) -> None:
        path = self.context.settings.pkcs11_modules.get(GENERIC_STORAGE)
        self.module.setText(path or self.translator.text("page.settings.module.none"))
        self.forget_module.setEnabled(path is not None)

    def drop_module(self) -> None:
        """Stop using the generic PKCS#11 module (the file itself is left alone)."""
        modules = dict(self.context.settings.pkcs11_modules)
        modules.pop(GENERIC_STORAGE, None)
        saved = self._save(pkcs11_modules=modules)
        if saved is None:
            return
        watch = self.context.token_watch
        if watch is not None:
            watch.set_registry(environment_registry(saved.pkcs11_modules))
        self._show_module()

    def forget_passwords(self) -> None:
        """Delete every password kept in the OS keyring."""
        try:
            count = remembered.forget_all()
        except Exception as error:
            self.error.show_error(error)
            return
        self.info.setText(self.translator.text("page.settings.forgotten", count=count))


__all__ = ["SettingsPage", "valid_url"]

"""The key chooser: which key file, and its password, for the site that asks.

It names the asking site first, lists the key files it knows (the preselected ones, then the
recent ones from the settings), takes more by "Add key file…" or by dropping a .p12 on it, and
shows whose key is selected (the owner is known once a password has opened the file). Keys the
request's filters refused stay listed, greyed out, with the reason. A wrong password is said in
the dialog, which stays open with the attempts left. The answer is a ``KeyChoice``, the string
"block" ("Cancel and always block this site") or None (Cancel, Esc).

Tokens present in the request's storages (from the app's TokenWatch) are listed with the key
files: choosing one asks for its PIN in the same field, with the token's PIN state; a locked
token is greyed with the reason (no attempt would help). A token's answer is
``KeyChoice.for_token`` and the service opens the token; a wrong PIN comes back as the
token's own sentence (few tries left, one try left) with the attempts left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...crypto.errors import PinCountLow, PinFinalTry, PinIncorrect, PinLocked
from ...crypto.identity import Identity
from ...crypto.pkcs11 import PinState
from ...service.key_status import localized
from ...service.prompter import FILE_STORAGES, KeyChoice, KeyRequest
from ...service.tokens import DRIVERS, PresentToken
from ..i18n import Text, Translator, register
from ..style import error_style
from ..widgets.identity import IdentityCard, identity_lines
from .base import AsyncDialog
from .keyfiles import KeyFileInfo, probe

BLOCK = "block"
PATH_ROLE = Qt.ItemDataRole.UserRole
DEVICE_ROW = "token:"  # PATH_ROLE of a token's row: token:<storage>:<serial>

register(
    {
        "keychooser.title": Text(
            "Choose a key — Qalam", "Выбор ключа — Qalam", "Кілт таңдау — Qalam"
        ),
        "keychooser.local": Text(
            "A program on this computer",
            "Программа на этом компьютере",
            "Осы компьютердегі бағдарлама",
        ),
        "keychooser.asks.sign": Text(
            "asks for a key to sign with.",
            "просит выбрать ключ для подписи.",
            "қол қою үшін кілт таңдауды сұрайды.",
        ),
        "keychooser.asks.key_info": Text(
            "asks which key is yours (it will receive the key's certificate).",
            "просит выбрать ваш ключ (сайт получит сертификат ключа).",
            "кілтіңізді таңдауды сұрайды (сайт кілттің сертификатын алады).",
        ),
        "keychooser.storage": Text("Storage", "Хранилище", "Қойма"),
        "keychooser.storage.file": Text(
            "Key file (PKCS#12)", "Файл ключа (PKCS#12)", "Кілт файлы (PKCS#12)"
        ),
        "keychooser.storage.absent": Text(
            "{name} (no device connected)",
            "{name} (устройство не подключено)",
            "{name} (құрылғы қосылмаған)",
        ),
        "keychooser.filters": Text(
            "This site accepts only keys that: {filters}.",
            "Сайт принимает только ключи, которые: {filters}.",
            "Сайт тек мына кілттерді қабылдайды: {filters}.",
        ),
        "keychooser.keys": Text("Keys", "Ключи", "Кілттер"),
        "keychooser.no_keys": Text(
            "No key files yet: add one with the button below or drop a .p12 file here.",
            "Файлов ключей пока нет: добавьте файл кнопкой ниже или перетащите сюда .p12.",
            "Кілт файлдары әлі жоқ: төмендегі батырмамен қосыңыз "
            "немесе .p12 файлын осында сүйреңіз.",
        ),
        "keychooser.add": Text("Add key file…", "Добавить файл ключа…", "Кілт файлын қосу…"),
        "keychooser.file_filter": Text(
            "Key files (*.p12 *.pfx);;All files (*)",
            "Файлы ключей (*.p12 *.pfx);;Все файлы (*)",
            "Кілт файлдары (*.p12 *.pfx);;Барлық файлдар (*)",
        ),
        "keychooser.password": Text("Password", "Пароль", "Құпиясөз"),
        "keychooser.ok": Text("Continue", "Продолжить", "Жалғастыру"),
        "keychooser.cancel": Text("Cancel", "Отмена", "Болдырмау"),
        "keychooser.block": Text(
            "Cancel and always block this site",
            "Отменить и всегда блокировать этот сайт",
            "Болдырмау және бұл сайтты әрдайым бұғаттау",
        ),
        "keychooser.close": Text("Close", "Закрыть", "Жабу"),
        "keychooser.need_key": Text(
            "Choose a key file first.",
            "Сначала выберите файл ключа.",
            "Алдымен кілт файлын таңдаңыз.",
        ),
        "keychooser.need_password": Text(
            "Type the password of the key file.",
            "Введите пароль файла ключа.",
            "Кілт файлының құпиясөзін енгізіңіз.",
        ),
        "keychooser.checking": Text(
            "Checking the password…", "Проверка пароля…", "Құпиясөз тексерілуде…"
        ),
        "keychooser.wrong_password": Text(
            "The password is wrong. Attempts left: {left}.",
            "Неверный пароль. Осталось попыток: {left}.",
            "Құпиясөз қате. Қалған әрекет саны: {left}.",
        ),
        "keychooser.no_attempts": Text(
            "The password was wrong {count} times, so the request was cancelled. "
            "Close this window and start again from the site.",
            "Пароль введён неверно {count} раз(а), поэтому запрос отменён. "
            "Закройте окно и начните заново на сайте.",
            "Құпиясөз {count} рет қате енгізілді, сондықтан сұрау тоқтатылды. "
            "Терезені жауып, сайтта қайта бастаңыз.",
        ),
        "keychooser.refused": Text(
            "Not accepted by this site: {reasons}",
            "Не подходит для этого сайта: {reasons}",
            "Бұл сайтқа сәйкес келмейді: {reasons}",
        ),
        "keychooser.refused_pick": Text(
            "This key does not fit the request ({reasons}). Choose another key.",
            "Этот ключ не подходит для запроса ({reasons}). Выберите другой ключ.",
            "Бұл кілт сұрауға сәйкес келмейді ({reasons}). Басқа кілт таңдаңыз.",
        ),
        "keychooser.bad_file": Text("{name}: {message}", "{name}: {message}", "{name}: {message}"),
        "keychooser.storage.token": Text("{name}: {label}", "{name}: {label}", "{name}: {label}"),
        "keychooser.token": Text(
            "{title}: {label} (serial {serial})\n{state}",
            "{title}: {label} (серийный номер {serial})\n{state}",
            "{title}: {label} (сериялық нөмірі {serial})\n{state}",
        ),
        "keychooser.token.ok": Text(
            "Key on a token: type its PIN",
            "Ключ на токене: введите PIN-код",
            "Токендегі кілт: PIN-кодын енгізіңіз",
        ),
        "keychooser.token.count_low": Text(
            "Few PIN tries are left before the token locks",
            "Осталось мало попыток ввода PIN-кода до блокировки токена",
            "Токен бұғатталғанға дейін PIN-код енгізудің аз әрекеті қалды",
        ),
        "keychooser.token.final_try": Text(
            "One PIN try is left: one more mistake locks the token",
            "Осталась одна попытка: ещё одна ошибка заблокирует токен",
            "Бір әрекет қалды: тағы бір қате токенді бұғаттайды",
        ),
        "keychooser.pin": Text("PIN", "PIN-код", "PIN-код"),
        "keychooser.remember": Text(
            "Remember the password in this computer's keyring",
            "Запомнить пароль в хранилище паролей этого компьютера",
            "Құпиясөзді осы компьютердің құпиясөз қоймасында сақтау",
        ),
        "keychooser.need_pin": Text(
            "Type the PIN of the token.", "Введите PIN-код токена.", "Токеннің PIN-кодын енгізіңіз."
        ),
        "keychooser.wrong_pin": Text(
            "{sentence} Attempts left: {left}.",
            "{sentence} Осталось попыток: {left}.",
            "{sentence} Қалған әрекет саны: {left}.",
        ),
        "keychooser.keys_label": Text(
            "Key files you can use", "Доступные файлы ключей", "Қолжетімді кілт файлдары"
        ),
    }
)


class KeyChooserDialog(AsyncDialog):
    """Pick a key file and type its password for one request (kept open across retries)."""

    def __init__(
        self,
        translator: Translator,
        request: KeyRequest,
        keys: Iterable[Path] = (),
        known: Mapping[str, Identity] | None = None,
        parent: QWidget | None = None,
        tokens: Sequence[PresentToken] = (),
        recall: Callable[[Path], str | None] | None = None,
    ) -> None:
        super().__init__(translator, parent)
        self.request = request
        self._tokens: dict[str, PresentToken] = {
            self.token_id(t): t for t in tokens if t.storage in request.storages
        }
        self._attempts_left: int | None = None
        # With "remember key password" on in settings: how to look a remembered one up.
        self._recall = recall
        self.recalled: Path | None = None  # the key whose password the keyring filled in
        self._known: dict[str, Identity] = dict(known or {})
        self._refused: dict[str, tuple[str, ...]] = {}
        self._problems: dict[str, KeyFileInfo] = {}
        self._message_key: tuple[str, dict[str, object]] | None = None
        self._message_text: str | None = None
        self._final = False
        self.browser: QFileDialog | None = None
        self.setAcceptDrops(True)
        self.setMinimumWidth(520)

        self.origin_label = QLabel()
        font = self.origin_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.origin_label.setFont(font)
        self.origin_label.setWordWrap(True)
        self.origin_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.asks_label = QLabel()
        self.asks_label.setWordWrap(True)
        self.filters_label = QLabel()
        self.filters_label.setWordWrap(True)

        self.storage_combo = QComboBox()
        self.keys_label = QLabel()
        self.key_list = QListWidget()
        self.key_list.setMinimumHeight(140)
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.add_button = QPushButton()
        self.add_button.setAutoDefault(False)
        self.card = IdentityCard(translator)
        self.password_label = QLabel()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_label.setBuddy(self.password_edit)
        self.keys_label.setBuddy(self.key_list)
        self.remember_box = QCheckBox()
        self.remember_box.setVisible(False)
        # A password the person edits is theirs, not the keyring's.
        self.password_edit.textEdited.connect(lambda _text: self._typed())
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(error_style(self.palette()))

        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.RejectRole)
        self.block_button = QPushButton()
        self.block_button.setAutoDefault(False)
        self.block_button.setVisible(request.origin is not None)
        # Only Continue may be the default: an auto-default Cancel would take Enter whenever
        # focus lands on it (e.g. while the password is checked and the form is disabled).
        for button in (self.ok_button, self.cancel_button):
            button.setAutoDefault(False)
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self._on_ok)
        self.cancel_button.clicked.connect(self.reject)
        self.block_button.clicked.connect(self._on_block)
        self.add_button.clicked.connect(self.browse)
        self.key_list.currentItemChanged.connect(self._on_current_changed)
        self.key_list.itemDoubleClicked.connect(lambda _item: self.password_edit.setFocus())

        form = QFormLayout()
        self.storage_label = QLabel()
        self.storage_label.setBuddy(self.storage_combo)
        form.addRow(self.storage_label, self.storage_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.origin_label)
        layout.addWidget(self.asks_label)
        layout.addWidget(self.filters_label)
        layout.addLayout(form)
        layout.addWidget(self.keys_label)
        layout.addWidget(self.key_list)
        layout.addWidget(self.empty_label)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.card)
        password_row = QFormLayout()
        password_row.addRow(self.password_label, self.password_edit)
        password_row.addRow("", self.remember_box)
        layout.addLayout(password_row)
        layout.addWidget(self.message_label)
        bottom = QHBoxLayout()
        bottom.addWidget(self.block_button)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout.addLayout(bottom)

        for path in keys:
            self.add_key_file(path, select=False, quiet=True)
        for ident in self._tokens:
            item = QListWidgetItem()
            item.setData(PATH_ROLE, ident)
            self.key_list.addItem(item)
            self._refresh_item(item)
        first = next(
            (
                self.key_list.item(i)
                for i in range(self.key_list.count())
                if self.key_list.item(i).flags() & Qt.ItemFlag.ItemIsEnabled
            ),
            None,
        )
        if first is not None:
            self.key_list.setCurrentItem(first)
        self.setTabOrder(self.key_list, self.add_button)
        self.setTabOrder(self.add_button, self.password_edit)
        self.setTabOrder(self.password_edit, self.ok_button)
        self.setTabOrder(self.ok_button, self.cancel_button)
        self.setTabOrder(self.cancel_button, self.block_button)
        self.update_request(request)
        self.retranslate()
        (self.password_edit if first is not None else self.add_button).setFocus()

    # ------------------------------------------------------------------ keys

    def paths(self) -> list[Path]:
        """Every key file listed, in order."""
        return [Path(self.key_list.item(i).data(PATH_ROLE)) for i in range(self.key_list.count())]

    def item_for(self, path: Path) -> QListWidgetItem | None:
        """The list item of ``path``, if listed."""
        for i in range(self.key_list.count()):
            item = self.key_list.item(i)
            if item.data(PATH_ROLE) == str(path):
                return item
        return None

    def is_greyed(self, path: Path) -> bool:
        """True when ``path`` is listed but cannot be chosen."""
        item = self.item_for(path)
        return item is not None and not bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)

    def add_key_file(self, path: Path, select: bool = True, quiet: bool = False) -> KeyFileInfo:
        """List a key file (browse, drop, recent); an unusable one is greyed with its reason and,
        unless ``quiet``, said in the message line."""
        path = Path(path)
        info = probe(path)
        if info.identity is not None:
            self._known[str(path)] = info.identity
        if info.problem is not None:
            self._problems[str(path)] = info
        else:
            self._problems.pop(str(path), None)
        item = self.item_for(path)
        if item is None:
            item = QListWidgetItem()
            item.setData(PATH_ROLE, str(path))
            self.key_list.addItem(item)
        self._refresh_item(item)
        if info.problem is not None:
            if not quiet:
                self._say_text(self._bad_file_text(info))
        elif select:
            self.key_list.setCurrentItem(item)
            self._say(None)
            self.password_edit.setFocus()
        self._refresh_empty()
        return info

    def set_identity(self, path: Path, identity: Identity) -> None:
        """The owner of ``path``, learnt when its password opened it."""
        self._known[str(path)] = identity
        item = self.item_for(path)
        if item is not None:
            self._refresh_item(item)
        if self.selected_path() == path:
            self.card.show_identity(identity, path)

    def mark_refused(self, path: Path, identity: Identity, reasons: tuple[str, ...]) -> None:
        """Grey out a key the request's filters refuse, with the reasons; select another."""
        self._known[str(path)] = identity
        self._refused[str(path)] = reasons
        item = self.item_for(path)
        if item is None:
            item = QListWidgetItem()
            item.setData(PATH_ROLE, str(path))
            self.key_list.addItem(item)
        self._refresh_item(item)
        said = "; ".join(localized(r, self.translator.language) for r in reasons)
        self._say("keychooser.refused_pick", reasons=said)
        for i in range(self.key_list.count()):
            other = self.key_list.item(i)
            if other.flags() & Qt.ItemFlag.ItemIsEnabled:
                self.key_list.setCurrentItem(other)
                break
        else:
            self.key_list.setCurrentRow(-1)
            self.card.clear()

    def selected_path(self) -> Path | None:
        """The key file selected, if any (greyed ones cannot be)."""
        item = self.key_list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        if str(item.data(PATH_ROLE)).startswith(DEVICE_ROW):
            return None
        return Path(item.data(PATH_ROLE))

    @staticmethod
    def token_id(token: PresentToken) -> str:
        """A token's row key in the list."""
        return f"{DEVICE_ROW}{token.storage}:{token.info.serial}"

    def selected_token(self) -> PresentToken | None:
        """The token selected, if a token row (not a locked one) is."""
        item = self.key_list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        return self._tokens.get(str(item.data(PATH_ROLE)))

    def _refresh_token_item(self, item: QListWidgetItem, token: PresentToken) -> None:
        t = self.translator
        info = token.info
        locked = info.pin_state is PinState.LOCKED
        state = (
            t.error(PinLocked(info.label))
            if locked
            else t.text(f"keychooser.token.{info.pin_state.value}")
        )
        title = DRIVERS[token.storage].title
        item.setText(
            t.text(
                "keychooser.token", title=title, label=info.label, serial=info.serial, state=state
            )
        )
        item.setToolTip(f"{token.storage}: {info.manufacturer} {info.model}")
        flags = item.flags()
        if locked:
            flags &= ~(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        else:
            flags |= Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        item.setFlags(flags)

    def _refresh_item(self, item: QListWidgetItem) -> None:
        t = self.translator
        key = item.data(PATH_ROLE)
        token = self._tokens.get(str(key))
        if token is not None:
            self._refresh_token_item(item, token)
            return
        path = Path(key)
        who = self._known.get(key)
        lines = identity_lines(t, who) if who is not None else [path.name, str(path.parent)]
        enabled = True
        if key in self._problems:
            info = self._problems[key]
            lines = [path.name, self._bad_file_text(info)]
            enabled = False
        elif key in self._refused:
            said = "; ".join(localized(r, t.language) for r in self._refused[key])
            lines.append(t.text("keychooser.refused", reasons=said))
            enabled = False
        item.setText("\n".join(lines))
        item.setToolTip(str(path))
        flags = item.flags()
        if enabled:
            flags |= Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        else:
            flags &= ~(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        item.setFlags(flags)

    def _bad_file_text(self, info: KeyFileInfo) -> str:
        if info.problem is None:
            return ""
        message = self.translator.error(info.problem)
        return self.translator.text("keychooser.bad_file", name=info.path.name, message=message)

    def _on_current_changed(self, current: QListWidgetItem | None, _old: object) -> None:
        path = self.selected_path() if current is not None else None
        self._label_secret()
        if path is None:
            self.card.clear()
        elif str(path) in self._known:
            self.card.show_identity(self._known[str(path)], path)
        else:
            self.card.show_locked(path)
        self.password_edit.clear()
        self._fill_remembered(path)

    def _fill_remembered(self, path: Path | None) -> None:
        self.recalled = None
        self.remember_box.setVisible(self._recall is not None and path is not None)
        self.remember_box.setChecked(False)
        if self._recall is None or path is None:
            return
        password = self._recall(path)
        if password:
            self.password_edit.setText(password)
            self.remember_box.setChecked(True)
            self.recalled = path
        del password

    def _typed(self) -> None:
        self.recalled = None

    def forget_recalled(self) -> None:
        """The remembered password was wrong (and forgotten): the person types it again."""
        self.recalled = None
        self.remember_box.setChecked(False)
        self.password_edit.clear()

    def _refresh_empty(self) -> None:
        self.empty_label.setVisible(self.key_list.count() == 0)

    # ------------------------------------------------------------------ browse and drop

    def browse(self) -> None:
        """Open a file dialog (asynchronously) to add a key file."""
        start = self.selected_path()
        folder = str(start.parent) if start is not None else ""
        title = self.translator.text("keychooser.add")
        self.browser = QFileDialog(
            self, title, folder, self.translator.text("keychooser.file_filter")
        )
        self.browser.setFileMode(QFileDialog.FileMode.ExistingFile)
        self.browser.fileSelected.connect(lambda name: self.add_key_file(Path(name)))
        self.browser.open()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Files may be dropped on the dialog."""
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Each dropped local file is listed (or said to be unusable)."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.add_key_file(Path(url.toLocalFile()))
        event.acceptProposedAction()

    # ------------------------------------------------------------------ request state

    def update_request(self, request: KeyRequest) -> None:
        """A retry of the same request: show why the previous choice did not do."""
        self.request = request
        self.set_busy(False)
        left = self._attempts_left
        if request.problem and self.selected_token() is not None and left is not None:
            # The token's own sentence (few tries left, one try left) and the request's count.
            sentence = self._pin_sentence(request.problem, request.locale)
            self._say("keychooser.wrong_pin", sentence=sentence, left=left)
        elif request.problem and self._message_key is None and self._message_text is None:
            self._say_text(request.problem)

    def _pin_sentence(self, problem: str, locale: str) -> str:
        # The service words the token's answer in the request's language; the dialog speaks
        # the person's, so the sentence is matched back to its error and said again.
        for kind in (PinFinalTry, PinCountLow, PinIncorrect):
            if kind().message(locale) == problem:
                return self.translator.error(kind())
        return problem

    def set_busy(self, busy: bool) -> None:
        """While the password is checked nothing can be changed."""
        for widget in (
            self.key_list,
            self.add_button,
            self.password_edit,
            self.ok_button,
            self.storage_combo,
        ):
            widget.setEnabled(not busy and not self._final)
        self.ok_button.setDefault(True)
        if busy:
            self._say("keychooser.checking")
        elif self._message_key is not None and self._message_key[0] == "keychooser.checking":
            self._say(None)

    def wrong_password(self, attempts_left: int, attempt: int) -> None:
        """Say the password was wrong and how many tries remain (none: the request is over)."""
        self.password_edit.clear()
        self._attempts_left = attempts_left
        if attempts_left > 0:
            self._say("keychooser.wrong_password", left=attempts_left)
            self.password_edit.setFocus()
            return
        self._final = True
        self._say("keychooser.no_attempts", count=attempt)
        self.set_busy(False)
        self.block_button.setVisible(False)
        self.ok_button.setVisible(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText(self.translator.text("keychooser.close"))
        self.cancel_button.setFocus()

    def show_problem(self, text: str) -> None:
        """Show a sentence in the message line (already in the person's language)."""
        self._say_text(text)

    @property
    def message(self) -> str:
        """The message line as shown."""
        return self.message_label.text()

    def _say(self, key: str | None, **params: object) -> None:
        self._message_key = (key, params) if key is not None else None
        self._message_text = None
        self.message_label.setText(self.translator.text(key, **params) if key else "")
        self.message_label.setAccessibleName(self.message_label.text())

    def _say_text(self, text: str) -> None:
        self._message_key = None
        self._message_text = text
        self.message_label.setText(text)
        self.message_label.setAccessibleName(text)

    # ------------------------------------------------------------------ answers

    def _label_secret(self) -> None:
        t = self.translator
        key = "keychooser.pin" if self.selected_token() is not None else "keychooser.password"
        self.password_label.setText(t.text(key))
        self.password_edit.setAccessibleName(t.text(key))

    def _on_ok(self) -> None:
        token = self.selected_token()
        if token is not None:
            pin = self.password_edit.text()
            if not pin:
                self._say("keychooser.need_pin")
                self.password_edit.setFocus()
                return
            self.password_edit.clear()
            self.answer(KeyChoice.for_token(token.storage, pin, token.info.serial))
            del pin
            return
        path = self.selected_path()
        if path is None:
            self._say("keychooser.need_key")
            self.key_list.setFocus()
            return
        password = self.password_edit.text()
        if not password:
            self._say("keychooser.need_password")
            self.password_edit.setFocus()
            return
        self.password_edit.clear()
        if self.recalled is not None and self.recalled != path:
            self.recalled = None
        self.answer(KeyChoice(path, password))
        del password

    def _on_block(self) -> None:
        self.answer(BLOCK)

    def retranslate(self) -> None:
        """Every string in the current language."""
        t = self.translator
        self.setWindowTitle(t.text("keychooser.title"))
        origin = self.request.origin
        self.origin_label.setText(origin if origin else t.text("keychooser.local"))
        self.origin_label.setAccessibleName(self.origin_label.text())
        self.asks_label.setText(t.text(f"keychooser.asks.{self.request.action}"))
        filters = self.request.filters
        self.filters_label.setText(
            t.text(
                "keychooser.filters", filters="; ".join(localized(f, t.language) for f in filters)
            )
            if filters
            else ""
        )
        self.filters_label.setVisible(bool(filters))
        self.storage_label.setText(t.text("keychooser.storage"))
        self.storage_combo.clear()
        present = {tok.storage: tok for tok in self._tokens.values()}
        for name in self.request.storages:
            if name in FILE_STORAGES:
                self.storage_combo.addItem(t.text("keychooser.storage.file"), name)
            elif name in present:
                label = present[name].info.label
                self.storage_combo.addItem(
                    t.text("keychooser.storage.token", name=name, label=label), name
                )
            else:
                self.storage_combo.addItem(t.text("keychooser.storage.absent", name=name), name)
                model = self.storage_combo.model()
                if isinstance(model, QStandardItemModel):
                    # No token there: listed so the person sees it, not choosable.
                    model.item(self.storage_combo.count() - 1).setEnabled(False)
        self.storage_combo.setAccessibleName(t.text("keychooser.storage"))
        self.keys_label.setText(t.text("keychooser.keys_label"))
        self.key_list.setAccessibleName(t.text("keychooser.keys"))
        self.empty_label.setText(t.text("keychooser.no_keys"))
        self._refresh_empty()
        self.add_button.setText(t.text("keychooser.add"))
        self.add_button.setAccessibleName(t.text("keychooser.add"))
        self._label_secret()
        self.ok_button.setText(t.text("keychooser.ok"))
        self.cancel_button.setText(
            t.text("keychooser.close") if self._final else t.text("keychooser.cancel")
        )
        self.block_button.setText(t.text("keychooser.block"))
        self.remember_box.setText(t.text("keychooser.remember"))
        self.remember_box.setAccessibleName(t.text("keychooser.remember"))
        for i in range(self.key_list.count()):
            self._refresh_item(self.key_list.item(i))
        if self._message_key is not None:
            key, params = self._message_key
            self.message_label.setText(t.text(key, **params))
        self.card.retranslate()


__all__ = ["BLOCK", "KeyChooserDialog"]

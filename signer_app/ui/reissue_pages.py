"""The pages of the re-issue wizard: what the person types and reads at each step.

Each page only shows and collects; the wizard (reissue_wizard.py) decides the order and talks to
the service. A page says whether it is complete (``changed`` tells the wizard to re-check) and
rewrites every string in ``retranslate`` when the language changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QFont, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..crypto.errors import QalamError
from ..crypto.identity import Purpose, identity_of, is_valid_iin
from ..service.errors import CaRefused
from .i18n import Text, Translator, register
from .reissue_password import MIN_LENGTH, assess
from .style import error_text_style, strength_colour

register(
    {
        "reissue.browse": Text("Choose…", "Выбрать…", "Таңдау…"),
        "reissue.code.title": Text(
            "Your IIN and the one-time code",
            "Ваш ИИН и одноразовый код",
            "ЖСН-іңіз және бір реттік код",
        ),
        "reissue.code.intro": Text(
            "The operator at the Public Service Centre gives you this code after checking your "
            "ID card. It works once, for 24 hours, and only for your IIN. Your new keys are made "
            "on this computer; the private keys never leave it.",
            "Оператор ЦОН выдаёт этот код после проверки удостоверения личности. Код действует "
            "один раз, 24 часа и только для вашего ИИН. Новые ключи создаются на этом "
            "компьютере; закрытые ключи никуда не передаются.",
            "Бұл кодты ХҚКО операторы жеке куәлігіңізді тексергеннен кейін береді. Код бір рет, "
            "24 сағат ішінде және тек сіздің ЖСН-іңіз үшін жарамды. Жаңа кілттер осы "
            "компьютерде жасалады; жабық кілттер ешқайда жіберілмейді.",
        ),
        "reissue.code.iin": Text("IIN", "ИИН", "ЖСН"),
        "reissue.kind.label": Text("Key type", "Тип ключей", "Кілт түрі"),
        "reissue.kind.gost": Text(
            "GOST 2015 (recommended)", "ГОСТ 2015 (рекомендуется)", "ГОСТ 2015 (ұсынылады)"
        ),
        "reissue.kind.gost_note": Text(
            "The national algorithm the certification centre issues today; every Kazakh portal "
            "accepts it.",
            "Национальный алгоритм, который удостоверяющий центр выдаёт сегодня; его принимают "
            "все казахстанские порталы.",
            "Куәландырушы орталық бүгін беретін ұлттық алгоритм; оны барлық қазақстандық "
            "порталдар қабылдайды.",
        ),
        "reissue.kind.rsa": Text("RSA", "RSA", "RSA"),
        "reissue.kind.rsa_note": Text(
            "The international algorithm: choose it only if a program you use cannot read GOST "
            "keys.",
            "Международный алгоритм: выбирайте его, только если ваша программа не читает "
            "ключи ГОСТ.",
            "Халықаралық алгоритм: оны тек сіз қолданатын бағдарлама ГОСТ кілттерін оқи "
            "алмаса таңдаңыз.",
        ),
        "reissue.code.code": Text("One-time code", "Одноразовый код", "Бір реттік код"),
        "reissue.code.hint": Text(
            "The code looks like ABCD-EFGH-JKMN-PQRS; dashes and letter case do not matter.",
            "Код выглядит так: ABCD-EFGH-JKMN-PQRS; дефисы и регистр букв не важны.",
            "Код мынадай болады: ABCD-EFGH-JKMN-PQRS; сызықшалар мен әріп регистрі маңызды емес.",
        ),
        "reissue.iin.typing": Text(
            "{count} of 12 digits", "{count} из 12 цифр", "12 цифрдан {count} енгізілді"
        ),
        "reissue.iin.valid": Text("✓ The IIN is valid.", "✓ ИИН корректен.", "✓ ЖСН дұрыс."),
        "reissue.iin.invalid": Text(
            "✗ This is not a valid IIN: a digit is mistyped (the last digit does not match the "
            "others).",
            "✗ Это не ИИН: одна из цифр введена неверно (последняя цифра не сходится с "
            "остальными).",
            "✗ Бұл жарамды ЖСН емес: бір цифр қате терілген (соңғы цифр басқаларына сәйкес "
            "келмейді).",
        ),
        "reissue.password.title": Text(
            "A new password for your keys", "Новый пароль для ключей", "Кілттерге жаңа құпиясөз"
        ),
        "reissue.password.intro": Text(
            "Nobody can recover this password, not even the certification centre. Choose one "
            "you will remember, or keep it in a password manager.",
            "Этот пароль не сможет восстановить никто, даже удостоверяющий центр. Выберите "
            "такой, который запомните, или храните его в менеджере паролей.",
            "Бұл құпиясөзді ешкім, тіпті куәландырушы орталық та қалпына келтіре алмайды. Есте "
            "сақтайтын құпиясөз таңдаңыз немесе оны құпиясөз менеджерінде сақтаңыз.",
        ),
        "reissue.password.new": Text("New password", "Новый пароль", "Жаңа құпиясөз"),
        "reissue.password.repeat": Text("Repeat it", "Повторите его", "Оны қайталаңыз"),
        "reissue.password.empty": Text(
            "Type a password of at least {min} characters.",
            "Введите пароль не короче {min} символов.",
            "Кемінде {min} таңбадан тұратын құпиясөз енгізіңіз.",
        ),
        "reissue.password.too_short": Text(
            "Too short: use at least {min} characters; a few words together are easiest to "
            "remember.",
            "Слишком короткий: нужно не меньше {min} символов; несколько слов подряд легче "
            "всего запомнить.",
            "Тым қысқа: кемінде {min} таңба керек; бірнеше сөзді қатар жазу есте сақтауға ең оңай.",
        ),
        "reissue.password.contains_iin": Text(
            "Do not put your IIN or birth date in the password: anyone who knows you can guess it.",
            "Не используйте в пароле ИИН или дату рождения: их знает любой знакомый.",
            "Құпиясөзге ЖСН-ді немесе туған күніңізді қоспаңыз: оларды танысыңыздың кез келгені "
            "біледі.",
        ),
        "reissue.password.common": Text(
            "This password is among the first ones an attacker tries; choose something less "
            "common.",
            "Такой пароль злоумышленник проверит одним из первых; выберите менее распространённый.",
            "Мұндай құпиясөзді шабуылдаушы ең алдымен тексереді; сирек кездесетінін таңдаңыз.",
        ),
        "reissue.password.score1": Text(
            "Weak: it will do, but a longer one is safer.",
            "Слабый: подойдёт, но длиннее — надёжнее.",
            "Әлсіз: жарайды, бірақ ұзынырағы сенімдірек.",
        ),
        "reissue.password.score2": Text(
            "Fair: another word or a few symbols make it strong.",
            "Средний: добавьте слово или несколько символов — и он станет надёжным.",
            "Орташа: тағы бір сөз не бірнеше таңба қоссаңыз, мықты болады.",
        ),
        "reissue.password.score3": Text("Good.", "Хороший.", "Жақсы."),
        "reissue.password.score4": Text("Strong.", "Надёжный.", "Мықты."),
        "reissue.password.mismatch": Text(
            "The two passwords differ.", "Пароли не совпадают.", "Құпиясөздер сәйкес келмейді."
        ),
        "reissue.password.match": Text(
            "✓ The passwords match.", "✓ Пароли совпадают.", "✓ Құпиясөздер сәйкес."
        ),
        "reissue.folder.title": Text(
            "Where to save the new key files",
            "Куда сохранить новые файлы ключей",
            "Жаңа кілт файлдарын қайда сақтау керек",
        ),
        "reissue.folder.intro": Text(
            "Two files will be saved in this folder: AUTH_…p12 to log in to portals and "
            "RSA256_…p12 to sign documents. Nothing already there is overwritten.",
            "В эту папку будут сохранены два файла: AUTH_…p12 для входа на порталы и "
            "RSA256_…p12 для подписи документов. Уже существующие файлы не перезаписываются.",
            "Бұл қалтаға екі файл сақталады: порталдарға кіруге арналған AUTH_…p12 және "
            "құжаттарға қол қоюға арналған RSA256_…p12. Онда бар файлдар қайта жазылмайды.",
        ),
        "reissue.folder.label": Text("Folder", "Папка", "Қалта"),
        "reissue.folder.missing": Text(
            "This folder does not exist.", "Такой папки нет.", "Мұндай қалта жоқ."
        ),
        "reissue.folder.ok": Text(
            "✓ The files will be saved here.",
            "✓ Файлы будут сохранены здесь.",
            "✓ Файлдар осында сақталады.",
        ),
        "reissue.folder.pick": Text(
            "Choose a folder for the key files",
            "Выберите папку для файлов ключей",
            "Кілт файлдарына арналған қалтаны таңдаңыз",
        ),
        "reissue.current.title": Text(
            "Your current authentication key",
            "Ваш текущий ключ аутентификации",
            "Қазіргі аутентификация кілтіңіз",
        ),
        "reissue.current.intro": Text(
            "While your AUTH key is still valid you can get new keys without visiting a PSC: "
            "Qalam signs the request with it. Choose the AUTH_…p12 file and type its password.",
            "Пока ключ AUTH действителен, новые ключи можно получить без визита в ЦОН: Qalam "
            "подпишет запрос этим ключом. Выберите файл AUTH_…p12 и введите его пароль.",
            "AUTH кілтіңіз әлі жарамды болғанда, жаңа кілттерді ХҚКО-ға бармай-ақ алуға "
            "болады: Qalam сұрауға осы кілтпен қол қояды. AUTH_…p12 файлын таңдап, оның "
            "құпиясөзін енгізіңіз.",
        ),
        "reissue.current.file": Text("Key file", "Файл ключа", "Кілт файлы"),
        "reissue.current.password": Text("Its password", "Его пароль", "Оның құпиясөзі"),
        "reissue.current.pick": Text(
            "Choose your AUTH key file", "Выберите файл ключа AUTH", "AUTH кілт файлын таңдаңыз"
        ),
        "reissue.current.filter": Text(
            "Key files (*.p12 *.pfx)", "Файлы ключей (*.p12 *.pfx)", "Кілт файлдары (*.p12 *.pfx)"
        ),
        "reissue.current.not_auth": Text(
            "This is a signing (SIGN) key; choose the AUTH_…p12 file.",
            "Это ключ подписи (SIGN); выберите файл AUTH_…p12.",
            "Бұл қол қою (SIGN) кілті; AUTH_…p12 файлын таңдаңыз.",
        ),
        "reissue.current.no_iin": Text(
            "This key's certificate names no IIN, so it cannot renew.",
            "В сертификате этого ключа нет ИИН, поэтому обновить его так нельзя.",
            "Бұл кілттің сертификатында ЖСН жоқ, сондықтан оны осылай жаңарту мүмкін емес.",
        ),
        "reissue.current.expired": Text(
            "This key expired on {date}; go to a PSC for new keys.",
            "Срок действия ключа истёк {date}; обратитесь в ЦОН за новыми ключами.",
            "Бұл кілттің мерзімі {date} аяқталған; жаңа кілттер үшін ХҚКО-ға барыңыз.",
        ),
        "reissue.current.whose": Text(
            "Key of {name}, IIN {iin}, valid until {date}.",
            "Ключ: {name}, ИИН {iin}, действует до {date}.",
            "Кілт иесі: {name}, ЖСН {iin}, {date} дейін жарамды.",
        ),
        "reissue.progress.title": Text(
            "Getting your new keys", "Получение новых ключей", "Жаңа кілттерді алу"
        ),
        "reissue.progress.cancel_note": Text(
            "You can cancel until the certification centre is asked.",
            "Отменить можно, пока запрос не отправлен в удостоверяющий центр.",
            "Куәландырушы орталыққа сұрау жіберілгенге дейін бас тартуға болады.",
        ),
        "reissue.progress.no_cancel": Text(
            "The certification centre is answering; please wait. If the connection drops, "
            "nothing is lost: Qalam finishes next time.",
            "Удостоверяющий центр отвечает, подождите. Если связь прервётся, ничего не "
            "потеряется: Qalam завершит перевыпуск в следующий раз.",
            "Куәландырушы орталық жауап беруде, күте тұрыңыз. Байланыс үзілсе, ештеңе "
            "жоғалмайды: Qalam келесі жолы аяқтайды.",
        ),
        "reissue.progress.cancelling": Text("Cancelling…", "Отмена…", "Тоқтатылуда…"),
        "reissue.stage.generating": Text(
            "Making two new key pairs on this computer",
            "Создание двух новых пар ключей на этом компьютере",
            "Осы компьютерде екі жаңа кілт жұбы жасалуда",
        ),
        "reissue.stage.signing": Text(
            "Signing the request with your current AUTH key",
            "Подпись запроса текущим ключом AUTH",
            "Сұрауға қазіргі AUTH кілтімен қол қою",
        ),
        "reissue.stage.asking": Text(
            "Asking the certification centre for the certificates",
            "Запрос сертификатов в удостоверяющем центре",
            "Куәландырушы орталықтан сертификаттар сұралуда",
        ),
        "reissue.stage.fetching": Text(
            "Fetching the certificates already issued",
            "Получение уже выпущенных сертификатов",
            "Бұрын шығарылған сертификаттарды алу",
        ),
        "reissue.stage.resending": Text(
            "Sending the request again", "Повторная отправка запроса", "Сұрауды қайта жіберу"
        ),
        "reissue.stage.saving": Text(
            "Saving the key files and opening them once to check",
            "Сохранение файлов ключей и проверочное открытие",
            "Кілт файлдарын сақтау және тексеру үшін ашу",
        ),
        "reissue.done.title": Text(
            "Your new keys are ready", "Новые ключи готовы", "Жаңа кілттер дайын"
        ),
        "reissue.done.superseded": Text(
            "Your previous certificates were revoked as replaced; use the new files from now on.",
            "Прежние сертификаты отозваны как заменённые; теперь пользуйтесь новыми файлами.",
            "Бұрынғы сертификаттар ауыстырылған ретінде кері қайтарылды; енді жаңа файлдарды "
            "пайдаланыңыз.",
        ),
        "reissue.done.purpose.auth": Text(
            "Authentication (logging in to portals)",
            "Аутентификация (вход на порталы)",
            "Аутентификация (порталдарға кіру)",
        ),
        "reissue.done.purpose.sign": Text(
            "Signing documents", "Подпись документов", "Құжаттарға қол қою"
        ),
        "reissue.done.certificate": Text(
            "{name}, IIN {iin}\nValid until {date}\n{path}",
            "{name}, ИИН {iin}\nДействует до {date}\n{path}",
            "{name}, ЖСН {iin}\n{date} дейін жарамды\n{path}",
        ),
        "reissue.done.backup": Text(
            "Save a backup copy…", "Сохранить резервную копию…", "Сақтық көшірмесін сақтау…"
        ),
        "reissue.done.backup_pick": Text(
            "Choose a second place for a backup copy (a USB stick)",
            "Выберите другое место для резервной копии (флешку)",
            "Сақтық көшірмеге басқа орын таңдаңыз (флешка)",
        ),
        "reissue.done.backup_hint": Text(
            "Keep a copy of both files somewhere other than this disk: if the disk fails, the "
            "copy saves you another trip to the PSC.",
            "Храните копию обоих файлов не на этом диске: если диск выйдет из строя, копия "
            "избавит от повторного визита в ЦОН.",
            "Екі файлдың көшірмесін осы дисктен басқа жерде сақтаңыз: диск істен шықса, көшірме "
            "ХҚКО-ға қайта барудан құтқарады.",
        ),
        "reissue.done.backup_saved": Text(
            "✓ A backup copy of both files is in {folder}.",
            "✓ Резервная копия обоих файлов сохранена в {folder}.",
            "✓ Екі файлдың сақтық көшірмесі {folder} қалтасында.",
        ),
        "reissue.done.backup_same": Text(
            "The keys are already in that folder; choose another place.",
            "Ключи уже лежат в этой папке; выберите другое место.",
            "Кілттер осы қалтада тұр; басқа орын таңдаңыз.",
        ),
        "reissue.done.backup_exists": Text(
            "{path} already exists; nothing was copied. Choose another folder.",
            "{path} уже существует; ничего не скопировано. Выберите другую папку.",
            "{path} бұрыннан бар; ештеңе көшірілмеді. Басқа қалта таңдаңыз.",
        ),
        "reissue.done.backup_failed": Text(
            "The copy could not be written: {reason}",
            "Не удалось записать копию: {reason}",
            "Көшірмені жазу мүмкін болмады: {reason}",
        ),
        "reissue.done.remember": Text(
            "Remember this key's password in the system keyring",
            "Запомнить пароль этого ключа в системном хранилище паролей",
            "Осы кілттің құпиясөзін жүйелік құпиясөз қоймасында сақтау",
        ),
        "reissue.done.remember_failed": Text(
            "The system keyring could not keep the password: {reason}",
            "Системное хранилище не смогло сохранить пароль: {reason}",
            "Жүйелік қойма құпиясөзді сақтай алмады: {reason}",
        ),
        "reissue.error.title": Text(
            "The new keys were not issued", "Новые ключи не выпущены", "Жаңа кілттер шығарылмады"
        ),
        "reissue.error.details": Text("Details", "Подробности", "Толығырақ"),
        "reissue.error.retry_note": Text(
            "Your new keys are kept, encrypted with your new password; trying again finishes "
            "the same re-issue.",
            "Новые ключи сохранены, зашифрованные новым паролем; повторная попытка завершит тот "
            "же перевыпуск.",
            "Жаңа кілттер жаңа құпиясөзбен шифрланып сақталды; қайталау сол қайта шығаруды "
            "аяқтайды.",
        ),
        "reissue.resume.title": Text(
            "Finish the re-issue you started",
            "Завершите начатый перевыпуск",
            "Басталған қайта шығаруды аяқтаңыз",
        ),
        "reissue.resume.intro": Text(
            "A re-issue for IIN {iin} started on {date} did not finish (the connection dropped "
            "or Qalam was closed). Its new keys are kept here, encrypted with the new password "
            "you chose then. Type that password to finish; the key files go to {folder}.",
            "Перевыпуск для ИИН {iin}, начатый {date}, не завершён (прервалась связь или Qalam "
            "был закрыт). Его новые ключи хранятся здесь, зашифрованные новым паролем, который "
            "вы тогда выбрали. Введите этот пароль, чтобы завершить; файлы ключей будут "
            "сохранены в {folder}.",
            "{date} басталған ЖСН {iin} үшін қайта шығару аяқталмады (байланыс үзілді немесе "
            "Qalam жабылды). Оның жаңа кілттері осында, сол кезде таңдаған жаңа құпиясөзбен "
            "шифрланып сақтаулы. Аяқтау үшін сол құпиясөзді енгізіңіз; кілт файлдары {folder} "
            "қалтасына сақталады.",
        ),
        "reissue.resume.password": Text(
            "The new password you chose",
            "Выбранный вами новый пароль",
            "Сіз таңдаған жаңа құпиясөз",
        ),
        "reissue.resume.code": Text(
            "The code, if asked", "Код, если потребуется", "Код, егер сұралса"
        ),
        "reissue.resume.code_hint": Text(
            "Needed only if the centre never received the request.",
            "Нужен, только если центр не получил запрос.",
            "Орталық сұрауды алмаған жағдайда ғана қажет.",
        ),
        "reissue.resume.need_code": Text(
            "The centre never received the request: type the one-time code to send it again.",
            "Центр не получил запрос: введите одноразовый код, чтобы отправить его снова.",
            "Орталық сұрауды алмаған: оны қайта жіберу үшін бір реттік кодты енгізіңіз.",
        ),
        "reissue.resume.discard": Text("Start over instead…", "Начать заново…", "Басынан бастау…"),
    }
)

_IIN_DIGITS = QRegularExpression(r"\d{0,12}")


def _wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _password_field() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


class Page(QWidget):
    """One wizard page: a title, an intro sentence, fields; ``changed`` when completeness may."""

    changed = Signal()
    name = "page"
    title_key = "reissue.code.title"

    def __init__(self, translator: Translator) -> None:
        super().__init__()
        self.setObjectName(f"page.{self.name}")
        self.translator = translator
        self.intro = _wrapped()
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(self.intro)

    def title(self) -> str:
        """The page's heading in the current language."""
        return self.translator.text(self.title_key)

    def is_complete(self) -> bool:
        """Whether Next may be pressed."""
        return True

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""


class CodePage(Page):
    """IIN (checked as it is typed), the one-time code from the PSC, and the kind of the new
    keys (GOST 2015 unless the person picks RSA; a renewal keeps the old kind and asks nothing)."""

    name = "code"
    title_key = "reissue.code.title"

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        form = QFormLayout()
        self.iin = QLineEdit()
        self.iin.setValidator(QRegularExpressionValidator(_IIN_DIGITS, self.iin))
        self.iin.setMaxLength(12)
        self.iin_state = QLabel()
        self.code = QLineEdit()
        self.code.setMaxLength(40)
        self.code_hint = _wrapped()
        self.iin_label, self.code_label = QLabel(), QLabel()
        form.addRow(self.iin_label, self.iin)
        form.addRow("", self.iin_state)
        form.addRow(self.code_label, self.code)
        form.addRow("", self.code_hint)
        self.gost = QRadioButton()
        self.gost.setObjectName("kind.gost")
        self.gost.setChecked(True)  # what NCA issues to every new applicant since 2024
        self.rsa = QRadioButton()
        self.rsa.setObjectName("kind.rsa")
        self.gost_note, self.rsa_note = _wrapped(), _wrapped()
        self.kind_label = QLabel()
        form.addRow(self.kind_label, self.gost)
        form.addRow("", self.gost_note)
        form.addRow("", self.rsa)
        form.addRow("", self.rsa_note)
        self.layout_.addLayout(form)
        self.layout_.addStretch()
        self.iin.textChanged.connect(self._update)
        self.code.textChanged.connect(self._update)
        self.retranslate()

    def _update(self) -> None:
        typed = self.iin.text()
        if not typed:
            self.iin_state.setText("")
        elif len(typed) < 12:
            self.iin_state.setText(self.translator.text("reissue.iin.typing", count=len(typed)))
        elif is_valid_iin(typed):
            self.iin_state.setText(self.translator.text("reissue.iin.valid"))
        else:
            self.iin_state.setText(self.translator.text("reissue.iin.invalid"))
        self.changed.emit()

    def is_complete(self) -> bool:
        """A valid IIN and something that may be a code."""
        return is_valid_iin(self.iin.text()) and len(self.code.text().strip()) >= 4

    def kind(self) -> str:
        """The kind of keys chosen, as service/reissue.py names it: "gost" or "rsa"."""
        return "rsa" if self.rsa.isChecked() else "gost"

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""
        t = self.translator.text
        self.intro.setText(t("reissue.code.intro"))
        self.iin_label.setText(t("reissue.code.iin"))
        self.code_label.setText(t("reissue.code.code"))
        self.code_hint.setText(t("reissue.code.hint"))
        self.kind_label.setText(t("reissue.kind.label"))
        self.gost.setText(t("reissue.kind.gost"))
        self.gost_note.setText(t("reissue.kind.gost_note"))
        self.rsa.setText(t("reissue.kind.rsa"))
        self.rsa_note.setText(t("reissue.kind.rsa_note"))
        self.code.setPlaceholderText("XXXX-XXXX-XXXX-XXXX")
        self.iin.setPlaceholderText("850101300124")
        self._update()


class PasswordPage(Page):
    """The new password twice, with a meter and one sentence on what to improve."""

    name = "password"
    title_key = "reissue.password.title"

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.iin = ""
        form = QFormLayout()
        self.password, self.repeat = _password_field(), _password_field()
        self.meter = QProgressBar()
        self.meter.setRange(0, 4)
        self.meter.setTextVisible(False)
        self.meter.setMaximumHeight(10)
        self.verdict = _wrapped()
        self.match = QLabel()
        self.password_label, self.repeat_label = QLabel(), QLabel()
        form.addRow(self.password_label, self.password)
        form.addRow("", self.meter)
        form.addRow("", self.verdict)
        form.addRow(self.repeat_label, self.repeat)
        form.addRow("", self.match)
        self.layout_.addLayout(form)
        self.layout_.addStretch()
        self.password.textChanged.connect(self._update)
        self.repeat.textChanged.connect(self._update)
        self.retranslate()

    def _update(self) -> None:
        strength = assess(self.password.text(), self.iin)
        self.meter.setValue(strength.score)
        colour = strength_colour(self.palette(), strength.score).name()
        self.meter.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
        if strength.problem is not None:
            key = f"reissue.password.{strength.problem}"
            self.verdict.setText(self.translator.text(key, min=MIN_LENGTH))
        else:
            self.verdict.setText(self.translator.text(f"reissue.password.score{strength.score}"))
        if not self.repeat.text():
            self.match.setText("")
        elif self.repeat.text() == self.password.text():
            self.match.setText(self.translator.text("reissue.password.match"))
        else:
            self.match.setText(self.translator.text("reissue.password.mismatch"))
        self.changed.emit()

    def set_iin(self, iin: str) -> None:
        """Whose keys these are (the IIN may not be part of the password)."""
        self.iin = iin
        self._update()

    def is_complete(self) -> bool:
        """An acceptable password typed the same twice."""
        text = self.password.text()
        return assess(text, self.iin).acceptable and self.repeat.text() == text

    def clear(self) -> None:
        """Forget what was typed."""
        self.password.clear()
        self.repeat.clear()

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""
        t = self.translator.text
        self.intro.setText(t("reissue.password.intro"))
        self.password_label.setText(t("reissue.password.new"))
        self.repeat_label.setText(t("reissue.password.repeat"))
        self._update()


class FolderPage(Page):
    """Where the two new key files go (an existing folder; nothing there is overwritten)."""

    name = "folder"
    title_key = "reissue.folder.title"

    def __init__(self, translator: Translator, start: Path) -> None:
        super().__init__(translator)
        row = QHBoxLayout()
        self.folder_label = QLabel()
        self.folder = QLineEdit(str(start))
        self.browse = QPushButton()
        row.addWidget(self.folder_label)
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse)
        self.state = _wrapped()
        self.problem = _wrapped()
        self.problem.setStyleSheet(error_text_style(self.problem.palette()))
        self.layout_.addLayout(row)
        self.layout_.addWidget(self.state)
        self.layout_.addWidget(self.problem)
        self.layout_.addStretch()
        self.folder.textChanged.connect(self._update)
        self.browse.clicked.connect(self._choose)
        self.retranslate()

    def _choose(self) -> None:
        picked = QFileDialog.getExistingDirectory(
            self, self.translator.text("reissue.folder.pick"), self.folder.text()
        )
        if picked:
            self.folder.setText(picked)

    def _update(self) -> None:
        key = "reissue.folder.ok" if self.is_complete() else "reissue.folder.missing"
        self.state.setText(self.translator.text(key))
        self.changed.emit()

    def path(self) -> Path:
        """The chosen folder."""
        return Path(self.folder.text().strip()).expanduser()

    def show_problem(self, text: str) -> None:
        """Say why the last choice did not work (e.g. a file would have been overwritten)."""
        self.problem.setText(text)

    def is_complete(self) -> bool:
        """An existing folder."""
        return bool(self.folder.text().strip()) and self.path().is_dir()

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""
        t = self.translator.text
        self.intro.setText(t("reissue.folder.intro"))
        self.folder_label.setText(t("reissue.folder.label"))
        self.browse.setText(t("reissue.browse"))
        self._update()


class CurrentKeyPage(Page):
    """Renewal: the still-valid AUTH key file and its password."""

    name = "current_key"
    title_key = "reissue.current.title"

    def __init__(self, translator: Translator, start: Path | None) -> None:
        super().__init__(translator)
        form = QFormLayout()
        file_row = QHBoxLayout()
        self.file = QLineEdit(str(start) if start else "")
        self.browse = QPushButton()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(self.browse)
        self.password = _password_field()
        self.file_label, self.password_label = QLabel(), QLabel()
        form.addRow(self.file_label, file_row)
        form.addRow(self.password_label, self.password)
        self.problem = _wrapped()
        self.problem.setStyleSheet(error_text_style(self.problem.palette()))
        self.layout_.addLayout(form)
        self.layout_.addWidget(self.problem)
        self.layout_.addStretch()
        self.file.textChanged.connect(self._edited)
        self.password.textChanged.connect(self._edited)
        self.browse.clicked.connect(self._choose)
        self.retranslate()

    def _choose(self) -> None:
        picked, _ = QFileDialog.getOpenFileName(
            self,
            self.translator.text("reissue.current.pick"),
            self.file.text(),
            self.translator.text("reissue.current.filter"),
        )
        if picked:
            self.file.setText(picked)

    def _edited(self) -> None:
        self.problem.setText("")
        self.changed.emit()

    def path(self) -> Path:
        """The chosen key file."""
        return Path(self.file.text().strip()).expanduser()

    def show_problem(self, text: str) -> None:
        """Say why this key cannot renew."""
        self.problem.setText(text)

    def is_complete(self) -> bool:
        """A file and a password."""
        return self.path().is_file() and bool(self.password.text())

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""
        t = self.translator.text
        self.intro.setText(t("reissue.current.intro"))
        self.file_label.setText(t("reissue.current.file"))
        self.password_label.setText(t("reissue.current.password"))
        self.browse.setText(t("reissue.browse"))


STAGES = {
    "generating keys": "reissue.stage.generating",
    "signing the request with the current AUTH key": "reissue.stage.signing",
    "asking the certification centre": "reissue.stage.asking",
    "asking the certification centre for the issued certificates": "reissue.stage.fetching",
    "sending the request again": "reissue.stage.resending",
    "saving the key files": "reissue.stage.saving",
}


class ProgressPage(Page):
    """The service's steps as they happen; whether Cancel still works."""

    name = "progress"
    title_key = "reissue.progress.title"

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.stages: list[str] = []
        self.cancellable = True
        self.cancelling = False
        self.list = _wrapped()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy: the service gives stages, not percentages
        self.layout_.addWidget(self.list)
        self.layout_.addWidget(self.bar)
        self.layout_.addStretch()
        self.retranslate()

    def reset(self) -> None:
        """A new run."""
        self.stages = []
        self.cancellable = True
        self.cancelling = False
        self.retranslate()

    def add_stage(self, stage: str, cancellable: bool) -> None:
        """The service started ``stage``."""
        self.stages.append(stage)
        self.cancellable = cancellable
        self.retranslate()

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""
        t = self.translator.text
        lines = []
        for index, stage in enumerate(self.stages):
            label = t(STAGES[stage]) if stage in STAGES else stage
            mark = "✓" if index < len(self.stages) - 1 else "…"
            lines.append(f"{mark} {label}")
        self.list.setText("\n".join(lines))
        if self.cancelling:
            note = t("reissue.progress.cancelling")
        elif self.cancellable:
            note = t("reissue.progress.cancel_note")
        else:
            note = t("reissue.progress.no_cancel")
        self.intro.setText(note)


@dataclass(frozen=True)
class Saved:
    """One new key file and its certificate."""

    path: Path
    certificate: x509.Certificate


def copy_without_overwriting(files: list[Path], folder: Path) -> list[Path]:
    """Copy ``files`` into ``folder``; refuse (FileExistsError) before writing if any exists."""
    targets = [folder / f.name for f in files]
    for target in targets:
        if target.exists():
            raise FileExistsError(str(target))
    written: list[Path] = []
    try:
        for source, target in zip(files, targets, strict=True):
            data = source.read_bytes()
            # "x": created here or not at all, never over a file that appeared meanwhile.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            written.append(target)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            if target.read_bytes() != data:
                raise OSError(f"{target} reads back differently")
    except OSError:
        for partial in written:
            partial.unlink(missing_ok=True)
        raise
    return targets


class DonePage(Page):
    """The new certificates, a backup copy elsewhere, and the optional keyring."""

    name = "done"
    title_key = "reissue.done.title"

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.saved: list[Saved] = []
        self.cards: list[tuple[QLabel, QLabel]] = []
        self.cards_box = QVBoxLayout()
        self.layout_.addLayout(self.cards_box)
        self.backup_hint = _wrapped()
        self.backup = QPushButton()
        self.backup_state = _wrapped()
        self.remember = QCheckBox()
        self.remember.setChecked(False)
        self.remember_state = _wrapped()
        self.remember_state.setStyleSheet(error_text_style(self.remember_state.palette()))
        for widget in (
            self.backup_hint,
            self.backup,
            self.backup_state,
            self.remember,
            self.remember_state,
        ):
            self.layout_.addWidget(widget)
        self.layout_.addStretch()
        self.backup.clicked.connect(self._choose_backup)
        self._backup_message: tuple[str, dict[str, str]] | None = None
        self.retranslate()

    def show_result(self, saved: list[Saved]) -> None:
        """The key files the wizard wrote."""
        self.saved = saved
        while self.cards_box.count():
            item = self.cards_box.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        self.cards = []
        for _ in saved:
            frame = QFrame()
            frame.setFrameShape(QFrame.Shape.StyledPanel)
            box = QVBoxLayout(frame)
            heading = QLabel()
            font = QFont(heading.font())
            font.setBold(True)
            heading.setFont(font)
            body = _wrapped()
            box.addWidget(heading)
            box.addWidget(body)
            self.cards_box.addWidget(frame)
            self.cards.append((heading, body))
        self._backup_message = None
        self.retranslate()

    def _choose_backup(self) -> None:
        picked = QFileDialog.getExistingDirectory(
            self, self.translator.text("reissue.done.backup_pick")
        )
        if picked:
            self.backup_to(Path(picked))

    def backup_to(self, folder: Path) -> bool:
        """Copy both key files into ``folder`` (never over anything); say how it went."""
        files = [s.path for s in self.saved]
        if any(folder.resolve() == f.parent.resolve() for f in files):
            self._backup_message = ("reissue.done.backup_same", {})
        else:
            try:
                copy_without_overwriting(files, folder)
            except FileExistsError as exists:
                self._backup_message = ("reissue.done.backup_exists", {"path": str(exists)})
            except OSError as failed:
                reason = failed.strerror or type(failed).__name__
                self._backup_message = ("reissue.done.backup_failed", {"reason": reason})
            else:
                self._backup_message = ("reissue.done.backup_saved", {"folder": str(folder)})
        self.retranslate()
        return self._backup_message[0] == "reissue.done.backup_saved"

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""
        t = self.translator.text
        self.intro.setText(t("reissue.done.superseded"))
        for (heading, body), saved in zip(self.cards, self.saved, strict=False):
            who = identity_of(saved.certificate)
            purpose = "sign" if who.purpose is Purpose.SIGN else "auth"
            heading.setText(t(f"reissue.done.purpose.{purpose}"))
            body.setText(
                t(
                    "reissue.done.certificate",
                    name=who.common_name,
                    iin=who.iin or "—",
                    date=self.translator.date(saved.certificate.not_valid_after_utc),
                    path=str(saved.path),
                )
            )
        self.backup_hint.setText(t("reissue.done.backup_hint"))
        self.backup.setText(t("reissue.done.backup"))
        self.backup_state.setText(
            t(self._backup_message[0], **self._backup_message[1]) if self._backup_message else ""
        )
        self.remember.setText(t("reissue.done.remember"))


class ErrorPage(Page):
    """The plain sentence, what can be done, and the details for a support call."""

    name = "error"
    title_key = "reissue.error.title"

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.error: BaseException | None = None
        self.note_key: str | None = None
        self.note = _wrapped()
        self.details_button = QPushButton()
        self.details_button.setCheckable(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        self.layout_.addWidget(self.note)
        self.layout_.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.layout_.addWidget(self.details, 1)
        self.layout_.addStretch()
        self.details_button.toggled.connect(self.details.setVisible)
        font = QFont(self.intro.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.intro.setFont(font)
        self.retranslate()

    def show_error(self, error: BaseException, note_key: str | None) -> None:
        """Show ``error``'s plain sentence (re-worded when the language changes), its details,
        and ``note_key``'s sentence under it."""
        self.error = error
        self.note_key = note_key
        self.details.setPlainText(error_details(error))
        self.details_button.setChecked(False)
        self.retranslate()

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""
        error = self.error
        if isinstance(error, QalamError):
            self.intro.setText(self.translator.error(error))
        elif error is not None:
            self.intro.setText(self.translator.error(QalamError(type(error).__name__)))
        self.note.setText(self.translator.text(self.note_key) if self.note_key else "")
        self.details_button.setText(self.translator.text("reissue.error.details"))


def error_details(error: BaseException) -> str:
    """What support needs: the error's code and detail (never a password: the service keeps
    passwords out of errors)."""
    if isinstance(error, CaRefused):
        return f"{error.code}: {error.ca_code}\n{error.detail}"
    if isinstance(error, QalamError):
        return f"{error.code}: {type(error).__name__}\n{error.detail}"
    return f"internal: {type(error).__name__}\n{error}"


class ResumePage(Page):
    """A re-issue left pending: its new password (and the code, if the CA never got it)."""

    name = "resume"
    title_key = "reissue.resume.title"
    discard_requested = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.facts: dict[str, str] = {"iin": "", "folder": ""}
        self.started: datetime | None = None
        form = QFormLayout()
        self.password = _password_field()
        self.code = QLineEdit()
        self.code.setPlaceholderText("XXXX-XXXX-XXXX-XXXX")
        self.password_label, self.code_label = QLabel(), QLabel()
        self.code_hint = _wrapped()
        form.addRow(self.password_label, self.password)
        form.addRow(self.code_label, self.code)
        form.addRow("", self.code_hint)
        self.problem = _wrapped()
        self.problem.setStyleSheet(error_text_style(self.problem.palette()))
        self.discard = QPushButton()
        self.layout_.addLayout(form)
        self.layout_.addWidget(self.problem)
        self.layout_.addStretch()
        self.layout_.addWidget(self.discard, 0, Qt.AlignmentFlag.AlignLeft)
        self.password.textChanged.connect(self._edited)
        self.discard.clicked.connect(self.discard_requested)
        self.retranslate()

    def _edited(self) -> None:
        self.problem.setText("")
        self.changed.emit()

    def show_pending(self, iin: str, started: datetime | None, folder: Path) -> None:
        """Which re-issue is waiting."""
        self.facts = {"iin": iin, "folder": str(folder)}
        self.started = started
        self.password.clear()
        self.problem.setText("")
        self.retranslate()

    def show_problem(self, text: str) -> None:
        """Say why the last try did not finish (wrong password, code needed)."""
        self.problem.setText(text)

    def is_complete(self) -> bool:
        """A password was typed."""
        return bool(self.password.text())

    def retranslate(self) -> None:
        """Rewrite every string in the current language."""
        t = self.translator.text
        date = self.translator.datetime(self.started) if self.started else "—"
        self.intro.setText(t("reissue.resume.intro", date=date, **self.facts))
        self.password_label.setText(t("reissue.resume.password"))
        self.code_label.setText(t("reissue.resume.code"))
        self.code_hint.setText(t("reissue.resume.code_hint"))
        self.discard.setText(t("reissue.resume.discard"))


__all__ = [
    "STAGES",
    "CodePage",
    "CurrentKeyPage",
    "DonePage",
    "ErrorPage",
    "FolderPage",
    "Page",
    "PasswordPage",
    "ProgressPage",
    "ResumePage",
    "Saved",
    "copy_without_overwriting",
    "error_details",
]

"""The re-issue wizard: new keys for a PSC one-time code, or renewal with the current AUTH key.

Two modes over the same pages (reissue_pages.py):
* ``mode="code"``  IIN + code + key type -> new password -> folder -> progress -> done;
* ``mode="renew"`` current AUTH key + its password -> new password -> folder -> progress -> done.
A re-issue left pending by an earlier run (the answer was lost, Qalam was closed) is offered
first. The service calls block (key generation, HTTP), so they run on a pool thread
(reissue_worker.py) and the window stays responsive; Cancel works until the certification
centre is asked, never after (the CA may have issued; the pending keys must stay).

Every failure lands on the error page with the error's plain sentence in the current language,
a "details" box, and the one action that helps: another code, another folder, try again (which
finishes the same re-issue from its pending keys), or finishing the earlier re-issue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import keyring
import keyring.errors
from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..crypto.errors import InvalidInput, QalamError, WrongPassword
from ..crypto.identity import Purpose, identity_of
from ..crypto.keystores import KeyEntry, open_pkcs12
from ..service import reissue, remembered
from ..service.ca_client import CaClient
from ..service.errors import (
    ActionCanceled,
    CaRefused,
    CaUnavailable,
    FileExists,
    ReissuePending,
)
from ..service.known_keys import KnownKeys
from .context import AppContext
from .i18n import Text, register
from .reissue_pages import (
    CodePage,
    CurrentKeyPage,
    DonePage,
    ErrorPage,
    FolderPage,
    Page,
    PasswordPage,
    ProgressPage,
    ResumePage,
    Saved,
)
from .reissue_worker import Job, Step, start

KEYRING_SERVICE = "qalam"  # the key file's absolute path is the keyring user name

Mode = Literal["code", "renew"]
Action = Literal["retry", "code", "folder", "resume", "back", "close"]

register(
    {
        "reissue.window.code": Text(
            "New keys with a PSC code", "Новые ключи по коду ЦОН", "ХҚКО коды бойынша жаңа кілттер"
        ),
        "reissue.window.renew": Text("Renew my keys", "Обновление ключей", "Кілттерді жаңарту"),
        "reissue.step": Text(
            "Step {n} of {total}", "Шаг {n} из {total}", "{total} қадамның {n}-қадамы"
        ),
        "reissue.back": Text("Back", "Назад", "Артқа"),
        "reissue.next": Text("Next", "Далее", "Әрі қарай"),
        "reissue.cancel": Text("Cancel", "Отмена", "Бас тарту"),
        "reissue.close": Text("Close", "Закрыть", "Жабу"),
        "reissue.finish": Text("Finish", "Готово", "Дайын"),
        "reissue.start": Text("Get the new keys", "Получить новые ключи", "Жаңа кілттерді алу"),
        "reissue.resume.finish": Text("Finish it", "Завершить", "Аяқтау"),
        "reissue.resume.discard_confirm": Text(
            "Forget the unfinished re-issue? Its new keys are deleted. If the centre already "
            "issued them, your old certificates are revoked and you will need a new code from "
            "the PSC.",
            "Забыть незавершённый перевыпуск? Его новые ключи будут удалены. Если центр уже "
            "выпустил сертификаты, прежние отозваны, и понадобится новый код из ЦОН.",
            "Аяқталмаған қайта шығаруды ұмыту керек пе? Оның жаңа кілттері жойылады. Егер "
            "орталық сертификаттарды шығарып қойса, бұрынғылары кері қайтарылған, сондықтан "
            "ХҚКО-дан жаңа код алу керек болады.",
        ),
        "reissue.error.retry": Text("Try again", "Повторить", "Қайталау"),
        "reissue.error.other_code": Text(
            "Type the code again", "Ввести код заново", "Кодты қайта енгізу"
        ),
        "reissue.error.other_folder": Text(
            "Choose another folder", "Выбрать другую папку", "Басқа қалта таңдау"
        ),
        "reissue.error.finish_pending": Text(
            "Finish the earlier one", "Завершить прежний", "Алдыңғысын аяқтау"
        ),
    }
)

_ACTION_LABELS: dict[Action, str] = {
    "retry": "reissue.error.retry",
    "code": "reissue.error.other_code",
    "folder": "reissue.error.other_folder",
    "resume": "reissue.error.finish_pending",
    "back": "reissue.back",
    "close": "reissue.close",
}
# The CA's refusals that another code can mend.
_CODE_PROBLEMS = frozenset({"code_invalid", "code_expired", "code_used"})
# Once the service reaches these, cancelling could lose a certificate the CA issued.
_POINT_OF_NO_RETURN = frozenset(
    {
        "asking the certification centre",
        "asking the certification centre for the issued certificates",
    }
)


def _pending_started(path: Path) -> datetime | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return datetime.fromisoformat(str(record["created"])).astimezone(UTC)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ReissueWizard(QDialog):
    """New key files for a PSC code (``mode="code"``) or a renewal (``mode="renew"``)."""

    reissued = Signal(object)  # reissue.Reissued, once the files are saved

    def __init__(
        self,
        context: AppContext,
        parent: QWidget | None = None,
        *,
        mode: Mode = "code",
        key_path: Path | None = None,
        client_factory: Callable[[str], CaClient] = CaClient,
    ) -> None:
        super().__init__(parent)
        if mode not in ("code", "renew"):
            raise ValueError(f"mode is 'code' or 'renew', not {mode!r}")
        self.setObjectName("reissue_wizard")
        self.context = context
        self.translator = context.translator
        self.mode: Mode = mode
        self._client_factory = client_factory
        self._entry: KeyEntry | None = None
        self._iin = ""
        self._code: str | None = None
        self._kind = "gost"  # the code path's choice; a renewal keeps the old key's kind
        self._password = ""
        self._pending: Path | None = None
        self._pending_before: set[Path] = set()
        self._job: Job | None = None
        self._action: Action = "close"
        self._result: reissue.Reissued | None = None
        t = self.translator

        self.resume_page = ResumePage(t)
        self.current_page = CurrentKeyPage(t, key_path)
        self.code_page = CodePage(t)
        self.password_page = PasswordPage(t)
        self.folder_page = FolderPage(t, self._default_folder())
        self.progress_page = ProgressPage(t)
        self.done_page = DonePage(t)
        self.error_page = ErrorPage(t)
        first: Page = self.code_page if mode == "code" else self.current_page
        self.flow: list[Page] = [first, self.password_page, self.folder_page]

        self.heading = QLabel()
        font = QFont(self.heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.step_label = QLabel()
        self.stack = QStackedWidget()
        for page in (
            self.resume_page,
            first,
            self.password_page,
            self.folder_page,
            self.progress_page,
            self.done_page,
            self.error_page,
        ):
            self.stack.addWidget(page)
            page.changed.connect(self._update_buttons)
        self.back_button = QPushButton()
        self.next_button = QPushButton()
        self.next_button.setDefault(True)
        self.cancel_button = QPushButton()
        buttons = QHBoxLayout()
        buttons.addStretch()
        for button in (self.back_button, self.next_button, self.cancel_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.step_label)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self.resize(640, 460)

        self.back_button.clicked.connect(self.go_back)
        self.next_button.clicked.connect(self.go_next)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_page.discard_requested.connect(self._discard_pending)
        self.translator.changed.connect(self.retranslate)

        waiting = reissue.pending_files(context.data_dir)
        if waiting:
            self._offer_resume(waiting[0])
        else:
            self._show(first)
        self.retranslate()

    # -- helpers -----------------------------------------------------------------------------

    def _default_folder(self) -> Path:
        folders = self.context.settings.key_folders
        return Path(folders[0]) if folders else Path.home()

    def _client(self) -> CaClient:
        return self._client_factory(self.context.settings.ca_url)

    @property
    def page(self) -> Page:
        """The page shown now."""
        widget = self.stack.currentWidget()
        if not isinstance(widget, Page):
            raise TypeError("every page of the wizard is a Page")
        return widget

    def _show(self, page: Page) -> None:
        self.stack.setCurrentWidget(page)
        self.retranslate()

    def _update_buttons(self) -> None:
        page = self.page
        t = self.translator.text
        in_flow = page in self.flow
        self.back_button.setVisible(in_flow and page is not self.flow[0])
        self.back_button.setText(t("reissue.back"))
        self.next_button.setVisible(page is not self.progress_page)
        self.next_button.setEnabled(page.is_complete())
        if page is self.folder_page:
            self.next_button.setText(t("reissue.start"))
        elif page is self.resume_page:
            self.next_button.setText(t("reissue.resume.finish"))
        elif page is self.done_page:
            self.next_button.setText(t("reissue.finish"))
        elif page is self.error_page:
            self.next_button.setText(t(_ACTION_LABELS[self._action]))
        else:
            self.next_button.setText(t("reissue.next"))
        if page is self.progress_page:
            self.cancel_button.setVisible(True)
            self.cancel_button.setEnabled(
                self.progress_page.cancellable and not self.progress_page.cancelling
            )
            self.cancel_button.setText(t("reissue.cancel"))
        else:
            # On the error page the main button offers the remedy, and this one closes.
            self.cancel_button.setEnabled(True)
            closing = page is self.error_page and self._action != "close"
            self.cancel_button.setVisible(
                page is not self.done_page and (page is not self.error_page or closing)
            )
            self.cancel_button.setText(t("reissue.close" if closing else "reissue.cancel"))

    def retranslate(self) -> None:
        """Rewrite every visible string in the current language."""
        t = self.translator.text
        self.setWindowTitle(t(f"reissue.window.{self.mode}"))
        for index in range(self.stack.count()):
            page = self.stack.widget(index)
            if isinstance(page, Page):
                page.retranslate()
        self.heading.setText(self.page.title())
        if self.page in self.flow:
            n = self.flow.index(self.page) + 1
            self.step_label.setText(t("reissue.step", n=n, total=len(self.flow) + 1))
        elif self.page is self.progress_page:
            total = len(self.flow) + 1
            self.step_label.setText(t("reissue.step", n=total, total=total))
        else:
            self.step_label.setText("")
        self._update_buttons()

    # -- navigation --------------------------------------------------------------------------

    def go_back(self) -> None:
        """The previous page of the flow."""
        if self.page in self.flow and self.page is not self.flow[0]:
            self._show(self.flow[self.flow.index(self.page) - 1])

    def go_next(self) -> None:
        """Next, Start, Finish it, Finish, or the error page's action."""
        page = self.page
        if not page.is_complete():
            return
        if page is self.code_page:
            self._iin = self.code_page.iin.text()
            self._code = self.code_page.code.text().strip()
            self._kind = self.code_page.kind()
            self.password_page.set_iin(self._iin)
            self._show(self.password_page)
        elif page is self.current_page:
            if self._open_current_key():
                self.password_page.set_iin(self._iin)
                self._show(self.password_page)
        elif page is self.password_page:
            self._password = self.password_page.password.text()
            self._show(self.folder_page)
        elif page is self.folder_page:
            self.folder_page.show_problem("")
            self._start_reissue()
        elif page is self.resume_page:
            self._resume_earlier()
        elif page is self.done_page:
            self._finish()
        elif page is self.error_page:
            self._act()

    def cancel(self) -> None:
        """Stop: close the wizard, or stop the job if the CA has not been asked yet."""
        if self._job is not None and self._job.running:
            if self._job.cancel():
                self.progress_page.cancelling = True
                self.progress_page.retranslate()
                self._update_buttons()
            return
        self.reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing while the CA answers would leave a question unanswered: wait for it."""
        if self._job is not None and self._job.running:
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:
        """Close (refused while the certification centre is being asked)."""
        if self._job is not None and self._job.running:
            self.cancel()
            return
        self._forget_secrets()
        super().reject()

    def _forget_secrets(self) -> None:
        self._password = ""
        self._entry = None
        self.password_page.clear()
        self.current_page.password.clear()
        self.resume_page.password.clear()

    # -- the current AUTH key (renewal) -----------------------------------------------------

    def _open_current_key(self) -> bool:
        t = self.translator
        try:
            entry = open_pkcs12(self.current_page.path(), self.current_page.password.text()).entry
        except QalamError as error:
            self.current_page.show_problem(t.error(error))
            return False
        who = identity_of(entry.certificate)
        if who.purpose is Purpose.SIGN:
            self.current_page.show_problem(t.text("reissue.current.not_auth"))
            return False
        if not who.iin:
            self.current_page.show_problem(t.text("reissue.current.no_iin"))
            return False
        until = entry.certificate.not_valid_after_utc
        if until <= datetime.now(UTC):
            self.current_page.show_problem(t.text("reissue.current.expired", date=t.date(until)))
            return False
        self.current_page.show_problem(
            t.text("reissue.current.whose", name=who.common_name, iin=who.iin, date=t.date(until))
        )
        self._entry = entry
        self._iin = who.iin
        return True

    # -- running the service -----------------------------------------------------------------

    def _run(self, work: Callable[[Step], reissue.Reissued]) -> None:
        self.progress_page.reset()
        self._show(self.progress_page)
        self._pending_before = set(reissue.pending_files(self.context.data_dir))
        job = Job(work, stop_before=_POINT_OF_NO_RETURN)
        job.step.connect(self._on_step)
        job.done.connect(self._on_done)
        job.failed.connect(self._on_failed)
        self._job = job
        start(job)
        self._update_buttons()

    def _on_step(self, stage: str) -> None:
        cancellable = self._job is not None and self._job.cancellable
        self.progress_page.add_stage(stage, cancellable)
        self._update_buttons()

    def _start_reissue(self) -> None:
        client = self._client()
        data_dir = self.context.data_dir
        iin, password, out_dir = self._iin, self._password, self.folder_page.path()
        if self.mode == "code":
            code, kind = self._code or "", self._kind

            def work(step: Step) -> reissue.Reissued:
                return reissue.with_code(
                    client, data_dir, iin, code, password, out_dir, kind=kind, step=step
                )

        else:
            entry = self._entry
            if entry is None:
                raise RuntimeError("renewal started without the current AUTH key")

            def work(step: Step) -> reissue.Reissued:
                return reissue.renew(client, data_dir, entry, iin, password, out_dir, step=step)

        self._run(work)

    def _retry(self) -> None:
        """Finish the same re-issue from its pending keys (the CA may already have issued)."""
        pending = self._pending
        if pending is None or not pending.exists():
            self._start_reissue()
            return
        client = self._client()
        password, code, entry = self._password, self._code, self._entry
        mode, data_dir = self.mode, self.context.data_dir

        def work(step: Step) -> reissue.Reissued:
            try:
                return reissue.resume(client, pending, password, code=code, step=step)
            except InvalidInput:
                if mode != "renew" or entry is None:
                    raise
            # A renewal the CA never received: its keys were never certified; start afresh.
            waiting = reissue.Pending.read(pending)
            reissue.discard(pending)
            return reissue.renew(
                client, data_dir, entry, waiting.iin, password, waiting.out_dir, step=step
            )

        self._run(work)

    def _resume_earlier(self) -> None:
        pending = self._pending
        if pending is None:
            return
        client = self._client()
        password = self.resume_page.password.text()
        code = self.resume_page.code.text().strip() or None
        self._password, self._code = password, code

        def work(step: Step) -> reissue.Reissued:
            return reissue.resume(client, pending, password, code=code, step=step)

        self._run(work)

    def _release_job(self) -> None:
        if self._job is not None:
            self._job.release()
            self._job = None

    def _on_done(self, result: object) -> None:
        self._release_job()
        if not isinstance(result, reissue.Reissued):
            raise TypeError("a re-issue job returns Reissued")
        self._result = result
        self._pending = None
        known = KnownKeys(self.context.data_dir)
        for path, certificate in ((result.sign_path, result.sign), (result.auth_path, result.auth)):
            known.remember(path, certificate)
            self.context.remember_key(path)
        self.done_page.show_result(
            [Saved(result.auth_path, result.auth), Saved(result.sign_path, result.sign)]
        )
        self._show(self.done_page)
        self.reissued.emit(result)

    def _on_failed(self, error: object) -> None:
        self._release_job()
        if not isinstance(error, BaseException):
            raise TypeError("a failed job reports an exception")
        new = sorted(set(reissue.pending_files(self.context.data_dir)) - self._pending_before)
        if isinstance(error, ActionCanceled):
            # Stopped before the CA was asked: the pending keys were never certified.
            for path in new:
                reissue.discard(path)
            self._forget_secrets()
            super().reject()
            return
        if new:
            self._pending = new[0]
        came_from_resume_page = (
            self._pending is not None and not new and (self._pending in self._pending_before)
        )
        if came_from_resume_page and isinstance(error, WrongPassword):
            self.resume_page.show_problem(self.translator.error(error))
            self._show(self.resume_page)
            return
        if came_from_resume_page and isinstance(error, InvalidInput) and not self._code:
            self.resume_page.show_problem(self.translator.text("reissue.resume.need_code"))
            self._show(self.resume_page)
            return
        self.show_error(error)

    # -- errors ------------------------------------------------------------------------------

    def _action_for(self, error: BaseException) -> tuple[Action, str | None]:
        if isinstance(error, CaUnavailable):
            return "retry", ("reissue.error.retry_note" if self._pending else None)
        if isinstance(error, CaRefused):
            if error.ca_code in _CODE_PROBLEMS and self.mode == "code":
                return "code", None
            return "close", None
        if isinstance(error, FileExists):
            return "folder", None
        if isinstance(error, ReissuePending):
            return "resume", None
        if self._pending is not None and self._pending.exists():
            return "retry", "reissue.error.retry_note"
        return "back", None

    def show_error(self, error: BaseException) -> None:
        """The error page for ``error``: its plain sentence, details, and what to do next."""
        self._last_error = error
        self._action, note = self._action_for(error)
        self.error_page.show_error(error, note)
        self._show(self.error_page)

    def _act(self) -> None:
        action = self._action
        if action == "retry":
            self._retry()
        elif action == "code":
            self.code_page.code.clear()
            self._show(self.code_page)
        elif action == "folder":
            error = getattr(self, "_last_error", None)
            if isinstance(error, QalamError):
                self.folder_page.show_problem(self.translator.error(error))
            self._show(self.folder_page)
        elif action == "resume":
            waiting = reissue.pending_files(self.context.data_dir)
            if waiting:
                self._offer_resume(waiting[0])
            else:
                self._show(self.flow[0])
        elif action == "back":
            self._show(self.folder_page)
        else:
            self.reject()

    # -- pending re-issues -------------------------------------------------------------------

    def _offer_resume(self, path: Path) -> None:
        try:
            pending = reissue.Pending.read(path)
        except QalamError as error:
            self._pending = None
            self.show_error(error)
            return
        self._pending = path
        self.resume_page.show_pending(pending.iin, _pending_started(path), pending.out_dir)
        self._show(self.resume_page)

    def _discard_pending(self) -> None:
        if self._pending is None:
            return
        answer = QMessageBox.question(
            self,
            self.translator.text(f"reissue.window.{self.mode}"),
            self.translator.text("reissue.resume.discard_confirm"),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.discard_pending()

    def discard_pending(self) -> None:
        """Forget the pending re-issue shown and start a new one (after the confirmation)."""
        if self._pending is not None:
            reissue.discard(self._pending)
        self._pending = None
        waiting = reissue.pending_files(self.context.data_dir)
        if waiting:
            self._offer_resume(waiting[0])
        else:
            self._show(self.flow[0])

    # -- the end -----------------------------------------------------------------------------

    def _finish(self) -> None:
        result = self._result
        if result is not None and self.done_page.remember.isChecked():
            try:
                for path in (result.auth_path, result.sign_path):
                    # Through service/remembered.py, so Settings' "forget all" finds them too.
                    remembered.remember(path.resolve(), self._password)
            except keyring.errors.KeyringError as failed:
                self.done_page.remember.setChecked(False)
                self.done_page.remember_state.setText(
                    self.translator.text(
                        "reissue.done.remember_failed", reason=type(failed).__name__
                    )
                )
                return
        self._forget_secrets()
        self.accept()

    @property
    def result_files(self) -> reissue.Reissued | None:
        """The re-issue's outcome once the files are saved."""
        return self._result

    def debug_state(self) -> dict[str, Any]:
        """What the tests and the screenshots look at (no secrets)."""
        return {"page": self.page.name, "action": self._action, "pending": self._pending}


__all__ = ["KEYRING_SERVICE", "ReissueWizard"]

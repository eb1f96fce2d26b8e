"""QtPrompter: the Prompter (service/prompter.py) as real dialogs, awaited on the Qt loop.

One key chooser serves a whole request: the service asks ``choose_key`` again after a wrong
password or a refused key, and the same dialog stays on screen saying why. The chooser checks
the password itself (in a worker thread) before answering, so a damaged or unreadable file is
said in the dialog at once and a right password closes it; a wrong one is still handed to the
service, which counts the attempts and calls ``wrong_password`` (the dialog, kept open, shows
the attempts left). Any other call (confirm, an error, a new request) or the end of the task
that opened the chooser closes it, so a page whose socket closed leaves no dialog behind.

Owners learnt from opened key files (certificates, nothing secret) are kept in memory so the
chooser names them next time; the key file last used goes first among the recent ones. Tokens
present (the app's TokenWatch) are offered in the chooser too; their PIN is checked by the
service's one login, not here. With "remember key password" on in settings, the chooser offers
to keep a password that opened its key in the OS keyring (service/remembered.py) and fills it in
next time; a remembered password that fails is forgotten and typed again.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from keyring.errors import KeyringError
from PySide6.QtWidgets import QDialog, QFileDialog

from ..crypto.errors import QalamError, WrongPassword
from ..crypto.identity import Identity, identity_of
from ..crypto.keystores import open_pkcs12
from ..service import remembered
from ..service.prompter import (
    FileRequest,
    KeyChoice,
    KeyRequest,
    Refusal,
    RefusedKey,
    SignRequestView,
)
from .context import AppContext
from .dialogs.confirm import ConfirmDialog
from .dialogs.error import ErrorDialog
from .dialogs.file_chooser import make_file_dialog
from .dialogs.key_chooser import BLOCK, KeyChooserDialog


def _recall(path: Path) -> str | None:
    return remembered.recall(path.resolve())


class QtPrompter:
    """The person at the computer, asked through Qt dialogs (one at a time)."""

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.translator = context.translator
        self.known: dict[str, Identity] = {}
        self.chooser: KeyChooserDialog | None = None
        self.current: QDialog | None = None
        self._lingering: KeyChooserDialog | None = None

    # ------------------------------------------------------------------ key files

    def key_files(self) -> list[Path]:
        """The keys the chooser offers: preselected first, then the recent ones, no repeats."""
        seen: set[str] = set()
        out: list[Path] = []
        for raw in (*map(str, self.context.preselected_keys), *self.context.settings.recent_keys):
            path = Path(raw).expanduser()
            key = str(path.resolve()) if path.is_absolute() or path.exists() else str(path)
            if key not in seen:
                seen.add(key)
                out.append(Path(key))
        return out

    # ------------------------------------------------------------------ chooser lifetime

    def _end_chooser(self) -> None:
        for dialog in (self.chooser, self._lingering):
            if dialog is not None:
                dialog.dismiss()
                if self.current is dialog:
                    self.current = None
        self.chooser = None
        self._lingering = None

    def _close_with_task(self, chooser: KeyChooserDialog) -> None:
        task = asyncio.current_task()
        if task is None:
            return

        def closed(_task: asyncio.Task[object]) -> None:
            if self.chooser is chooser:
                self._end_chooser()

        task.add_done_callback(closed)

    # ------------------------------------------------------------------ Prompter

    async def choose_key(self, request: KeyRequest) -> KeyChoice | Refusal | None:
        """The chooser: a checked key file and password, a block, or None for cancel."""
        chooser = self.chooser
        if chooser is None or request.attempt == 1:
            self._end_chooser()
            watch = self.context.token_watch
            tokens = watch.snapshot.tokens if watch is not None else ()
            remembering = self.context.settings.remember_passwords
            chooser = KeyChooserDialog(
                self.translator,
                request,
                self.key_files(),
                self.known,
                tokens=tokens,
                recall=_recall if remembering else None,
            )
            self.chooser = chooser
            self._close_with_task(chooser)
        else:
            chooser.update_request(request)
        self.current = chooser
        try:
            while True:
                answer = await chooser.ask()
                if answer is None:
                    self._end_chooser()
                    return None
                if answer == BLOCK:
                    self._end_chooser()
                    return Refusal(block_origin=True)
                if not isinstance(answer, KeyChoice):
                    continue
                chooser.set_busy(True)
                if answer.on_token:
                    # Only the token can check its PIN, and each check counts against it: the
                    # service logs in once; a wrong PIN comes back through wrong_password.
                    return answer
                try:
                    store = await asyncio.to_thread(open_pkcs12, answer.path, answer.password)
                except WrongPassword:
                    if chooser.recalled == answer.path:
                        # A remembered password that no longer opens the key (changed
                        # elsewhere) is forgotten, so the next attempt is typed.
                        with contextlib.suppress(KeyringError):
                            remembered.forget(answer.path.resolve())
                        chooser.forget_recalled()
                    # The service meets the same wrong password, counts it and calls
                    # wrong_password; the dialog waits for that, busy, on screen.
                    return answer
                except QalamError as error:
                    chooser.set_busy(False)
                    chooser.show_problem(self.translator.error(error))
                    continue
                identity = identity_of(store.entry.certificate)
                del store
                if chooser.remember_box.isVisible() and chooser.remember_box.isChecked():
                    # Only with the setting on (the box is shown only then) and ticked.
                    with contextlib.suppress(KeyringError):
                        remembered.remember(answer.path.resolve(), answer.password)
                self.known[str(answer.path)] = identity
                chooser.set_identity(answer.path, identity)
                with contextlib.suppress(QalamError, OSError):
                    self.context.remember_key(answer.path)
                chooser.hide()
                return answer
        except asyncio.CancelledError:
            self._end_chooser()
            raise

    async def wrong_password(self, path: str, attempt: int, attempts_left: int) -> None:
        """Said in the chooser, which stays open; with no attempt left it only offers Close."""
        chooser = self.chooser
        if chooser is None:
            return
        chooser.wrong_password(attempts_left, attempt)
        chooser.show()
        if attempts_left <= 0:
            # The request is over; the sentence stays until the person closes it or the
            # next request replaces it.
            self.chooser = None
            self._lingering = chooser

    async def key_refused(self, refused: RefusedKey) -> None:
        """Grey the key out in the chooser, with the reasons, and show the chooser again."""
        chooser = self.chooser
        if chooser is None:
            return
        self.known[refused.key.path] = refused.key.identity
        chooser.mark_refused(Path(refused.key.path), refused.key.identity, refused.reasons)
        chooser.set_busy(False)
        chooser.show()

    async def confirm(self, request: SignRequestView) -> bool | Refusal:
        """Sign only on the Sign button; "block" becomes a Refusal that blocks the site."""
        self._end_chooser()
        dialog = ConfirmDialog(self.translator, request)
        self.current = dialog
        try:
            answer = await dialog.ask()
        finally:
            dialog.dismiss()
            if self.current is dialog:
                self.current = None
        if answer is True:
            return True
        if answer == BLOCK and request.origin is not None:
            return Refusal(block_origin=True)
        return False

    async def choose_file(self, request: FileRequest) -> Path | Refusal | None:
        """Qt's file dialog, awaited; None when the person cancels."""
        self._end_chooser()
        dialog = make_file_dialog(self.translator, request)
        self.current = dialog
        future: asyncio.Future[Path | None] = asyncio.get_running_loop().create_future()

        def chosen(name: str) -> None:
            if not future.done():
                future.set_result(Path(name))

        def cancelled() -> None:
            if not future.done():
                future.set_result(None)

        dialog.fileSelected.connect(chosen)
        dialog.rejected.connect(cancelled)
        dialog.open()
        try:
            return await future
        finally:
            if dialog.isVisible():
                dialog.done(QFileDialog.DialogCode.Rejected)
            if self.current is dialog:
                self.current = None

    async def report_error(self, origin: str | None, error: QalamError, locale: str) -> None:
        """The plain sentence, with the code under "Details"; returns when it is closed."""
        self._end_chooser()
        dialog = ErrorDialog(self.translator, error, origin)
        self.current = dialog
        try:
            await dialog.ask()
        finally:
            dialog.dismiss()
            if self.current is dialog:
                self.current = None


__all__ = ["QtPrompter"]

"""`qalam` (no arguments) / `qalam app`: the desktop app with the local API inside it.

One thread, one loop: qasync runs asyncio on Qt's event loop, so the WebSocket server
(api/server.py), the SigningService and the QtPrompter's dialogs share it; signing and key
opening already run in worker threads, so the UI never waits on them. Start order is chosen
for a fast first greeting: the single-instance check (a second start only wakes the first and
exits 0), then the API listener, then the window and the tray status; the browsers' TLS trust
(certutil subprocesses) is checked afterwards in a thread.

Files given at start (`qalam app FILE…`, the .desktop entry's %F) open in the window: a signed
one on *Verify*, the others on *Sign* (file_routing.py). A second start with files hands them to
the first instance instead (single_instance.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ..api.dispatch import ApiConfig, Dispatcher
from ..api.server import DEFAULT_PORT, ApiServer, ServerConfig
from ..api.tls import TlsFiles, ensure_tls
from ..crypto.errors import QalamError
from ..service.key_status import RevocationChecker, TrustedCas
from ..service.known_keys import KnownKeys
from ..service.signing import SigningService
from ..service.tokens import TokenRegistry, environment_registry
from ..service.trust_store import TrustStore
from ..service.tsa_client import HttpTsa
from .autostart import APP_ID
from .context import AppContext
from .expiry_reminder import Reminder, expiry_reminder, open_renewal
from .main_window import MainWindow
from .operator_mode import OperatorWindow, operator_keys
from .prompter import QtPrompter
from .single_instance import SingleInstance, ask_running_instance, server_name
from .tray import Status, Tray
from .widgets.token_watch import TokenWatch


@dataclass(frozen=True)
class AppOptions:
    """How the app was started (`qalam app` options)."""

    data_dir: Path
    keys: tuple[Path, ...] = field(default=())
    port: int = DEFAULT_PORT
    tsa_url: str | None = None
    hidden: bool = False
    operator: bool = False  # open PSC operator mode at start (`qalam --operator`)
    files: tuple[Path, ...] = field(default=())  # opened with Qalam (`qalam app FILE…`)


class QalamApp:
    """The running app: context, prompter, service, API server, window and tray."""

    def __init__(self, context: AppContext, options: AppOptions) -> None:
        self.context = context
        self.options = options
        settings = context.settings
        registry = environment_registry(settings.pkcs11_modules)
        if context.token_watch is None:
            context.token_watch = TokenWatch(registry)
        self.token_watch = context.token_watch
        self.token_watch.registry_changed.connect(self._use_registry)
        self.prompter = QtPrompter(context)
        tsa_url = settings.tsa_url if options.tsa_url is None else options.tsa_url
        # As `qalam serve`: signerParams.chain null means the user's trust store, and a
        # revoked key is greyed out unless the site allows it (soft-fail when its CA is down).
        trusted = TrustedCas(TrustStore(context.data_dir))
        self.service = SigningService(
            self.prompter,
            tsa=HttpTsa(tsa_url) if tsa_url else None,
            origins=context.origins,
            tokens=self.token_watch.registry,
            trusted=trusted,
            revocation=RevocationChecker(trusted),
        )
        self.service.locale = settings.locale
        self.known_keys = KnownKeys(context.data_dir)
        self.service.known_keys = self.known_keys
        self.operator_window: OperatorWindow | None = None
        self.reminder: Reminder | None = None
        self.tls: TlsFiles = ensure_tls(context.data_dir)
        config = ServerConfig(
            port=options.port,
            # Port 0 (tests, bench) would bind 127.0.0.1 and ::1 to two different free ports.
            also_ipv6=options.port != 0,
            max_frame=int(settings.max_frame_mib * (1 << 20)),
            max_connections=settings.max_connections,
        )
        self.server = ApiServer(Dispatcher(self.service, config=ApiConfig()), config, self.tls)
        self.window = MainWindow(context, self.service)
        self.tray = Tray(context.translator)
        self.tray.open_requested.connect(self.show_window)
        self.tray.operator_requested.connect(self.show_operator_mode)
        self.tray.icon.messageClicked.connect(self._open_reminder)
        self.tray.quit_requested.connect(self.quit)
        context.translator.changed.connect(self._keep_language)
        self.status = Status()
        self.port: int | None = None
        self._quit = asyncio.Event()

    def show_window(self) -> None:
        """Bring the main window forward (tray click, a second `qalam`)."""
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def open_files(self, paths: Sequence[Path]) -> None:
        """Show the window with ``paths`` on Verify (signed) or Sign (the rest)."""
        self.show_window()
        self.window.open_files(paths)

    def show_operator_mode(self) -> OperatorWindow:
        """The PSC operator's window, with the operator key this computer knows preselected."""
        if self.operator_window is None:
            keys = operator_keys(self.known_keys)
            self.operator_window = OperatorWindow(self.context, key_path=keys[0] if keys else None)
        self.operator_window.show()
        self.operator_window.raise_()
        return self.operator_window

    def remind(self) -> Reminder | None:
        """Say in the tray when a known key expires within 30 days (its click opens renewal),
        and offer operator mode where an operator key is known."""
        self.tray.operator_action.setVisible(bool(operator_keys(self.known_keys)))
        self.reminder = expiry_reminder(self.known_keys, self.context.translator)
        if self.reminder is not None:
            self.tray.icon.showMessage(self.reminder.title, self.reminder.message)
        return self.reminder

    def _open_reminder(self) -> None:
        if self.reminder is not None:
            open_renewal(self.context, self.reminder, self.window)

    def _use_registry(self, registry: TokenRegistry) -> None:
        self.service.tokens = registry

    def quit(self) -> None:
        """Stop the API and leave."""
        self._quit.set()

    def _keep_language(self, language: str) -> None:
        with contextlib.suppress(QalamError, OSError):
            self.context.settings_store.update(lambda s: replace(s, locale=language))

    def _set_status(self, **changes: object) -> None:
        self.status = replace(self.status, **changes)  # type: ignore[arg-type]
        self.tray.set_status(self.status)

    async def start(self) -> None:
        """Listen, then show the tray (and the window unless hidden), then check TLS trust."""
        try:
            await self.server.start()
        except OSError as error:
            # Typically NCALayer (or another Qalam data dir) already holds the port.
            self._set_status(api_error=error.strerror or str(error))
        else:
            self.port = self.server.bound_port(0)
            self._set_status(port=self.port)
        self._set_status(keys=sum(1 for p in self.prompter.key_files() if p.is_file()))
        self.tray.show()
        # Polled in its own thread: a slow driver never holds the window or the API.
        self.token_watch.start()
        self.remind()
        if self.options.operator:
            self.show_operator_mode()
        elif self.options.files:
            self.open_files(self.options.files)
        elif not self.options.hidden:
            self.show_window()
        asyncio.get_running_loop().create_task(self._check_trust())

    async def _check_trust(self) -> None:
        from ..api import trust

        try:
            states = await asyncio.to_thread(trust.status, self.tls.root_pem)
        except (QalamError, OSError):
            return
        trusted = bool(states) and all(s.state == "trusted" for s in states)
        self._set_status(tls_trusted=trusted)

    async def run(self) -> None:
        """Start, say where the API listens (for scripts), and run until Quit."""
        await self.start()
        if self.port is not None:
            print(f"Qalam API listening on wss://127.0.0.1:{self.port}/", flush=True)
        else:
            print(f"Qalam API not listening: {self.status.api_error}", file=sys.stderr, flush=True)
        try:
            await self._quit.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Close the API (open dialogs are cancelled with their sockets) and the tray."""
        await self.server.stop()
        await asyncio.to_thread(self.token_watch.stop)
        self.tray.icon.hide()
        self.window.close()


def run_app(options: AppOptions) -> int:
    """The app's main: 0 on Quit, or at once when another instance was woken instead."""
    import qasync  # type: ignore[import-untyped]

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Qalam")
    # Wayland compositors match windows to their .desktop entry (icon, name) by this id.
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)
    name = server_name(options.data_dir)
    if ask_running_instance(name, options.files):
        said = " and given the files" if options.files else ""
        print(f"Qalam is already running: its window was brought forward{said}.", flush=True)
        return 0
    instance = SingleInstance(name)
    instance.listen()
    context = AppContext.create(options.data_dir, options.keys)
    loop = qasync.QEventLoop(app)
    # Plain worker threads for asyncio.to_thread: qasync's QThread pool can outlive the loop
    # and crash Qt at exit.
    workers = ThreadPoolExecutor(4, thread_name_prefix="qalam")
    loop.set_default_executor(workers)
    asyncio.set_event_loop(loop)
    qalam = QalamApp(context, options)
    instance.activated.connect(qalam.show_window)
    instance.files_opened.connect(qalam.open_files)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: loop.call_soon_threadsafe(qalam.quit))
    # Python runs signal handlers only between bytecodes; Qt's loop idles in C, so a tick lets
    # Ctrl-C and SIGTERM through.
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(250)
    try:
        with loop:
            loop.run_until_complete(qalam.run())
    except RuntimeError:
        # Qt's loop ended under us (the display went away, the session ended).
        print("Qalam stopped: its display went away.", file=sys.stderr, flush=True)
        return 1
    finally:
        ticker.stop()
        instance.close()
        workers.shutdown(wait=True)
    return 0


__all__ = ["AppOptions", "QalamApp", "run_app"]

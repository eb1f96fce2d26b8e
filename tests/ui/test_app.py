"""The app shell: API inside the app, tray status and menu, single instance, start on login."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication
from websockets.asyncio.client import connect

from signer_app import cli
from signer_app.ui import autostart
from signer_app.ui.app import AppOptions, QalamApp
from signer_app.ui.context import AppContext
from signer_app.ui.single_instance import SingleInstance, ask_running_instance, server_name
from signer_app.ui.tray import Status, Tray

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_serves_the_api_greeting_and_the_tray_says_so(loop, tmp_path, demo) -> None:
    keys = (demo["citizen_sign"].path, demo["citizen_auth"].path, tmp_path / "gone.p12")
    context = AppContext.create(tmp_path / "home", preselected_keys=keys)
    context.translator.set_language("en")
    app = QalamApp(context, AppOptions(tmp_path / "home", keys, port=0, hidden=True))

    async def scenario() -> str:
        await app.start()
        ctx = ssl.create_default_context(cafile=str(app.tls.root_pem))
        try:
            async with connect(f"wss://127.0.0.1:{app.port}", ssl=ctx) as ws:
                return str(await ws.recv())
        finally:
            await app.stop()

    greeting = loop.run_until_complete(scenario())
    assert greeting == '{"result":{"version":"1.4"}}'
    lines = app.tray.status_lines()
    assert lines[0] == f"Signing service: listening on port {app.port}"
    assert lines[2] == "Key files found: 2"
    assert not app.window.isVisible()
    # As `qalam serve`: chain null means this user's trust store; revoked keys are greyed.
    assert app.service.revocation is not None
    assert app.service.trusted.store is not None
    assert app.service.trusted.store.path.parent == tmp_path / "home"


def test_a_port_in_use_is_said_in_the_tray_not_a_crash(loop, tmp_path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        context = AppContext.create(tmp_path / "home")
        context.translator.set_language("en")
        app = QalamApp(context, AppOptions(tmp_path / "home", port=port, hidden=True))
        loop.run_until_complete(app.start())
        loop.run_until_complete(app.stop())
    assert app.port is None
    assert app.tray.status_lines()[0].startswith("Signing service: not running (")


def test_the_tray_language_menu_switches_and_keeps_the_language(loop, tmp_path) -> None:
    context = AppContext.create(tmp_path / "home")
    context.translator.set_language("en")
    app = QalamApp(context, AppOptions(tmp_path / "home", port=0, hidden=True))
    assert app.tray.open_action.text() == "Open Qalam"
    app.tray.language_actions["ru"].trigger()
    assert app.tray.open_action.text() == "Открыть Qalam"
    assert app.tray.quit_action.text() == "Выход"
    assert context.settings.locale == "ru"
    app.tray.language_actions["kk"].trigger()
    assert app.tray.open_action.text() == "Qalam ашу"


def test_tray_status_lines_follow_the_status(qapp) -> None:
    from signer_app.ui.i18n import Translator

    tray = Tray(Translator("en"))
    assert tray.status_lines()[0] == "Signing service: starting…"
    tray.set_status(Status(port=13579, tls_trusted=False, keys=1))
    assert tray.status_lines() == [
        "Signing service: listening on port 13579",
        "Browsers do not trust the local connection yet (see Diagnostics)",
        "Key files found: 1",
    ]
    assert "13579" in tray.icon.toolTip()


def test_a_second_start_wakes_the_first_instance(qtbot, tmp_path) -> None:
    name = server_name(tmp_path)
    assert not ask_running_instance(name)
    first = SingleInstance(name)
    assert first.listen()
    woken: list[bool] = []
    first.activated.connect(lambda: woken.append(True))
    # The second start runs in another process, as it does for a person.
    code = "from signer_app.ui.single_instance import ask_running_instance as a;import sys;"
    code += f"sys.exit(0 if a({name!r}) else 3)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=10000)
    assert proc.returncode == 0
    qtbot.waitUntil(lambda: bool(woken), timeout=5000)
    first.close()


def test_a_stale_instance_name_is_taken_over(qapp, tmp_path) -> None:
    name = server_name(tmp_path)
    socket_file = Path(os.environ.get("TMPDIR", "/tmp")) / name
    socket_file.write_text("left by a crash")
    try:
        instance = SingleInstance(name)
        assert instance.listen()
        instance.close()
    finally:
        socket_file.unlink(missing_ok=True)


def test_start_on_login_writes_and_removes_the_xdg_entry(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    command = ["/opt/Qalam App/qalam", "app", "--hidden"]
    path = autostart.set_start_on_login(True, command)
    assert path == tmp_path / "config" / "autostart" / "kz.qalam.Qalam.desktop"
    text = path.read_text(encoding="utf-8")
    assert "Type=Application\n" in text
    assert autostart.command_of(text) == command
    assert autostart.is_enabled()
    autostart.set_start_on_login(False)
    assert not path.exists()
    assert not autostart.is_enabled()
    autostart.set_start_on_login(False)  # removing twice is fine


def test_qalam_without_a_command_starts_the_app(monkeypatch, tmp_path) -> None:
    seen: list[Any] = []
    monkeypatch.setenv("QALAM_HOME", str(tmp_path))
    monkeypatch.setattr("signer_app.ui.app.run_app", lambda options: seen.append(options) or 0)
    assert cli.main([]) == 0
    key = tmp_path / "k.p12"
    assert cli.main(["app", "--key", str(key), "--port", "1234", "--data-dir", "d"]) == 0
    assert seen[0] == AppOptions(data_dir=tmp_path)
    assert seen[1].keys == (key,)
    assert seen[1].port == 1234
    assert seen[1].data_dir == Path("d")


def test_qalam_app_process_answers_and_a_second_one_exits_zero(tmp_path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "signer_app.cli", "app", "--data-dir", str(tmp_path)]
    first = subprocess.Popen(
        [*command, "--port", "0", "--hidden"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        line = first.stdout.readline()
        assert line.startswith("Qalam API listening on wss://127.0.0.1:"), line
        second = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert second.returncode == 0
        assert "already running" in second.stdout
        # As a file manager starts it: `qalam app FILE` hands the file over and leaves.
        doc = tmp_path / "doc.pdf"
        doc.write_bytes(b"%PDF-1.7\n")
        third = subprocess.run(
            [*command, str(doc)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert third.returncode == 0
        assert "given the files" in third.stdout
    finally:
        first.terminate()
        deadline = time.monotonic() + 10
        while first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, first.stderr.read() if first.stderr else ""


def test_operator_mode_is_offered_once_an_operator_key_has_been_opened(loop, tmp_path, demo):
    from signer_app.service.prompter import KeyChoice

    home = tmp_path / "home"
    context = AppContext.create(home)
    context.translator.set_language("en")
    app = QalamApp(context, AppOptions(home, port=0, hidden=True))
    assert app.remind() is None
    assert not app.tray.operator_action.isVisible()
    operator = demo["psc_operator_auth"]
    # Opening a key through the service (any front door) remembers its public certificate.
    loop.run_until_complete(app.service._open(KeyChoice(operator.path, operator.password)))
    app.remind()
    assert app.tray.operator_action.isVisible()
    assert app.tray.operator_action.text() == "PSC operator mode…"
    window = app.show_operator_mode()
    assert window.isVisible()
    assert operator.password not in (home / "known-keys.json").read_text()


def test_a_key_expiring_soon_is_a_tray_reminder_that_opens_renewal(loop, tmp_path, demo):
    home = tmp_path / "home"
    context = AppContext.create(home)
    context.translator.set_language("en")
    app = QalamApp(context, AppOptions(home, port=0, hidden=True))
    expired = demo["expired_auth"]
    app.known_keys.remember(expired.path, expired.open().certificate)
    reminder = app.remind()
    assert reminder is not None
    assert reminder.title
    app._open_reminder()
    assert any(
        type(w).__name__ == "ReissueWizard" and w.isVisible()
        for w in QApplication.topLevelWidgets()
    )


def test_qalam_operator_starts_the_app_in_operator_mode() -> None:
    args = cli.build_parser().parse_args(["--operator"])
    assert args.func is cli.cmd_app
    assert args.operator is True

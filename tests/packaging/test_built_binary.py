"""The binary `make package` builds works on this machine without the virtual environment:
it knows its version, serves the NCALayer API over wss from `serve --scripted`, starts the
desktop app under X (Xvfb) with the Qt plugins it bundles, reaches the system's OpenSSL GOST
provider, ships neither tests nor the CA nor demo keys, and installs.

The build (packaging/build.sh, PyInstaller) runs once per test session: about 1.5 minutes here.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from signer_app.crypto import cms

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
GOST_PROVIDER = Path("/usr/lib/x86_64-linux-gnu/ossl-modules/gostprov.so")
BASICS = "kz.gov.pki.knca.basics"

pytestmark = pytest.mark.slow


def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def _clean_env() -> dict[str, str]:
    """The environment without this test run's Python: the binary must not lean on .venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    return env


@pytest.fixture(scope="session")
def built() -> Path:
    """dist/qalam, built by packaging/build.sh in this session (QALAM_REUSE_BUILD=1 takes the
    one already in dist/, for iterating on these tests)."""
    if os.environ.get("QALAM_REUSE_BUILD") == "1" and (DIST / "qalam" / "qalam").is_file():
        return DIST / "qalam"
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        pytest.fail("PyInstaller is missing: run scripts/setup.sh (optional group 'package')")
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build.sh")],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable, "QALAM_GZIP_LEVEL": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"packaging/build.sh failed:\n{done.stdout}\n{done.stderr}"
    return DIST / "qalam"


def test_the_binary_prints_the_project_version(built: Path) -> None:
    done = subprocess.run(
        [str(built / "qalam"), "--version"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"qalam {_version()}"


@pytest.fixture
def served(
    built: Path, demo: dict[str, Any], tmp_path: Path
) -> Iterator[tuple[int, Path, subprocess.Popen[str]]]:
    """`qalam serve --scripted` from the built binary on a free port.

    Not `--port 0`: the server then binds 127.0.0.1 and ::1 to two different ports and prints
    either one as the 127.0.0.1 URL (api/server.py), so the test picks the port itself."""
    key = demo["citizen_sign"]
    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"key": str(key.path), "password": key.password}))
    home = tmp_path / "home"
    command = [str(built / "qalam"), "serve", "--scripted", str(script)]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command += ["--data-dir", str(home), "--port", str(port), "--tsa-url", ""]
    proc = subprocess.Popen(
        command, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Root certificate to trust:"):
                break
        assert f"Qalam API listening on wss://127.0.0.1:{port}/\n" in lines, lines
        yield port, home / "tls" / "root.pem", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=30)


def test_serve_scripted_greets_and_signs_over_wss(
    served: tuple[int, Path, subprocess.Popen[str]], demo: dict[str, Any]
) -> None:
    port, root, proc = served

    async def scenario() -> dict[str, object]:
        context = ssl.create_default_context(cafile=str(root))
        async with connect(f"wss://127.0.0.1:{port}/", ssl=context) as ws:
            assert await ws.recv() == '{"result":{"version":"1.4"}}'
            request = {
                "module": BASICS,
                "method": "sign",
                "args": {
                    "allowedStorages": None,
                    "format": "cms",
                    "data": "MTEK",
                    "signingParams": {"decode": True},
                    "signerParams": {"extKeyUsageOids": []},
                    "locale": "en",
                },
            }
            await ws.send(json.dumps(request))
            return dict(json.loads(await ws.recv()))

    reply = asyncio.run(asyncio.wait_for(scenario(), 60))
    body = reply["body"]
    assert isinstance(body, dict), reply
    assert cms.verify(body["result"][0]).valid
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert demo["citizen_sign"].password not in err


def test_the_binary_loads_the_systems_gost_provider(
    built: Path, demo: dict[str, Any], tmp_path: Path
) -> None:
    if not GOST_PROVIDER.is_file():
        pytest.skip(f"{GOST_PROVIDER} is absent (Debian libengine-gost-openssl)")
    key = demo["citizen_gost_sign"]
    data = tmp_path / "doc.txt"
    data.write_bytes("Қол қойылатын құжат\n".encode())
    out = tmp_path / "doc.cms"
    # The dynamic loader's own trace names every library loaded: proof without a debug switch.
    env = {**_clean_env(), "QALAM_PASSWORD": key.password, "LD_DEBUG": "files"}
    done = subprocess.run(
        [str(built / "qalam"), "sign", "-k", str(key.path), "-o", str(out), str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"file={GOST_PROVIDER}" in done.stderr
    assert cms.verify(out.read_bytes()).valid


def _bundled_modules(built: Path) -> set[str]:
    viewer = [sys.executable, "-m", "PyInstaller.utils.cliutils.archive_viewer"]
    done = subprocess.run(
        [*viewer, "--list", "--recursive", "--brief", str(built / "qalam")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {line.strip().split(".")[0] for line in done.stdout.splitlines() if line.startswith(" ")}


def test_the_bundle_ships_the_client_not_the_tests_the_ca_or_demo_keys(built: Path) -> None:
    modules = _bundled_modules(built)
    assert {"signer_app", "PySide6", "cryptography", "pkcs11"} <= modules
    assert not modules & {"ca_server", "tests", "pytest", "fastapi", "sqlalchemy", "aiohttp"}
    internal = built / "_internal"
    assert (internal / "certs" / "trust" / "demo-roots.pem").is_file()
    assert not list(internal.rglob("*.p12"))
    platforms = {p.name for p in (internal / "PySide6" / "Qt" / "plugins" / "platforms").iterdir()}
    assert {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"} <= platforms


def test_the_tarball_holds_the_app_and_its_desktop_files(built: Path) -> None:
    tarball = DIST / f"qalam-{_version()}-linux-x86_64.tar.gz"
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    for name in (
        "qalam/qalam",
        "qalam/install.sh",
        "qalam/share/applications/kz.qalam.Qalam.desktop",
        "qalam/share/icons/hicolor/scalable/apps/kz.qalam.Qalam.svg",
        "qalam/share/metainfo/kz.qalam.Qalam.metainfo.xml",
    ):
        assert name in names


def test_install_sh_puts_the_command_and_menu_entry_under_the_prefix(
    built: Path, tmp_path: Path
) -> None:
    prefix = tmp_path / "prefix"
    env = {**_clean_env(), "PREFIX": str(prefix), "HOME": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(built / "install.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (prefix / "share/applications/kz.qalam.Qalam.desktop").is_file()
    assert (prefix / "share/icons/hicolor/scalable/apps/kz.qalam.Qalam.svg").is_file()
    command = prefix / "bin" / "qalam"
    version = subprocess.run(
        [str(command), "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert version.stdout.strip() == f"qalam {_version()}"
    shutil.rmtree(prefix)


def test_the_desktop_app_starts_under_x_with_the_bundled_qt(built: Path, tmp_path: Path) -> None:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.fail("xvfb-run is not installed: run scripts/setup.sh (package xvfb)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    home = tmp_path / "home"
    env = {k: v for k, v in _clean_env().items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    command = [xvfb_run, "-a", str(built / "qalam"), "app", "--data-dir", str(home)]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # xvfb-run, Xvfb and the app: stopped together below
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Qalam API listening on"):
                break
        assert f"Qalam API listening on wss://127.0.0.1:{port}/\n" in lines, "".join(lines)

        async def greeting() -> object:
            context = ssl.create_default_context(cafile=str(home / "tls" / "root.pem"))
            async with connect(f"wss://127.0.0.1:{port}/", ssl=context) as ws:
                return await ws.recv()

        assert asyncio.run(asyncio.wait_for(greeting(), 60)) == '{"result":{"version":"1.4"}}'
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)

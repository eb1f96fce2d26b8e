"""The Linux desktop integration files pass freedesktop's own validators and agree with each
other, with pyproject.toml and with the start-on-login entry the app writes."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from signer_app.ui import autostart

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / "kz.qalam.Qalam.desktop"
METAINFO = LINUX / "kz.qalam.Qalam.metainfo.xml"
ICON = LINUX / "kz.qalam.Qalam.svg"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/setup.sh (Debian package {package})")
    return path


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def _project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


@pytest.mark.interop
def test_desktop_entry_passes_desktop_file_validate() -> None:
    done = subprocess.run(
        [_tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stdout, done.stdout


@pytest.mark.interop
def test_metainfo_passes_appstreamcli_validate() -> None:
    done = subprocess.run(
        [_tool("appstreamcli", "appstream"), "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_desktop_entry_speaks_kazakh_russian_and_english() -> None:
    entry = _entry(DESKTOP)
    for key in ("Name", "GenericName", "Comment"):
        for suffix in ("", "[ru]", "[kk]"):
            assert entry.get(key + suffix, "").strip(), f"{key}{suffix} is missing"
    assert entry["GenericName[kk]"] != entry["GenericName"]


def test_desktop_entry_starts_the_app_under_its_own_id_and_icon() -> None:
    entry = _entry(DESKTOP)
    # %F: the files a file manager opens with Qalam (signed ones on Verify, others on Sign).
    assert entry["Exec"].split() == ["qalam", "app", "%F"]
    assert entry["Icon"] == DESKTOP.stem == ICON.stem
    # Qt's xcb platform sets WM_CLASS's class to the application name ("Qalam", ui/app.py).
    assert entry["StartupWMClass"] == "Qalam"


def test_metainfo_names_the_project_version_the_desktop_id_and_the_binary() -> None:
    root = ET.parse(METAINFO).getroot()  # noqa: S314 - our own file
    assert root.findtext("id") == DESKTOP.stem
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("provides/binary") == "qalam"
    assert root.findtext("project_license") == "Apache-2.0"
    releases = [r.get("version") for r in root.findall("releases/release")]
    assert releases[0] == _project_version()
    languages = {s.get(XML_LANG) for s in root.findall("summary")}
    assert languages == {None, "ru", "kk"}


def test_desktop_entry_offers_to_open_pdf_cms_and_xml_files() -> None:
    types = set(_entry(DESKTOP)["MimeType"].rstrip(";").split(";"))
    root = ET.parse(METAINFO).getroot()  # noqa: S314 - our own file
    # Software centres read what the app opens from the metainfo: the same list.
    assert {m.text for m in root.findall("provides/mediatype")} == types
    assert types == {
        "application/pdf",
        "application/pkcs7-signature",
        "application/pkcs7-mime",
        "application/xml",
        "text/xml",
    }


def test_icon_is_a_square_svg() -> None:
    root = ET.parse(ICON).getroot()  # noqa: S314 - our own file
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == root.get("height")


def test_start_on_login_entry_follows_the_menu_entry(tmp_path: Path) -> None:
    menu = _entry(DESKTOP)
    login_file = tmp_path / autostart.FILE_NAME
    login_file.write_text(autostart.desktop_entry(["/opt/qalam/qalam", "app", "--hidden"]))
    login = _entry(login_file)
    assert DESKTOP.name == autostart.FILE_NAME
    assert login["Icon"] == menu["Icon"]
    assert login["Name"] == menu["Name"]
    login_argv = autostart.command_of(login_file.read_text())
    # The menu entry's field codes (%F: files opened with Qalam) have no place at login.
    menu_argv = [a for a in menu["Exec"].split() if not a.startswith("%")]
    assert Path(login_argv[0]).name == menu_argv[0]
    assert login_argv[1:] == [*menu_argv[1:], "--hidden"]


@pytest.mark.interop
def test_start_on_login_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    login_file = tmp_path / autostart.FILE_NAME
    login_file.write_text(autostart.desktop_entry(["/opt/Qalam app/qalam", "app", "--hidden"]))
    done = subprocess.run(
        [_tool("desktop-file-validate", "desktop-file-utils"), str(login_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

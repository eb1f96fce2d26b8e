"""settings.json: typed defaults, atomic writes, and recovery from a bad file (never a crash)."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from signer_app.service.settings import FORMAT_VERSION, Settings, SettingsStore
from signer_app.service.tsa_client import DEFAULT_TSA_URL


def test_missing_file_means_defaults_and_nothing_is_written(tmp_path):
    store = SettingsStore(tmp_path / "data")
    settings = store.load()
    assert settings == Settings()
    assert settings.locale == "kk"
    assert settings.tsa_url == DEFAULT_TSA_URL
    assert settings.origins == {}
    assert not store.path.exists()


def test_round_trip_is_atomic_and_private(tmp_path):
    store = SettingsStore(tmp_path / "data")
    wanted = Settings(locale="ru", tsa_url="", origins={"https://a.kz": "deny"})
    store.save(wanted)
    assert store.load() == wanted
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    on_disk = json.loads(store.path.read_text(encoding="utf-8"))
    assert on_disk["version"] == FORMAT_VERSION
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    changed = store.update(lambda s: replace(s, locale="en"))
    assert changed.locale == "en"
    assert store.load().origins == {"https://a.kz": "deny"}


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2, 3]", b'"text"', b'{"version": 99, "locale": "ru"}', b"\xff\xfe\x00"],
)
def test_unreadable_file_is_moved_aside_and_defaults_used(tmp_path, content, caplog):
    store = SettingsStore(tmp_path)
    store.path.write_bytes(content)
    assert store.load() == Settings()
    assert not store.path.exists()
    (backup,) = store.backups
    assert backup.name.startswith("settings.json.bad-")
    assert backup.read_bytes() == content
    assert "using defaults" in caplog.text
    store.save(Settings(locale="en"))  # and the next save works
    assert store.load().locale == "en"


def test_bad_fields_fall_back_one_by_one_with_a_backup(tmp_path, caplog):
    store = SettingsStore(tmp_path)
    original = {
        "version": 1,
        "locale": "fr",
        "tsa_url": "ftp://x",
        "origins": {"https://ok.kz": "deny", "https://bad.kz": "allow"},
        "max_connections": 10,
        "future_setting": True,
    }
    store.path.write_text(json.dumps(original), encoding="utf-8")
    settings = store.load()
    assert settings.locale == "kk"
    assert settings.tsa_url == DEFAULT_TSA_URL
    assert settings.origins == {}  # "always allow" is not a stored decision
    assert settings.max_connections == 10
    (backup,) = store.backups
    assert json.loads(backup.read_text(encoding="utf-8")) == original
    assert store.path.exists()  # kept until the next save
    assert "future_setting" in caplog.text


def test_every_field_declares_its_check():
    from dataclasses import fields

    for spec in fields(Settings):
        assert callable(spec.metadata["check"]), spec.name
        assert spec.metadata["doc"], spec.name
        assert spec.metadata["check"](getattr(Settings(), spec.name)), spec.name


def test_lists_and_switches_round_trip_through_the_file(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.save(Settings(key_folders=("/keys",), start_on_login=True).with_recent_key("/a.p12"))
    loaded = store.load()
    assert loaded.key_folders == ("/keys",)
    assert loaded.recent_keys == ("/a.p12",)
    assert loaded.start_on_login is True
    assert loaded.remember_passwords is False


def test_recent_keys_put_the_newest_first_without_repeats_and_keep_ten() -> None:
    settings = Settings()
    for n in range(12):
        settings = settings.with_recent_key(f"/k{n}.p12")
    settings = settings.with_recent_key("/k5.p12")
    assert settings.recent_keys[0] == "/k5.p12"
    assert len(settings.recent_keys) == 10
    assert settings.recent_keys.count("/k5.p12") == 1


def test_a_folder_list_of_the_wrong_shape_falls_back_to_the_default(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"key_folders": "/not/a/list"}')
    assert SettingsStore(tmp_path).load().key_folders == ()

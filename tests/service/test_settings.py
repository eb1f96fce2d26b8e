"""settings.json: typed defaults, atomic writes, and recovery from a bad file (never a crash)."""

from __future__ import annotations

import json
import stat
from dataclasses import replace

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

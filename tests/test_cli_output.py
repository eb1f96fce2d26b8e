"""What `qalam sign` (and `verify --report`) write: atomically, so an interrupted write leaves no
half-written signature and an earlier file as it was, and never over the input."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import IO, Any

import pytest

from signer_app.cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, main
from signer_app.crypto import atomicfile, cms
from signer_app.crypto.errors import FileIOError

DOCUMENT = "Шарт № 7: 5000 теңге\n".encode()
EARLIER = b"an earlier signature the person still needs"


@pytest.fixture
def citizen(demo, monkeypatch):
    """The citizen's SIGN key, its password in QALAM_PASSWORD as a script would set it."""
    key = demo["citizen_sign"]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    return key


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with only the document in it."""
    path = tmp_path / "work"
    path.mkdir()
    (path / "contract.txt").write_bytes(DOCUMENT)
    return path


class _Failing(io.RawIOBase):
    """A file that takes the first ``keep`` bytes, then fails as ``failure`` says."""

    def __init__(self, real: IO[bytes], keep: int, failure: BaseException) -> None:
        self.real, self.keep, self.failure = real, keep, failure

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.real.write(bytes(data)[: self.keep])
        self.real.flush()
        raise self.failure

    def fileno(self) -> int:
        return self.real.fileno()

    def close(self) -> None:
        self.real.close()
        super().close()


def _fail_writes(monkeypatch, failure: BaseException) -> None:
    real_fdopen = os.fdopen

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> IO[bytes]:
        return _Failing(real_fdopen(fd, *args, **kwargs), 100, failure)  # type: ignore[return-value]

    monkeypatch.setattr(atomicfile.os, "fdopen", fdopen)


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), EXIT_ERROR),
        (KeyboardInterrupt(), EXIT_INTERRUPTED),
    ],
)
@pytest.mark.parametrize("earlier", [True, False])
def test_a_write_failing_halfway_leaves_no_output_and_the_earlier_file_as_it_was(
    citizen, folder: Path, monkeypatch, capsys, failure: BaseException, status: int, earlier: bool
) -> None:
    output = folder / "contract.txt.cms"
    if earlier:
        output.write_bytes(EARLIER)
    _fail_writes(monkeypatch, failure)
    assert main(["sign", str(folder / "contract.txt"), "-k", str(citizen.path)]) == status
    assert (output.read_bytes() if output.exists() else None) == (EARLIER if earlier else None)
    expected = {"contract.txt", output.name} if earlier else {"contract.txt"}
    assert {p.name for p in folder.iterdir()} == expected  # no temporary file left behind
    if status == EXIT_ERROR:
        # The person is told the reason they can act on, not only that the write failed.
        assert f"There is no space left on the disk for {output}." in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["cms", "xml"])
def test_a_signature_replaces_an_earlier_output_whole(citizen, folder: Path, fmt: str) -> None:
    source = folder / "contract.txt"
    if fmt == "xml":
        source.write_text("<doc>Шарт</doc>", encoding="utf-8")
    output = folder / "out.sig"
    output.write_bytes(EARLIER)
    argv = ["sign", str(source), "-k", str(citizen.path), "-f", fmt, "-o", str(output)]
    assert main(argv) == EXIT_OK
    written = output.read_bytes()
    if fmt == "cms":
        assert cms.verify(written).content == DOCUMENT
    else:
        assert b"<doc>" in written
        assert b"SignatureValue" in written
    assert {p.name for p in folder.iterdir()} == {"contract.txt", "out.sig"}


def test_sign_refuses_to_write_over_its_input(citizen, folder: Path, capsys) -> None:
    source = folder / "contract.txt"
    alias = folder / "alias.txt"
    alias.symlink_to(source)
    for output in (source, folder / "." / "contract.txt", alias):
        argv = ["sign", str(source), "-k", str(citizen.path), "-o", str(output)]
        assert main(argv) == EXIT_ERROR
        assert "-o must not be the input" in capsys.readouterr().err
    relative = os.path.relpath(source)
    assert main(["sign", relative, "-k", str(citizen.path), "-o", f"./{relative}"]) == EXIT_ERROR
    assert source.read_bytes() == DOCUMENT


def test_sign_refuses_before_asking_for_a_password(demo, folder: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("QALAM_PASSWORD", raising=False)
    source = folder / "contract.txt"
    argv = ["sign", str(source), "-k", str(demo["citizen_sign"].path), "-o", str(source)]
    assert main(argv) == EXIT_ERROR
    assert "must not be the input" in capsys.readouterr().err


def test_verify_refuses_a_report_over_the_signature(citizen, folder: Path, capsys) -> None:
    signed = folder / "contract.txt.cms"
    assert main(["sign", str(folder / "contract.txt"), "-k", str(citizen.path)]) == EXIT_OK
    before = signed.read_bytes()
    assert main(["verify", str(signed), "--offline", "--report", str(signed)]) == EXIT_ERROR
    assert "--report must not be the input" in capsys.readouterr().err
    assert signed.read_bytes() == before


@pytest.mark.parametrize(
    ("code", "en", "ru"),
    [
        (errno.ENOSPC, "There is no space left on the disk for", "На диске не осталось места"),
        (errno.EACCES, "You are not allowed to read or write", "Нет прав на чтение или запись"),
        (errno.EROFS, "is on a disk that can only be read", "доступном только для чтения"),
        (errno.EIO, "The file could not be read or written:", "Не удалось прочитать"),
    ],
)
def test_a_file_error_names_the_reason_a_person_can_act_on(code: int, en: str, ru: str) -> None:
    error = FileIOError(os.strerror(code), path="/media/usb/contract.cms")
    assert en in error.message("en")
    assert ru in error.message("ru")
    assert "/media/usb/contract.cms" in error.message("kk")

"""What every `qalam` subcommand shares: where the data lives and how a secret is read."""

from __future__ import annotations

import argparse
import getpass
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from .crypto.errors import FileIOError, FileNotFound, InvalidInput


def read_secret_file(path: str) -> str:
    """A password file's first line ending stripped (a file, not argv, keeps it out of `ps`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFound(path, path=path) from None
    except OSError as exc:
        raise FileIOError(exc.strerror or "", path=path) from None
    return text.rstrip("\r\n")


def password_from(file: str | None, env: str, prompt: str, confirm: bool = False) -> str:
    """A password from a file, then the environment, then the terminal; never from argv."""
    if file:
        return read_secret_file(file)
    if os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        reason = f"no password given: use a password file option or set {env}"
        raise InvalidInput(reason, reason=reason)
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat it: ") != first:
        raise InvalidInput("the two entries differ", reason="the two passwords differ")
    return first


def default_data_dir() -> Path:
    """$QALAM_HOME, else ~/.local/share/qalam."""
    return Path(os.environ.get("QALAM_HOME") or Path.home() / ".local" / "share" / "qalam")


def data_dir_of(args: argparse.Namespace) -> Path:
    """The --data-dir option, else the default."""
    return Path(args.data_dir) if getattr(args, "data_dir", None) else default_data_dir()


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, imported on its first attribute access (importlib's LazyLoader):
    what a subcommand needs costs nothing to `qalam --help`."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name, name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


__all__ = ["data_dir_of", "default_data_dir", "lazy_module", "password_from", "read_secret_file"]

"""Qt tests run offscreen; the keyring is an in-memory one so no test touches the user's."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

"""Shared helpers of the API tests: a dispatcher over a ScriptedPrompter, run synchronously."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from signer_app.api.dispatch import ApiConfig, Dispatcher, Reply
from signer_app.service.prompter import ScriptedAnswer, ScriptedPrompter
from signer_app.service.signing import SigningService

ORIGIN = "https://portal.example.kz"
COMMON = "kz.gov.pki.knca.commonUtils"
BASICS = "kz.gov.pki.knca.basics"


class Api:
    """A dispatcher with a scripted person behind it."""

    def __init__(self, *answers: ScriptedAnswer, config: ApiConfig | None = None) -> None:
        self.prompter = ScriptedPrompter(list(answers))
        self.dispatcher = Dispatcher(SigningService(self.prompter), config=config)

    def raw(self, frame: str | dict[str, Any], origin: str | None = ORIGIN) -> Reply:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        return asyncio.run(self.dispatcher.handle(text, origin))

    def __call__(self, frame: str | dict[str, Any], origin: str | None = ORIGIN) -> Any:
        reply = self.raw(frame, origin)
        assert reply.text is not None
        return json.loads(reply.text)


def approve(key: Any) -> ScriptedAnswer:
    return ScriptedAnswer(key=key.path, password=key.password)


def common(method: str, *args: Any, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"module": COMMON, "method": method, **extra}
    if args:
        frame["args"] = list(args)
    return frame


def basics(**args: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "allowedStorages": None,
        "format": "cms",
        "data": "MTEK",
        "signingParams": {"decode": True},
        "signerParams": {"extKeyUsageOids": []},
        "locale": "ru",
    }
    base.update(args)
    return {"module": BASICS, "method": "sign", "args": base}

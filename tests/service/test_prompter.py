"""ScriptedPrompter: the script format portal developers' CI uses."""

from __future__ import annotations

import hashlib
import json

import pytest

from signer_app.crypto.errors import InvalidInput
from signer_app.service.prompter import (
    DocumentView,
    KeyChoice,
    KeyType,
    ScriptedAnswer,
    ScriptedPrompter,
)


def test_single_answer_from_a_file_resolves_paths_next_to_the_script(tmp_path):
    script = tmp_path / "ci.json"
    script.write_text(json.dumps({"key": "keys/a.p12", "password": "pw", "decision": "approve"}))
    prompter = ScriptedPrompter.from_file(script)
    assert prompter._answers[0].key == tmp_path / "keys" / "a.p12"


def test_list_answers_and_cancel_decision():
    prompter = ScriptedPrompter.from_json(
        json.dumps([{"key": "/k.p12", "password": "a"}, {"decision": "cancel"}])
    )
    assert [a.decision for a in prompter._answers] == ["approve", "cancel"]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "42",
        '{"decision": "maybe"}',
        '{"key": 5}',
        '{"kee": "/k.p12"}',
        "[1]",
    ],
)
def test_bad_scripts_are_refused_with_a_reason(text):
    with pytest.raises(InvalidInput):
        ScriptedPrompter.from_json(text)


def test_password_never_in_repr():
    assert "s3cret" not in repr(ScriptedAnswer(password="s3cret"))
    assert "s3cret" not in repr(KeyChoice(path=__import__("pathlib").Path("/k"), password="s3cret"))


def test_document_view_previews():
    assert DocumentView.of(b"\xff\xfe\x00", "cms").preview == "binary data, 3 bytes"
    long = DocumentView.of(("word " * 100).encode(), "cms")
    assert long.preview.endswith("…")
    assert len(long.preview) <= 201
    assert DocumentView.of(b"\x01\x02", "hash").preview == "hash 0102"


def test_a_large_text_is_previewed_from_its_beginning_only() -> None:
    # Kazakh letters are two bytes in UTF-8: the slice decoded may end inside one.
    text = ("Қазақстан Республикасы " * 200_000).encode()
    view = DocumentView.of(text, "xml")
    assert view.preview.startswith("Қазақстан Республикасы")
    assert view.preview.endswith("…")
    assert view.size == len(text)
    assert view.sha256 == hashlib.sha256(text).hexdigest()
    cut = DocumentView.of(("a" + "Қ" * 1000).encode(), "cms")  # byte 1600 is inside a letter
    assert cut.preview.startswith("aҚҚ")
    assert cut.preview.endswith("…")
    assert DocumentView.of(b"\xff" + text, "cms").preview.startswith("binary data")


def test_key_type_from_wire():
    assert KeyType.from_wire("SIGNATURE") is KeyType.SIGNATURE
    assert KeyType.from_wire("AUTHENTICATION") is KeyType.AUTHENTICATION
    for other in ("ANY", "", "123", "signature"):
        assert KeyType.from_wire(other) is KeyType.ANY

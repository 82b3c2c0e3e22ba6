"""A keyring backend for tests: passwords from memory, seeded from `FAKE_KEYRING_JSON`.

In-process: `keyring.set_keyring(FakeKeyring({"service|name": "secret"}))`. In a subprocess:
`PYTHON_KEYRING_BACKEND=tests.support.fake_keyring.FakeKeyring` with `FAKE_KEYRING_JSON` set to
the same mapping as JSON (and the repository on PYTHONPATH). Never touches a real keyring.
"""

from __future__ import annotations

import json
import os

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

__all__ = ["FakeKeyring"]


class FakeKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, passwords: dict[str, str] | None = None) -> None:
        super().__init__()
        seeded = json.loads(os.environ.get("FAKE_KEYRING_JSON", "{}"))
        self.passwords: dict[str, str] = {**seeded, **(passwords or {})}
        self.reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        return self.passwords.get(f"{service}|{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[f"{service}|{username}"] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop(f"{service}|{username}", None) is None:
            raise PasswordDeleteError(username)

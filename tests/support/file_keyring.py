"""A real `keyring` backend for tests: passwords in a JSON file named by `TEST_KEYRING_FILE`.

Selected with `PYTHON_KEYRING_BACKEND=tests.support.file_keyring.FileKeyring` (keyring's own
switch), so a worker process started by a test resolves `apiKeyRef: {"kind": "keyring"}` through
keyring's public API exactly as it would against the OS keyring.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def _data(self) -> dict[str, dict[str, str]]:
        path = Path(os.environ["TEST_KEYRING_FILE"])
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._data().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._data()
        data.setdefault(service, {})[username] = password
        Path(os.environ["TEST_KEYRING_FILE"]).write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = self._data()
        data.get(service, {}).pop(username, None)
        Path(os.environ["TEST_KEYRING_FILE"]).write_text(json.dumps(data), encoding="utf-8")

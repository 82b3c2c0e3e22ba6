"""A corpus of broken settings files, each with what the user must be told.

An entry is the file's bytes (or a special kind: a directory, an unreadable file, a named pipe,
a symlink loop) and the expected outcome: `None` for a file that must load, or the field path
the one-line ConfigError must name (`""` when the problem is the whole file, which then must
be named). Every error must also name the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DIRECTORY, UNREADABLE, FIFO, LOOP = "<directory>", "<unreadable>", "<fifo>", "<symlink loop>"
FILE = ""  # the error is about the whole file


@dataclass(frozen=True)
class Entry:
    name: str
    content: bytes | str  # bytes to write, or one of the special kinds above
    field: str | None  # None: loads fine; FILE: names the file; else the field path
    needle: str = ""  # a word the message must contain


def _p(**fields: Any) -> bytes:
    """One provider `p` with a valid base URL, plus `fields`."""
    return json.dumps({"providers": {"p": {"baseURL": "http://127.0.0.1:9/v1", "models": ["m"], **fields}}}).encode()


def _raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _url(url: str) -> bytes:
    return _p(baseURL=url)


PF = "providers.p."

CORPUS: list[Entry] = [
    # -- the file as a whole -------------------------------------------------------------------
    Entry("empty", b"", FILE, "empty"),
    Entry("whitespace", b"  \n\t\n", FILE, "empty"),
    Entry("binary", bytes(range(256)) * 4, FILE, "UTF-8"),
    Entry("latin-1 text", '{"providers": {"café": {}}}'.encode("latin-1"), FILE, "UTF-8"),
    Entry("UTF-16 with BOM", '{"providers": {}}'.encode("utf-16"), FILE, "UTF-8"),
    Entry("UTF-8 BOM then valid JSON", b"\xef\xbb\xbf" + _p(), None),
    Entry("UTF-8 BOM then garbage", b"\xef\xbb\xbf{nope", FILE, "JSON"),
    Entry("invalid JSON", b"{bad", FILE, "line 1"),
    Entry("truncated JSON", _p()[:-7], FILE, "JSON"),
    Entry("trailing comma", b'{"providers": {},}', FILE, "JSON"),
    Entry("JSON with comments", b'{"providers": {} // mine\n}', FILE, "JSON"),
    Entry("array", b"[1, 2]", FILE, "JSON object"),
    Entry("string", b'"providers"', FILE, "JSON object"),
    Entry("number", b"42", FILE, "JSON object"),
    Entry("null", b"null", FILE, "JSON object"),
    Entry("NUL bytes", b"\x00" * 64, FILE, ""),
    Entry("over 5 MB", b" " * (5 * 1024 * 1024 + 10) + b"{}", FILE, "5 MB"),
    Entry("4 MB but valid (a big unknown key)", _raw({"notes": "x" * (4 * 1024 * 1024), "providers": {}}), None),
    Entry("arrays nested 100000 deep", b"[" * 100_000 + b"]" * 100_000, FILE, "nested"),
    Entry("objects nested 100000 deep", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, FILE, "nested"),
    Entry("extraBody nested 500 deep", _p(extraBody={"a": json.loads("[" * 500 + "]" * 500)}), PF + "extraBody", "nested"),
    Entry("defaultParams nested 900 deep", _p(defaultParams={"a": json.loads("[" * 900 + "]" * 900)}), PF + "defaultParams", "nested"),
    Entry("duplicate keys (last wins)", b'{"providers": {"p": {"baseURL": "ftp://x"}, "p": {"baseURL": "http://127.0.0.1:9/v1"}}}', None),
    Entry("a directory", DIRECTORY, FILE, "directory"),
    Entry("unreadable (mode 000)", UNREADABLE, FILE, "cannot be read"),
    Entry("a named pipe", FIFO, FILE, "named pipe"),
    Entry("a symlink loop", LOOP, FILE, "cannot be read"),
    # -- wrong types and unknown shapes ---------------------------------------------------------
    Entry("providers is an array", _raw({"providers": []}), "providers", "object"),
    Entry("providers is a string", _raw({"providers": "ollama"}), "providers", "object"),
    Entry("a provider is a string", _raw({"providers": {"p": "http://localhost:11434/v1"}}), "providers.p", "object"),
    Entry("a provider is null", _raw({"providers": {"p": None}}), "providers.p", ""),
    Entry("baseURL missing", _raw({"providers": {"p": {"models": ["m"]}}}), PF + "baseURL", "missing"),
    Entry("baseURL is a number", _p(baseURL=11434), PF + "baseURL", ""),
    Entry("baseURL is an object", _p(baseURL={"url": "http://h"}), PF + "baseURL", ""),
    Entry("models is a string", _p(models="m"), PF + "models", "array"),
    Entry("models holds numbers", _p(models=[1, 2]), PF + "models", ""),
    Entry("a blank model", _p(models=["", "m"]), PF + "models", "blank"),
    Entry("a model listed twice", _p(models=["m", "m"]), PF + "models", "twice"),
    Entry("headers is an array", _p(headers=["X-A: b"]), PF + "headers", "object"),
    Entry("a header value is a number", _p(headers={"X-A": 5}), PF + "headers", ""),
    Entry("Authorization header in the file", _p(headers={"Authorization": "Bearer sk-live-123456789"}), PF + "headers", "secrets"),
    Entry("header name with a newline", _p(headers={"X-A\r\nEvil": "1"}), PF + "headers", "malformed"),
    Entry("header value with a newline", _p(headers={"X-A": "1\r\nEvil: 2"}), PF + "headers", "malformed"),
    Entry("timeoutMs is a string", _p(timeoutMs="1000"), PF + "timeoutMs", ""),
    Entry("timeoutMs is negative", _p(timeoutMs=-1), PF + "timeoutMs", ""),
    Entry("timeoutMs is true", _p(timeoutMs=True), PF + "timeoutMs", ""),
    Entry("timeoutMs is a float", _p(timeoutMs=1e100), PF + "timeoutMs", ""),
    Entry("timeoutMs is NaN", _p()[:-3] + b', "timeoutMs": NaN}}}', PF + "timeoutMs", ""),
    Entry("maxRetries 100", _p(maxRetries=100), PF + "maxRetries", ""),
    Entry("verifyTls is a string", _p(verifyTls="false"), PF + "verifyTls", ""),
    Entry("apiKeyRef is the key itself", _p(apiKeyRef="sk-live-0123456789abcdef"), PF + "apiKeyRef", ""),
    Entry("apiKeyRef kind file", _p(apiKeyRef={"kind": "file", "name": "/etc/key"}), PF + "apiKeyRef.kind", ""),
    Entry("apiKeyRef without a name", _p(apiKeyRef={"kind": "env"}), PF + "apiKeyRef.name", "missing"),
    Entry("apiKeyRef with the key inside", _p(apiKeyRef={"kind": "env", "name": "K", "value": "sk-live-0123456789"}), PF + "apiKeyRef.value", "unknown field"),
    Entry("apiShape unknown", _p(apiShape="completions"), PF + "apiShape", ""),
    Entry("urlMode unknown", _p(urlMode="magic"), PF + "urlMode", ""),
    Entry("misspelt field", _p(baseUrl="http://h/v1"), PF + "baseUrl", "baseURL"),
    Entry("unknown provider field", _p(temperature=0.2), PF + "temperature", "unknown field"),
    Entry("provider id with a slash", _raw({"providers": {"a/b": {"baseURL": "http://h/v1"}}}), "providers.a/b", ""),
    Entry("provider id with a space", _raw({"providers": {"a b": {"baseURL": "http://h/v1"}}}), "providers.a b", ""),
    Entry("active is a string", _raw({"providers": {}, "active": "p"}), "active", ""),
    Entry("active provider unknown", _raw({"providers": {}, "active": {"provider": "gone"}}), "active.provider", "gone"),
    Entry("active model unknown", _p()[:-1] + b', "active": {"provider": "p", "model": "nope"}}', "active.model", "nope"),
    Entry("requestLog is a number", _raw({"providers": {}, "requestLog": 5}), "requestLog", ""),
    Entry("defaultParams is a string", _p(defaultParams="hot"), PF + "defaultParams", ""),
    Entry("defaultParams misspelt", _p(defaultParams={"temprature": 0.2}), PF + "defaultParams.temprature", "temperature"),
    Entry("defaultParams wrong type", _p(defaultParams={"temperature": "hot"}), PF + "defaultParams.temperature", "number"),
    Entry("modelParams not an object", _p(modelParams={"m": 5}), PF + "modelParams.m", ""),
    Entry("capabilities is an array", _p(capabilities=["tools"]), PF + "capabilities", ""),
    # -- URLs -------------------------------------------------------------------------------------
    Entry("relative URL", _url("/v1"), PF + "baseURL", "absolute"),
    Entry("no scheme", _url("localhost:11434/v1"), PF + "baseURL", "http://"),
    Entry("file://", _url("file:///etc/passwd"), PF + "baseURL", "http"),
    Entry("ftp://", _url("ftp://example.com/v1"), PF + "baseURL", "http"),
    Entry("javascript:", _url("javascript:alert(1)"), PF + "baseURL", ""),
    Entry("unix socket URL", _url("unix:///var/run/llm.sock"), PF + "baseURL", "http"),
    Entry("no host", _url("http:///v1"), PF + "baseURL", "host"),
    Entry("space in host", _url("http://exa mple.com/v1"), PF + "baseURL", "spaces"),
    Entry("port out of range", _url("http://127.0.0.1:99999/v1"), PF + "baseURL", ""),
    Entry("broken IPv6", _url("http://[::1/v1"), PF + "baseURL", ""),
    Entry("NUL in the URL", _url("http://h\x00/v1"), PF + "baseURL", ""),
    Entry("empty URL", _url(""), PF + "baseURL", "empty"),
    Entry("a 1 MB URL", _url("http://" + "a" * (1024 * 1024) + ".com/v1"), None),
    Entry("HTTP in capitals", _url("HTTP://127.0.0.1:9/v1"), None),
]

"""Endpoint resolution, table-tested against the base URLs vendors actually document."""

from __future__ import annotations

import pytest

from llm_openai_compat.errors import ConfigError
from llm_openai_compat.http.urls import base_url_problem, models_endpoint, resolve_endpoint

AZURE = "https://r.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21"

# base URL -> (chat endpoint, responses endpoint, models endpoint), all in auto mode.
AUTO = {
    "https://api.example.com": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
    "https://api.example.com/": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
    "https://api.example.com/v1": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
    "https://api.example.com/v1/": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
    "https://api.example.com/v4": (
        "https://api.example.com/v4/chat/completions",
        "https://api.example.com/v4/responses",
        "https://api.example.com/v4/models",
    ),
    "https://api.example.com/v1/chat/completions": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
    "https://api.example.com/v1/chat/completions/": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
    "https://api.example.com/v1/responses": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
    "http://localhost:11434/v1": (
        "http://localhost:11434/v1/chat/completions",
        "http://localhost:11434/v1/responses",
        "http://localhost:11434/v1/models",
    ),
    "http://localhost:11434": (
        "http://localhost:11434/v1/chat/completions",
        "http://localhost:11434/v1/responses",
        "http://localhost:11434/v1/models",
    ),
    "http://localhost:1234/v1": (
        "http://localhost:1234/v1/chat/completions",
        "http://localhost:1234/v1/responses",
        "http://localhost:1234/v1/models",
    ),
    "https://openrouter.ai/api/v1": (
        "https://openrouter.ai/api/v1/chat/completions",
        "https://openrouter.ai/api/v1/responses",
        "https://openrouter.ai/api/v1/models",
    ),
    "https://api.groq.com/openai/v1": (
        "https://api.groq.com/openai/v1/chat/completions",
        "https://api.groq.com/openai/v1/responses",
        "https://api.groq.com/openai/v1/models",
    ),
    "https://generativelanguage.googleapis.com/v1beta/openai/": (
        "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
        "https://generativelanguage.googleapis.com/v1beta/openai/responses",
        "https://generativelanguage.googleapis.com/v1beta/openai/models",
    ),
    "https://api.z.ai/api/paas/v4": (
        "https://api.z.ai/api/paas/v4/chat/completions",
        "https://api.z.ai/api/paas/v4/responses",
        "https://api.z.ai/api/paas/v4/models",
    ),
    "https://gateway.example.com/v2alpha/llm": (
        "https://gateway.example.com/v2alpha/llm/chat/completions",
        "https://gateway.example.com/v2alpha/llm/responses",
        "https://gateway.example.com/v2alpha/llm/models",
    ),
    "http://192.168.1.253:8317/v1": (
        "http://192.168.1.253:8317/v1/chat/completions",
        "http://192.168.1.253:8317/v1/responses",
        "http://192.168.1.253:8317/v1/models",
    ),
    "http://[::1]:8000": (
        "http://[::1]:8000/v1/chat/completions",
        "http://[::1]:8000/v1/responses",
        "http://[::1]:8000/v1/models",
    ),
    "https://proxy.corp.example/llm": (
        "https://proxy.corp.example/llm/v1/chat/completions",
        "https://proxy.corp.example/llm/v1/responses",
        "https://proxy.corp.example/llm/v1/models",
    ),
    AZURE: (
        "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21",
        "https://r.openai.azure.com/openai/deployments/gpt4o/responses?api-version=2024-10-21",
        "https://r.openai.azure.com/openai/models?api-version=2024-10-21",
    ),
    "https://r.openai.azure.com/openai/deployments/gpt4o/?api-version=2024-10-21": (
        "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21",
        "https://r.openai.azure.com/openai/deployments/gpt4o/responses?api-version=2024-10-21",
        "https://r.openai.azure.com/openai/models?api-version=2024-10-21",
    ),
    "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21": (
        "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21",
        "https://r.openai.azure.com/openai/deployments/gpt4o/responses?api-version=2024-10-21",
        "https://r.openai.azure.com/openai/models?api-version=2024-10-21",
    ),
    "https://r.openai.azure.com/openai/v1": (
        "https://r.openai.azure.com/openai/v1/chat/completions",
        "https://r.openai.azure.com/openai/v1/responses",
        "https://r.openai.azure.com/openai/v1/models",
    ),
    "https://api.example.com/v1#fragment": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
}


@pytest.mark.parametrize(("base", "expected"), AUTO.items(), ids=list(AUTO))
def test_auto_mode(base: str, expected: tuple[str, str, str]) -> None:
    chat, responses, models = expected
    assert resolve_endpoint(base) == chat
    assert resolve_endpoint(base, "chat-completions", "auto") == chat
    assert resolve_endpoint(base, "responses") == responses
    assert models_endpoint(base) == models


VERBATIM = {
    "https://proxy.corp.example/llm": (
        "https://proxy.corp.example/llm/chat/completions",
        "https://proxy.corp.example/llm/responses",
        "https://proxy.corp.example/llm/models",
    ),
    "https://proxy.corp.example/llm/": (
        "https://proxy.corp.example/llm/chat/completions",
        "https://proxy.corp.example/llm/responses",
        "https://proxy.corp.example/llm/models",
    ),
    "https://api.example.com": (
        "https://api.example.com/chat/completions",
        "https://api.example.com/responses",
        "https://api.example.com/models",
    ),
    "https://api.example.com/v1": (
        "https://api.example.com/v1/chat/completions",
        "https://api.example.com/v1/responses",
        "https://api.example.com/v1/models",
    ),
    "https://api.example.com/custom?tenant=a": (
        "https://api.example.com/custom/chat/completions?tenant=a",
        "https://api.example.com/custom/responses?tenant=a",
        "https://api.example.com/custom/models?tenant=a",
    ),
    # A full endpoint is never doubled, even verbatim.
    "https://api.example.com/x/chat/completions": (
        "https://api.example.com/x/chat/completions",
        "https://api.example.com/x/responses",
        "https://api.example.com/x/models",
    ),
}


@pytest.mark.parametrize(("base", "expected"), VERBATIM.items(), ids=list(VERBATIM))
def test_verbatim_mode(base: str, expected: tuple[str, str, str]) -> None:
    chat, responses, models = expected
    assert resolve_endpoint(base, mode="verbatim") == chat
    assert resolve_endpoint(base, "responses", "verbatim") == responses
    assert models_endpoint(base, mode="verbatim") == models


def test_query_stays_at_the_end() -> None:
    url = resolve_endpoint("https://api.example.com/?a=1&b=2")
    assert url == "https://api.example.com/v1/chat/completions?a=1&b=2"


@pytest.mark.parametrize(
    "base",
    [
        "",
        "   ",
        "api.example.com/v1",
        "/v1",
        "localhost:11434/v1",
        "file:///etc/passwd",
        "ftp://example.com/v1",
        "https://",
        "http:///v1",
        "https://api.example.com:notaport/v1",
        "https://api.example .com/v1",
    ],
)
def test_invalid_urls_raise_config_error(base: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_endpoint(base)
    assert info.value.field == "baseURL"
    assert "baseURL" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError):
        models_endpoint(base)


def test_invalid_url_message_hides_userinfo() -> None:
    problem = base_url_problem("ftp://user:hunter2secret@example.com/v1")
    assert problem is not None
    assert "hunter2secret" not in problem
    problem = base_url_problem("https://user:hunter2secret@exa mple.com/v1")
    assert problem is not None
    assert "hunter2secret" not in problem


def test_base_url_problem() -> None:
    assert base_url_problem("http://localhost:8080") is None
    assert base_url_problem(42) == "must be a string"
    assert "file://" in (base_url_problem("file:///x") or "")


def test_urls_module_is_stdlib_only() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import llm_openai_compat.http.urls; "
        "bad = [m for m in ('pydantic', 'httpx', 'llm', 'click', 'keyring', 'langchain_core') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_display_url_masks_userinfo_in_reprs_and_tables():
    from llm_openai_compat.config.settings import ProviderSettings
    from llm_openai_compat.http.urls import display_url

    url = "https://bob:hunter2secret@proxy.example/v1?api-version=1"
    assert display_url(url) == "https://[redacted]@proxy.example/v1?api-version=1"
    assert display_url("http://localhost:11434/v1") == "http://localhost:11434/v1"
    assert "hunter2secret" not in repr(ProviderSettings(base_url=url))

"""The README's LangChain agent loop runs as written, against the local model server.

The code block is taken from README.md and executed unchanged; its `provider="ollama"` is
pointed at the local server through the settings file the test writes.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

from langchain_core.messages import AIMessage, ToolMessage

from tests.support.model_server_fixture import ModelServer

README = Path(__file__).resolve().parents[2] / "README.md"


def agent_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Using with LangChain", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    loops = [b for b in blocks if "bind_tools" in b and "tool_calls" in b]
    assert len(loops) == 1, "the README should show one agent loop"
    return loops[0]


def test_readme_agent_loop_runs(model_server: ModelServer, isolated_user_dir: Path) -> None:
    settings = {"providers": {"ollama": {"baseURL": model_server.url(), "models": ["llama3.2"]}}}
    (isolated_user_dir / "openai-compat.json").write_text(json.dumps(settings))
    model_server.reset()
    namespace: dict[str, object] = {"__name__": "readme_example"}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(agent_example(), str(README), "exec"), namespace)

    messages = namespace["messages"]
    assert isinstance(messages, list)
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage", "AIMessage", "ToolMessage", "AIMessage"
    ]
    call, result, final = messages[1], messages[2], messages[3]
    assert isinstance(call, AIMessage) and call.tool_calls[0]["args"] == {"city": "Paris"}
    assert isinstance(result, ToolMessage) and result.content == "It is sunny in Paris."
    assert "It is sunny in Paris." in final.text
    assert output.getvalue().strip() == final.text

    bodies = [r["body"] for r in model_server.requests()]
    assert len(bodies) == 2 and bodies[0]["model"] == "llama3.2"
    assert [m["role"] for m in bodies[1]["messages"]] == ["user", "assistant", "tool"]

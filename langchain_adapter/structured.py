"""`bind_tools` and `with_structured_output` for `ChatOpenAICompat`.

Tools are bound in OpenAI's dict form (what `convert_to_openai_tool` gives) and converted to
the core's `ToolSpec`s per call. Structured output defaults to `function_calling`, because
more OpenAI-compatible servers implement tools than `response_format: json_schema`
(llama.cpp, older vLLM and many gateways reject or ignore the latter); `json_schema` and
`json_mode` are there for servers that support them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel, LanguageModelInput
    from langchain_core.messages import AIMessage

__all__ = ["Method", "ToolLike", "bind_tools", "with_structured_output"]

Method = Literal["function_calling", "json_schema", "json_mode"]
ToolLike = Mapping[str, Any] | type | Callable[..., Any] | BaseTool
ToolChoice = str | bool | Mapping[str, Any] | None


def tool_choice_for(choice: ToolChoice, names: Sequence[str]) -> str | None:
    """LangChain's tool_choice spellings -> the core's: auto, none, required or a tool name."""
    if choice is None or choice is False:
        return None
    if choice is True or choice == "any":
        return names[0] if choice is True and len(names) == 1 else "required"
    if isinstance(choice, Mapping):  # {"type": "function", "function": {"name": ...}}
        choice = (choice.get("function") or choice).get("name")
    if choice in ("auto", "none", "required"):
        return str(choice)
    if isinstance(choice, str) and choice in names:
        return choice
    raise ValueError(
        f"tool_choice {choice!r} is not 'auto', 'none', 'any', 'required', True or one of the "
        f"bound tools ({', '.join(names) or 'none'})"
    )


def bind_tools(
    model: BaseChatModel,
    tools: Sequence[ToolLike],
    *,
    tool_choice: ToolChoice,
    strict: bool | None,
    parallel_tool_calls: bool | None,
    bound: Mapping[str, Any],
) -> Runnable[LanguageModelInput, AIMessage]:
    formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
    # Built-in tools (`{"type": "web_search"}`) have no function name; they are sent as given.
    names = [tool["function"]["name"] for tool in formatted if "function" in tool]
    options: dict[str, Any] = {"tools": formatted, **bound}
    choice = tool_choice_for(tool_choice, names)
    if choice is not None:
        options["tool_choice"] = choice
    if parallel_tool_calls is not None:
        options["parallel_tool_calls"] = parallel_tool_calls
    return model.bind(**options)


def with_structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    *,
    method: Method,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[LanguageModelInput, Any]:
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    tracing = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    parser: Runnable[Any, Any]
    if method == "function_calling":
        name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools(
            [schema],
            tool_choice=name,
            strict=strict,
            parallel_tool_calls=False,
            ls_structured_output_format=tracing,
        )
        if is_pydantic:
            parser = PydanticToolsParser(tools=[schema], first_tool_only=True)
        else:
            parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    elif method in ("json_schema", "json_mode"):
        if method == "json_schema":
            function = convert_to_openai_tool(schema, strict=strict)["function"]
            spec: dict[str, Any] = {"name": function["name"], "schema": function["parameters"]}
            if function.get("description"):
                spec["description"] = function["description"]
            if strict is not None:
                spec["strict"] = strict
            response_format: dict[str, Any] = {"type": "json_schema", "json_schema": spec}
        else:
            response_format = {"type": "json_object"}
            tracing = {"kwargs": {"method": method}, "schema": schema}
        llm = model.bind(response_format=response_format, ls_structured_output_format=tracing)
        parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
    else:
        raise ValueError(
            f"method must be 'function_calling', 'json_schema' or 'json_mode', not {method!r}"
        )
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([fallback], exception_key="parsing_error")

"""Per-model capabilities from what servers already publish about each model.

A provider's one probe cannot say that OpenRouter's `anthropic/claude-sonnet-4` takes images
while its `deepseek/deepseek-r1` does not, so each listing entry is read for what it states:

- LM Studio's native listing (`/api/v0/models`): `type` (`vlm` sees images, `llm` does not,
  `embeddings` only embeds), `capabilities: ["tool_use"]` / `trained_for_tool_use`,
  `max_context_length`.
- OpenRouter's `/models`: `architecture.input_modalities` (image, audio, file, video),
  `supported_parameters` (tools, structured_outputs/response_format, reasoning),
  `context_length`.
- Ollama's `/api/show`: `capabilities` (completion, tools, vision, thinking, embedding, audio)
  and `model_info["<arch>.context_length"]`.
- llama-server: `/v1/models` `meta.n_ctx_train`; `/props` `modalities` and
  `default_generation_settings.n_ctx`.
- vLLM's `/v1/models`: `max_model_len`.

Only what an entry states is returned (a key is absent when the server said nothing about
it), so the provider-level probe still answers the rest. The keys are those of a provider's
`capabilities` in the settings file: `tools`, `jsonSchema`, `jsonObject`, `images`, `audio`, `pdf`, `video`,
`reasoning`, `embedding`, `chat`, `contextLength`. Pure functions only: no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CAPABILITY_KEYS",
    "capabilities_from_item",
    "capability_cause",
    "llamacpp_props_capabilities",
    "merge_capabilities",
    "ollama_show_capabilities",
]

# The keys a model's entry may carry, in the order `models ID` shows them.
CAPABILITY_KEYS: tuple[str, ...] = (
    "chat", "embedding", "tools", "jsonSchema", "jsonObject", "images", "audio", "pdf", "video",
    "reasoning", "streaming", "contextLength",
)
_OPENROUTER_MODALITIES = {"image": "images", "audio": "audio", "file": "pdf", "video": "video"}
_REASONING_PARAMS = frozenset({"reasoning", "include_reasoning"})


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [v.lower() for v in value if isinstance(v, str)]
    return None


def _lmstudio(item: Mapping[str, Any], caps: dict[str, Any]) -> None:
    kind = item.get("type")
    if not isinstance(kind, str):
        return
    kind = kind.lower()
    caps["chat"] = kind in ("llm", "vlm")
    caps["embedding"] = kind in ("embeddings", "embedding")
    if caps["chat"]:
        caps["images"] = kind == "vlm" or item.get("vision") is True
        listed = _strings(item.get("capabilities"))
        trained = item.get("trained_for_tool_use")
        if isinstance(trained, bool):
            caps["tools"] = trained
        elif listed is not None:
            caps["tools"] = "tool_use" in listed
        elif "max_context_length" in item:
            # LM Studio lists `capabilities` only where there are some: absent means none.
            caps["tools"] = False
    context = _positive_int(item.get("max_context_length"))
    if context:
        caps["contextLength"] = context


def _openrouter(item: Mapping[str, Any], caps: dict[str, Any]) -> None:
    architecture = item.get("architecture")
    if isinstance(architecture, Mapping):
        inputs = _strings(architecture.get("input_modalities"))
        outputs = _strings(architecture.get("output_modalities"))
        if inputs is not None:
            for modality, key in _OPENROUTER_MODALITIES.items():
                caps[key] = modality in inputs
        if outputs is not None:
            caps["chat"] = "text" in outputs
            caps["embedding"] = "embeddings" in outputs and "text" not in outputs
    params = _strings(item.get("supported_parameters"))
    if params is not None:
        caps["tools"] = "tools" in params
        caps["jsonSchema"] = "structured_outputs" in params
        caps["jsonObject"] = "response_format" in params
        caps["reasoning"] = bool(_REASONING_PARAMS & set(params))
    context = _positive_int(item.get("context_length"))
    if context:
        caps["contextLength"] = context


def ollama_show_capabilities(body: Any) -> dict[str, Any]:
    """Ollama's `POST /api/show` answer: its `capabilities` list and context length."""
    caps: dict[str, Any] = {}
    if not isinstance(body, Mapping):
        return caps
    listed = _strings(body.get("capabilities"))
    if listed:
        caps["chat"] = "completion" in listed
        caps["embedding"] = "embedding" in listed and "completion" not in listed
        caps["tools"] = "tools" in listed
        caps["images"] = "vision" in listed
        caps["audio"] = "audio" in listed
        caps["reasoning"] = "thinking" in listed
    info = body.get("model_info")
    if isinstance(info, Mapping):
        for key, value in info.items():
            if isinstance(key, str) and key.endswith(".context_length") and _positive_int(value):
                caps["contextLength"] = value
                break
    return caps


def llamacpp_props_capabilities(body: Any) -> dict[str, Any]:
    """llama-server's `GET /props`: `modalities` (vision, audio) and the served context size."""
    caps: dict[str, Any] = {}
    if not isinstance(body, Mapping):
        return caps
    modalities = body.get("modalities")
    if isinstance(modalities, Mapping):
        if isinstance(modalities.get("vision"), bool):
            caps["images"] = modalities["vision"]
        if isinstance(modalities.get("audio"), bool):
            caps["audio"] = modalities["audio"]
    settings = body.get("default_generation_settings")
    if isinstance(settings, Mapping) and _positive_int(settings.get("n_ctx")):
        caps["contextLength"] = settings["n_ctx"]
    return caps


def capabilities_from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """What one listing entry states about its model (LM Studio, OpenRouter, vLLM, llama-server,
    or Ollama `/api/show`-style `capabilities`); empty when it states nothing."""
    caps: dict[str, Any] = {}
    _lmstudio(item, caps)
    if "architecture" in item or "supported_parameters" in item:
        _openrouter(item, caps)
    if isinstance(item.get("capabilities"), list) and "type" not in item:
        caps.update(ollama_show_capabilities(item))
    vllm = _positive_int(item.get("max_model_len"))
    if vllm:
        caps["contextLength"] = vllm
    meta = item.get("meta")
    if isinstance(meta, Mapping) and _positive_int(meta.get("n_ctx_train")):
        caps.setdefault("contextLength", meta["n_ctx_train"])
    return caps


def merge_capabilities(
    provider: Mapping[str, Any], model: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A model's effective capabilities: the provider's probe, overridden by what the server
    published about this model."""
    return {**provider, **(model or {})}


# What `llm openai-compat test` probes (probe.ProbeReport.capabilities): a stored False for one
# of these, next to a `probedAt`, is a test result; any other stored False is a listing's.
PROBED_KEYS = frozenset({
    "streaming", "streamOptions", "streamUsage", "tools", "toolsStreamed", "jsonSchema",
    "jsonObject", "developerRole", "responses", "chatCompletions",
})
_LABELS = {
    "tools": "tool calling", "jsonSchema": "JSON schema output", "jsonObject": "JSON mode",
    "images": "image input", "audio": "audio input", "pdf": "PDF input", "video": "video input",
    "reasoning": "reasoning", "streaming": "streaming",
}


def capability_cause(
    provider_id: str,
    model: str,
    name: str,
    provider_caps: Mapping[str, Any],
    model_caps: Mapping[str, Any],
) -> str:
    """Why capability `name` is off for `model`, and the exact way to check again or override
    it: the text every capability refusal ends with (issue 15: a refusal names the stored
    result that caused it). `model_caps` is the model's `modelCapabilities` entry, which wins
    over the provider-level `provider_caps`, as everywhere."""
    label = _LABELS.get(name, name)
    retest = f"`llm openai-compat test {provider_id} --model {model}`"
    relist = f"`llm openai-compat models {provider_id} --refresh`"
    again = f"re-test with {retest}" if name in PROBED_KEYS else None
    if name in model_caps:
        at = model_caps.get("probedAt")
        if at and name in PROBED_KEYS:
            cause = f"{retest} found no {label} on {at}"
        else:
            cause = f"the server's model listing says {model} has no {label}"
            again = again or f"list again with {relist}"
        cause += f" (modelCapabilities[{model!r}].{name})"
    elif name in provider_caps:
        at, probed = provider_caps.get("probedAt"), provider_caps.get("probedModel")
        if at:
            tried = f", testing {probed}," if probed else ""
            cause = (
                f"`llm openai-compat test {provider_id}` found no {label} on {at}{tried} and "
                "stored it for every model of the provider"
            )
        else:
            cause = f"the provider's settings say there is no {label}"
        cause += f" (capabilities.{name})"
    else:
        cause = f"nothing stored says {model} takes {label}, so it is off"
    override = (
        f"set modelCapabilities[{model!r}].{name} to true in the settings file "
        "(`llm openai-compat path` shows it)"
    )
    return f"{cause}; {again}, or {override}" if again else f"{cause}; to turn it on, {override}"

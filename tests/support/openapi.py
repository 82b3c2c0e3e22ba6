"""Validate request bodies against OpenAI's own OpenAPI description (tests/fixtures/openai-openapi)."""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support.fixture_paths import OPENAPI_SPEC as SPEC_PATH
from tests.support.fixture_paths import TRANSCRIPTS


def _one_of_to_any_of(node: Any) -> Any:
    # The document uses oneOf where several branches match the same value; see its README.
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _one_of_to_any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_one_of_to_any_of(v) for v in node]
    return node


@functools.cache
def _registry() -> Registry:
    spec = _one_of_to_any_of(json.loads(SPEC_PATH.read_text()))
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return Registry().with_resource("urn:openai", resource)


@functools.cache
def validator(schema_name: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"urn:openai#/components/schemas/{schema_name}"}, registry=_registry()
    )


def validation_errors(body: Any, schema_name: str) -> list[str]:
    """Every validation error, as 'path: message' lines (empty when the body is valid)."""
    errors = sorted(validator(schema_name).iter_errors(body), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message[:300]}" for e in errors]


def assert_valid(body: Any, schema_name: str) -> None:
    errors = validation_errors(body, schema_name)
    assert not errors, f"{schema_name} rejects the body:\n" + "\n".join(errors[:10])


def read_transcript(name: str) -> tuple[dict[str, str], str]:
    """A transcript's header fields (source, vendor, notes) and its body text."""
    text = (TRANSCRIPTS / name).read_text(encoding="utf-8")
    header: dict[str, str] = {}
    lines = text.split("\n")
    while lines and lines[0].startswith("# ") and ":" in lines[0]:
        key, _, value = lines.pop(0)[2:].partition(":")
        header[key.strip()] = value.strip()
        if len(header) == 3:
            break
    return header, "\n".join(lines)

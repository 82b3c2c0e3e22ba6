"""What a LangChain object of this package holds when pickled for a worker process."""

from __future__ import annotations

from typing import Any

__all__ = ["worker_state"]


def worker_state(model: Any, state: dict[Any, Any]) -> dict[Any, Any]:
    """`state` (pydantic's) without clients, pools or the auth header last sent. A model given
    `http_client=`/`http_async_client=` is refused: those connections belong to this process."""
    if getattr(model, "http_client", None) is not None or (
        getattr(model, "http_async_client", None) is not None
    ):
        raise TypeError(
            f"cannot pickle a {type(model).__name__} given http_client=/http_async_client=: "
            "those connections belong to this process; build the model in the worker instead"
        )
    state = dict(state)
    private = dict(state.get("__pydantic_private__") or {})
    private.update(_client=None, _async_client=None)
    state["__pydantic_private__"] = private
    return state

"""LangChain chat model for OpenAI-compatible servers."""

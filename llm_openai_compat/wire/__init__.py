"""The two wire shapes: Chat Completions (`chat`) and Responses (`responses`)."""

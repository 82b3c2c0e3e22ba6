"""llm plugin registration (thin; lazy imports)."""

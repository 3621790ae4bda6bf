"""LLM providers: the router and its fallback matrix. Importing this package does not import ``openai``."""

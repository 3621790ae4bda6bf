"""Benchmarks behind ``make bench``: router overhead, cold imports, warm memory and package size.

Each part runs in a process of its own where its numbers could be disturbed by the others (the
LiteLLM import, the local stack), and ``bench.run`` prints every result as one table.
"""

"""Where the shipped data files live (prices, model downgrades, default feature flags)."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

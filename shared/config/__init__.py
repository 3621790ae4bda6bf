"""The one configuration model, read once per container, grouped per feature."""

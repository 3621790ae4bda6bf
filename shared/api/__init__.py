"""The HTTP edge: envelope, caller identity and the one error → response mapping."""

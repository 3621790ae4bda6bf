"""How the Lambda layers are built: locally, with pip and a copy, never with Docker."""

"""The routing experiments routes: request models and views."""

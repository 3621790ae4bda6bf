"""Cost recommendations from real history, and applying them to the routing."""

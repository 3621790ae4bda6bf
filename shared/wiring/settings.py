"""The settings, for handlers (they import only api/ and wiring/): one model read once per container.

Its own module so a handler that needs a setting does not import every feature's wiring through the container.
"""

from shared.config.settings import get_settings as get_settings

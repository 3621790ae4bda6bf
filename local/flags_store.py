"""The local feature-flag store: a JSON file the handlers read, rewritten by ``PUT /_local/flags``.

``make run`` seeds it with the same document CDK deploys to AppConfig; changing it takes effect
within the handlers' flag cache (``FLAGS_CACHE_S``), no restart, as an AppConfig deployment would.
With a state folder (``make run``) the document lives there and a restart keeps the last one PUT.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.feature_flags.exceptions import SchemaValidationError
from aws_lambda_powertools.utilities.feature_flags.schema import SchemaValidator

from shared.routing.flags import DEFAULT_FLAGS_FILE


class LocalFlagStore:
    """A seeded copy of the shipped flag document, in ``folder`` (kept) or a temporary folder (removed on close)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._temporary = folder is None
        self._folder = Path(tempfile.mkdtemp(prefix="ho-flags-")) if folder is None else folder
        self._folder.mkdir(parents=True, exist_ok=True)
        self.path = self._folder / "feature_flags.json"
        if not self.path.exists():
            shutil.copyfile(DEFAULT_FLAGS_FILE, self.path)

    def route(self, method: str, body: bytes) -> Any:
        """``GET`` the document, or ``PUT`` a new one (validated by the Powertools schema first)."""
        if method == "GET":
            return json.loads(self.path.read_text())
        if method != "PUT":
            raise LookupError(f"{method} is not allowed on /_local/flags (GET or PUT)")
        try:
            document = json.loads(body or b"null")
            SchemaValidator(document).validate()
        except (ValueError, SchemaValidationError) as exc:
            raise ValueError(f"not a valid feature-flag document: {exc}") from exc
        staging = self.path.with_suffix(".tmp")
        staging.write_text(json.dumps(document, indent=2))
        staging.replace(self.path)  # atomic: a handler never reads half a document
        return document

    def close(self) -> None:
        """Remove the folder if it is a temporary one."""
        if self._temporary:
            shutil.rmtree(self._folder, ignore_errors=True)

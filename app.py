#!/usr/bin/env python3
"""CDK app entry: ``python app.py`` (``make synth``) or ``cdk synth`` writes the template to ``cdk.out/``."""

from __future__ import annotations

import os

from stacks import constants as c
from stacks.app_builder import build_app


def main() -> None:
    """Synthesize the stack; the cdk CLI sets ``CDK_OUTDIR``, otherwise write to ``cdk.out/``."""
    app, _ = build_app(outdir=None if os.environ.get("CDK_OUTDIR") else str(c.DEFAULT_OUTDIR))
    app.synth()


if __name__ == "__main__":
    main()

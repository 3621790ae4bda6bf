"""cdk-nag AwsSolutions checks, each acknowledged finding scoped to its construct and explained."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

_PACK = "AwsSolutions"


def apply_nag_checks(stack: Stack) -> None:
    """Run the AwsSolutions pack at synth: an unacknowledged finding fails the synth."""
    Validations.of(stack).add_plugins(AwsSolutionsChecks(stack, verbose=True))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding (e.g. ``"IAM5[Resource::*]"``) on ``scope`` and below, with why."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{_PACK}::{_PACK}-{rule}", reason=reason))

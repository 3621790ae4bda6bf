"""Secrets Manager secrets holding the provider API keys and the sending gateway's key (placeholders until
ops store the real keys)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from shared.core.naming import SECRET_SUFFIXES
from stacks import constants as c
from stacks.config import StackConfig
from stacks.nag import acknowledge


class ProviderSecrets(Construct):
    """One secret per LLM provider; functions read them at run time, never through environment values."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.openai_key = self._build_secret("OpenAiApiKey", SECRET_SUFFIXES["openai"], "OpenAI API key")
        self.azure_key = self._build_secret("AzureOpenAiApiKey", SECRET_SUFFIXES["azure"], "Azure OpenAI API key")
        self.gateway_key = self._build_secret(
            "SendingGatewayKey", SECRET_SUFFIXES["gateway"], "Key of the platform's sending gateway"
        )

    @property
    def all(self) -> tuple[secretsmanager.Secret, ...]:
        """Both provider secrets, for the ``provider_secrets`` grant."""
        return (self.openai_key, self.azure_key)

    def _build_secret(self, construct_id: str, suffix: str, what: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            secret_name=self._config.name(suffix),
            description=f"{what} for the Hybrid Orchestrator ({self._config.stage}); generated placeholder, "
            "replace with the real key",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=c.SECRET_PLACEHOLDER_LENGTH, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN if self._config.retain_data else RemovalPolicy.DESTROY,
        )
        acknowledge(
            secret,
            "SMG4",
            "Keys issued by third parties (LLM providers, the platform's sending gateway): they are issued and "
            "revoked in the issuer's console, so no rotation Lambda can rotate them; ops rotate them there and "
            "update the secret value.",
        )
        return secret

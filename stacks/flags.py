"""AppConfig for the feature flags: deployable without code, read by the Powertools Feature Flags store."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_appconfig as appconfig
from aws_cdk import aws_iam as iam
from constructs import Construct

from shared.routing.flags import DEFAULT_FLAGS_FILE
from stacks.config import StackConfig

FLAG_PROFILE_NAME = "feature-flags"


def flag_application_name(config: StackConfig) -> str:
    """The AppConfig application's name (the functions find the profile by names, not ARNs)."""
    return config.name("flags")


class FeatureFlagConfig(Construct):
    """An AppConfig application, environment and hosted profile seeded with ``shared/data/feature_flags.json``.

    The first deployment ships the shipped defaults; later changes are AppConfig deployments
    (console or CLI), seen by the functions within ``FLAGS_CACHE_S`` without a code deploy.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.application = appconfig.Application(
            self, "Application", application_name=flag_application_name(config), description="Orchestrator flags"
        )
        self.environment = appconfig.Environment(
            self, "Environment", application=self.application, environment_name=config.stage
        )
        self.profile = appconfig.HostedConfiguration(
            self,
            "Profile",
            application=self.application,
            name=FLAG_PROFILE_NAME,
            content=appconfig.ConfigurationContent.from_file(str(DEFAULT_FLAGS_FILE), "application/json"),
            type=appconfig.ConfigurationType.FREEFORM,
            deploy_to=[self.environment],
            deployment_strategy=appconfig.DeploymentStrategy(
                self,
                "AllAtOnce",
                rollout_strategy=appconfig.RolloutStrategy.linear(
                    growth_factor=100, deployment_duration=Duration.minutes(0)
                ),
            ),
        )

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Start a configuration session and fetch the latest configuration of this profile only."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
            resource_arns=[
                f"{self.application.application_arn}/environment/{self.environment.environment_id}"
                f"/configuration/{self.profile.configuration_profile_id}"
            ],
        )

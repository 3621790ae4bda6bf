"""The HTTP API: JWT authorizer, throttled default stage with access logs, one route per ``ROUTES`` entry.

Throttles: the stage's default for every route, and the routes of ``config.route_throttles`` their own
(the stage's ``RouteSettings``, which the L2 ``HttpStage`` does not expose: set on its CloudFormation
resource, which is made to depend on those routes because API Gateway refuses settings for a route key
it does not know yet). Admin routes carry ``AuthorizationScopes``: API Gateway answers 403 to a token
without the admin scope before the function runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks import constants as c
from stacks.config import StackConfig
from stacks.functions import pascal_case
from stacks.nag import acknowledge
from stacks.route_table import ROUTES

# One JSON object per request; $context variables of HTTP APIs.
_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "sub": "$context.authorizer.claims.sub",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """``IAccessLogSettings`` is a jsii interface, not a struct: Python must pass an object implementing it."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        """Where API Gateway writes the access logs."""
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        """One JSON line per request."""
        return self._format


class HttpApiGateway(Construct):
    """API Gateway HTTP API in front of the functions; routes come from the shared route table."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        entrypoints: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=config.name(c.API_NAME_SUFFIX),
            description=f"Hybrid Orchestrator API ({config.stage})",
            create_default_stage=False,
        )
        self.access_log_group = self._build_access_log_group()
        self.stage = self._build_stage()
        self.authorizer = self._build_authorizer()
        self.routes = self._build_routes(entrypoints)
        self._build_route_throttles()

    @property
    def url(self) -> str:
        """Invoke URL of the default stage."""
        return self.stage.url

    def _build_access_log_group(self) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/apigateway/{self._config.name(c.API_NAME_SUFFIX)}/access",
            retention=getattr(logs.RetentionDays, c.LOG_RETENTION),
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _build_stage(self) -> apigwv2.HttpStage:
        return apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=c.API_THROTTLE_RATE_LIMIT, burst_limit=c.API_THROTTLE_BURST_LIMIT
            ),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_log_group),
                apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FORMAT)),
            ),
        )

    def _build_authorizer(self) -> authorizers.HttpJwtAuthorizer:
        return authorizers.HttpJwtAuthorizer(
            "JwtAuthorizer",
            self._config.jwt_issuer,
            jwt_audience=list(self._config.jwt_audience),
            authorizer_name=self._config.name("jwt"),
        )

    def _build_routes(self, entrypoints: Mapping[str, lambda_.IFunction]) -> dict[str, apigwv2.HttpRoute]:
        """The API Gateway route of each route-table entry, by route key."""
        integrations_by_function: dict[str, integrations.HttpLambdaIntegration] = {}
        routes: dict[str, apigwv2.HttpRoute] = {}
        for route in ROUTES:
            if route.function not in entrypoints:
                raise ValueError(f"route {route.method} {route.path} names unknown function {route.function!r}")
            if route.function not in integrations_by_function:
                integrations_by_function[route.function] = integrations.HttpLambdaIntegration(
                    f"{pascal_case(route.function)}Integration", entrypoints[route.function]
                )
            integration = integrations_by_function[route.function]
            added = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod[route.method]],
                integration=integration,
                authorizer=self.authorizer if route.authorized else apigwv2.HttpNoneAuthorizer(),
                authorization_scopes=list(route.authorization_scopes) or None,
            )
            (http_route,) = added  # one method, one route
            if not route.authorized:
                acknowledge(http_route, "APIG4", route.public_reason)
            routes[route.key] = http_route
        return routes

    def _build_route_throttles(self) -> None:
        settings = {
            throttle.route_key: {
                "ThrottlingRateLimit": throttle.rate_limit,
                "ThrottlingBurstLimit": throttle.burst_limit,
            }
            for throttle in self._config.route_throttles
        }
        if not settings:
            return
        cast(apigwv2.CfnStage, self.stage.node.default_child).route_settings = settings
        for route_key in settings:
            self.stage.node.add_dependency(self.routes[route_key])

"""HTTP API: one route per route-table entry, JWT authorizer from context, throttled logged stage."""

from __future__ import annotations

from aws_cdk.assertions import Match

from stacks import constants as c
from stacks.route_table import ROUTES
from tests.support.infra import PREFIX_STAGE, TEST_CONTEXT, Synth, _authorizer_id


def _function_logical_id(synth: Synth, name: str) -> str:
    (logical_id,) = [
        k
        for k, v in synth.of_type("AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"] == f"{PREFIX_STAGE}-{name}"
    ]
    return logical_id


def test_api_is_named_with_prefix_and_stage(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"Name": f"{PREFIX_STAGE}-api", "ProtocolType": "HTTP"}
    )


def test_one_route_per_route_table_entry(synth: Synth) -> None:
    routes = synth.of_type("AWS::ApiGatewayV2::Route")
    route_keys = sorted(r["Properties"]["RouteKey"] for r in routes.values())
    assert route_keys == sorted(f"{route.method} {route.path}" for route in ROUTES)


def test_authorized_routes_use_the_jwt_authorizer_and_health_is_public(synth: Synth) -> None:
    by_key = {r["Properties"]["RouteKey"]: r["Properties"] for r in synth.of_type("AWS::ApiGatewayV2::Route").values()}
    authorizer = _authorizer_id(synth)
    for route in ROUTES:
        props = by_key[f"{route.method} {route.path}"]
        if route.authorized:
            assert props["AuthorizationType"] == "JWT"
            assert props["AuthorizerId"] == {"Ref": authorizer}
        else:
            assert props["AuthorizationType"] == "NONE"
            assert "AuthorizerId" not in props
    assert by_key["GET /api/health/hybrid-orchestrator"]["AuthorizationType"] == "NONE"


def test_each_route_integrates_its_own_function(synth: Synth) -> None:
    integrations = synth.of_type("AWS::ApiGatewayV2::Integration")
    aliases = synth.of_type("AWS::Lambda::Alias")
    by_key = {r["Properties"]["RouteKey"]: r["Properties"] for r in synth.of_type("AWS::ApiGatewayV2::Route").values()}
    for route in ROUTES:
        target = by_key[f"{route.method} {route.path}"]["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[target]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["PayloadFormatVersion"] == "2.0"
        uri = integration["IntegrationUri"]
        function_id = _function_logical_id(synth, route.function)
        if "Ref" in uri:  # an alias of the function (SnapStart)
            assert aliases[uri["Ref"]]["Properties"]["FunctionName"] == {"Ref": function_id}
        else:
            assert uri == {"Fn::GetAtt": [function_id, "Arn"]}


def test_jwt_authorizer_issuer_and_audience_come_from_context(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {
                "Issuer": TEST_CONTEXT["jwtIssuer"],
                "Audience": TEST_CONTEXT["jwtAudience"],
            },
        },
    )


def test_default_stage_is_throttled_and_access_logged(synth: Synth) -> None:
    (stage,) = synth.of_type("AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default"
    assert props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] == c.API_THROTTLE_RATE_LIMIT == 50
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] == c.API_THROTTLE_BURST_LIMIT == 100
    log_group_id = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    log_group = synth.resources[log_group_id]["Properties"]
    assert log_group["LogGroupName"] == f"/aws/apigateway/{PREFIX_STAGE}-api/access"
    assert log_group["RetentionInDays"] == 30
    assert "$context.requestId" in props["AccessLogSettings"]["Format"]


def test_api_gateway_may_invoke_each_entrypoint(synth: Synth) -> None:
    permissions = synth.of_type("AWS::Lambda::Permission")
    assert len(permissions) == len(ROUTES)
    synth.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com", "FunctionName": Match.any_value()},
    )

"""Where the rate limiter's Redis lives, and the network the functions that use it run in.

Three set-ups, chosen by context:

* nothing given (default): a new VPC with isolated subnets only (no NAT gateway, no Internet
  gateway) holding an ElastiCache Serverless for Valkey cache (the smallest minimum bill of any
  ElastiCache option), plus the endpoints the in-VPC functions need: DynamoDB (gateway, free),
  SQS and Secrets Manager (interface endpoints);
* ``redisUrl`` + ``vpcId``, ``vpcSubnetIds``, ``vpcAvailabilityZones``, ``vpcRouteTableIds``,
  ``redisSecurityGroupId``:
  an existing ElastiCache in an existing VPC; the functions join that VPC, the cache's security
  group admits them, and the same endpoints are added unless ``createVpcEndpoints`` is false;
* ``redisUrl`` alone: a Redis reachable without a VPC (TLS + AUTH in the URL); no VPC at all.

Only functions whose spec ``uses`` "redis" join the VPC; functions that call LLM providers stay
outside it, which is what makes a NAT gateway unnecessary.
"""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks import constants as c
from stacks.config import StackConfig


class SendingNetwork(Construct):
    """The Redis URL the limiter uses, and (when Redis is private) the VPC placement of its users."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.vpc: ec2.IVpc | None = None
        self.subnets: ec2.SubnetSelection | None = None
        self.security_group: ec2.SecurityGroup | None = None
        self.cache: elasticache.CfnServerlessCache | None = None
        # ElastiCache Serverless exists only in cluster mode: its functions use the cluster client
        # without asking; an imported Redis is whatever the context says ("auto": ask the server).
        self.cluster_mode = config.redis_cluster_mode if config.redis_url else "cluster"
        if not config.redis_url:
            self.redis_url = self._build_created()
        elif config.vpc_id:
            self.redis_url = self._build_imported()
        else:
            self.redis_url = config.redis_url

    @property
    def in_vpc(self) -> bool:
        """Whether functions that use Redis must run in a VPC."""
        return self.vpc is not None

    def placement(self) -> dict[str, object]:
        """Keyword arguments that put a ``lambda_.Function`` beside Redis (empty when no VPC is needed)."""
        if self.vpc is None:
            return {}
        return {"vpc": self.vpc, "vpc_subnets": self.subnets, "security_groups": [self.security_group]}

    def _build_created(self) -> str:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=self._config.name("sending"),
            ip_addresses=ec2.IpAddresses.cidr(c.VPC_CIDR),
            max_azs=c.VPC_AZ_COUNT,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=c.VPC_SUBNET_MASK
                )
            ],
            flow_logs={
                "RejectedTraffic": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                        logs.LogGroup(
                            self,
                            "FlowLogs",
                            retention=getattr(logs.RetentionDays, c.LOG_RETENTION),
                        )
                    ),
                    traffic_type=ec2.FlowLogTrafficType.REJECT,
                )
            },
        )
        self._place(vpc, ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))
        cache_sg = ec2.SecurityGroup(
            self, "CacheSecurityGroup", vpc=vpc, description="Valkey cache: reachable from the limiter functions only"
        )
        cache_sg.add_ingress_rule(self.security_group, ec2.Port.tcp(c.REDIS_PORT), "limiter functions")
        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine="valkey",
            serverless_cache_name=self._config.name("limiter"),
            description="Rate limiter's sliding logs (one sorted set per creator account)",
            major_engine_version=c.VALKEY_MAJOR_VERSION,
            security_group_ids=[cache_sg.security_group_id],
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    unit="GB", maximum=c.VALKEY_MAX_DATA_GB
                ),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(maximum=c.VALKEY_MAX_ECPU_S),
            ),
        )
        self._build_endpoints(vpc)
        # Serverless caches always use TLS: rediss://
        address = self.cache.attr_endpoint_address
        port = self.cache.attr_endpoint_port
        return Fn.join("", ["rediss://", address, ":", port, "/0"])

    def _build_imported(self) -> str:
        config = self._config
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=config.vpc_id,
            availability_zones=list(config.vpc_availability_zones),
            private_subnet_ids=list(config.vpc_subnet_ids),
            private_subnet_route_table_ids=list(config.vpc_route_table_ids) or None,
        )
        self._place(vpc, ec2.SubnetSelection(subnets=vpc.private_subnets))
        redis_sg = ec2.SecurityGroup.from_security_group_id(self, "RedisSecurityGroup", config.redis_security_group_id)
        redis_sg.add_ingress_rule(self.security_group, ec2.Port.tcp(c.REDIS_PORT), "limiter functions")
        if config.create_vpc_endpoints:
            self._build_endpoints(vpc)
        return config.redis_url

    def _place(self, vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> None:
        self.vpc, self.subnets = vpc, subnets
        self.security_group = ec2.SecurityGroup(
            self,
            "FunctionsSecurityGroup",
            vpc=vpc,
            description="Functions that use the limiter Redis (outbound only)",
            allow_all_outbound=True,
        )

    def _build_endpoints(self, vpc: ec2.IVpc) -> None:
        """DynamoDB through a (free) gateway endpoint; SQS and Secrets Manager through interface endpoints."""
        assert self.subnets is not None
        vpc.add_gateway_endpoint("DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        for endpoint_id, service in (
            ("SqsEndpoint", ec2.InterfaceVpcEndpointAwsService.SQS),
            ("SecretsManagerEndpoint", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
        ):
            endpoint = vpc.add_interface_endpoint(
                endpoint_id, service=service, subnets=self.subnets, private_dns_enabled=True, open=False
            )
            endpoint.connections.allow_default_port_from(self.security_group, "limiter functions")

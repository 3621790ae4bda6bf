"""Logger, Tracer and Metrics, created once per container and imported everywhere."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "hybrid-orchestrator"
NAMESPACE = "HybridOrchestrator"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

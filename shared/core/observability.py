"""Logger, Tracer and Metrics, created once per container and imported everywhere."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "hybrid-orchestrator"
NAMESPACE = "HybridOrchestrator"

logger = Logger(service=SERVICE)
# Only what the handlers call through: AWS SDK calls. Patching every library X-Ray knows (requests,
# httpx, ...) would import each at cold start whether a handler uses it or not.
tracer = Tracer(service=SERVICE, patch_modules=("boto3", "botocore"))
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

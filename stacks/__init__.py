"""CDK stacks and constructs of the Hybrid Orchestrator."""

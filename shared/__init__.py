"""Domain package shared by every Lambda of the Hybrid Orchestrator."""

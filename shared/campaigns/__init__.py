"""Running a campaign: request models, workflows, prompts, the campaign service, fan-message generation, async jobs."""

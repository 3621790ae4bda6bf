"""Campaign outcomes: what the platform reports a campaign earned or how fans reacted, for ROI and experiments."""

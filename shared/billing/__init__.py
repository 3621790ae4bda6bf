"""Monthly statements per tenant: spend by user, campaign type and model, frozen once a month is closed."""

"""Hard caps: reserve a request's maximum cost before the provider call, settle to the real cost after."""

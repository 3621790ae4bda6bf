"""Rate-limited sending of fan messages: ids, limiter, gateway client, queue, drainer, fan campaigns."""

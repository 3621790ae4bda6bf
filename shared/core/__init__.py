"""Generic pieces every feature uses: money and prices, time, ids, DynamoDB items, errors, observability."""

"""The cost ledger: every billed provider call recorded once, aggregated for constant-time reads, alerted on.

``events`` says what one call cost, ``keys`` lays the records out in the costs table, ``store``
talks to DynamoDB, ``ledger`` records and reads, ``alerts`` sends one e-mail per threshold and
period, ``tracker`` is what the campaign service calls.
"""

"""Data access: one small class per table or queue, so the logic above is tested without AWS."""

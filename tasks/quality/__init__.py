"""Stage 2: labels (risk, specialty), dedup, Great Expectations gate; the pooled records."""

"""The verifier: an offline IAM evaluator, the catalog of AWS actions, and the guarantees (pure)."""

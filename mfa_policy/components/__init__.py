"""The Pulumi component resources (import pulumi and pulumi_aws)."""

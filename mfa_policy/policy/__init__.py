"""Policy documents and their input rules: pure Python, no Pulumi, no I/O."""

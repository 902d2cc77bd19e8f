"""The Pulumi program's side: stack config, project files, and the offline preview."""

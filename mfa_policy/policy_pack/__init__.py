"""The CrossGuard policy pack: IAM users without enforced MFA stopped at `pulumi preview`.

``stack`` turns the engine's resources into the audit's snapshot, ``decide`` asks the audit,
``documents`` judges one policy document's MFA condition, ``components`` checks the project's own
components, ``analysis`` turns it all into each policy's violations (all pure); ``policies`` holds
the pulumi-policy SDK's policies (the ``policy`` extra) that ``policy-pack/__main__.py`` serves.
"""

"""The checks: one per module, each declared with `@check` (the rule it reports under, its
severity and message) over a detector that returns hits (file, line, values), never prose."""

"""Rules: small pure functions over facts, one per failure mode, registered with an identity."""

from .registry import REGISTRY, RegistryError, Rule, RuleRun, all_rules, rule, run_rules, select

__all__ = ["REGISTRY", "RegistryError", "Rule", "RuleRun", "all_rules", "rule", "run_rules",
           "select"]

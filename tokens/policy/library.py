"""Rules a security admin adds to a version with one click, each with the example requests
that show what it does.

The default set (default.cedar) is what every portal should refuse; these are what many
teams want next, on facts the schema offers beyond it: proof of key possession, how the
agent proved itself, its risk, the task's stated intent, the time of day. The new-version
page lists them; "Add" appends the rule to the text and its examples to the examples, and
the version is checked as any other when it is saved. Each rule, added to the default set,
passes the default examples and its own (tests/policy/test_library.py), so the library
cannot drift from the schema.
"""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class LibraryRule:
    id: str  # the rule's @id, so adding it twice is noticed
    title: str
    why: str
    text: str
    examples: tuple[dict, ...]


RULES = (
    LibraryRule(
        id="forbid-unbound-tokens-for-restricted-data",
        title="Key-bound tokens for restricted data",
        why="A token for restricted data must be bound to a key the agent proves it holds (DPoP), so a copy of it is useless alone.",
        text=(
            '@id("forbid-unbound-tokens-for-restricted-data")\n'
            "forbid (principal, action, resource)\n"
            "when { resource.sensitivity >= 4 }\n"
            "unless { context.sender_constrained };\n"
        ),
        examples=(
            {"name": "Restricted data without DPoP is refused", "principal": {"sensitivity_ceiling": 4},
             "service": {"sensitivity": 4}, "expect": "deny", "expect_policies": ["forbid-unbound-tokens-for-restricted-data"]},
            {"name": "Restricted data with DPoP is allowed", "principal": {"sensitivity_ceiling": 4},
             "service": {"sensitivity": 4}, "context": {"sender_constrained": True}, "expect": "allow"},
        ),
    ),
    LibraryRule(
        id="restricted-data-tokens-live-two-minutes",
        title="Two-minute tokens for restricted data",
        why="The shorter a token for restricted data lives, the less a copy of it is worth: the shortest bound of the permits that allow a request wins.",
        text=(
            '@id("restricted-data-tokens-live-two-minutes")\n'
            '@ttl_max("120")\n'
            "permit (principal, action in [Action::\"issue\", Action::\"exchange\"], resource)\n"
            "when {\n"
            '  principal.status == "active" &&\n'
            "  resource.sensitivity >= 4 &&\n"
            "  context.granted_scopes.containsAll(context.scopes)\n"
            "};\n"
        ),
        examples=(
            {"name": "A token for restricted data is bounded to two minutes", "principal": {"sensitivity_ceiling": 4},
             "service": {"sensitivity": 4}, "context": {"sender_constrained": True},
             "expect": "allow", "expect_policies": ["restricted-data-tokens-live-two-minutes"]},
        ),
    ),
    LibraryRule(
        id="confidential-data-needs-a-stated-intent",
        title="A stated intent for confidential data",
        why="An agent asking for confidential data says what the task is for (authorization_details intent), so each decision and token is explained.",
        text=(
            '@id("confidential-data-needs-a-stated-intent")\n'
            "forbid (principal, action, resource)\n"
            'when { resource.sensitivity >= 3 && context.intent == "" };\n'
        ),
        examples=(
            {"name": "Confidential data without an intent is refused", "service": {"sensitivity": 3},
             "expect": "deny", "expect_policies": ["confidential-data-needs-a-stated-intent"]},
            {"name": "Confidential data with an intent is allowed", "service": {"sensitivity": 3},
             "context": {"intent": "Summarise this quarter's open deals"}, "expect": "allow"},
        ),
    ),
    LibraryRule(
        id="consequential-scopes-in-working-hours",
        title="Consequential actions in working hours only",
        why="Scopes that change or export data are used only while people are at work to notice (07:00 to 19:00 UTC, Monday to Friday: change the hours to yours).",
        text=(
            '@id("consequential-scopes-in-working-hours")\n'
            "forbid (principal, action, resource)\n"
            "when {\n"
            "  context.consequential &&\n"
            "  (context.hour < 7 || context.hour >= 19 || context.weekday >= 5)\n"
            "};\n"
        ),
        examples=(
            {"name": "A consequential scope at night is refused", "context": {"consequential": True, "hour": 23},
             "expect": "deny", "expect_policies": ["consequential-scopes-in-working-hours"]},
            {"name": "A consequential scope on Saturday is refused", "context": {"consequential": True, "weekday": 5},
             "expect": "deny", "expect_policies": ["consequential-scopes-in-working-hours"]},
            {"name": "A consequential scope on a weekday afternoon is allowed", "context": {"consequential": True, "hour": 14},
             "expect": "allow"},
        ),
    ),
    LibraryRule(
        id="platform-tokens-stay-below-confidential",
        title="Platform tokens stay below confidential data",
        why="An agent that presents its platform's token (GitHub Actions, Kubernetes) is as safe as whoever can run code there: keep it off confidential data.",
        text=(
            '@id("platform-tokens-stay-below-confidential")\n'
            "forbid (principal, action, resource)\n"
            'when { context.credential == "federated" && resource.sensitivity >= 3 };\n'
        ),
        examples=(
            {"name": "A platform token for confidential data is refused", "service": {"sensitivity": 3},
             "context": {"credential": "federated"}, "expect": "deny", "expect_policies": ["platform-tokens-stay-below-confidential"]},
            {"name": "A platform token for internal data is allowed", "service": {"sensitivity": 2},
             "context": {"credential": "federated"}, "expect": "allow"},
        ),
    ),
    LibraryRule(
        id="unfamiliar-networks-stay-off-restricted-data",
        title="No restricted data from an unfamiliar network",
        why="A request from a network the agent never got a token from is the commonest sign that its key was copied: refuse restricted data until an owner recognises the network on the identity's page.",
        text=(
            '@id("unfamiliar-networks-stay-off-restricted-data")\n'
            "forbid (principal, action, resource)\n"
            "when { context.new_network && resource.sensitivity >= 4 };\n"
        ),
        examples=(
            {"name": "Restricted data from an unfamiliar network is refused", "principal": {"sensitivity_ceiling": 4},
             "service": {"sensitivity": 4}, "context": {"new_network": True},
             "expect": "deny", "expect_policies": ["unfamiliar-networks-stay-off-restricted-data"]},
            {"name": "Restricted data from a known network is allowed", "principal": {"sensitivity_ceiling": 4},
             "service": {"sensitivity": 4}, "expect": "allow"},
        ),
    ),
    LibraryRule(
        id="high-risk-agents-stay-off-confidential-data",
        title="High-risk agents stay off confidential data",
        why="An agent whose risk score is high (40 or more: no owner, a leak, a new network...) gets no confidential data until its owners fix what its risk panel lists.",
        text=(
            '@id("high-risk-agents-stay-off-confidential-data")\n'
            "forbid (principal, action, resource)\n"
            "when { principal.risk_score >= 40 && resource.sensitivity >= 3 };\n"
        ),
        examples=(
            {"name": "A high-risk agent is refused confidential data", "principal": {"risk_score": 45, "risk_factors": ["leaked", "attestation_overdue"]},
             "service": {"sensitivity": 3}, "expect": "deny", "expect_policies": ["high-risk-agents-stay-off-confidential-data"]},
            {"name": "A high-risk agent still gets internal data", "principal": {"risk_score": 45}, "service": {"sensitivity": 2}, "expect": "allow"},
        ),
    ),
    LibraryRule(
        id="recently-leaked-agents-stay-off-restricted-data",
        title="No restricted data for 30 days after a leak",
        why="An agent whose token or key leaked in the last 30 days stays off restricted data even once the leak was handled; dismissing a false alarm lifts it at once.",
        text=(
            '@id("recently-leaked-agents-stay-off-restricted-data")\n'
            "forbid (principal, action, resource)\n"
            'when { principal.risk_factors.contains("leaked") && resource.sensitivity >= 4 };\n'
        ),
        examples=(
            {"name": "A recently leaked agent is refused restricted data",
             "principal": {"sensitivity_ceiling": 4, "risk_score": 30, "risk_factors": ["leaked"]},
             "service": {"sensitivity": 4}, "context": {"sender_constrained": True},
             "expect": "deny", "expect_policies": ["recently-leaked-agents-stay-off-restricted-data"]},
        ),
    ),
)
BY_ID = {rule.id: rule for rule in RULES}


def library_json() -> list[dict]:
    """The rules as the new-version page's script reads them."""
    return [asdict(rule) for rule in RULES]

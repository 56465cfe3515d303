"""What the policy API reads and writes. Output fields are listed one by one, so a new model
field never leaks into a response by accident."""

from rest_framework import serializers

from inventory.models import Sensitivity
from nhiportal.api import TakesOnlyItsFields
from tokens.models import CredentialKind

from ..cedar_request import ACTIONS
from ..models import Decision, PolicyMode
from ..replay import REPLAY_DEFAULT, REPLAY_MAX


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    is_active = serializers.BooleanField()
    mode = serializers.ChoiceField(choices=PolicyMode.choices)
    note = serializers.CharField()
    text = serializers.CharField()
    examples = serializers.JSONField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)


class VersionCreateSerializer(TakesOnlyItsFields, serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)
    examples = serializers.JSONField(required=False, default=list)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    mode = serializers.ChoiceField(choices=PolicyMode.choices, default=PolicyMode.ENFORCE)


class CheckSerializer(TakesOnlyItsFields, serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False, help_text="Cedar policies")
    examples = serializers.JSONField(help_text="a list of example requests with their expected decisions")


class CheckResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="true: it validates and every example passes, so it could be saved and activated")
    problems = serializers.ListField(child=serializers.CharField(), help_text="schema problems by line, malformed examples, failing examples")


class ActivateSerializer(TakesOnlyItsFields, serializers.Serializer):
    confirm_deny_all = serializers.BooleanField(
        default=False, help_text="Activate even though the version would deny every recent request."
    )
    reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="",
        help_text="Why, kept with the activation in the audit log (policy.activate).",
    )


class ModeSerializer(TakesOnlyItsFields, serializers.Serializer):
    mode = serializers.ChoiceField(choices=PolicyMode.choices)


class ActivationRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    needs_confirmation = serializers.BooleanField()


class DecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    action = serializers.CharField()
    identity_id = serializers.UUIDField(allow_null=True)
    service_id = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField(source="version.number", allow_null=True, default=None)
    mode = serializers.ChoiceField(choices=PolicyMode.choices)
    decision = serializers.ChoiceField(choices=Decision.choices)
    enforced = serializers.ChoiceField(choices=Decision.choices)
    policy_ids = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.CharField())
    eval_ms = serializers.FloatField()
    request = serializers.JSONField()


class ReplayQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=REPLAY_MAX, default=REPLAY_DEFAULT, help_text="recent decisions to replay")


class ReplayChangeSerializer(serializers.Serializer):
    recorded = DecisionSerializer(source="decision")
    now = serializers.CharField(help_text="what the replayed version decides")
    policy_ids = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.CharField())


class ReplayReportSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="recorded refusals the portal made before policy (no Cedar request)")
    denied = serializers.IntegerField(help_text="how many the version would deny")
    allowed = serializers.IntegerField(help_text="how many the version would allow (replayed = allowed + denied)")
    unchanged = serializers.IntegerField(help_text="decided as recorded (replayed = unchanged + allowed_to_denied + denied_to_allowed)")
    allowed_to_denied = serializers.IntegerField(help_text="recorded as allowed, and the version would deny them")
    denied_to_allowed = serializers.IntegerField(help_text="recorded as denied, and the version would allow them")
    denies_everything = serializers.BooleanField()
    changes = ReplayChangeSerializer(many=True)


class SimulateSerializer(TakesOnlyItsFields, serializers.Serializer):
    identity = serializers.UUIDField()
    service = serializers.IntegerField()
    action = serializers.ChoiceField(choices=ACTIONS, default="issue")
    scopes = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=100)
    intent = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices, required=False, allow_null=True, default=None)
    requested_ttl = serializers.IntegerField(min_value=0, max_value=86400, default=0)
    human_approval = serializers.BooleanField(default=False)
    sender_constrained = serializers.BooleanField(default=False, help_text="The agent proves a DPoP key (RFC 9449).")
    source_address = serializers.IPAddressField(
        required=False, default="", allow_blank=True,
        help_text="The address the request comes from (context.source_address); omit for 0.0.0.0.",
    )
    credential = serializers.ChoiceField(
        choices=CredentialKind.choices, default=CredentialKind.JWK, help_text="How the agent proves itself (context.credential).",
    )
    new_network = serializers.BooleanField(
        default=False, help_text="It asks from a network it never got a token from (context.new_network).",
    )
    version = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="A version number; omit for what applies now.")


class SimulationSerializer(serializers.Serializer):
    decision = serializers.CharField(source="verdict.decision")
    enforced = serializers.CharField()
    policy_ids = serializers.ListField(child=serializers.CharField(), source="verdict.policy_ids")
    errors = serializers.ListField(child=serializers.CharField(), source="verdict.errors")
    ttl_bound = serializers.IntegerField(source="verdict.ttl_bound", allow_null=True)
    version = serializers.IntegerField(source="version_number", allow_null=True)
    mode = serializers.CharField()
    granted_scopes = serializers.ListField(child=serializers.CharField())
    consequential_scopes = serializers.ListField(child=serializers.CharField())
    request = serializers.SerializerMethodField()

    def get_request(self, simulation) -> dict:
        return simulation.request.as_json()


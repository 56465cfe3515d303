from rest_framework import serializers


class AuditEventSerializer(serializers.Serializer):
    """One audit event, with its chain hashes so a SIEM can check the links it receives."""

    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor_label = serializers.CharField(help_text='A username, "agent:<client_id>" or "system:<command>".')
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    identity_id = serializers.UUIDField(allow_null=True)
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    reason = serializers.CharField()
    request_id = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()

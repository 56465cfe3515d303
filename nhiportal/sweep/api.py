"""GET /api/v1/sweep/: each background step's last run, for monitoring to alert on."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from nhiportal.api import TakesOnlyItsParameters
from nhiportal.audit.api.views import SeesEverything

from .selectors import BADGES, sweep_status


class SweepStepSerializer(serializers.Serializer):
    step = serializers.CharField(source="step.name")
    does = serializers.CharField(source="step.text")
    every_seconds = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=list(BADGES))
    started_at = serializers.DateTimeField(source="record.started_at", allow_null=True, default=None)
    finished_at = serializers.DateTimeField(source="record.finished_at", allow_null=True, default=None)
    last_success_at = serializers.DateTimeField(source="record.last_success_at", allow_null=True, default=None)
    next_due = serializers.DateTimeField(allow_null=True)
    output = serializers.CharField(source="record.output", default="")

    def get_every_seconds(self, row) -> int:
        return int(row.step.every.total_seconds())


class SeesBackgroundWork(SeesEverything):
    message = "Background work is open to reviewers, compliance and security admins."


class SweepStatus(TakesOnlyItsParameters, APIView):
    permission_classes = [permissions.IsAuthenticated, SeesBackgroundWork]

    @extend_schema(
        tags=["sweep"], responses=SweepStepSerializer(many=True),
        summary="Each governance sweep step's last run and state (reviewers, compliance, security admins)",
    )
    def get(self, request):
        return Response(SweepStepSerializer(sweep_status(), many=True).data)

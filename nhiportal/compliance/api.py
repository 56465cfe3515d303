"""GET /api/v1/compliance/: the same assessment the pages show and the JSON export carries;
GET /api/v1/compliance/oscal/: the same as OSCAL Assessment Results, for GRC tools to pull."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from nhiportal.api import TakesOnlyItsParameters
from nhiportal.audit.api.views import SeesEverything

from .controls import assess
from .exports import as_json
from .oscal import assessment_results_for


class SeesCompliance(SeesEverything):
    message = "Compliance evidence is open to reviewers, compliance and security admins."


class ComplianceAssessment(TakesOnlyItsParameters, APIView):
    permission_classes = [permissions.IsAuthenticated, SeesCompliance]

    @extend_schema(
        tags=["compliance"], responses=OpenApiTypes.OBJECT,
        summary="Every control with its live evidence and framework mappings (compliance, reviewers, security admins)",
    )
    def get(self, request):
        now = timezone.now()
        return Response(as_json(assess(now=now), now))


class ComplianceOscal(TakesOnlyItsParameters, APIView):
    permission_classes = [permissions.IsAuthenticated, SeesCompliance]

    @extend_schema(
        tags=["compliance"], responses=OpenApiTypes.OBJECT,
        summary="The assessment as OSCAL 1.2.1 Assessment Results: a finding per control (compliance, reviewers, security admins)",
    )
    def get(self, request):
        now = timezone.now()
        return Response(assessment_results_for(request, assess(now=now), now))

"""The assessment as OSCAL Assessment Results (JSON), for GRC tools that read NIST's format.

One result: the evidence computed now. Per control, an observation (what the portal measured:
its summary, figures and exceptions, with a link to the control's page) and a finding that
targets the control: satisfied when it passes, not satisfied when it fails or needs a look
(the reason says which). The framework entries a control serves ride along on its finding as
properties in the portal's namespace. The portal keeps no separate assessment plan: the plan
reference points, through a back-matter resource, at its framework catalogue page.

Built as plain JSON: the tests check it against NIST's models with compliance-trestle.
UUIDs are version 5, derived from the portal and the time of the assessment, so the same
assessment always exports the same document.
"""

import uuid

from django.urls import reverse

from nhiportal.conf import nhi_setting

from .catalogue import framework
from .evidence import FAIL, PASS

OSCAL_VERSION = "1.2.1"
NS = "urn:nhi-portal:oscal"  # the namespace of the properties OSCAL does not define
EXCEPTIONS_LISTED = 20


def _state(status: str) -> dict:
    if status == PASS:
        return {"state": "satisfied", "reason": "pass"}
    if status == FAIL:
        return {"state": "not-satisfied", "reason": "fail"}
    return {"state": "not-satisfied", "reason": "other", "remarks": "Needs a look: see the observation."}


def _prop(name: str, value, **extra) -> dict | None:
    # OSCAL wants a property's value on one line, without blanks at either end, and not empty;
    # figures can carry text people typed (a campaign's name).
    value = " ".join(str(value).split())
    return {"name": name, "ns": NS, "value": value, **extra} if value else None


def _props(*props) -> list[dict]:
    return [p for p in props if p is not None]


def _exceptions(result) -> str | None:
    if not result.findings_total:
        return None
    shown = result.findings[:EXCEPTIONS_LISTED]
    lines = [f"Exceptions: {result.findings_total}."] + [f"- {f.name}: {f.detail}" for f in shown]
    if result.findings_total > len(shown):
        lines.append(f"- and {result.findings_total - len(shown)} more, listed on the control's page.")
    return "\n".join(lines)


def _observation(a, ids: dict, now_text: str, link: str) -> dict:
    observation = {
        "uuid": ids["observation"],
        "title": f"{a.control.number} evidence",
        "description": a.result.summary,
        "props": _props(_prop("status", a.result.status), *(_prop("figure", f"{k}: {v}") for k, v in a.result.figures.items())),
        "methods": ["TEST"],  # read from the portal's live data by the portal itself
        "collected": now_text,
        "relevant-evidence": [{"href": link, "description": f"{a.control.number} on the portal, with every exception"}],
    }
    remarks = _exceptions(a.result)
    if remarks:
        observation["remarks"] = remarks
    return observation


def _finding(a, ids: dict) -> dict:
    maps = _props(*(
        _prop("maps-to", e.id, **{"class": e.framework_id, "remarks": f"{framework(e.framework_id).name} {framework(e.framework_id).version}: {e.title}"})
        for e in a.entries
    ))
    finding = {
        "uuid": ids["finding"],
        "title": f"{a.control.number} {a.control.title}",
        "description": a.control.guards,
        "target": {"type": "objective-id", "target-id": a.control.number, "status": _state(a.result.status)},
        "related-observations": [{"observation-uuid": ids["observation"]}],
    }
    if maps:
        finding["props"] = maps
    return finding


def assessment_results(assessments, now, *, portal: str, catalogue_url: str, control_url) -> dict:
    """The document: `portal` names this installation (its issuer URL), `catalogue_url` is the
    framework catalogue page, `control_url(control)` a control's page (absolute URLs)."""
    now_text = now.isoformat()
    document_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{portal}#oscal-assessment-results")
    result_id = uuid.uuid5(document_id, now_text)

    def ids(control) -> dict:
        return {kind: str(uuid.uuid5(result_id, f"{kind}:{control.id}")) for kind in ("observation", "finding")}

    numbered = [(a, ids(a.control)) for a in assessments]
    catalogue_id = str(uuid.uuid5(document_id, "catalogue"))
    metadata = {"title": "NHI Portal: control assessment", "last-modified": now_text, "version": now_text, "oscal-version": OSCAL_VERSION}
    if _props(_prop("portal", portal)):
        metadata["props"] = _props(_prop("portal", portal))
    return {
        "assessment-results": {
            "uuid": str(document_id),
            "metadata": metadata,
            # OSCAL's idiom for a plan kept elsewhere: a reference to a resource in back-matter.
            "import-ap": {
                "href": f"#{catalogue_id}",
                "remarks": "There is no separate assessment plan: the portal assesses its own controls, listed with the framework entries each serves.",
            },
            "results": [
                {
                    "uuid": str(result_id),
                    "title": "Live evidence",
                    "description": "Each control's evidence, read from the portal's live data when this document was exported.",
                    "start": now_text,
                    "end": now_text,
                    "reviewed-controls": {
                        "control-selections": [{"include-controls": [{"control-id": a.control.number} for a, _ in numbered]}],
                    },
                    "observations": [_observation(a, i, now_text, control_url(a.control)) for a, i in numbered],
                    "findings": [_finding(a, i) for a, i in numbered],
                }
            ],
            "back-matter": {
                "resources": [
                    {
                        "uuid": catalogue_id,
                        "title": "NHI Portal controls and framework mappings",
                        "description": "The portal's controls, and the entries of each framework they serve (a page of the portal).",
                        "rlinks": [{"href": catalogue_url, "media-type": "text/html"}],
                    }
                ]
            },
        }
    }


def assessment_results_for(request, assessments, now) -> dict:
    """The document as one request asks for it: its links absolute on the host asked."""
    return assessment_results(
        assessments, now, portal=nhi_setting("ISSUER"),
        catalogue_url=request.build_absolute_uri(reverse("compliance:framework-list")),
        control_url=lambda c: request.build_absolute_uri(reverse("compliance:control-detail", args=[c.id])),
    )

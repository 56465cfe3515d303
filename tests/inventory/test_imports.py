"""Importing identities from CSV: every line checked as the register page checks one, then all or none."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import AIIdentity, Kind, Ownership, OwnerRole, Sensitivity, Status
from nhiportal.audit.models import AuditEvent

PAGE = reverse("inventory:identity-import")
HEADER = "name,kind,environment,purpose,trust_boundary,autonomy,sensitivity_ceiling,offboarding_plan,primary_owner,backup_owners\n"


def upload(client, text: str, name="identities.csv"):
    return client.post(PAGE, {"file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")})


def test_a_security_admin_imports_identities_for_their_owners_each_with_an_audit_event(sam, alice, bob, client_for):
    response = upload(client_for(sam), HEADER + (
        "invoice-triage,agent,production,Sorts invoices.,finance,supervised,Confidential,Disable its key.,alice,bob\n"
        "docs-helper,MCP server / tool,staging,Answers from the docs.,,,internal,,bob,\n"
    ))
    assert response.status_code == 302 and response["Location"] == reverse("inventory:identity-list") + "?status=registered"
    triage = AIIdentity.objects.get(name="invoice-triage")
    assert (triage.kind, triage.status, triage.sensitivity_ceiling) == (Kind.AGENT, Status.REGISTERED, Sensitivity.CONFIDENTIAL)
    assert {(o.person.username, o.role) for o in Ownership.objects.filter(identity=triage)} == {("alice", OwnerRole.PRIMARY), ("bob", OwnerRole.BACKUP)}
    assert AIIdentity.objects.get(name="docs-helper").kind == Kind.MCP_SERVER
    assert AuditEvent.objects.filter(action="identity.register", actor_label="sam").count() == 2


def test_one_bad_line_imports_nothing_and_each_problem_names_its_line_and_column(sam, client_for):
    response = upload(client_for(sam), HEADER + (
        "good-one,agent,production,Fine.,,,,,,\n"
        "bad-kind,robot,production,Fine.,,,,,,\n"
        "no-purpose,agent,production,,,,,,,\n"
        "ghost-owned,agent,production,Fine.,,,,,nobody,\n"
        "good-one,agent,staging,Twice.,,,,,,\n"
    ))
    assert response.status_code == 400
    problems = [(p.line, p.column) for p in response.context["problems"]]
    assert problems == [(3, "kind"), (4, "purpose"), (5, "primary_owner"), (6, "name")]
    html = response.content.decode()
    assert "Nothing was imported: 4 problems below." in html
    assert "“robot” is not one of: agent, assistant, pipeline, mcp_server." in html
    assert "Line 2 has this name already." in html
    assert not AIIdentity.objects.exists() and not AuditEvent.objects.filter(action="identity.register").exists()


def test_every_problem_on_a_line_is_named_at_once(sam, client_for):
    response = upload(client_for(sam), HEADER + "x,agent,moon,,,,,,nobody,\n")
    assert [p.column for p in response.context["problems"]] == ["environment", "primary_owner", "purpose"]


def test_a_name_already_in_the_portal_is_refused(alice, client_for, make_identity):
    make_identity(alice, name="ticket-bot")
    response = upload(client_for(alice), HEADER + "ticket-bot,agent,production,Again.,,,,,,\n")
    assert [(p.line, p.column) for p in response.context["problems"]] == [(2, "name")]
    assert AIIdentity.objects.count() == 1


def test_an_owner_imports_what_they_answer_for_and_no_more(alice, bob, client_for):
    response = upload(client_for(alice), HEADER.strip() + ",attestation_interval_days\n" + (
        "mine,agent,production,Mine.,,,,,,bob,\n"
        "for-bob,agent,production,His.,,,,,bob,,\n"
        "longer,agent,production,Mine.,,,,,alice,,365\n"
    ))
    assert [(p.line, p.column) for p in response.context["problems"]] == [(3, "primary_owner"), (4, "attestation_interval_days")]
    response = upload(client_for(alice), HEADER + "mine,agent,production,Mine.,,,,,,bob\n")
    assert response.status_code == 302
    owners = Ownership.objects.filter(identity__name="mine")
    assert {(o.person.username, o.role) for o in owners} == {("alice", OwnerRole.PRIMARY), ("bob", OwnerRole.BACKUP)}


def test_the_portals_own_export_imports_back_whole(sam, alice, bob, client_for, make_identity):
    original = make_identity(alice, backups=[bob, sam], name="exported-agent", attestation_interval_days=30)
    exported = b"".join(client_for(sam).get(reverse("inventory:identity-export")).streaming_content).decode()
    response = upload(client_for(sam), exported.replace("exported-agent", "imported-agent"))
    assert response.status_code == 302
    imported = AIIdentity.objects.get(name="imported-agent")
    assert imported.status == Status.REGISTERED
    described = ["kind", "environment", "purpose", "trust_boundary", "autonomy", "sensitivity_ceiling", "offboarding_plan", "attestation_interval_days"]
    assert [getattr(imported, f) for f in described] == [getattr(original, f) for f in described]
    owners = {(o.person.username, o.role) for o in imported.ownerships.all()}
    assert owners == {("alice", OwnerRole.PRIMARY), ("bob", OwnerRole.BACKUP), ("sam", OwnerRole.BACKUP)}


def test_a_file_that_cannot_be_read_is_refused_with_the_reason_next_to_the_field(sam, client_for):
    client = client_for(sam)
    cases = {
        "nom,kind\nx,agent\n": "Unknown column: nom.",
        "name,kind\nx,agent\n": "Missing columns: environment, purpose.",
        HEADER: "The file names its columns but holds no identity.",
        "": "The submitted file is empty.",
    }
    for text, reason in cases.items():
        response = upload(client, text)
        assert response.status_code == 400 and reason in response.context["form"].errors["file"][0], text
    latin1 = client.post(PAGE, {"file": SimpleUploadedFile("x.csv", (HEADER + "caf\xe9,agent,production,X.,,,,,,\n").encode("latin-1"))})
    assert "is not UTF-8 text" in latin1.context["form"].errors["file"][0]
    assert not AIIdentity.objects.exists()


def test_a_file_over_a_megabyte_or_five_hundred_lines_is_refused_whole(sam, client_for):
    client = client_for(sam)
    line = "x{},agent,production," + "p" * 200 + ",,,,,,\n"
    big = HEADER + "".join(line.format(i) for i in range(5000))
    assert "The file is over 1 MB" in upload(client, big).context["form"].errors["file"][0]
    assert client.post(API, big, content_type="text/csv").json()["detail"].startswith("The file is over 1 MB")
    many = HEADER + "".join(f"x{i},agent,production,X.,,,,,,\n" for i in range(501))
    assert "over 500 identities" in upload(client, many).context["form"].errors["file"][0]
    assert not AIIdentity.objects.exists()


def test_semicolons_and_a_spreadsheets_byte_order_mark_are_understood(sam, client_for):
    text = "\ufeff" + HEADER.replace(",", ";") + "semi;agent;production;Semicolons.;;;;;;\n"
    assert upload(client_for(sam), text).status_code == 302
    assert AIIdentity.objects.filter(name="semi").exists()


def test_the_template_downloads_and_imports(sam, alice, bob, client_for):
    client = client_for(sam)
    template = client.get(reverse("inventory:identity-import-template"))
    assert template["Content-Type"].startswith("text/csv")
    assert upload(client, template.content.decode()).status_code == 302
    assert AIIdentity.objects.filter(name="example-invoice-agent").exists()


def test_reviewers_compliance_and_outsiders_cannot_import(rita, carol, charlie, client_for):
    for person in (rita, carol, charlie):
        client = client_for(person)
        assert client.get(PAGE).status_code == 403
        assert upload(client, HEADER + "x,agent,production,X.,,,,,,\n").status_code == 403
        assert client.get(reverse("inventory:identity-import-template")).status_code == 403
    assert not AIIdentity.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    assert client.get(PAGE)["Location"].startswith(reverse("login"))


def test_the_form_is_protected_from_cross_site_posts(sam):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(sam)
    assert upload(client, HEADER + "x,agent,production,X.,,,,,,\n").status_code == 403
    assert not AIIdentity.objects.exists()


API = reverse("api:identity-import-csv")


def test_the_api_takes_a_csv_body_and_lists_what_it_registered(sam, alice, client_for):
    response = client_for(sam).post(API, HEADER + "api-agent,agent,production,Via the API.,,,,,alice,\n", content_type="text/csv")
    assert response.status_code == 201
    [registered] = response.json()["registered"]
    assert registered["name"] == "api-agent" and AIIdentity.objects.get(pk=registered["id"]).ownerships.get().person == alice


def test_the_api_takes_a_multipart_file_too(sam, client_for):
    upload_file = SimpleUploadedFile("x.csv", (HEADER + "multi,agent,production,Multipart.,,,,,,\n").encode())
    assert client_for(sam).post(API, {"file": upload_file}).status_code == 201


def test_the_api_names_each_problem_and_registers_nothing(sam, client_for):
    response = client_for(sam).post(API, HEADER + "a,robot,production,X.,,,,,,\n", content_type="text/csv")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Nothing was imported."
    assert body["problems"] == [{"line": 2, "column": "kind", "message": "“robot” is not one of: agent, assistant, pipeline, mcp_server."}]
    refused = client_for(sam).post(API, "nom\nx\n", content_type="text/csv")
    assert refused.status_code == 400 and refused.json()["detail"].startswith("Unknown column: nom.")
    assert client_for(sam).post(API, {"csv": "x"}, content_type="application/json").status_code == 415
    assert not AIIdentity.objects.exists()


def test_the_api_refuses_those_who_cannot_register(rita, carol, charlie, client_for):
    for person in (rita, carol, charlie):
        assert client_for(person).post(API, HEADER + "x,agent,production,X.,,,,,,\n", content_type="text/csv").status_code == 403
    assert not AIIdentity.objects.exists()


def refusal(client, text: str) -> str:
    response = upload(client, text)
    assert response.status_code == 400
    return response.context["form"].errors["file"][0]


def test_an_unclosed_quote_is_refused_rather_than_swallowing_the_lines_after_it(sam, client_for):
    text = HEADER + 'x1,agent,production,"Sorts invoices,,,,,,\nx2,agent,production,p2,,,,,,\n'
    assert refusal(client_for(sam), text).startswith("Line 2 is not valid CSV")
    assert not AIIdentity.objects.exists()


def test_quotes_commas_and_line_breaks_inside_cells_arrive_as_written(sam, client_for):
    purpose = 'Sorts "urgent" invoices, then files them.\nNever pays.'
    text = HEADER + 'quoted,agent,production,"Sorts ""urgent"" invoices, then files them.\nNever pays.",,,,,,\n'
    assert upload(client_for(sam), text).status_code == 302
    assert AIIdentity.objects.get(name="quoted").purpose == purpose


def test_a_problem_on_a_row_spanning_lines_names_the_line_it_starts_on(sam, client_for):
    text = HEADER + 'multi,robot,production,"One\nTwo\nThree",,,,,,\n'
    assert [(p.line, p.column) for p in upload(client_for(sam), text).context["problems"]] == [(2, "kind")]


def test_old_mac_line_endings_and_trailing_empty_columns_are_read(sam, client_for):
    text = (HEADER.strip() + ",,\r" + "mac,agent,production,Old Excel.,,,,,,,,\r").replace("\n", "\r")
    assert upload(client_for(sam), text).status_code == 302
    assert AIIdentity.objects.filter(name="mac").exists()


def test_malformed_files_are_refused_with_a_reason_never_a_server_error(sam, client_for):
    client = client_for(sam)
    assert "Column named twice: name." in refusal(client, "name,kind,environment,purpose,name\nx,agent,production,X.,y\n")
    assert "not valid CSV" in refusal(client, HEADER + "big,agent,production," + "p" * 140_000 + ",,,,,,\n")
    assert "too long to name columns" in refusal(client, "name,kind,environment,purpose" + ",'a" * 40_000)
    assert not AIIdentity.objects.exists()


def test_usernames_match_exactly_as_sign_in_does(sam, alice, client_for):
    problems = upload(client_for(sam), HEADER + "x,agent,production,X.,,,,,Alice,\n").context["problems"]
    assert [(p.column, p.message) for p in problems] == [("primary_owner", "No one signs in as “Alice”.")]


def test_the_apostrophe_the_export_puts_before_a_formula_is_dropped_on_import(sam, alice, client_for, make_identity):
    make_identity(alice, name="formula-agent", purpose="- first, revoke its keys")
    exported = b"".join(client_for(sam).get(reverse("inventory:identity-export")).streaming_content).decode()
    assert "'- first" in exported
    AIIdentity.objects.all().delete()
    assert upload(client_for(sam), exported).status_code == 302
    assert AIIdentity.objects.get(name="formula-agent").purpose == "- first, revoke its keys"


def test_a_multipart_form_without_its_file_is_refused(sam, client_for):
    response = client_for(sam).post(API, {"csv": HEADER + "x,agent,production,X.,,,,,,\n"})
    assert response.status_code == 400 and "multipart file named file" in response.json()["detail"]
    assert not AIIdentity.objects.exists()


def test_an_owner_imports_her_own_export_and_a_left_owner_is_named_as_such(alice, bob, client_for, make_identity):
    make_identity(alice, backups=[bob], name="hers")
    exported = b"".join(client_for(alice).get(reverse("inventory:identity-export")).streaming_content).decode()
    assert upload(client_for(alice), exported.replace("hers", "hers-again")).status_code == 302
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    problems = upload(client_for(alice), exported.replace("hers", "hers-third")).context["problems"]
    assert [(p.column, p.message) for p in problems] == [("backup_owners", "“bob” has left (their account is inactive): name someone active.")]

"""POST /api/v1/identities/import/ refuses in the one shape it describes (ImportProblems):
`detail`, and `problems` (empty when the body itself was refused)."""

from django.urls import reverse

from inventory.models import AIIdentity

API = reverse("api:identity-import-csv")


def test_it_refuses_a_multipart_form_without_its_file_in_the_import_shape(sam, client_for):
    response = client_for(sam).post(API, {"notes": "the file is missing"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Send the CSV as the body (text/csv) or as a multipart file named file.", "problems": []}
    assert not AIIdentity.objects.exists()

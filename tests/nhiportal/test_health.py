def test_it_answers_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_refuses_writes(client):
    assert client.post("/healthz").status_code == 405

def test_health_reports_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["X-Request-ID"]


def test_health_echoes_a_valid_request_id_and_replaces_a_bad_one(client):
    assert (
        client.get("/health", headers={"X-Request-ID": "abc.DEF_1-2"}).headers["X-Request-ID"]
        == "abc.DEF_1-2"
    )
    replaced = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert replaced.headers["X-Request-ID"] != "bad id with spaces"
    assert len(replaced.headers["X-Request-ID"]) == 32


def test_root_points_to_the_docs(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.get_json()["docs"] == "/docs"
    assert client.get(response.get_json()["openapi"]).status_code == 200

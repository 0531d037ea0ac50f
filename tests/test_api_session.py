def test_token_and_me(api_as, people):
    user = people.officer("榆树市", "housing")
    api = api_as(user)
    r = api.get("/me")
    assert r.status_code == 200, r.json
    assert r.json["username"] == user.username
    assert api_as(None).get("/me").status_code == 401


def test_sign_in_with_password(app, people):
    from tests.conftest import PASSWORD
    user = people.officer("榆树市", "housing")
    c = app.test_client()
    r = c.post("/api/v1/session", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.json
    assert c.get("/api/v1/me").json["id"] == user.id
    r = c.post("/api/v1/me/tokens", json={"name": "x"})
    assert r.status_code == 403, r.json
    r = c.post("/api/v1/me/tokens", json={"name": "x"}, headers={"X-Requested-With": "t"})
    assert r.status_code == 201, r.json
    tok = r.json["token"]
    c2 = app.test_client()
    assert c2.get("/api/v1/me", headers={"Authorization": "Bearer " + tok}).status_code == 200
    r = c.delete(f"/api/v1/me/tokens/{r.json['id']}", headers={"X-Requested-With": "t"})
    assert r.status_code == 204
    r = c2.get("/api/v1/me", headers={"Authorization": "Bearer " + tok})
    assert r.status_code == 401, r.json

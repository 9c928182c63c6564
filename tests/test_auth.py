"""Launch token, staff sign-in, Host check and CSRF."""
from conftest import TOKEN, csrf_from


def test_health_is_public_and_reveals_nothing(anon_client, shop):
    response = anon_client.get("/health")
    assert response.status_code == 200
    # The worker's state is public too (a monitor needs it), nothing else.
    assert response.json == {"status": "ok", "worker": "down"}  # no worker in this test


def test_pages_need_the_token(anon_client):
    response = anon_client.get("/products/?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/products/?page%3D2"
    response = anon_client.get("/api/stats")
    assert response.status_code == 401
    assert "error" in response.json


def test_wrong_bearer_token_is_refused(anon_client):
    response = anon_client.get("/api/stats", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json["error"].startswith("The launch token is wrong")


def test_token_in_url_signs_in_once_and_redirects_to_clean_url(anon_client):
    response = anon_client.get(f"/products/?category=Dairy&token={TOKEN}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/products/?category=Dairy"
    assert anon_client.get("/products/?category=Dairy").status_code == 200
    assert anon_client.get("/api/stats").status_code == 200


def test_wrong_token_in_url(anon_client):
    response = anon_client.get("/?token=guess")
    assert response.status_code == 401
    assert "start Larder again" in response.get_data(as_text=True)


def test_session_from_an_old_launch_is_not_accepted(app, data_dir):
    from webapp import create_app

    client = app.test_client()
    client.get(f"/?token={TOKEN}")
    # Same data dir and secret key, new launch token: the old cookie must not work.
    relaunched = create_app({"TESTING": True, "LARDER_TOKEN": "another"}, data_dir=data_dir)
    other = relaunched.test_client()
    cookie = client.get_cookie("session")
    other.set_cookie("session", cookie.value)
    assert other.get("/").status_code == 302


def test_foreign_host_is_refused(client):
    response = client.get("/api/stats", headers={"Host": "evil.example:5000"})
    assert response.status_code == 400
    assert "not allowed" in response.json["error"]
    assert client.get("/api/stats", headers={"Host": "127.0.0.1:5000"}).status_code == 200
    assert client.get("/api/stats", headers={"Host": "[::1]:5000"}).status_code == 200


def test_lan_hosts_are_allowed_when_named(data_dir):
    from webapp import create_app

    app = create_app({"LARDER_TOKEN": "t", "LARDER_ALLOWED_HOSTS": ["shop.lan"]},
                     data_dir=data_dir)
    client = app.test_client()
    headers = {"Authorization": "Bearer t"}
    assert client.get("/api/stats", headers={**headers, "Host": "shop.lan:8000"}).status_code == 200
    assert client.get("/api/stats", headers={**headers, "Host": "other.lan"}).status_code == 400


def test_forms_need_csrf_but_bearer_api_does_not(owner_browser, shop):
    response = owner_browser.post("/customers/new", data={"email": "x@example.com",
                                                          "name": "X", "country": "FR"})
    assert response.status_code == 400
    assert "form has expired" in response.get_data(as_text=True)
    token = csrf_from(owner_browser, "/customers/new")
    response = owner_browser.post("/customers/new", data={
        "csrf_token": token, "email": "x@example.com", "name": "X", "country": "FR"})
    assert response.status_code == 302
    # A cookie-signed JSON call needs the CSRF header too.
    response = owner_browser.patch("/api/products/SKU-001", json={"stock": 3})
    assert response.status_code == 400
    response = owner_browser.patch("/api/products/SKU-001", json={"stock": 3},
                                   headers={"X-CSRFToken": token})
    assert response.status_code == 200


def test_staff_sign_in_and_out(app, anon_client):
    from webapp.auth import add_user

    with app.app_context():
        add_user("sam", "correct horse")
    token = csrf_from(anon_client, "/login")
    bad = anon_client.post("/login", data={"csrf_token": token, "username": "sam",
                                           "password": "wrong"})
    assert bad.status_code == 401
    assert "Wrong username or password" in bad.get_data(as_text=True)
    good = anon_client.post("/login?next=//evil.example/", data={
        "csrf_token": token, "username": "sam", "password": "correct horse"})
    assert good.status_code == 302
    assert good.headers["Location"] == "/"  # never an outside URL from the request
    page = anon_client.get("/").get_data(as_text=True)
    assert "Signed in as sam" in page
    assert "Signed in" in page  # the sign-in shows in sam's own activity
    token = csrf_from(anon_client, "/logout")
    anon_client.post("/logout", data={"csrf_token": token})
    assert anon_client.get("/").status_code == 302


def test_owner_name_cannot_sign_in_with_a_password(app, anon_client):
    from webapp.auth import owner_user

    with app.app_context():
        owner_user()
    token = csrf_from(anon_client, "/login")
    response = anon_client.post("/login", data={"csrf_token": token, "username": "owner",
                                                "password": ""})
    assert response.status_code == 401


def test_add_user_rules(app):
    import pytest

    from webapp.auth import add_user

    with app.app_context():
        add_user("amy", "long enough")
        for name, password, reason in [("amy", "long enough", "already exists"),
                                       ("owner", "long enough", "reserved"),
                                       ("bad name", "long enough", "letters"),
                                       ("ben", "short", "8 characters")]:
            with pytest.raises(ValueError, match=reason):
                add_user(name, password)
        from webapp.models import User
        from webapp.extensions import db

        amy = db.session.execute(db.select(User).filter_by(username="amy")).scalar()
        assert amy.password_hash != "long enough" and amy.check_password("long enough")

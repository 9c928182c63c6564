"""Staff sessions end at sign-out, at a restart and after 12 hours idle; sign-in attempts
are throttled per account and per client, in every process; `next` stays on this server."""
import threading
import time

import pytest

from conftest import TOKEN, csrf_from
from webapp import create_app, throttle
from webapp.auth import add_user
from webapp.extensions import cache, db

PASSWORD = "correct horse"


@pytest.fixture
def sam(app):
    with app.app_context():
        add_user("sam", PASSWORD)
        add_user("kim", PASSWORD)
    return "sam"


def sign_in(client, username="sam", password=PASSWORD, addr="127.0.0.1", next_url=None):
    token = csrf_from(client, "/login")
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"csrf_token": token, "username": username,
                                  "password": password},
                       environ_overrides={"REMOTE_ADDR": addr})


def sign_out(client):
    client.post("/logout", data={"csrf_token": csrf_from(client, "/logout")})


def copy_of(client, other_app):
    """A second browser holding a copy of client's session cookie."""
    other = other_app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def signed_in(client):
    return client.get("/").status_code == 200


# ---- end of a session ----------------------------------------------------------------

def test_a_copied_cookie_dies_at_sign_out(app, sam):
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    stolen = copy_of(browser, app)
    assert signed_in(stolen)
    sign_out(browser)
    assert not signed_in(browser)
    response = stolen.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    # and the copy cannot act either
    assert stolen.get("/api/stats").status_code == 401


def test_sign_out_ends_that_users_sessions_everywhere_but_not_others(app, sam):
    desk, phone, other = app.test_client(), app.test_client(), app.test_client()
    sign_in(desk), sign_in(phone), sign_in(other, "kim")
    sign_out(desk)
    assert not signed_in(phone)
    assert signed_in(other)
    sign_in(phone)  # signing in again works
    assert signed_in(phone)


def test_staff_session_from_an_earlier_launch_is_refused(app, sam, data_dir):
    browser = app.test_client()
    sign_in(browser)
    assert signed_in(browser)
    relaunched = create_app({"TESTING": True, "LARDER_TOKEN": "the next launch"},
                            data_dir=data_dir)
    again = copy_of(browser, relaunched)
    response = again.get("/")
    assert response.status_code == 302
    login = again.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out" in login


def test_shared_secret_key_keeps_staff_sessions_across_processes(data_dir):
    """Scale-out: several `serve` processes, one LARDER_SECRET_KEY, each its own launch
    token. A session from one works on the others; sign-out still ends it everywhere."""
    first = create_app({"TESTING": True, "LARDER_TOKEN": "a", "SECRET_KEY": "shared"},
                       data_dir=data_dir)
    second = create_app({"TESTING": True, "LARDER_TOKEN": "b", "SECRET_KEY": "shared"},
                        data_dir=data_dir)
    with first.app_context():
        add_user("sam", PASSWORD)
    browser = first.test_client()
    sign_in(browser)
    elsewhere = copy_of(browser, second)
    assert signed_in(elsewhere)
    sign_out(browser)
    assert not signed_in(elsewhere)


def _shift_seen(app, client, seconds):
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(client.get_cookie("session").value)
    data["seen"] -= seconds
    client.set_cookie("session", serializer.dumps(data))


def test_staff_session_ends_after_12_hours_idle(app, sam):
    browser = app.test_client()
    sign_in(browser)
    _shift_seen(app, browser, 11 * 3600)  # 11 hours idle: still signed in, and refreshed
    assert signed_in(browser)
    _shift_seen(app, browser, 11 * 3600)
    assert signed_in(browser)
    _shift_seen(app, browser, 12 * 3600 + 60)
    assert not signed_in(browser)


def test_owner_token_session_is_not_a_staff_session(owner_browser):
    # the owner's session (launch token) is untouched by these rules
    assert owner_browser.get("/").status_code == 200


# ---- throttling ----------------------------------------------------------------------

def _fail(client, username="sam", addr="10.0.0.1"):
    return sign_in(client, username, "wrong password", addr)


def test_five_wrong_passwords_then_a_wait_said_in_plain_words(app, sam):
    client = app.test_client()
    for _ in range(throttle.LIMIT):
        assert _fail(client).status_code == 401
    refused = sign_in(client, addr="10.0.0.1")  # even the right password waits
    assert refused.status_code == 429
    assert "Wait 30 seconds, then try again" in refused.get_data(as_text=True)
    assert not signed_in(client)
    assert "After 5 wrong passwords, wait 30 seconds" in \
        client.get("/login").get_data(as_text=True)


def test_the_wait_grows_with_each_further_failure(app, sam):
    client = app.test_client()
    for _ in range(throttle.LIMIT):
        _fail(client)
    key = throttle.keys("sam", "10.0.0.1")

    def wait_is_over():  # as if the 30 seconds had passed
        with app.app_context():
            for k in key:
                cache.set(k + "/t", time.time() - throttle.MAX_DELAY_S - 1,
                          timeout=throttle.WINDOW_S)

    wait_is_over()
    assert _fail(client).status_code == 401  # one more try, wrong again
    assert "Wait 60 seconds" in _fail(client).get_data(as_text=True)
    wait_is_over()
    _fail(client)
    assert "Wait 2 minutes" in _fail(client).get_data(as_text=True)
    assert [throttle.delay_after(n) for n in (4, 5, 6, 7, 30)] == [0, 30, 60, 120, 3600]
    wait_is_over()
    assert sign_in(client, addr="10.0.0.1").status_code == 302  # the right password


def test_throttled_per_account_from_any_client(app, sam):
    client = app.test_client()
    for i in range(throttle.LIMIT):
        _fail(client, addr=f"10.0.1.{i}")  # a new address for every try
    assert sign_in(client, addr="10.0.2.1").status_code == 429
    assert sign_in(client, "kim", addr="10.0.2.1").status_code == 302  # others unaffected


def test_throttled_per_client_over_any_account(app, sam):
    client = app.test_client()
    for i in range(throttle.LIMIT):
        _fail(client, username=f"guess{i}", addr="10.0.3.3")
    assert sign_in(client, "kim", addr="10.0.3.3").status_code == 429
    assert sign_in(client, "kim", addr="10.0.3.4").status_code == 302


def test_a_right_password_clears_the_accounts_count_not_the_clients(app, sam):
    """The client's failures stay: else one valid account would let an attacker reset
    the count for guessing at the other accounts."""
    client = app.test_client()
    for _ in range(throttle.LIMIT - 1):
        _fail(client)
    assert sign_in(client, addr="10.0.0.1").status_code == 302
    sign_out(client)
    for _ in range(throttle.LIMIT - 1):  # the account starts afresh (from elsewhere)
        assert _fail(client, addr="10.0.0.2").status_code == 401
    assert _fail(client, addr="10.0.0.1").status_code == 401  # the 5th from this client
    assert sign_in(client, "kim", addr="10.0.0.1").status_code == 429


def test_throttling_is_shared_by_processes_on_one_cache(app, sam, data_dir):
    other = create_app({"TESTING": True, "LARDER_TOKEN": "other"}, data_dir=data_dir)
    client = app.test_client()
    for _ in range(throttle.LIMIT):
        _fail(client)
    assert sign_in(other.test_client(), addr="10.0.9.9").status_code == 429


def test_nobody_can_lock_the_owner_out(app, anon_client, sam):
    for _ in range(throttle.LIMIT * 2):
        _fail(anon_client, username="owner", addr="127.0.0.1")
    assert anon_client.get("/api/stats", headers={"Authorization": f"Bearer {TOKEN}"}
                           ).status_code == 200
    assert anon_client.get(f"/?token={TOKEN}").status_code == 302
    assert signed_in(anon_client)


def test_a_burst_of_parallel_guesses_gets_at_most_the_limit(sam, app):
    """Twenty guesses at once over real HTTP: at most LIMIT reach the password check."""
    import re

    import requests

    from desktop.server import ServerThread

    server = ServerThread(app).start()
    try:
        session = requests.Session()
        page = session.get(server.url + "/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        barrier = threading.Barrier(20)
        codes = []

        def guess(i):
            barrier.wait()
            r = session.post(server.url + "/login", data={
                "csrf_token": csrf, "username": "sam", "password": f"guess {i}"},
                allow_redirects=False, timeout=60)
            codes.append(r.status_code)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()
    assert sorted(set(codes)) <= [401, 429]
    assert codes.count(401) <= throttle.LIMIT


# ---- where sign-in leads -------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/%09/evil.example", "/%0a/evil.example", "/%0d%0a/evil.example", "//evil.example/",
    "/%5Cevil.example", "/%5C%5Cevil.example", "https://evil.example/",
    "%09//evil.example", "/%00/evil.example", "javascript:alert(1)",
])
def test_next_never_leaves_this_server(app, sam, target):
    response = sign_in(app.test_client(), next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_keeps_a_local_path(app, sam):
    response = sign_in(app.test_client(), next_url="/products/?page%3D2")
    assert response.headers["Location"] == "/products/?page=2"


def test_signed_out_user_row_keeps_its_generation(app, sam):
    from webapp.models import User

    browser = app.test_client()
    sign_in(browser)
    sign_out(browser)
    with app.app_context():
        assert db.session.execute(db.select(User.session_generation)
                                  .filter_by(username="sam")).scalar() == 1

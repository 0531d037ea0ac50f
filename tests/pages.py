"""Helpers for tests of the pages: the CSRF token of a rendered page, signing in through the form."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD

_TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"|value="([^"]+)" name="csrf_token"')


def csrf(page: str) -> str:
    """The CSRF token a page's form carries (fails the test when the page has none)."""
    found = _TOKEN.search(page)
    assert found, "the page has no CSRF token"
    return found.group(1) or found.group(2)


def sign_in(client, username: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    """Post the sign-in form as a person would; returns the response."""
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(page)})


def signed_in(app, user):  # noqa: ANN001, ANN201
    """A test client signed in as `user` (whose password is the fixtures' PASSWORD)."""
    client = app.test_client()
    assert sign_in(client, user.username).status_code == 302
    return client

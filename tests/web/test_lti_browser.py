"""The LMS frame in a real headless Chromium: the login's cookie check continues by itself where the
browser keeps dlgrade's cookies (top level, or framed by the LMS's page), and inside a frame whose
cookies are dropped it stops and offers "Open dlgrade in a new window".

Loopback only: the fake LMS (its course page framing the tool, and its authorization endpoint) is the
stub on 127.0.0.1 of lti_platform.py. A browser blocking third-party cookies cannot be had between two
127.0.0.1 ports (they are one site), so that browser is made by a script that drops every cookie
written from a page (``document.cookie``), loaded in every frame before the page's own scripts.

Without Chromium the test is skipped, unless DLGRADE_TEST_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import os
import sys
from urllib.parse import quote, urlencode

import pytest
from lti_platform import CLIENT_ID, ISSUER, Platform, Services
from test_lti_launch import make_course
from web_support import ROOT, wait_until

sys.path.insert(0, str(ROOT / "tests" / "feedback"))
from chromium_cdp import Browser, BrowserError, find_chromium  # noqa: E402

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("DLGRADE_TEST_REQUIRE_BROWSER") == "1":
    raise RuntimeError("DLGRADE_TEST_REQUIRE_BROWSER=1 but no Chromium was found (apt-get install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium)")

DROP_COOKIES = ("Object.defineProperty(Document.prototype, 'cookie', "
                "{configurable: true, get() { return ''; }, set(value) {}});")


def frame_url(browser: Browser, page) -> str:
    tree = browser.send("Page.getFrameTree", session=page.session)["frameTree"]
    children = tree.get("childFrames", [])
    return children[0]["frame"]["url"] if children else ""


def in_frame(browser: Browser, page, expression: str):
    """Evaluate ``expression`` in the page's (same-site) iframe."""
    tree = browser.send("Page.getFrameTree", session=page.session)["frameTree"]
    if not tree.get("childFrames"):
        return None      # the LMS page has not made its frame yet
    frame_id = tree["childFrames"][0]["frame"]["id"]
    try:
        context = browser.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": "test"},
                               session=page.session)["executionContextId"]
        result = browser.send("Runtime.evaluate", {"expression": expression, "contextId": context,
                                                   "returnByValue": True}, session=page.session)
    except BrowserError:
        return None      # the frame navigated away meanwhile: ask again
    return result.get("result", {}).get("value")


def test_the_cookie_check_continues_or_offers_a_new_window(tmp_path, start_server):
    platform = Platform()
    with Services("http://placeholder") as services:
        platform.services_base = services.base
        course_dir = make_course(tmp_path, platform)
        platform.register(course_dir, login_url=services.base + "/auth")
        site = start_server(course_dir, workers=0, env={"DLGRADE_LTI_SEND_SECONDS": "0"})
        login = site.base + "/lti/login?" + urlencode({"iss": ISSUER, "login_hint": "u-17", "client_id": CLIENT_ID})
        lms_page = services.base + "/course?frame=" + quote(login, safe="")

        with Browser(CHROMIUM, timeout=60) as browser:
            # Top level: the check passes and the login goes on to the platform's authorization.
            page = browser.open(login)
            wait_until(lambda: page.evaluate("location.href").startswith(services.base + "/auth?"),
                       timeout=60, what="the login to reach the LMS's authorization page")
            assert "nonce=" in page.evaluate("location.href")

            # Framed by the LMS, cookies kept: the same, inside the frame.
            framed = browser.open(lms_page)
            wait_until(lambda: frame_url(browser, framed).startswith(services.base + "/auth?"),
                       timeout=60, what="the framed login to reach the LMS's authorization page")

            # Framed, cookies dropped: the frame stays on dlgrade's page and offers a new window.
            blocked = browser.open("about:blank")
            browser.send("Page.addScriptToEvaluateOnNewDocument", {"source": DROP_COOKIES},
                         session=blocked.session)
            browser.send("Page.navigate", {"url": lms_page}, session=blocked.session)
            wait_until(lambda: in_frame(browser, blocked, "!!document.getElementById('lti-cookies-blocked') && "
                                        "!document.getElementById('lti-cookies-blocked').hidden"),
                       timeout=60, what="the offer to open dlgrade in a new window")
            offer = in_frame(browser, blocked, "[document.getElementById('lti-new-window').target, "
                                               "document.getElementById('lti-new-window').href]")
            assert offer[0] == "_blank" and "checked=1" in offer[1] and "login_hint=u-17" in offer[1]
            assert frame_url(browser, blocked).startswith(site.base + "/lti/login?")
            assert not frame_url(browser, blocked).count("checked=1")
        assert [p for p in services.problems if "favicon" not in p] == []

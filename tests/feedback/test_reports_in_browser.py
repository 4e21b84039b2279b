"""The reports in a real headless Chromium (Debian's package, driven over the DevTools pipe).

Each page must render (its title and score in the DOM), load every image
(naturalWidth > 0), log no console error, throw nothing and request nothing
outside file:// (or data: for embedded figures). Screenshots of a student and
an instructor report are kept as test artifacts in $DLGRADE_ARTIFACTS or
artifacts/screenshots/ (git-ignored), for people to look at.

Without Chromium the tests are skipped, unless DLGRADE_TEST_REQUIRE_BROWSER=1
(CI), where they fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from chromium_cdp import Browser, find_chromium
from report_cases import artifacts_dir, backprop_like, keras_like, write_result

from grader.course.feedback import write_instructor_report, write_student_report

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("DLGRADE_TEST_REQUIRE_BROWSER") == "1":
    raise RuntimeError("DLGRADE_TEST_REQUIRE_BROWSER=1 but no Chromium was found (apt-get install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium)")

SCREENSHOTS = artifacts_dir() / "screenshots"

PAGE_FACTS = """JSON.stringify({
  title: document.title,
  text: document.body.innerText,
  score: (document.getElementById('score') || {}).innerText || null,
  images: Array.from(document.images).map(i => ({src: i.getAttribute('src').slice(0, 80), complete: i.complete,
                                                 width: i.naturalWidth, alt: i.alt})),
  scrollWidth: document.documentElement.scrollWidth,
})"""


@pytest.fixture(scope="module")
def browser():
    with Browser(CHROMIUM) as b:
        yield b


def visit(browser: Browser, path: Path, screenshot: str | None = None) -> dict:
    page = browser.open(path.resolve().as_uri())
    try:
        facts = json.loads(page.evaluate(PAGE_FACTS))
        page.collect()
        if screenshot:
            page.screenshot(SCREENSHOTS / screenshot)
        facts["log"] = page.log
        return facts
    finally:
        page.close()


def assert_clean(facts: dict) -> None:
    log = facts["log"]
    assert log.errors() == [], log.errors()
    outside = [u for u in log.requests if not u.startswith(("file://", "data:"))]
    assert outside == [], f"requests outside file://: {outside}"
    for image in facts["images"]:
        assert image["complete"] and image["width"] > 0, f"image did not load: {image}"
        assert image["alt"], f"image without alt text: {image}"
    assert facts["scrollWidth"] <= 1100, "the page scrolls sideways at 1100 px"


def test_student_report(browser, tmp_path):
    result = backprop_like()
    folder = write_result(result, tmp_path)
    facts = visit(browser, folder / "report.html", "student_report.png")
    assert_clean(facts)
    assert facts["title"].startswith("01_backprop – ada")
    assert facts["score"] == f"{result.score:g} / {result.max_score:g} points"
    assert "dense_backward_gradients" in facts["text"] and "How this was graded" in facts["text"]
    assert len(facts["images"]) >= 1
    assert len(facts["log"].requests) == 1 + len(facts["images"])   # the page and its figures, nothing else


def test_student_report_of_a_trained_model(browser, tmp_path):
    result = keras_like()
    folder = write_result(result, tmp_path)
    facts = visit(browser, folder / "report.html", "student_report_keras.png")
    assert_clean(facts)
    assert facts["score"] == f"{result.score:g} / {result.max_score:g} points"
    assert "Training run" in facts["text"] and "Cell 3 raised" in facts["text"]
    alts = [i["alt"] for i in facts["images"]]
    assert any(a.startswith("Training curves") for a in alts) and any(a.startswith("Confusion matrix") for a in alts)


def test_student_report_with_embedded_figures(browser, tmp_path):
    path = write_student_report(keras_like(), tmp_path / "one", embed_images=True)
    facts = visit(browser, path)
    assert_clean(facts)
    assert len(facts["images"]) == 3 and all(i["src"].startswith("data:image/png") for i in facts["images"])


def test_instructor_report(browser, graded_class):
    path = write_instructor_report(graded_class)
    facts = visit(browser, path, "instructor_report.png")
    assert_clean(facts)
    assert facts["title"] == "Class report: 01_backprop"
    assert "5\nsubmissions" in facts["text"] and "Most common failures" in facts["text"]
    assert len(facts["images"]) == 2


def test_the_checks_are_not_vacuous(browser, tmp_path):
    """A page with a missing image, a console error and a request to the network fails every check."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html lang=en><title>bad</title><img src=missing.png alt=x>"
                    "<img src='http://127.0.0.1:9/x.png' alt=y><script>console.error('boom')</script>")
    facts = visit(browser, page)
    errors = "\n".join(facts["log"].errors())
    assert "boom" in errors and "missing.png" in errors
    assert any(u.startswith("http://127.0.0.1:9/") for u in facts["log"].requests)
    assert [i["width"] for i in facts["images"]] == [0, 0]

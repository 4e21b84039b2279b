"""Deep linking: the instructor picks an assignment in the LMS; the tool answers with a signed JWT.

The answer holds one LTI resource link whose custom parameter ``assignment``
names the assignment (every later launch of that link opens it) and a line
item with the assignment's points, so the LMS makes a gradebook column that
AGS scores go to. pylti1p3 signs it with the tool's private key (its ``kid``
is the one published at /lti/jwks).
"""

from __future__ import annotations

from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from grader.course.web.lti.launch import cached_launch


def restore(launch_id, setup):
    if not isinstance(launch_id, str) or not launch_id:
        raise ValueError("no launch id")
    launch = cached_launch(launch_id, setup.config, setup.storage)
    if not launch.is_deep_link_launch():
        raise ValueError("the launch was not a deep-linking request")
    return launch


def max_points(assignment) -> float | None:
    from grader.engine.authoring import load_assignment

    try:
        return load_assignment(assignment.name).max_points
    except Exception:   # the line item is still made; the LMS then asks the instructor for the points
        return None


def response_form(launch, assignment, launch_url: str) -> dict:
    """The return URL and the signed JWT the page posts back to the platform."""
    line_item = LineItem().set_label(assignment.title).set_resource_id(assignment.name).set_tag("dlgrade")
    points = max_points(assignment)
    if points:
        line_item.set_score_maximum(points)
    resource = (DeepLinkResource().set_url(launch_url).set_title(assignment.title)
                .set_custom_params({"assignment": assignment.name}).set_lineitem(line_item))
    deep_link = launch.get_deep_link()
    settings = launch.get_launch_data()["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]
    return {"return_url": settings["deep_link_return_url"], "jwt": deep_link.get_response_jwt([resource]),
            "title": assignment.title}

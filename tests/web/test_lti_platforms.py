"""Registration files: a mistake stops the start with a message naming the file, the key and what was
expected; a good file becomes pylti1p3's configuration with the tool's own keys."""

from __future__ import annotations

import json

import pytest
from lti_platform import Platform

from grader.course.web.lti import keys
from grader.course.web.lti.platforms import load_platforms, tool_config

GOOD = {
    "issuer": '"https://lms.example.test"', "client_id": '"c1"', "deployment_ids": '["d1"]',
    "auth_login_url": '"https://lms.example.test/auth"', "auth_token_url": '"https://lms.example.test/token"',
    "key_set_url": '"https://lms.example.test/jwks"',
}


def write(course_dir, name: str, fields: dict) -> None:
    folder = course_dir / "lti" / "platforms"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text("".join(f"{k} = {v}\n" for k, v in fields.items()))


@pytest.mark.parametrize("change, message", [
    ({"auth_token_url": None}, "missing ['auth_token_url']"),
    ({"deployment_ids": '"d1"'}, "deployment_ids must be a list"),
    ({"key_set_url": None}, "give the platform's public keys"),
    ({"key_set": "'{\"nokeys\": []}'"}, "key_set must be a JWKS"),
    ({"key_set": "'{not json'"}, "key_set is not JSON"),
    ({"user_id_claims": '["shoe_size"]'}, "user_id_claims"),
    ({"colour": '"blue"'}, "unknown key(s) ['colour']"),
])
def test_a_bad_registration_names_the_file_and_the_key(tmp_path, change, message):
    fields = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    write(tmp_path, "canvas", fields)
    with pytest.raises(ValueError) as caught:
        load_platforms(tmp_path)
    assert "canvas.toml" in str(caught.value) and message in str(caught.value)


def test_two_files_for_one_registration_are_refused(tmp_path):
    write(tmp_path, "a", GOOD)
    write(tmp_path, "b", GOOD)
    with pytest.raises(ValueError, match="two files register issuer"):
        load_platforms(tmp_path)


def test_a_good_registration_needs_the_tools_keys(tmp_path):
    platform = Platform()
    platform.register(tmp_path)
    [registered] = load_platforms(tmp_path)
    assert registered.key_set == platform.jwks() and registered.frame_origins == ("https://lms.example.test",)
    with pytest.raises(FileNotFoundError, match="dlgrade serve lti-keys"):
        tool_config(tmp_path, [registered])
    keys.generate(tmp_path / "lti")
    (tmp_path / "lti" / keys.PRIVATE_NAME).chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        tool_config(tmp_path, [registered])
    (tmp_path / "lti" / keys.PRIVATE_NAME).chmod(0o600)
    config = tool_config(tmp_path, [registered])
    registration = config.find_registration_by_params(registered.issuer, registered.client_id)
    assert json.loads(json.dumps(registration.get_jwks())) == keys.jwks(tmp_path / "lti")["keys"]

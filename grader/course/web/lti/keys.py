"""The tool's own RSA key pair: made once by ``dlgrade serve lti-keys``, the public half served as a JWKS.

The platform checks the tool's signed messages (the client-credentials
assertion that asks for a service token, a deep-linking response) against the
public key set at ``/lti/jwks``. The private key is a PEM file readable by its
owner only (0600); the website refuses to use one that others can read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

PRIVATE_NAME = "tool_private.pem"
PUBLIC_NAME = "tool_public.pem"
KEY_BITS = 2048


def lti_folder(course_folder: Path) -> Path:
    return Path(course_folder) / "lti"


def generate(folder: Path, *, replace: bool = False) -> Path:
    """Write a new key pair into ``folder``; returns the private key's path.

    An existing key is kept unless ``replace``: every platform that registered its
    public half would otherwise refuse the tool until re-registered.
    """
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / PRIVATE_NAME, folder / PUBLIC_NAME
    if private_path.exists() and not replace:
        raise FileExistsError(f"{private_path} exists: the platforms know its public half. "
                              "Pass --replace to make a new pair (then update every platform's registration)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    temp = folder / f".{PRIVATE_NAME}.{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.replace(temp, private_path)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path


def load_private(folder: Path) -> str:
    """The private key's PEM text; a clear error when it is missing or readable by others."""
    path = folder / PRIVATE_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `dlgrade serve lti-keys --course COURSE` first")
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by others: chmod 600 {path}")
    return path.read_text(encoding="ascii")


def load_public(folder: Path) -> str:
    path = folder / PUBLIC_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `dlgrade serve lti-keys --course COURSE` first")
    return path.read_text(encoding="ascii")


def public_jwk(public_pem: str) -> dict:
    """The public key as a JWK with ``kid`` (its RFC 7638 thumbprint), ``alg`` RS256 and ``use`` sig."""
    jwk = JWK.from_pem(public_pem.encode("ascii"))
    data = json.loads(jwk.export_public())
    data.update(kid=jwk.thumbprint(), alg="RS256", use="sig")
    return data


def jwks(folder: Path) -> dict:
    """The key set served at /lti/jwks: ``{"keys": [jwk]}`` (empty before the keys exist)."""
    try:
        return {"keys": [public_jwk(load_public(folder))]}
    except FileNotFoundError:
        return {"keys": []}

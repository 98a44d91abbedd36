"""JWS compact tokens (RFC 7515) as APNs, Google OAuth and VAPID use them.

The mock providers parse and verify tokens with this module; tests and the
self-test sign tokens with it. Everything here is stateless: keys are
python3-cryptography objects owned by the caller.

Base64url is strict (RFC 7515 section 2): no padding, no characters outside the
URL-safe alphabet. ES256 signatures are the raw r || s pair, 64 octets
(RFC 7518 section 3.4); a DER-encoded ECDSA signature is refused, as the real
services refuse it. RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 section 3.3).
"""
import base64
import json
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class JwsError(Exception):
    """A token that is malformed or whose signature does not verify."""


def b64url_decode(text):
    """Decode unpadded base64url text (str); raise JwsError if it is not exactly that."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise JwsError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    """Unpadded base64url text of bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse(token):
    """Split a compact JWS into (header, claims, signing_input, signature).

    header and claims must be JSON objects; raises JwsError otherwise.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("not three dot-separated parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as e:
        raise JwsError("header or claims are not JSON") from e
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwsError("header or claims are not JSON objects")
    signature = b64url_decode(parts[2])
    return header, claims, (parts[0] + "." + parts[1]).encode("ascii"), signature


def verify_es256(public_key, signing_input, signature):
    """Raise JwsError unless signature (raw r || s) is valid for public_key (P-256)."""
    if len(signature) != 64:
        raise JwsError("ES256 signature is not 64 octets (r || s)")
    der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                     int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise JwsError("bad ES256 signature") from e


def verify_rs256(public_key, signing_input, signature):
    """Raise JwsError unless signature is a valid RS256 signature by public_key."""
    try:
        public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as e:
        raise JwsError("bad RS256 signature") from e


def _encode_part(obj):
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def sign_es256(private_key, header, claims):
    """Compact JWS of claims signed with a P-256 private key (header gets alg ES256)."""
    signing_input = _encode_part(dict(header, alg="ES256")) + "." + _encode_part(claims)
    der = private_key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    return signing_input + "." + b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def sign_rs256(private_key, header, claims):
    """Compact JWS of claims signed with an RSA private key (header gets alg RS256)."""
    signing_input = _encode_part(dict(header, alg="RS256")) + "." + _encode_part(claims)
    sig = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url_encode(sig)


def p256_public_key(point):
    """P-256 public key from a 65-octet uncompressed point; raise JwsError if it is not one."""
    if len(point) != 65 or point[0] != 4:
        raise JwsError("not an uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as e:
        raise JwsError("point is not on P-256") from e

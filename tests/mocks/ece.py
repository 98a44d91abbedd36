"""Web Push message decryption (RFC 8291 over RFC 8188 "aes128gcm"), the user agent's side.

Written from the RFCs, independently of herald's C encryptor, so tests can check that
what herald sent a push service is what a browser would read:

    private_key, p256dh, auth = make_subscription()
    ... herald encrypts for (p256dh, auth); the mock records the body ...
    plaintext = decrypt(body, private_key, auth)

derive() exposes the intermediate values of RFC 8291 Appendix A for the self-test.
Raises ValueError for anything a user agent must discard.
"""
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.exceptions import InvalidTag

import jws

KEY_INFO = b"WebPush: info\x00"                    # RFC 8291 section 3.4
CEK_INFO = b"Content-Encoding: aes128gcm\x00"      # RFC 8188 section 2.2
NONCE_INFO = b"Content-Encoding: nonce\x00"        # RFC 8188 section 2.3
TAG_LEN = 16
LAST_RECORD_DELIMITER = 2


def hkdf_extract(salt, ikm):
    """RFC 5869 section 2.2 with SHA-256."""
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    """RFC 5869 section 2.3 with SHA-256, for length <= 32 (one block is all we need)."""
    if length > 32:
        raise ValueError("hkdf_expand here yields at most one SHA-256 block")
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()[:length]


def _private_key(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key
    raw = jws.b64url_decode(key) if isinstance(key, str) else key
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def _point(public_key):
    return public_key.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)


def derive(ua_private_key, as_public, auth_secret, salt):
    """Every value RFC 8291 section 3.4 derives; a dict keyed like Appendix A."""
    ua_private_key = _private_key(ua_private_key)
    ua_public = _point(ua_private_key.public_key())
    try:
        as_key = jws.p256_public_key(as_public)
    except jws.JwsError as e:
        raise ValueError("keyid is not a P-256 public key") from e
    ecdh_secret = ua_private_key.exchange(ec.ECDH(), as_key)
    prk_key = hkdf_extract(auth_secret, ecdh_secret)
    key_info = KEY_INFO + ua_public + as_public
    ikm = hkdf_expand(prk_key, key_info, 32)
    prk = hkdf_extract(salt, ikm)
    return {"ecdh_secret": ecdh_secret, "prk_key": prk_key, "key_info": key_info, "ikm": ikm,
            "prk": prk, "cek_info": CEK_INFO, "cek": hkdf_expand(prk, CEK_INFO, 16),
            "nonce_info": NONCE_INFO, "nonce": hkdf_expand(prk, NONCE_INFO, 12)}


def parse_header(body):
    """(salt, rs, keyid, record) of an aes128gcm body (RFC 8188 section 2.1)."""
    if len(body) < 21:
        raise ValueError("body shorter than the aes128gcm header")
    salt = body[:16]
    rs, idlen = struct.unpack(">IB", body[16:21])
    if len(body) < 21 + idlen:
        raise ValueError("body shorter than its keyid")
    return salt, rs, body[21:21 + idlen], body[21 + idlen:]


def decrypt(body, ua_private_key, auth_secret):
    """Plaintext of a push message body.

    ua_private_key: the subscription's P-256 private key (a cryptography key, its raw
    32-octet scalar, or that scalar in base64url). auth_secret: 16 octets or base64url.
    RFC 8291 section 4: one record, keyid the sender's 65-octet public key, and the
    padding delimiter must be 0x02."""
    if isinstance(auth_secret, str):
        auth_secret = jws.b64url_decode(auth_secret)
    salt, rs, keyid, record = parse_header(bytes(body))
    if rs < 18:
        raise ValueError("rs below 18")
    if len(keyid) != 65:
        raise ValueError("keyid is not a 65-octet public key")
    if len(record) > rs:
        raise ValueError("more than one record")
    if len(record) < TAG_LEN + 1:
        raise ValueError("record shorter than delimiter and tag")
    keys = derive(ua_private_key, keyid, auth_secret, salt)
    try:
        padded = AESGCM(keys["cek"]).decrypt(keys["nonce"], record, None)
    except InvalidTag as e:
        raise ValueError("authentication tag does not verify") from e
    end = len(padded.rstrip(b"\x00"))
    if end == 0 or padded[end - 1] != LAST_RECORD_DELIMITER:
        raise ValueError("padding delimiter is not 0x02")
    return padded[:end - 1]


def make_subscription():
    """A new user agent subscription: (private key, p256dh, auth), keys in base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key, jws.b64url_encode(_point(key.public_key())), jws.b64url_encode(os.urandom(16))

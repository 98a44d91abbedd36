#!/usr/bin/python3
"""Test certificates and provider credentials for the mock providers.

    make_certs(dir)            -> {name: path} of PEM files (see CERT_FILES)
    make_provider_keys(dir, token_uri, topic="com.example.app")
                               -> credentials for herald and the matching mock /config
    /usr/bin/python3 tests/mocks/certs.py DIR [--token-uri URI]   (prints both as JSON)

Everything is made with python3-cryptography and written under dir; files already
there are reused, so repeated test runs do not pay for key generation and a
restarted mock keeps the same identity. The private keys are test-only.
"""
import argparse
import datetime
import ipaddress
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jws import b64url_encode

SERVER_NAMES = ("localhost", "push.mock.test", "wns.mock.test", "apns.mock.test",
                "fcm.mock.test", "oauth2.mock.test", "*.mock.test")
SERVER_IPS = ("127.0.0.1", "::1")
CERT_FILES = {
    "ca_cert": "ca.pem", "ca_key": "ca.key",
    "server_cert": "server.pem", "server_key": "server.key",
    "client_ca_cert": "client-ca.pem", "client_ca_key": "client-ca.key",
    "client_cert": "apns-client.pem", "client_key": "apns-client.key",
    "client_pem": "apns-client-with-key.pem",
}
APNS_TEAM_ID = "TEAM123456"
APNS_KEY_ID = "KEY1234567"
FCM_PROJECT = "herald-mock"
FCM_EMAIL = "herald-sender@herald-mock.iam.gserviceaccount.com"
WNS_CLIENT_ID = "ms-app://s-1-15-2-1234567890-herald-mock"
WNS_CLIENT_SECRET = "mock-wns-client-secret"


def _write(path, data):
    # World-readable on purpose: the web server's user runs herald in the tests and
    # must read these test-only keys.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def _name(*pairs):
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def _certificate(subject, key, issuer, issuer_key, ca, extensions=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _ca(path_cert, path_key, common_name):
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name((NameOID.COMMON_NAME, common_name), (NameOID.ORGANIZATION_NAME, "herald tests"))
    cert = _certificate(name, key, name, key, True)
    _write(path_key, _key_pem(key))
    _write(path_cert, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def make_certs(directory, topic="com.example.app"):
    """Write (or reuse) the test CAs and certificates under directory; return their paths.

    server_cert is valid for SERVER_NAMES and SERVER_IPS and signed by ca_cert (herald's
    CA bundle in tests). client_cert is an APNs-style provider certificate for topic
    (subject UID = topic), signed by client_ca_cert (the mock's --client-ca)."""
    os.makedirs(directory, exist_ok=True)
    paths = {k: os.path.join(directory, v) for k, v in CERT_FILES.items()}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    ca, ca_key = _ca(paths["ca_cert"], paths["ca_key"], "herald mock provider CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in SERVER_NAMES] +
        [x509.IPAddress(ipaddress.ip_address(a)) for a in SERVER_IPS])
    server = _certificate(_name((NameOID.COMMON_NAME, "push.mock.test")), server_key,
                          ca.subject, ca_key, False,
                          [san, x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])])
    _write(paths["server_key"], _key_pem(server_key))
    _write(paths["server_cert"], server.public_bytes(serialization.Encoding.PEM))
    client_ca, client_ca_key = _ca(paths["client_ca_cert"], paths["client_ca_key"],
                                   "herald mock APNs client CA")
    client_key = ec.generate_private_key(ec.SECP256R1())
    subject = _name((NameOID.USER_ID, topic),
                    (NameOID.COMMON_NAME, "Apple Push Services: " + topic),
                    (NameOID.ORGANIZATIONAL_UNIT_NAME, APNS_TEAM_ID),
                    (NameOID.COUNTRY_NAME, "US"))
    client = _certificate(subject, client_key, client_ca.subject, client_ca_key, False,
                          [x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])])
    client_cert_pem = client.public_bytes(serialization.Encoding.PEM)
    _write(paths["client_key"], _key_pem(client_key))
    _write(paths["client_cert"], client_cert_pem)
    _write(paths["client_pem"], client_cert_pem + _key_pem(client_key))
    return paths


def _p256():
    return ec.generate_private_key(ec.SECP256R1())


def _reuse_key(path, generate):
    if os.path.exists(path):
        return _load_key(path)
    key = generate()
    _write(path, _key_pem(key))
    return key


def make_provider_keys(directory, token_uri, topic="com.example.app"):
    """Write (or reuse) provider credentials under directory and return

      {"apns": {"team_id", "key_id", "key_path" (.p8), "private_key", "topic"},
       "fcm": {"service_account_path", "project_id", "client_email", "private_key"},
       "wns": {"client_id", "client_secret"},
       "vapid": {"private_key_path", "public_key" (base64url point), "private_key"},
       "mock_config": the body for the mock's POST /config}

    private_key entries are python3-cryptography objects, for tests that sign tokens
    themselves. The service-account JSON names token_uri (the mock's /fcm/token)."""
    os.makedirs(directory, exist_ok=True)
    apns_path = os.path.join(directory, "AuthKey_%s.p8" % APNS_KEY_ID)
    apns_key = _reuse_key(apns_path, _p256)
    fcm_key = _reuse_key(os.path.join(directory, "fcm-sa.key"),
                         lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    vapid_path = os.path.join(directory, "vapid.key")
    vapid_key = _reuse_key(vapid_path, _p256)
    account = {
        "type": "service_account", "project_id": FCM_PROJECT,
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": _key_pem(fcm_key).decode("ascii"), "client_email": FCM_EMAIL,
        "client_id": "100000000000000000001", "token_uri": token_uri,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
    }
    account_path = os.path.join(directory, "fcm-service-account.json")
    _write(account_path, json.dumps(account, indent=2).encode("utf-8"))
    vapid_public = vapid_key.public_key().public_bytes(serialization.Encoding.X962,
                                                       serialization.PublicFormat.UncompressedPoint)
    return {
        "apns": {"team_id": APNS_TEAM_ID, "key_id": APNS_KEY_ID, "key_path": apns_path,
                 "private_key": apns_key, "topic": topic},
        "fcm": {"service_account_path": account_path, "project_id": FCM_PROJECT,
                "client_email": FCM_EMAIL, "private_key": fcm_key},
        "wns": {"client_id": WNS_CLIENT_ID, "client_secret": WNS_CLIENT_SECRET},
        "vapid": {"private_key_path": vapid_path, "public_key": b64url_encode(vapid_public),
                  "private_key": vapid_key},
        "mock_config": {
            "apns": {"keys": [{"team_id": APNS_TEAM_ID, "key_id": APNS_KEY_ID,
                               "public_key_pem": _public_pem(apns_key).decode("ascii")}],
                     "topics": [topic]},
            "fcm": {"accounts": [{"client_email": FCM_EMAIL, "project_id": FCM_PROJECT,
                                  "public_key_pem": _public_pem(fcm_key).decode("ascii")}]},
            "wns": {"clients": [{"client_id": WNS_CLIENT_ID,
                                 "client_secret": WNS_CLIENT_SECRET}]},
        },
    }


def main():
    parser = argparse.ArgumentParser(description="Make the mock providers' test credentials.")
    parser.add_argument("dir")
    parser.add_argument("--token-uri", default="https://127.0.0.1/fcm/token")
    args = parser.parse_args()
    keys = make_provider_keys(args.dir, args.token_uri)
    for section in ("apns", "fcm", "vapid"):
        keys[section].pop("private_key")
    json.dump({"certs": make_certs(args.dir), "keys": keys}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()

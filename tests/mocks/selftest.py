#!/usr/bin/python3
"""Self-test of the mock providers and the RFC 8291 decryptor.

    /usr/bin/python3 tests/mocks/selftest.py [--keep DIR]

1. ece.py against RFC 8291 Appendix A, every intermediate value byte by byte, then
   the decryption of the appendix's message.
2. One server (control.MockProviders) driven with `curl --http2`: for each provider a
   request that passes and requests that each fail one check, scripted errors, token
   refresh limits, certificate auth, stream multiplexing and a restart.
Prints one line per check and "N passed, N failed"; exits 1 if any failed.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import ece
import jws
from control import MockProviders

# RFC 8291 Appendix A, as printed there (base64url; whitespace in the RFC removed).
RFC8291 = {
    "plaintext": "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24",
    "as_public": "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK"
                 "6PBru3jl7A8",
    "as_private": "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
    "ua_public": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6S"
                 "RpkNtoIAiw4",
    "ua_private": "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
    "salt": "DGv6ra1nlYgDCS1FRnbzlw",
    "auth_secret": "BTBZMqHH6r4Tts7J_aSIgg",
    "ecdh_secret": "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs",
    "prk_key": "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k",
    "key_info": "V2ViUHVzaDogaW5mbwAEJXGyvs3942BVGq8e0PTNNmwRzr5VX4m8t7GGpTM5FzFo7OLr4BhZe9ME"
                "ebhuPI-OztV3ylkYfpJGmQ22ggCLDgT-M_SrDepxkU21WCP3O1SUj0EwbZIHMtu5pZpTKGSCIA5Z"
                "ent7wmC6HCJ5mFgJkuk5cwAvMBKiiujwa7t45ewP",
    "ikm": "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg",
    "prk": "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc",
    "cek_info": "Q29udGVudC1FbmNvZGluZzogYWVzMTI4Z2NtAA",
    "cek": "oIhVW04MRdy2XN9CiKLxTg",
    "nonce_info": "Q29udGVudC1FbmNvZGluZzogbm9uY2UA",
    "nonce": "4h_95klXJ5E_qnoN",
    "header": "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6"
              "e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
    "ciphertext": "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ",
    "body": "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYL"
            "ocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLW"
            "youBWLVWGNWQexSgSxsj_Qulcy4a-fN",
}
WATERMELON = b"When I grow up, I want to be a watermelon"
DEVICE = "ab" * 32


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok - " + name)
        else:
            self.failed += 1
            print("FAIL - %s: %s" % (name, detail))


def b(name):
    return jws.b64url_decode(RFC8291[name])


def same_bytes(got, want):
    """"" if equal, else where the first difference is."""
    if got == want:
        return ""
    for i, (x, y) in enumerate(zip(got, want)):
        if x != y:
            return "differs at octet %d (%02x != %02x)" % (i, x, y)
    return "lengths differ (%d != %d)" % (len(got), len(want))


def check_rfc8291(c):
    body = b("body")
    c.check("RFC 8291 A: body is header || ciphertext",
            body == b("header") + b("ciphertext"), "appendix values inconsistent")
    salt, rs, keyid, _ = ece.parse_header(body)
    c.check("RFC 8291 A: header salt, rs 4096, keyid as_public",
            salt == b("salt") and rs == 4096 and keyid == b("as_public"), (salt, rs))
    ua_key = ece._private_key(RFC8291["ua_private"])
    c.check("RFC 8291 A: ua_public from ua_private",
            not same_bytes(ece._point(ua_key.public_key()), b("ua_public")),
            same_bytes(ece._point(ua_key.public_key()), b("ua_public")))
    values = ece.derive(ua_key, b("as_public"), b("auth_secret"), b("salt"))
    for name in ("ecdh_secret", "prk_key", "key_info", "ikm", "prk", "cek_info", "cek",
                 "nonce_info", "nonce"):
        diff = same_bytes(values[name], b(name))
        c.check("RFC 8291 A: %s byte for byte" % name, not diff, diff)
    plaintext = ece.decrypt(body, RFC8291["ua_private"], RFC8291["auth_secret"])
    c.check("RFC 8291 A: decrypts to the watermelon",
            plaintext == WATERMELON == b("plaintext"), plaintext)
    tampered = bytearray(body)
    tampered[-1] ^= 1
    try:
        ece.decrypt(bytes(tampered), RFC8291["ua_private"], RFC8291["auth_secret"])
        c.check("RFC 8291: a tampered body is refused", False, "decrypted")
    except ValueError:
        c.check("RFC 8291: a tampered body is refused", True)
    key, p256dh, auth = ece.make_subscription()
    c.check("make_subscription: p256dh is the key's point, auth 16 octets",
            jws.b64url_decode(p256dh) == ece._point(key.public_key())
            and len(jws.b64url_decode(auth)) == 16, (p256dh, auth))


def curl(url, ca, headers=(), data=None, extra=()):
    """(status, {header: value}, body bytes) of one request with curl --http2."""
    cmd = ["curl", "-s", "-i", "--http2", "--cacert", ca, "--max-time", "20"]
    for h in headers:
        cmd += ["-H", h]
    if data is not None:
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(data)
        cmd += ["--data-binary", "@" + f.name]
    out = subprocess.run(cmd + list(extra) + [url], capture_output=True).stdout
    if data is not None:
        os.unlink(f.name)
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    hdrs = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs[name.strip().lower()] = value.strip()
    return status, hdrs, body


def apns_token(keys, iat):
    k = keys["apns"]
    return jws.sign_es256(k["private_key"], {"kid": k["key_id"]},
                          {"iss": k["team_id"], "iat": iat})


def check_apns(c, m):
    ca = m.certs["ca_cert"]
    token = apns_token(m.keys, int(time.time()))
    good = ["authorization: bearer " + token, "apns-topic: com.example.app",
            "apns-push-type: alert", "apns-priority: 10"]
    payload = b'{"aps":{"alert":{"title":"Hi","body":"there"}}}'
    url = m.url("/3/device/" + DEVICE)
    status, hdrs, _ = curl(url, ca, good + ["apns-id: 123e4567-e89b-12d3-a456-426614174000"],
                           payload)
    c.check("apns: a good request gets 200 and its apns-id back",
            status == 200 and hdrs.get("apns-id") == "123e4567-e89b-12d3-a456-426614174000",
            (status, hdrs))
    cases = [
        ("no authorization and no certificate -> 403 MissingProviderToken",
         [h for h in good if not h.startswith("authorization")], payload, url, 403,
         "MissingProviderToken"),
        ("a token signed by another key -> 403 InvalidProviderToken",
         ["authorization: bearer " + token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA")
                                                    else "BBBBBB")] + good[1:],
         payload, url, 403, "InvalidProviderToken"),
        ("a token older than an hour -> 403 ExpiredProviderToken",
         ["authorization: bearer " + apns_token(m.keys, int(time.time()) - 3700)] + good[1:],
         payload, url, 403, "ExpiredProviderToken"),
        ("a topic not configured -> 400 TopicDisallowed",
         good[:1] + ["apns-topic: com.other.app"] + good[2:], payload, url, 400,
         "TopicDisallowed"),
        ("no apns-topic -> 400 MissingTopic", good[:1] + good[2:], payload, url, 400,
         "MissingTopic"),
        ("background with priority 10 -> 400 BadPriority",
         good[:2] + ["apns-push-type: background", "apns-priority: 10"], payload, url, 400,
         "BadPriority"),
        ("an unknown push type -> 400 InvalidPushType",
         good[:2] + ["apns-push-type: banner"], payload, url, 400, "InvalidPushType"),
        ("a 65-byte collapse id -> 400 BadCollapseId",
         good + ["apns-collapse-id: " + "c" * 65], payload, url, 400, "BadCollapseId"),
        ("a non-UUID apns-id -> 400 BadMessageId", good + ["apns-id: 42"], payload, url,
         400, "BadMessageId"),
        ("a non-integer expiration -> 400 BadExpirationDate",
         good + ["apns-expiration: tomorrow"], payload, url, 400, "BadExpirationDate"),
        ("a payload over 4096 bytes -> 413 PayloadTooLarge", good,
         b'{"aps":{"alert":"' + b"x" * 4100 + b'"}}', url, 413, "PayloadTooLarge"),
        ("a payload without aps -> 400 PayloadEmpty", good, b'{"alert":"x"}', url, 400,
         "PayloadEmpty"),
        ("a device token that is not hex -> 400 BadDeviceToken", good, payload,
         m.url("/3/device/not-a-token"), 400, "BadDeviceToken"),
    ]
    for name, headers, body, target, want_status, want_reason in cases:
        status, _, answer = curl(target, ca, headers, body)
        reason = json.loads(answer or b"{}").get("reason")
        c.check("apns: " + name, status == want_status and reason == want_reason,
                (status, answer))
    newer = apns_token(m.keys, int(time.time()) - 1)
    status, _, answer = curl(url, ca, ["authorization: bearer " + newer] + good[1:], payload)
    c.check("apns: a second new token within 20 minutes -> 429 TooManyProviderTokenUpdates",
            status == 429 and b"TooManyProviderTokenUpdates" in answer, (status, answer))
    status, _, _ = curl(url, ca, good, payload)
    c.check("apns: the token accepted first still works", status == 200, status)
    status, _, _ = curl(url, ca, good[1:], payload, ["--cert", m.certs["client_pem"]])
    c.check("apns: certificate auth without a token gets 200", status == 200, status)
    when = 1700000000000
    m.script("apns", [{"status": 410, "reason": "Unregistered", "timestamp": when}])
    status, _, answer = curl(url, ca, good, payload)
    c.check("apns: scripted 410 Unregistered carries the timestamp",
            status == 410 and json.loads(answer) == {"reason": "Unregistered",
                                                      "timestamp": when}, (status, answer))
    m.script("apns", [{"reason": "TooManyRequests", "retry_after": 7, "target": "cd" * 32}])
    status, _, _ = curl(url, ca, good, payload)
    other, hdrs, answer = curl(m.url("/3/device/" + "cd" * 32), ca, good, payload)
    c.check("apns: a script entry for one device token answers only that token",
            status == 200 and other == 429 and hdrs.get("retry-after") == "7",
            (status, other, answer))
    status, _, answer = curl(url, ca, ["apns-topic: com.example.app"], payload)
    c.check("apns: a failing request gets its real error even with a script queued",
            status == 403, (status, answer))
    return token


def check_apns_key_replacement(c, m, token):
    """A key id configured with another public key: the old key's tokens are refused,
    the new key's first token is not a too-early update; reconfiguring without a change
    keeps the token history. The configuration is put back at the end."""
    ca = m.certs["ca_cert"]
    k = m.keys["apns"]
    saved = m.sections["apns"]
    rest = ["apns-topic: com.example.app", "apns-push-type: alert"]
    payload = b'{"aps":{"alert":"x"}}'
    url = m.url("/3/device/" + DEVICE)
    m.configure(apns=saved)
    status, _, _ = curl(url, ca, ["authorization: bearer " + token] + rest, payload)
    newer = apns_token(m.keys, int(time.time()))
    again, _, _ = curl(url, ca, ["authorization: bearer " + newer] + rest, payload)
    c.check("apns: configured again unchanged, the token history stays",
            status == 200 and again == 429, (status, again))
    new_key = ec.generate_private_key(ec.SECP256R1())
    public_pem = new_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    m.configure(apns=dict(saved, keys=[{"team_id": k["team_id"], "key_id": k["key_id"],
                                        "public_key_pem": public_pem}]))
    status, _, answer = curl(url, ca, ["authorization: bearer " + token] + rest, payload)
    c.check("apns: a token of the key a key id had before -> 403 InvalidProviderToken",
            status == 403 and b"InvalidProviderToken" in answer, (status, answer))
    fresh = jws.sign_es256(new_key, {"kid": k["key_id"]},
                           {"iss": k["team_id"], "iat": int(time.time())})
    status, _, answer = curl(url, ca, ["authorization: bearer " + fresh] + rest, payload)
    c.check("apns: the new key's first token gets 200", status == 200, (status, answer))
    m.configure(apns=saved)
    status, _, _ = curl(url, ca, ["authorization: bearer " + token] + rest, payload)
    c.check("apns: the original key back, its token works again", status == 200, status)


def check_multiplexing(c, m, token):
    ca = m.certs["ca_cert"]
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(b'{"aps":{"alert":"x"}}')
    before = max([r["seq"] for r in m.received()] or [0])
    cmd = ["curl", "-s", "--http2", "--cacert", ca, "--parallel",
           "-H", "authorization: bearer " + token, "-H", "apns-topic: com.example.app",
           "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "--data-binary",
           "@" + f.name, "-w", "%{http_code}\n"]
    cmd += [m.url("/3/device/" + DEVICE)] * 3
    out = subprocess.run(cmd, capture_output=True, text=True).stdout.split()
    os.unlink(f.name)
    records = [r for r in m.received("apns") if r["seq"] > before]
    c.check("server: three parallel curl requests share one HTTP/2 connection",
            out == ["200"] * 3 and len({r["conn"] for r in records}) == 1
            and len({r["stream"] for r in records}) == 3, (out, records[:1]))


def check_fcm(c, m):
    ca = m.certs["ca_cert"]
    keys = m.keys["fcm"]
    now = int(time.time())
    claims = {"iss": keys["client_email"], "aud": m.url("/fcm/token"), "iat": now,
              "exp": now + 3600, "scope": "https://www.googleapis.com/auth/firebase.messaging"}
    form = ["content-type: application/x-www-form-urlencoded"]

    def token_request(cl):
        assertion = jws.sign_rs256(keys["private_key"], {"typ": "JWT"}, cl)
        data = urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                          "assertion": assertion}).encode("ascii")
        return curl(m.url("/fcm/token"), ca, form, data)

    status, _, answer = token_request(claims)
    token = json.loads(answer or b"{}").get("access_token")
    c.check("fcm: a signed assertion gets an access token",
            status == 200 and token and json.loads(answer)["expires_in"] == 3599, answer)
    for name, bad, error in [("aud not the token endpoint", {"aud": "https://elsewhere"},
                              "invalid_grant"),
                             ("exp - iat over an hour", {"exp": now + 7200}, "invalid_grant"),
                             ("no scope", {"scope": ""}, "invalid_scope"),
                             ("unknown iss", {"iss": "x@y.iam.gserviceaccount.com"},
                              "invalid_grant")]:
        status, _, answer = token_request(dict(claims, **bad))
        c.check("fcm: token endpoint refuses %s with 400 %s" % (name, error),
                status == 400 and json.loads(answer).get("error") == error, (status, answer))
    send = m.url("/v1/projects/%s/messages:send" % keys["project_id"])
    auth = ["authorization: Bearer %s" % token, "content-type: application/json"]
    message = {"message": {"token": "fcm-token:abc", "data": {"k": "v"},
                           "android": {"priority": "HIGH", "ttl": "86400s"},
                           "apns": {"headers": {"apns-priority": "10"},
                                    "payload": {"aps": {"alert": "x"}}}}}
    status, _, answer = curl(send, ca, auth, json.dumps(message).encode())
    c.check("fcm: a good message gets 200 with its name",
            status == 200 and json.loads(answer)["name"].startswith(
                "projects/%s/messages/" % keys["project_id"]), (status, answer))

    def google_status(answer):
        return json.loads(answer or b"{}").get("error", {}).get("status")
    bad_messages = [
        ("a data value that is not a string", {"token": "t", "data": {"k": 1}}),
        ("an unknown field", {"token": "t", "colour": "red"}),
        ("both token and topic", {"token": "t", "topic": "news"}),
        ("android.priority URGENT", {"token": "t", "android": {"priority": "URGENT"}}),
        ("android.ttl without s", {"token": "t", "android": {"ttl": "86400"}}),
        ("an apns header that is not a string", {"token": "t", "apns": {"headers": {"a": 5}}}),
        ("a message over 4096 bytes", {"token": "t", "data": {"k": "x" * 4100}}),
    ]
    for name, msg in bad_messages:
        status, _, answer = curl(send, ca, auth, json.dumps({"message": msg}).encode())
        c.check("fcm: %s -> 400 INVALID_ARGUMENT" % name,
                status == 400 and google_status(answer) == "INVALID_ARGUMENT", (status, answer))
    status, _, answer = curl(m.url("/v1/projects/other-project/messages:send"), ca, auth,
                             json.dumps(message).encode())
    c.check("fcm: another project -> 403 PERMISSION_DENIED",
            status == 403 and google_status(answer) == "PERMISSION_DENIED", (status, answer))
    m.script("fcm", [{"status": 404, "fcm_error": "UNREGISTERED"}, {"fcm_error": "QUOTA_EXCEEDED"}])
    status, _, answer = curl(send, ca, auth, json.dumps(message).encode())
    detail = json.loads(answer)["error"].get("details", [{}])[0]
    c.check("fcm: scripted UNREGISTERED is 404 NOT_FOUND with an FcmError detail",
            status == 404 and google_status(answer) == "NOT_FOUND"
            and detail.get("errorCode") == "UNREGISTERED", answer)
    status, hdrs, answer = curl(send, ca, auth, json.dumps(message).encode())
    c.check("fcm: scripted QUOTA_EXCEEDED is 429 with Retry-After",
            status == 429 and "retry-after" in hdrs, (status, hdrs))
    m.expire_tokens("fcm")
    status, _, answer = curl(send, ca, auth, json.dumps(message).encode())
    c.check("fcm: after expire-tokens the next send gets 401 UNAUTHENTICATED",
            status == 401 and google_status(answer) == "UNAUTHENTICATED", (status, answer))


def vapid(m, **changes):
    claims = {"aud": "https://push.mock.test", "exp": int(time.time()) + 12 * 3600,
              "sub": "mailto:ops@example.com"}
    claims.update(changes)
    token = jws.sign_es256(m.keys["vapid"]["private_key"], {"typ": "JWT"}, claims)
    return "authorization: vapid t=%s, k=%s" % (token, m.keys["vapid"]["public_key"])


def check_webpush(c, m):
    ca = m.certs["ca_cert"]
    url = m.url("/wp/sub-1")
    body = jws.b64url_decode(RFC8291["body"])
    good = ["ttl: 60", "content-encoding: aes128gcm", "urgency: high", "topic: news",
            vapid(m)]
    status, hdrs, _ = curl(url, ca, good, body)
    c.check("webpush: a good message gets 201 with a Location",
            status == 201 and hdrs.get("location", "").startswith("https://push.mock.test/m/"),
            (status, hdrs))
    record = m.received("webpush")[-1]
    plaintext = ece.decrypt(base64.b64decode(record["body"]), RFC8291["ua_private"],
                            RFC8291["auth_secret"])
    c.check("webpush: the recorded body decrypts with ece.py", plaintext == WATERMELON,
            plaintext)
    header_only = body[:86]
    cases = [
        ("no TTL -> 400", good[1:], body, 400),
        ("TTL not an integer -> 400", ["ttl: soon"] + good[1:], body, 400),
        ("Content-Encoding aesgcm -> 415", good[:1] + ["content-encoding: aesgcm"] + good[2:],
         body, 415),
        ("Urgency urgent -> 400", good[:2] + ["urgency: urgent"] + good[3:], body, 400),
        ("a 33-character Topic -> 400", good[:3] + ["topic: " + "t" * 33] + good[4:], body, 400),
        ("no Authorization -> 401", good[:4], body, 401),
        ("aud another origin -> 401", good[:4] + [vapid(m, aud="https://evil.example")], body,
         401),
        ("exp 25 hours ahead -> 401", good[:4] + [vapid(m, exp=int(time.time()) + 25 * 3600)],
         body, 401),
        ("sub not mailto: or https: -> 401", good[:4] + [vapid(m, sub="ops@example.com")],
         body, 401),
        ("a body over 4096 bytes -> 413", good, body + b"\0" * 4000, 413),
        ("a header without a record -> 400", good, header_only, 400),
    ]
    for name, headers, data, want in cases:
        status, _, answer = curl(url, ca, headers, data)
        c.check("webpush: " + name, status == want, (status, answer))
    m.configure(webpush={"vapid_keys": [ece.make_subscription()[1]]})
    status, _, _ = curl(url, ca, good, body)
    c.check("webpush: a key the subscription is not restricted to -> 403", status == 403,
            status)
    m.configure(webpush={})
    m.script("webpush", [{"status": 410}, {"status": 429, "retry_after": 30}])
    gone, _, answer = curl(url, ca, good, body)
    busy, hdrs, _ = curl(url, ca, good, body)
    c.check("webpush: scripted 410 then 429 with Retry-After",
            gone == 410 and json.loads(answer)["errno"] == 103 and busy == 429
            and hdrs.get("retry-after") == "30", (gone, busy, hdrs))


def check_wns(c, m):
    ca = m.certs["ca_cert"]
    keys = m.keys["wns"]
    form = ["content-type: application/x-www-form-urlencoded"]

    def token_request(secret):
        data = urlencode({"grant_type": "client_credentials", "client_id": keys["client_id"],
                          "client_secret": secret, "scope": "notify.windows.com"})
        return curl(m.url("/wns/token"), ca, form, data.encode("ascii"))

    status, _, answer = token_request(keys["client_secret"])
    token = json.loads(answer or b"{}").get("access_token")
    c.check("wns: client credentials get a bearer token",
            status == 200 and token and json.loads(answer)["token_type"] == "bearer", answer)
    status, _, answer = token_request("wrong")
    c.check("wns: a wrong secret -> 400 invalid_client",
            status == 400 and json.loads(answer) == {"error": "invalid_client",
                                                     "error_description":
                                                     "Invalid client id or secret"}, answer)
    url = m.url("/wns/channel/chan-1")
    toast = (b'<toast><visual><binding template="ToastGeneric"><text>Hi</text></binding>'
             b'</visual></toast>')
    good = ["authorization: Bearer " + token, "x-wns-type: wns/toast", "content-type: text/xml",
            "x-wns-ttl: 60"]
    status, hdrs, _ = curl(url, ca, good, toast)
    c.check("wns: a good toast gets 200 received with a message id",
            status == 200 and hdrs.get("x-wns-status") == "received" and "x-wns-msg-id" in hdrs,
            (status, hdrs))
    cases = [
        ("no token -> 401", good[1:], toast, 401),
        ("no X-WNS-Type -> 400", good[:1] + good[2:], toast, 400),
        ("a toast sent as application/octet-stream -> 400",
         good[:2] + ["content-type: application/octet-stream"], toast, 400),
        ("a toast whose root is <tile> -> 400", good, b"<tile/>", 400),
        ("malformed XML -> 400", good, b"<toast>", 400),
        ("X-WNS-TTL not an integer -> 400", good[:3] + ["x-wns-ttl: later"], toast, 400),
        ("a body over 5000 bytes -> 413", good, b"<toast>" + b" " * 5000 + b"</toast>", 413),
    ]
    for name, headers, data, want in cases:
        status, hdrs, _ = curl(url, ca, headers, data)
        c.check("wns: " + name, status == want and (want == 200 or
                                                    "x-wns-error-description" in hdrs),
                (status, hdrs))
    m.script("wns", [{"status": 410}])
    status, hdrs, _ = curl(url, ca, good, toast)
    c.check("wns: scripted 410 (channel expired)", status == 410, (status, hdrs))


def check_control(c, m):
    stats = m.stats()
    apns = stats["providers"]["apns"]
    c.check("control: stats count requests, statuses and verdicts",
            apns["requests"] >= 20 and apns["statuses"].get("200", 0) >= 3
            and apns["verdicts"].get("MissingProviderToken", 0) >= 1, apns)
    records = m.received("wns")
    c.check("control: received records carry headers, body and verdict",
            all({"headers", "body", "verdict", "status", "conn"} <= set(r) for r in records)
            and any(r["verdict"] == "ok" for r in records), records[:1])
    try:
        m.script("apns", [{"stauts": 500}])
        c.check("control: a misspelt script key is refused", False, "accepted")
    except Exception as e:
        c.check("control: a misspelt script key is refused", "stauts" in str(e), e)
    m.reset()
    c.check("control: reset forgets received requests",
            m.received() == [] and m.stats()["providers"]["apns"]["requests"] == 0, m.stats())
    m.script("apns", [{"status": 503, "reason": "ServiceUnavailable"}])
    m.restart()
    token = apns_token(m.keys, int(time.time()))
    status, _, _ = curl(m.url("/3/device/" + DEVICE), m.certs["ca_cert"],
                        ["authorization: bearer " + token, "apns-topic: com.example.app"],
                        b'{"aps":{}}')
    c.check("control: after restart the same port answers with the same configuration "
            "and no scripts", status == 200, status)


def main():
    parser = argparse.ArgumentParser(description="Self-test of the mock providers.")
    parser.add_argument("--keep", help="run directory to use and keep")
    args = parser.parse_args()
    c = Checks()
    check_rfc8291(c)
    run_dir = args.keep or tempfile.mkdtemp(prefix="herald-mocks-")
    m = MockProviders.start(run_dir)
    try:
        token = check_apns(c, m)
        check_apns_key_replacement(c, m, token)
        check_multiplexing(c, m, token)
        check_fcm(c, m)
        check_webpush(c, m)
        check_wns(c, m)
        check_control(c, m)
    finally:
        m.stop()
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

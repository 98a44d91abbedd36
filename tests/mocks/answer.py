"""What a mock provider answers, and the parts of scripted answers all providers share.

An Answer is built by a provider module (apns.py, fcm.py, webpush.py, wns.py) and
sent by server.py. A script entry (control API, POST /script) is a dict; the keys in
COMMON_KEYS mean the same for every provider, and apply_common() applies those of
them that touch the answer after the provider has built it from its own keys.
"""
import json
import time
import uuid
from http import HTTPStatus

# Keys every script entry may carry (see server.py's docstring for their meaning).
COMMON_KEYS = frozenset({"status", "headers", "body", "delay_ms", "count", "action",
                         "retry_after", "target", "endpoint"})
ACTIONS = frozenset({"reset", "close"})


class Answer:
    """One HTTP answer. verdict is "ok" or why the request failed verification."""
    __slots__ = ("status", "headers", "body", "verdict", "delay_ms", "action", "scripted")

    def __init__(self, status, headers=None, body=b"", verdict="ok"):
        self.status = status
        self.headers = headers if headers is not None else []
        self.body = body
        self.verdict = verdict
        self.delay_ms = 0
        self.action = None
        self.scripted = False

    def set_header(self, name, value):
        """Replace every header called name (any case) by one with value."""
        name = name.lower()
        self.headers = [(n, v) for n, v in self.headers if n != name]
        self.headers.append((name, str(value)))


def json_answer(status, obj, verdict="ok", headers=None):
    """An Answer whose body is obj as compact JSON."""
    hdrs = [("content-type", "application/json; charset=utf-8")]
    hdrs.extend(headers or [])
    return Answer(status, hdrs, json.dumps(obj, separators=(",", ":")).encode("utf-8"), verdict)


def body_bytes(value):
    """A script entry's "body": a string is sent as is (UTF-8), anything else as JSON."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def apply_common(entry, answer):
    """Apply a script entry's body, headers, retry_after, delay_ms and action to answer."""
    if "body" in entry:
        answer.body = body_bytes(entry["body"])
        if not isinstance(entry["body"], str):
            answer.set_header("content-type", "application/json; charset=utf-8")
    if "retry_after" in entry:
        answer.set_header("retry-after", entry["retry_after"])
    for name, value in (entry.get("headers") or {}).items():
        answer.set_header(name, value)
    answer.delay_ms = int(entry.get("delay_ms", 0))
    answer.action = entry.get("action")
    answer.scripted = True
    return answer


def check_entry(entry, provider_keys, endpoints):
    """Raise ValueError unless entry is a script entry this provider understands."""
    if not isinstance(entry, dict):
        raise ValueError("a script entry must be a JSON object")
    unknown = set(entry) - COMMON_KEYS - provider_keys
    if unknown:
        raise ValueError("unknown script keys: " + ", ".join(sorted(unknown)))
    status = entry.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise ValueError("status must be an HTTP status code")
    count = entry.get("count", 1)
    if not isinstance(count, int) or (count < 1 and count != -1):
        raise ValueError("count must be a positive integer, or -1 for every request")
    delay = entry.get("delay_ms", 0)
    if not isinstance(delay, int) or delay < 0:
        raise ValueError("delay_ms must be a non-negative integer")
    if entry.get("action") is not None and entry["action"] not in ACTIONS:
        raise ValueError("action must be one of " + ", ".join(sorted(ACTIONS)))
    if entry.get("endpoint", "send") not in endpoints:
        raise ValueError("endpoint must be one of " + ", ".join(sorted(endpoints)))
    headers = entry.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, (str, int))
                                                for v in headers.values()):
        raise ValueError("headers must be an object of strings")


def now_ms():
    return int(time.time() * 1000)


def new_id():
    return str(uuid.uuid4())


def phrase(status):
    """The HTTP reason phrase of status ("Error" for a code http.HTTPStatus lacks)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"

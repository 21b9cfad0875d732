"""Close customer accounts correctly: Offboard's library from Python.

    from offboard import Offboard
    ob = Offboard()                      # the library this package carries
    report = ob.assess(snapshot, actor, "prerequisite", "2026-11-23T10:00:00Z")

The wheel carries Offboard's shared library and calls its C ABI through
ctypes: no compiler is needed to install it. Documents go in as Python
objects (or JSON text) and come back as Python objects. Errors raise
OffboardError with the stable `code` and `number`.
"""

import ctypes
import datetime
import json
import os
from pathlib import Path

__all__ = ["Offboard", "OffboardError", "Policy", "__version__"]
__version__ = "0.1.0"

# The shared library the wheel carries, beside this file.
_BUNDLED = Path(__file__).resolve().parent / "liboffboard.so"


class OffboardError(Exception):
    """A refused call: `code` is the core's stable code (e.g. "blocked")."""

    def __init__(self, report):
        super().__init__(report["message"])
        self.code = report["code"]
        self.number = report["number"]
        self.blockers = report.get("blockers")


def _time(value):
    """A datetime as the core reads times: RFC 3339 in UTC. A naive datetime
    is refused rather than guessed at."""
    if value.tzinfo is None:
        raise ValueError("a datetime passed to offboard needs a time zone (e.g. datetime.now(timezone.utc))")
    return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return _time(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _text(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = _time(value)
    if not isinstance(value, (str, bytes)):
        value = json.dumps(value, default=_json_default)
    return value.encode("utf-8") if isinstance(value, str) else value


class Policy:
    """A parsed, validated policy held by the library; freed on close()."""

    def __init__(self, lib, handle):
        self._lib = lib
        self.handle = handle

    def close(self):
        if self.handle:
            self._lib.offboard_policy_free(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Offboard:
    """The library, loaded once."""

    def __init__(self, path=None):
        """Loads the library: `path`, else $OFFBOARD_LIB, else the one the package carries."""
        path = path or os.environ.get("OFFBOARD_LIB") or str(_BUNDLED)
        self.path = path
        lib = ctypes.CDLL(path)
        c_char_p, size_t, status = ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int
        out = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(size_t)]
        policy_p = ctypes.c_void_p
        signatures = {
            "offboard_policy_from_json": [c_char_p, size_t, ctypes.POINTER(policy_p)],
            "offboard_policy_preset": [c_char_p, size_t, ctypes.POINTER(policy_p)],
            "offboard_policy_free": [policy_p],
            "offboard_policy_to_json": [policy_p, *out],
            "offboard_assess": [c_char_p, size_t, c_char_p, size_t, policy_p, c_char_p, size_t, *out],
            "offboard_state_new": [c_char_p, size_t, c_char_p, size_t, *out],
            "offboard_step": [c_char_p, size_t, c_char_p, size_t, c_char_p, size_t, policy_p, c_char_p, size_t, c_char_p, size_t, *out],
            "offboard_next_tick": [c_char_p, size_t, policy_p, *out],
            "offboard_audit_verify": [c_char_p, size_t, c_char_p, size_t, *out],
            "offboard_step_keyed": [c_char_p, size_t, c_char_p, size_t, c_char_p, size_t, policy_p, c_char_p, size_t, c_char_p, size_t, c_char_p, size_t, c_char_p, size_t, *out],
            "offboard_audit_verify_keyed": [c_char_p, size_t, c_char_p, size_t, c_char_p, size_t, c_char_p, size_t, *out],
            "offboard_diagram": out,
        }
        for name, argtypes in signatures.items():
            fn = getattr(lib, name)
            fn.argtypes = argtypes
            fn.restype = status
        # Returned strings are declared as void pointers so they can be freed.
        lib.offboard_string_free.argtypes = [ctypes.c_void_p]
        lib.offboard_string_free.restype = None
        lib.offboard_last_error_json.restype = ctypes.c_char_p
        lib.offboard_version.restype = ctypes.c_char_p
        self._lib = lib
        self.version = lib.offboard_version().decode()

    # -- plumbing ---------------------------------------------------------
    def _check(self, status):
        if status != 0:
            raise OffboardError(json.loads(self._lib.offboard_last_error_json().decode("utf-8")))

    def _call_text(self, name, *args):
        out = ctypes.c_void_p()
        out_len = ctypes.c_size_t()
        self._check(getattr(self._lib, name)(*args, ctypes.byref(out), ctypes.byref(out_len)))
        try:
            return ctypes.string_at(out.value, out_len.value).decode("utf-8")
        finally:
            self._lib.offboard_string_free(out)

    @staticmethod
    def _arg(value):
        data = _text(value)
        return (data, 0 if data is None else len(data))

    def _policy(self, policy):
        if isinstance(policy, Policy):
            return policy, False
        return (self.preset(policy) if isinstance(policy, str) and not policy.lstrip().startswith("{") else self.policy(policy)), True

    # -- API ----------------------------------------------------------------
    def preset(self, name):
        handle = ctypes.c_void_p()
        self._check(self._lib.offboard_policy_preset(*self._arg(name), ctypes.byref(handle)))
        return Policy(self._lib, handle.value)

    def policy(self, document):
        handle = ctypes.c_void_p()
        self._check(self._lib.offboard_policy_from_json(*self._arg(document), ctypes.byref(handle)))
        return Policy(self._lib, handle.value)

    def policy_json(self, policy):
        return json.loads(self._call_text("offboard_policy_to_json", policy.handle))

    def assess(self, snapshot, actor, policy, now):
        policy, owned = self._policy(policy)
        try:
            return json.loads(self._call_text("offboard_assess", *self._arg(snapshot), *self._arg(actor), policy.handle, *self._arg(now)))
        finally:
            if owned:
                policy.close()

    def new_state(self, closure, account):
        return json.loads(self._call_text("offboard_state_new", *self._arg(closure), *self._arg(account)))

    def step(self, state, command, actor, policy, now, snapshot=None, audit_key=None):
        """One step; `audit_key` is `(id, secret_hex)` for a keyed audit chain."""
        return json.loads(self.step_text(state, command, actor, policy, now, snapshot, audit_key))

    def step_text(self, state, command, actor, policy, now, snapshot=None, audit_key=None):
        """One step, answered as the library's step JSON text, unparsed."""
        policy, owned = self._policy(policy)
        key_id, secret = audit_key or (None, None)
        try:
            return self._call_text(
                "offboard_step_keyed", *self._arg(state), *self._arg(command), *self._arg(actor), policy.handle,
                *self._arg(snapshot), *self._arg(now), *self._arg(key_id), *self._arg(secret)
            )
        finally:
            if owned:
                policy.close()

    def next_tick(self, state, policy):
        policy, owned = self._policy(policy)
        try:
            return json.loads(self._call_text("offboard_next_tick", *self._arg(state), policy.handle))
        finally:
            if owned:
                policy.close()

    def verify_audit(self, events, head=None, audit_key=None):
        """Verifies a log; `audit_key` is `(id, secret_hex)` for a keyed chain."""
        key_id, secret = audit_key or (None, None)
        return json.loads(
            self._call_text("offboard_audit_verify_keyed", *self._arg(events), *self._arg(head), *self._arg(key_id), *self._arg(secret))
        )

    def diagram(self):
        """The closure state diagram (Mermaid)."""
        return self._call_text("offboard_diagram")

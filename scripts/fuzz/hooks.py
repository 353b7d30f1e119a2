"""Schemathesis hooks for scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS).

- Authentication: a session token minted with `harmont-auth token mint`. The
  fuzzer calls `logout`, `revoke-others` and `DELETE /sessions/{id}`, which end
  that session; every 401 makes schemathesis drop the token, mint a fresh one
  here and replay the request once, so later cases still reach the code behind
  the bearer check. A 429 does the same, since some limits are per session
  (a fresh session starts a fresh count).
- introspectToken authenticates a resource-server client with HTTP Basic
  (`harmont-auth client add`, made by fuzz-api.sh), so its cases carry those
  credentials instead of the bearer token.
- Contract rejections: schemathesis.toml lets a few operations answer 400 to
  a request the document calls valid, because the contract says so (nothing is
  parked under that nonce or code); the `contract_rejections_only` check below
  holds each such 400 to the one error code the contract gives for it, so a
  400 for any other reason (a schema looser than the server) still fails.
- Client addresses: the server trusts 127.0.0.0/8 as a proxy, and every call
  carries an `X-Forwarded-For` from 198.18.0.0/15 (the benchmarking range), so
  the per-address failure limits of claim, redeem and passkey sign-in don't turn
  every later case into a 429 that never reaches the lookup behind it.
"""

import base64
import os
import random
import subprocess

import schemathesis
from hypothesis.internal import lambda_sources

# CPython 3.11 (seen with 3.11.7) can fail `ast.parse` with "AST constructor recursion
# depth mismatch" when hypothesis describes a filter lambda for its repr; the
# description is cosmetic, so fall back to hypothesis' own placeholder.
_describe_lambda = lambda_sources._lambda_description


def _describe_lambda_safely(f, *args, **kwargs):
    try:
        return _describe_lambda(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_lambda_safely


@schemathesis.auth(retry_on=[401, 429])
class MintedToken:
    def get(self, case, context):
        done = subprocess.run(
            [os.environ["HARMONT_FUZZ_BIN"], "token", "mint", os.environ["HARMONT_FUZZ_EMAIL"]],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return done.stdout.strip()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        if case.operation.definition.raw.get("operationId") == "introspectToken":
            # A resource server's client credentials (HTTP Basic), not a bearer.
            credentials = f"{os.environ['HARMONT_FUZZ_CLIENT_ID']}:{os.environ['HARMONT_FUZZ_CLIENT_SECRET']}"
            case.headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        else:
            case.headers["Authorization"] = f"Bearer {data}"


_addresses = random.Random(os.environ.get("HARMONT_FUZZ_SEED", "0"))


@schemathesis.hook
def before_call(context, case, kwargs):
    address = f"198.{_addresses.randint(18, 19)}.{_addresses.randint(0, 255)}.{_addresses.randint(1, 254)}"
    case.headers = case.headers or {}
    case.headers["X-Forwarded-For"] = address


# The error code that each operation may answer a schema-valid request with,
# and why the document can't rule it out.
CONTRACT_REJECTIONS = {
    # Nothing is parked under a well-formed nonce the fuzzer made up; the
    # published CLI reads this answer as "not yet".
    "cliClaim": {"cli_code_invalid"},
    # No live paste code behind a well-formed one.
    "cliRedeem": {"cli_code_invalid"},
    # A nonce of trivially low variety (22 x "a") is well-formed but refused.
    "cliTransfer": {"nonce_invalid"},
    # The approval page's look-up refuses the nonces transfer refuses.
    "cliInspect": {"nonce_invalid"},
    # The short approval: a weak nonce is refused as on transfer, and no
    # login waits under a code the fuzzer made up.
    "cliDevice": {"nonce_invalid"},
    "cliDeviceInspect": {"cli_code_invalid"},
    "cliDeviceApprove": {"cli_code_invalid"},
    # No live login link behind a well-formed one.
    "redeemLoginLink": {"link_invalid"},
    # No started ceremony behind a made-up id, and `credential` is an opaque
    # object that only a real authenticator fills in.
    "finishPasskeySignIn": {"passkey_invalid"},
    "finishPasskeyRegistration": {"passkey_invalid"},
}


@schemathesis.check
def contract_rejections_only(ctx, response, case):
    """A 400 to a schema-valid request carries the contract's own error code."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    allowed = CONTRACT_REJECTIONS.get(case.operation.definition.raw.get("operationId"), set())
    try:
        code = response.json()["error"]["code"]
    except Exception:
        code = None
    if code not in allowed:
        raise AssertionError(
            f"A schema-valid request was refused with 400 {code!r}; "
            f"this operation may refuse one only with {sorted(allowed) or 'nothing'}"
        )
    return None


@schemathesis.check
def past_expiry_only(ctx, response, case):
    """A 422 to a schema-valid createApiToken is about `expires_at` alone (a date in the past)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        error = response.json()["error"]
        code, message = error["code"], error["message"]
    except Exception:
        code, message = None, ""
    operation = case.operation.definition.raw.get("operationId")
    if operation != "createApiToken" or code != "validation_failed" or "`expires_at`" not in message:
        raise AssertionError(
            f"A schema-valid request was refused with 422 {code!r} ({message!r}); "
            "only createApiToken may, and only for an expires_at that is not in the future"
        )
    return None

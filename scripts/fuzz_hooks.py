"""Schemathesis hooks for scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS).

- Signs in through dev-login as FUZZ_OPENID (a demo user, so each run has that user's roles) and signs
  in again when a token is refused (401) or every 10 minutes, so a revoked or expired token does not
  end the run's coverage.
- Makes integer path ids often point at rows the demo data (or an earlier request) created, 1..40,
  instead of only at random ids that answer 404 — a fixed share, so a fixed seed repeats the run.
"""

import json
import os
import threading
import urllib.request

import schemathesis
from hypothesis import strategies as st
from hypothesis.internal import lambda_sources

# CPython 3.11's parser is not safe to run in two threads at once ("SystemError: AST constructor
# recursion depth mismatch"), and Hypothesis parses a module's source to describe a filter's lambda; with
# two workers the coverage phase sometimes did so from both. One at a time.
_PARSE_LOCK = threading.Lock()
_describe_lambda = lambda_sources._lambda_description


def _lambda_description_one_at_a_time(*args, **kwargs):
    with _PARSE_LOCK:
        return _describe_lambda(*args, **kwargs)


lambda_sources._lambda_description = _lambda_description_one_at_a_time

OPENID = os.environ.get("FUZZ_OPENID", "demo-committee")
BASE = os.environ["FUZZ_BASE_URL"].rstrip("/")


@schemathesis.auth(refresh_interval=600, retry_on=[401])
class DevLogin:
    def get(self, case, ctx):
        body = json.dumps({"openid": OPENID}).encode()
        request = urllib.request.Request(
            f"{BASE}/api/v1/auth/dev-login",
            data=body,
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["access_token"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        # An operation that documents no security (dev-login, the care alert webhook) still gets the
        # caller's token: the server ignores it there.
        case.headers["Authorization"] = f"Bearer {data}"


KNOWN_IDS = st.integers(min_value=1, max_value=40)


@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    strategies = {}
    for name, value in path_parameters.items():
        if isinstance(value, int) and not isinstance(value, bool):
            strategies[name] = st.one_of(st.just(value), KNOWN_IDS)
        else:
            strategies[name] = st.just(value)
    return st.fixed_dictionaries(strategies)

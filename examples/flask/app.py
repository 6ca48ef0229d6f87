"""A Flask service that accepts Gatehouse access tokens: the tutorials' `token_required`
decorator, verifying EdDSA signatures offline against Gatehouse's published JWK Set.

Configuration (environment):
  GATEHOUSE_URL       where Gatehouse serves /.well-known/jwks.json (default http://127.0.0.1:3000)
  GATEHOUSE_ISSUER    Gatehouse's JWT_ISSUER (required): the "issuer" in
                      GATEHOUSE_URL/.well-known/openid-configuration
  GATEHOUSE_AUDIENCE  Gatehouse's JWT_AUDIENCE (default gatehouse-api)
  PORT                port to listen on, loopback only (default 5000)
  GATEHOUSE_INTROSPECTION  client_id:secret of an INTROSPECTION_CLIENTS entry: when set, every
                      request asks Gatehouse (POST /oauth/introspect) instead of verifying locally

Trade-off of verifying locally (the default, JWKS mode): a token stays valid here until its exp
(15 minutes by default) even after a logout, a password change or a deleted user, and Gatehouse
being down does not stop this service. Introspection mode sees a logout at once, at the cost of
a round trip to Gatehouse per request and a hard dependency on it. See README.md.
"""

import base64
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import wraps

import jwt
from flask import Flask, jsonify, request

GATEHOUSE_URL = os.environ.get("GATEHOUSE_URL", "http://127.0.0.1:3000").rstrip("/")
ISSUER = os.environ.get("GATEHOUSE_ISSUER", "")
AUDIENCE = os.environ.get("GATEHOUSE_AUDIENCE", "gatehouse-api")
PORT = int(os.environ.get("PORT", "5000"))
INTROSPECTION = os.environ.get("GATEHOUSE_INTROSPECTION", "")
INTROSPECTION_TIMEOUT_SECONDS = 3

if not ISSUER:
    # No default on purpose: a wrong issuer would refuse every token, a guessed one might accept
    # tokens meant for another deployment.
    sys.exit(
        "GATEHOUSE_ISSUER is required: Gatehouse's JWT_ISSUER, shown as \"issuer\" by "
        f"curl {GATEHOUSE_URL}/.well-known/openid-configuration"
    )

# Pinned: the header's "alg" never chooses the algorithm, so an HS256 token "signed" with the
# public key (algorithm confusion) or an unsigned "none" token is refused.
ALGORITHMS = ["EdDSA"]
# RFC 9068 access tokens; an ID token or any other JWT signed by the same key is refused.
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "sid", "iss", "aud"]
LEEWAY_SECONDS = 5  # clock skew between Gatehouse and this host
MAX_TOKEN_LENGTH = 4096  # refused before any parsing
# A token with an unknown kid makes the client refetch the JWK Set (that is how a key rotation
# is picked up); at most once per this many seconds, so junk kids cannot flood Gatehouse.
REFETCH_COOLDOWN_SECONDS = 30


class GatehouseJWKClient(jwt.PyJWKClient):
    """PyJWKClient that refetches the JWK Set for an unknown kid at most once per cooldown."""

    def __init__(self, uri):
        # The set is cached for 5 minutes, as Gatehouse's Cache-Control says.
        super().__init__(uri, cache_jwk_set=True, lifespan=300)
        self._last_refresh = 0.0
        self._lock = threading.Lock()

    def get_signing_keys(self, refresh=False):
        if refresh:
            with self._lock:
                now = time.monotonic()
                refresh = now - self._last_refresh >= REFETCH_COOLDOWN_SECONDS
                if refresh:
                    self._last_refresh = now
        return super().get_signing_keys(refresh)


jwks_client = GatehouseJWKClient(f"{GATEHOUSE_URL}/.well-known/jwks.json")
app = Flask(__name__)
app.logger.setLevel(logging.INFO)


class TokenRefused(Exception):
    """The request's access token is missing or invalid; the message is safe to send."""


def unauthorized(description, *, missing=False):
    """401 with an RFC 6750 WWW-Authenticate header and a JSON body saying why."""
    error = "missing_token" if missing else "invalid_token"
    response = jsonify(error=error, error_description=description)
    response.status_code = 401
    # RFC 6750 section 3.1: no error code in the challenge when no token was sent.
    challenge = 'Bearer realm="example"' if missing else 'Bearer realm="example", error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def unavailable():
    """503: Gatehouse unreachable is this service's problem, not the caller's (not a 401, which means "log in again")."""
    response = jsonify(error="temporarily_unavailable", error_description="Cannot reach Gatehouse to verify the token.")
    response.status_code = 503
    return response


def verify_access_token(token):
    """Returns the claims of a valid Gatehouse access token, or raises TokenRefused / PyJWTError."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise TokenRefused("The access token is malformed.")
    # Picks the public key by the header's kid; jwt.decode checks the signature with it.
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=ALGORITHMS,
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway=LEEWAY_SECONDS,
        options={"require": REQUIRED_CLAIMS},
    )
    # Read after the signature was verified: the header is part of what Gatehouse signed.
    if str(jwt.get_unverified_header(token).get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
        raise TokenRefused("This is not an access token.")
    return claims


class GatehouseUnavailable(Exception):
    """Gatehouse could not answer an introspection request (down, slow, or refusing our client)."""


def introspect_access_token(token):
    """Asks Gatehouse whether the token is active right now (RFC 7662); returns its claims or raises TokenRefused."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRefused("The access token is malformed.")
    credentials = base64.b64encode(INTROSPECTION.encode()).decode()
    req = urllib.request.Request(
        f"{GATEHOUSE_URL}/oauth/introspect",
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=INTROSPECTION_TIMEOUT_SECONDS) as response:
            answer = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        # A 401 here means *our* client credentials are wrong: an operator problem, not the caller's.
        raise GatehouseUnavailable(str(error)) from error
    # Gatehouse checked signature, claims and the session; still make sure it is meant for us.
    if answer.get("active") is not True or answer.get("iss") != ISSUER or answer.get("aud") != AUDIENCE:
        raise TokenRefused("The access token is not active.")
    return answer


def token_required(view):
    """Lets the request through only with a valid access token; passes its claims to the view."""

    @wraps(view)
    def decorated(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return unauthorized("Send the access token as 'Authorization: Bearer <token>'.", missing=True)
        try:
            if INTROSPECTION:
                claims = introspect_access_token(token.strip())
            else:
                claims = verify_access_token(token.strip())
        except GatehouseUnavailable as error:
            app.logger.warning("introspection failed: %s", error)
            return unavailable()
        except TokenRefused as error:
            app.logger.info("token refused: %s", error)
            return unauthorized(str(error))
        except jwt.ExpiredSignatureError:
            return unauthorized("The access token has expired; refresh it with Gatehouse.")
        except jwt.PyJWKClientError as error:
            app.logger.info("token refused: %s", error)
            if isinstance(error.__context__, OSError):  # URLError, refused, timed out
                # Gatehouse unreachable is this service's problem, not the caller's: not a 401,
                # which clients take as "log in again".
                return unavailable()
            return unauthorized("The access token is invalid.")
        except jwt.PyJWTError as error:
            app.logger.info("token refused: %s: %s", type(error).__name__, error)
            return unauthorized("The access token is invalid.")
        return view(claims, *args, **kwargs)

    return decorated


@app.get("/hello")
@token_required
def hello(claims):
    # `sub` is the Gatehouse user id; `sid` its session.
    return jsonify(message=f"Hello, {claims['sub']}!", sub=claims["sub"])


if __name__ == "__main__":
    # Flask's development server; in production run it under a WSGI server (gunicorn app:app).
    app.run(host="127.0.0.1", port=PORT)

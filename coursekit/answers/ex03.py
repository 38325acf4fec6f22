"""Reference solutions of lesson 03's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex03``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "DecodePayload": '''
def decode_payload(token: str) -> dict:
    segment = token.split(".")[1]
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return json.loads(raw)
''',
    "ComputeSignature": '''
def sign(signing_input: bytes, key: bytes) -> str:
    mac = hmac.new(key, signing_input, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
''',
    "VerifyProperly": '''
def verify(token: str, jwks_url: str, issuer: str, now: float) -> dict:
    key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)   # the server's key, by kid
    decoded = jwt.decode_complete(
        token, key, algorithms=["RS256"], audience="lab-api", issuer=issuer,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"],
                 # PyJWT would compare the times with this computer's clock; we compare them with now, below.
                 "verify_exp": False, "verify_nbf": False, "verify_iat": False})
    typ = str(decoded["header"].get("typ", "")).lower()          # a media type: any case, "application/" optional
    if typ.removeprefix("application/") != "at+jwt":
        raise jwt.InvalidTokenError("token type must be at+jwt")
    claims = decoded["payload"]
    if now >= claims["exp"]:
        raise jwt.ExpiredSignatureError("token has expired")
    if "nbf" in claims and now < claims["nbf"]:
        raise jwt.ImmatureSignatureError("token is not valid yet")
    if now < claims["iat"]:
        raise jwt.ImmatureSignatureError("token was issued in the future")
    return claims
''',
}

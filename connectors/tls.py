"""TLS failures as the user must read them: a certificate that does not verify is a setting to fix.

A refused certificate does not heal by retrying (the server keeps presenting it), so it is
never transient, and it is reported whole: what was refused, OpenSSL's reason, and what to
change. Client libraries bury the ``ssl.SSLCertVerificationError`` a few exceptions deep
(niquests: ``SSLError`` <- ``MaxRetryError`` <- urllib3's ``SSLError`` <- it), so it is
looked for along the whole chain.
"""

from __future__ import annotations

import ssl

from .errors import CertificateRefused

_CHAIN_LIMIT = 16  # exceptions followed along __cause__, __context__ and args


def certificate_failure(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    """The certificate verification error ``exc`` is or wraps, or None."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < _CHAIN_LIMIT:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        todo += [current.__cause__, current.__context__]
        todo += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError keeps the cause here
        if isinstance(reason, BaseException):
            todo.append(reason)
    return None


def certificate_refused(
    failure: ssl.SSLCertVerificationError, *, server: str, account: str, ca_file: str | None
) -> CertificateRefused:
    """The error for a certificate ``server`` presented that did not verify, with what to change."""
    reason = " ".join(str(failure.verify_message or failure.reason or failure).split())
    if failure.verify_code == 62 or "hostname mismatch" in reason.lower():  # X509_V_ERR_HOSTNAME_MISMATCH
        remedy = "connect with the host name the certificate names (or fix the server's certificate)"
    elif ca_file:
        remedy = f"check that ca_file ({ca_file}) holds the CA certificate that signed the server's certificate"
    else:
        remedy = (
            "if the server's certificate comes from your own CA, set ca_file to that CA's certificate (PEM); "
            "otherwise fix the server's certificate"
        )
    return CertificateRefused(
        f"the TLS certificate of {server} did not verify: {reason}", account=account, remedy=remedy
    )

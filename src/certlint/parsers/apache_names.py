"""How Apache's documentation spells directive names, for messages (the model stores them
lower-cased, since httpd compares them case-insensitively)."""

from __future__ import annotations

SPELLING = {n.lower(): n for n in (
    "SSLCertificateFile", "SSLCertificateKeyFile", "SSLCertificateChainFile",
    "SSLCACertificateFile", "SSLCACertificatePath", "SSLCARevocationFile",
    "SSLCARevocationPath", "SSLCARevocationCheck", "SSLCADNRequestFile", "SSLCADNRequestPath",
    "SSLUseStapling", "SSLStaplingCache", "SSLStaplingForceURL", "SSLStaplingResponderTimeout",
    "SSLStaplingReturnResponderErrors", "SSLStaplingFakeTryLater",
    "SSLStaplingStandardCacheTimeout", "SSLStaplingErrorCacheTimeout", "SSLEngine",
    "SSLVerifyClient", "SSLVerifyDepth", "SSLOCSPEnable", "SSLOCSPDefaultResponder",
    "SSLOCSPOverrideResponder", "SSLOCSPResponderTimeout", "SSLPassPhraseDialog",
    "SSLSessionCache", "SSLProtocol", "SSLCipherSuite", "SSLOpenSSLConfCmd", "ServerName",
    "ServerAlias", "ServerRoot", "Listen", "Protocol", "Include", "IncludeOptional", "Define",
    "UnDefine", "LoadModule", "MDomain", "MDCertificateFile", "MDCertificateKeyFile",
)}


def spelled(name: str) -> str:
    """`sslcertificatefile` -> `SSLCertificateFile`; unknown names are returned unchanged."""
    return SPELLING.get(name.lower(), name)

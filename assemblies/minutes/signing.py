"""Optional PAdES signature of minutes PDFs (pyHanko).

Each installation generates its own self-signed certificate on first use and keeps it in
`MINUTES_SIGNING_DIR` (default: `MEDIA_ROOT/minutes-signing`). A self-signed certificate
does not prove *who* the server is to an outside reader (an installation that wants that
replaces `key.pem`/`cert.pem` with ones from a CA it trusts), but any PDF reader shows at
once whether the signed bytes were altered after rendering, which is what the minutes need.
The integrity of the record itself rests on the hash chain, not on this signature.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings


def signing_dir() -> Path:
    configured = getattr(settings, "MINUTES_SIGNING_DIR", None) or os.environ.get(
        "MINUTES_SIGNING_DIR"
    )
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / "minutes-signing"


def ensure_certificate(directory: Path | None = None) -> tuple[Path, Path]:
    """The installation's key and certificate, created once (mode 0600 for the key)."""
    directory = directory or signing_dir()
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Autogestión minutes"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Autogestión installation"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    tmp_key = key_path.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    os.replace(tmp_key, key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def sign_pdf(pdf: bytes, *, reason: str = "") -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    key_path, cert_path = ensure_certificate()
    signer = signers.SimpleSigner.load(str(key_path), str(cert_path))
    if signer is None:
        raise RuntimeError("could not load the minutes signing key")
    meta = signers.PdfSignatureMetadata(
        field_name="MinutesSignature",
        reason=reason or "Approved minutes",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out: Any = signers.sign_pdf(writer, meta, signer=signer)
    return out.getvalue()  # type: ignore[no-any-return]


def signature_intact(pdf: bytes) -> bool:
    """Whether every signature in the file covers it and its bytes are unaltered."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    _key, cert_path = ensure_certificate()
    # Trust exactly this installation's certificate, not the operating system's list.
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_path))])
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        sigs = reader.embedded_signatures
    except Exception:  # a mangled file is simply not intact
        return False
    if not sigs:
        return False
    for sig in sigs:
        try:
            status = validate_pdf_signature(sig, signer_validation_context=context)
        except Exception:
            return False
        if not (status.intact and status.valid):
            return False
    return True

"""QR codes as SVG data URIs: vector, so they print sharp and need no image library."""

from __future__ import annotations

import base64
import io


def qr_data_uri(text: str, *, box_size: int = 8) -> str:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(
        text, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size, border=2
    )
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

"""Draw _static/root/favicon.ico, the raster twin of _static/favicon.svg (run once; committed).

Pages link the SVG icon, but a page without the link (the index.html redirect that Jupyter Book
writes) makes the browser ask for /favicon.ico: without this file that request is a 404 and a
console error in tests/browser. ``html_extra_path`` (_config.yml) copies it to the site's root.

    python tools/favicon_ico.py
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf"  # Debian's fonts-dejavu-core


def main() -> None:
    size = 64
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=12, fill="#1f4e79")
    try:
        font = ImageFont.truetype(FONT, 42)
    except OSError:
        font = ImageFont.load_default()
    draw.text((size / 2, 46), "\u2202", font=font, fill="#ffffff", anchor="ms")
    target = ROOT / "_static" / "root" / "favicon.ico"
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

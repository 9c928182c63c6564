"""Draw Larder's icons from one shape (the "L" of webapp/static/larder.svg), so the
favicon, the window's icon and the executable's icon stay the same picture.

    python build/icons.py     # writes webapp/static/larder*.png, desktop/assets/larder.{png,ico}

Pillow is only needed to run this (the files are committed); not at run time.
"""
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
GREEN, WHITE = (47, 111, 79, 255), (255, 255, 255, 255)


def draw(size):
    """The SVG's 64x64 drawing at `size` px, drawn 4x larger and scaled down (smooth edges)."""
    big = size * 4
    scale = big / 64
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(12 * scale), fill=GREEN)
    # path "M16 14h8v28h24v8H16z": the upright and the foot of the L
    pen.rectangle((16 * scale, 14 * scale, 24 * scale - 1, 50 * scale - 1), fill=WHITE)
    pen.rectangle((16 * scale, 42 * scale, 48 * scale - 1, 50 * scale - 1), fill=WHITE)
    return image.resize((size, size), Image.LANCZOS)


def main():
    static = ROOT / "webapp" / "static"
    assets = ROOT / "desktop" / "assets"
    draw(64).save(static / "larder.png", optimize=True)
    draw(180).save(static / "larder-180.png", optimize=True)
    draw(256).save(assets / "larder.png", optimize=True)
    draw(256).save(assets / "larder.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48),
                                                 (64, 64), (128, 128), (256, 256)])


if __name__ == "__main__":
    main()

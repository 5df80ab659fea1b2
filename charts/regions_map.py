"""The 12 Regions as SVG paths, for the console's map of awards by Region.

The boundaries come from the npm package `morocco-map` (ODbL 1.0, derived from OpenStreetMap):
its TopoJSON holds the 12 Regions of 2015 by ISO 3166-2 code (MA-01 … MA-12), the southern
Regions whole. `make` installs it under var/npm/ and runs this module once, which writes a small
JSON file of one simplified path per Region code (var/map/regions.json); the console reads that
file and draws the map on the server, as it draws its bar charts (no script, colours by class).

Each shared border is one TopoJSON arc, simplified once (Douglas-Peucker) and used by both
Regions, so neighbours still meet after simplification. The projection is equirectangular,
longitudes scaled by the cosine of the middle latitude: at this size a truer one shows no
difference a reader would see.

    python -m charts.regions_map var/npm/node_modules/morocco-map/data/regions.json var/map/regions.json
"""

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

WIDTH = 520  # the map's width in SVG units; its height follows the country's shape
TOLERANCE = 0.5  # how far (SVG units) a simplified border may stray from the package's
SOURCE = "morocco-map 1.3.0 (npm), ODbL 1.0, © OpenStreetMap contributors"
BUILT = Path(__file__).resolve().parent.parent / "var" / "map" / "regions.json"
STEPS = 5  # shades of the map, lightest for the least awarded

Point = tuple[float, float]


def _arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """The arcs in longitude and latitude (TopoJSON quantizes them and stores deltas)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative: the points that keep the line within `tolerance` of the original."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = math.hypot(bx - ax, by - ay)
        far, index = 0.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if length:
                d = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
            else:
                d = math.hypot(px - ax, py - ay)
            if d > far:
                far, index = d, i
        if far > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def build(topology: dict[str, Any], width: int = WIDTH, tolerance: float = TOLERANCE) -> dict[str, Any]:
    """{viewBox, source, regions: {code: {path, x, y}}}: one path per Region code ("01" … "12") and
    where its number stands (the middle of its largest ring's bounding box, nudged inside)."""
    arcs = _arcs(topology)
    lons = [p[0] for a in arcs for p in a]
    lats = [p[1] for a in arcs for p in a]
    west, south, north = min(lons), min(lats), max(lats)
    k = math.cos(math.radians((south + north) / 2))
    scale = width / ((max(lons) - west) * k)
    height = round((north - south) * scale)

    def at(p: Point) -> Point:
        return (p[0] - west) * k * scale, (north - p[1]) * scale

    flat = [_simplify([at(p) for p in a], tolerance) for a in arcs]

    def ring(indices: list[int]) -> list[Point]:
        points: list[Point] = []
        for i in indices:
            arc = flat[i] if i >= 0 else flat[~i][::-1]
            points += arc[1:] if points else arc
        return points

    regions = {}
    for g in topology["objects"]["regions"]["geometries"]:
        polygons = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        rings = [ring(r) for polygon in polygons for r in polygon]
        rings = [r for r in rings if len(r) >= 3]
        path = " ".join("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in r) + "Z" for r in rings)
        x, y = _label_point(max(rings, key=_area))
        regions[str(g["id"]).removeprefix("MA-")] = {"path": path, "x": round(x, 1), "y": round(y, 1)}
    return {"viewBox": f"0 0 {width} {height}", "source": SOURCE, "regions": dict(sorted(regions.items()))}


def _area(ring: Sequence[Point]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True))) / 2


def _label_point(ring: Sequence[Point]) -> Point:
    """The area-weighted centroid of a ring (inside it for the Regions' rather compact shapes)."""
    a = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True):
        cross = x1 * y2 - x2 * y1
        a, cx, cy = a + cross, cx + (x1 + x2) * cross, cy + (y1 + y2) * cross
    return (cx / (3 * a), cy / (3 * a)) if a else ring[0]


@dataclass
class Shaded:
    code: str
    path: str
    x: float
    y: float
    step: int  # 0 (nothing awarded) … STEPS


@dataclass
class RegionMap:
    view_box: str
    source: str
    regions: list[Shaded]
    bounds: list[Decimal]  # each shade's upper bound, lightest first


@cache
def _built(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    return data


def shade(values: dict[str, Decimal], path: Path = BUILT) -> RegionMap | None:
    """The map with each Region shaded by its value (STEPS equal bands up to the largest; a Region
    with nothing stays unshaded), or None when `make` has not built the paths."""
    built = _built(path)
    if built is None:
        return None
    top = max(values.values(), default=Decimal(0))
    bounds = [top * n / STEPS for n in range(1, STEPS + 1)]

    def step(v: Decimal) -> int:
        return 0 if v <= 0 or top <= 0 else next(n for n, b in enumerate(bounds, 1) if v <= b)

    regions = [
        Shaded(code, r["path"], r["x"], r["y"], step(values.get(code, Decimal(0))))
        for code, r in built["regions"].items()
    ]
    return RegionMap(built["viewBox"], built["source"], regions, bounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topojson", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    built = build(json.loads(args.topojson.read_text("utf-8")))
    if sorted(built["regions"]) != [f"{n:02d}" for n in range(1, 13)]:
        raise SystemExit(f"{args.topojson}: not the 12 Regions: {sorted(built['regions'])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(built, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    print(f"{args.out}: 12 Regions, {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()

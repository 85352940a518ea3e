#!/usr/bin/env python3
"""Writes test/fixtures/landslide-xarray.zarr: a tiny landslide datacube written by xarray itself (papers/003
layout: vv, vh on (timestep, y, x); coherence on (timepair, y, x); dem, landslides on (y, x); sat:orbit_state per
timestep; x/y coordinates; spatial_ref). Run with Debian's python3-xarray and python3-zarr:

    /usr/bin/python3 scripts/make-xarray-cube.py [OUT]

The values are formulas of the indices, so test/landslide-cube.test.ts can check every one without this script.
Encodings as real cubes use them: Blosc-compressed float32, coherence packed as int16 with scale_factor and
_FillValue, timestep as CF datetime (int64 'days since'), timepair dates as two datetime coordinates, consolidated
v2 metadata.
"""
import sys

import numpy as np
import pandas as pd
import xarray as xr

out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/landslide-xarray.zarr"
T, P, H, W = 4, 2, 3, 5
t = np.arange(T)[:, None, None]
y = np.arange(H)[None, :, None]
x = np.arange(W)[None, None, :]
vv = (0.01 * (1 + t) + 0.001 * y + 0.0001 * x).astype("float32")
vv[1, 2, 4] = np.nan  # a missing pixel
vh = (vv / 5).astype("float32")
p = np.arange(P)[:, None, None]
coh = (0.1 * (1 + p) + 0.01 * y + 0.001 * x) * np.ones((P, H, W))
coh[0, 0, 0] = np.nan  # written as the int16 _FillValue
dates = pd.to_datetime(["2018-07-04", "2018-07-10", "2018-07-16", "2018-07-22"])
wkt = (
    'PROJCS["WGS 84 / UTM zone 54N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],'
    'AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
    'PARAMETER["central_meridian",141],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],'
    'PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","32654"]]'
)
ds = xr.Dataset(
    {
        "vv": (("timestep", "y", "x"), vv),
        "vh": (("timestep", "y", "x"), vh),
        "coherence": (("timepair", "y", "x"), coh),
        "dem": (("y", "x"), (100 + 10 * y[0] + x[0]).astype("float32")),
        "landslides": (("y", "x"), ((y[0] + x[0]) % 3 == 0).astype("uint8")),
        "spatial_ref": ((), 0, {"crs_wkt": wkt, "spatial_ref": wkt}),
    },
    coords={
        "timestep": dates,
        "sat:orbit_state": ("timestep", np.array(["ascending", "descending", "ascending", "descending"])),
        "timepair_start": ("timepair", dates[[0, 1]]),
        "timepair_end": ("timepair", dates[[2, 3]]),
        "x": 500005.0 + 10.0 * np.arange(W),
        "y": 4700095.0 - 10.0 * np.arange(H),
    },
)
for v in ("vv", "vh", "coherence", "dem", "landslides"):
    ds[v].attrs["grid_mapping"] = "spatial_ref"
ds.attrs["event_date"] = "2018-07-13"
ds.to_zarr(
    out,
    mode="w",
    consolidated=True,
    encoding={"coherence": {"dtype": "int16", "scale_factor": 0.001, "_FillValue": -9999}},
)
print(out)

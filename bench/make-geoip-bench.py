#!/usr/bin/env python3
"""Writes bench/geoip-bench.mmdb, the country database of the benchmark's
dimensions shape: every /14 from 1.0.0.0 to 191.255.0.0 (the addresses
bench/common.lua gives new visitors) in one of 60 countries, so every
lookup walks a tree about as deep as GeoLite2's and finds a record:

    python3 -m venv /tmp/mmdb && /tmp/mmdb/bin/pip install mmdb-writer==0.2.7
    /tmp/mmdb/bin/python bench/make-geoip-bench.py
"""
import pathlib
import random

from mmdb_writer import MMDBWriter
from netaddr import IPSet

COUNTRIES = ("US DE GB FR JP CN IN BR CA AU NL SE NO FI DK PL ES IT PT IE AT CH BE CZ SK HU RO BG GR TR "
             "RU UA KR TW HK SG MY TH VN ID PH NZ ZA NG EG KE MA AR CL CO MX PE IL AE SA IR PK BD").split()

random.seed(13)
writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country",
                    languages=["en"], description="Footfall benchmark countries")
by_country = {}
for first in range(1, 192):
    for second in range(0, 256, 4):
        by_country.setdefault(random.choice(COUNTRIES), []).append(f"{first}.{second}.0.0/14")
for code, networks in by_country.items():
    writer.insert_network(IPSet(networks), {"country": {"iso_code": code, "names": {"en": code}}})
writer.to_db_file(str(pathlib.Path(__file__).with_name("geoip-bench.mmdb")))

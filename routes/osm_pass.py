"""libosmium's pass over an OSM file, in a process of its own: ``python -m routes.osm_pass
FILE`` writes the ways of FILE tagged highway, each with its nodes' locations, as OPL to stdout.

The pass is C++ from end to end (reading and decoding the file, the location index, the filters,
the writer) but holds the GIL while it runs, so `routes.osm` runs it here and reads the lines as
they come: the pass and the reading of the tags use both CPUs. A file that is not OSM ends the
process with status 2 and libosmium's message on stderr.
"""

from __future__ import annotations

import sys

import osmium
import osmium.index

NOT_OSM = 2


def write_highways_opl(source: str, target: str) -> None:
    """Write the ways of ``source`` tagged highway as OPL with node locations to ``target``
    ("-": stdout); a node missing from the file leaves its location undefined."""
    index = osmium.index.create_map("flex_mem")
    locations = osmium.NodeLocationsForWays(index)
    locations.ignore_errors()
    writer = osmium.SimpleWriter(
        osmium.io.File(target, "opl,add_metadata=false,locations_on_ways=true")
    )
    try:
        osmium.apply(
            source,
            locations,
            osmium.filter.EntityFilter(osmium.osm.WAY),
            osmium.filter.KeyFilter("highway"),
            writer,
        )
    finally:
        writer.close()


def main(argv: list[str]) -> int:
    (source,) = argv
    try:
        write_highways_opl(source, "-")
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return NOT_OSM
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

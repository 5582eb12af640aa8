"""Place kinds: their map colours and Swedish names, shared by the pages, the exports and the
HTML map."""

from __future__ import annotations

PLACE_COLOURS = {
    "station": "#b30000",
    "stop": "#005b9f",
    "school": "#7b3294",
    "playground": "#1a9850",
    "library": "#8c510a",
    "shop": "#d95f02",
    "food": "#e6ab02",
    "sport": "#66a61e",
    "health": "#e7298a",
    "meeting_point": "#000000",
    "other": "#666666",
}

PLACE_KINDS_SV = {
    "station": "Station",
    "stop": "Hållplats",
    "school": "Skola",
    "playground": "Lekplats",
    "library": "Bibliotek",
    "shop": "Butik",
    "food": "Mat och café",
    "sport": "Idrott och gym",
    "health": "Vård",
    "meeting_point": "Mötesplats",
    "other": "Övrigt",
}

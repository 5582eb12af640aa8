"""Folium maps and layer exports."""

"""The content library: tracked download links (`links`) and the catalogue by stage (`library`).

See docs/content.md.
"""

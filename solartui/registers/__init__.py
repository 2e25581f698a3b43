"""Register maps as data: model, loader, codec, read planner and structure checks.

No I/O happens here (besides reading map files) and nothing imports Textual.
"""

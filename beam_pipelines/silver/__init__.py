"""The silver stage's parts; ``beam_pipelines/silver_pipeline.py`` wires them.

- ``plan`` — what a run reads and replaces (bronze listing, committed playback files);
- ``shuffle`` — stable hash buckets spilled to files, the batch coder;
- ``dedupe`` — within-partition dedupe, earliest-dt-wins, conservation counts;
- ``transforms`` — the composite PTransforms;
- ``commit`` — the driver's one commit per Iceberg table and the silver release.
"""

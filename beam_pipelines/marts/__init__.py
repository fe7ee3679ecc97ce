"""The gold marts of SPEC §6: plain, typed pandas functions and the Beam transforms around them.

- :mod:`beam_pipelines.marts.frames` — Arrow/pandas plumbing: reading Parquet batches,
  hash buckets, additive frame combiners, nearest-rank percentiles, gold output files.
- :mod:`beam_pipelines.marts.logic` — every metric definition as a plain function over
  pandas frames (partials per batch or per bucket, then one final function per mart).
- :mod:`beam_pipelines.marts.transforms` — composite ``PTransform`` s that wire them.
"""

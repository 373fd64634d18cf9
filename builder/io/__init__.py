"""Readers turn input files into column batches; writers turn batches into Parquet shards."""

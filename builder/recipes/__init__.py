"""The flagship recipe, shipped as package data for `python -m builder init` (zh.yaml links to configs/zh.yaml)."""

"""zh-corpus-builder: raw Chinese web text in, a clean, deduplicated, versioned dataset out."""

"""Text knowledge shared by stages: character classes and byte decoding."""

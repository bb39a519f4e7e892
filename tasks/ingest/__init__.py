"""Stage 1: download from ModelScope, detect files under data/raw, read formats, parse sources."""

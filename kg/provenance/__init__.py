"""Provenance: PROV-O records of every activity, hash-chained, signed and Merkle-logged."""

//! liaison-stix

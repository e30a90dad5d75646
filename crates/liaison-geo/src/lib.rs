//! liaison-geo

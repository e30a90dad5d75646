//! liaison-log

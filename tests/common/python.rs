//! Finding real CPython interpreters on this machine at run time.

//! corio-macros

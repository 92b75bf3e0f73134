//! VIAS `target_roi`: parsing, geometry and line crossing now live in `vigil-core` (so the API
//! can validate ROIs without linking inference); re-exported here for the analyzers.

pub use vigil_core::roi::*;

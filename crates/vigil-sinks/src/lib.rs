//! vigil-sinks

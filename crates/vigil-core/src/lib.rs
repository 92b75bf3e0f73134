//! vigil-core

//! vigil-worker

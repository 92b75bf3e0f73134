//! vigil-algorithms

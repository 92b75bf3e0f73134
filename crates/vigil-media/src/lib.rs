//! vigil-media

//! vigil-vision
